package envelope_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/envelope"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the fuzz seed corpora in testdata/fuzz")

const vectorsPath = "testdata/vectors.json"

// vectorFile is testdata/vectors.json: known answers for version 1, written
// once by -update and then never changed (see the package's evolution rules).
type vectorFile struct {
	Comment []string       `json:"comment"`
	Seal    []sealVector   `json:"seal"`
	Stream  []streamVector `json:"stream"`
	Term    []termVector   `json:"term"`
}

type vectorAD struct {
	Tenant string `json:"tenant"`
	Table  string `json:"table"`
	Row    string `json:"row"`
	Field  string `json:"field"`
}

func (a vectorAD) ad() envelope.AD { return envelope.AD(a) }

type sealVector struct {
	Name      string   `json:"name"`
	KeyID     uint32   `json:"key_id"`
	Key       hexBytes `json:"key"`
	AD        vectorAD `json:"ad"`
	Nonce     hexBytes `json:"nonce"`
	Plaintext hexBytes `json:"plaintext"`
	Envelope  hexBytes `json:"envelope"`
}

type streamVector struct {
	Name            string   `json:"name"`
	KeyID           uint32   `json:"key_id"`
	Key             hexBytes `json:"key"`
	AD              vectorAD `json:"ad"`
	Salt            hexBytes `json:"salt"`
	PlaintextLength int      `json:"plaintext_length"`
	Stream          []byte   `json:"stream_base64"`
}

type termVector struct {
	Name  string     `json:"name"`
	Key   hexBytes   `json:"key"`
	Parts []hexBytes `json:"parts"`
	Term  hexBytes   `json:"term"`
}

// hexBytes is []byte written as hex in JSON.
type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, h), nil }

func (h *hexBytes) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	*h = d
	return err
}

// streamPlaintext is the plaintext of the stream vectors: byte i is i mod 251.
func streamPlaintext(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// buildVectors computes the vectors from their definitions, with keys,
// nonces and salts derived from each vector's name.
func buildVectors(t *testing.T) vectorFile {
	t.Helper()
	vf := vectorFile{Comment: []string{
		"Known answers for Strongroom's envelope package, format version 1 (docs/crypto.md).",
		"seal: envelope = 0x01 || key_id (4 bytes BE) || nonce || AES-256-GCM(key, nonce, plaintext, aad);",
		"  aad = lp('strongroom/envelope/v1') || 0x01 || key_id || lp(tenant) || lp(table) || lp(row) || lp(field), lp(x) = len(x) as 8 bytes BE || x.",
		"stream: 0x01 || key_id || salt || segments of 64 KiB plaintext, AES-256-GCM under",
		"  HKDF-SHA256(key, salt, lp('strongroom/envelope/stream/v1') || 0x01 || key_id || lp(tenant) || lp(table) || lp(row) || lp(field)),",
		"  nonce = segment index (11 bytes BE) || 0x01 for the last segment else 0x00, empty aad; plaintext byte i is i mod 251.",
		"term: HMAC-SHA256(key, lp('strongroom/envelope/index/v1') || lp(part 1) || ... || lp(part n)).",
	}}
	acme := vectorAD{Tenant: "t_acme", Table: "records", Row: "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11", Field: "payload"}
	for _, d := range []struct {
		name string
		id   uint32
		ad   vectorAD
		pt   []byte
	}{
		{"empty plaintext", 1, acme, []byte{}},
		{"short text", 2, acme, []byte("hello, strongroom")},
		{"global row, no tenant", 0xffffffff, vectorAD{Table: "users", Row: "u_01", Field: "totp_secret"}, []byte("JBSWY3DPEHPK3PXP")},
		{"unicode place", 0, vectorAD{Tenant: "t_ünïcode", Table: "records", Row: "r/1", Field: "naïve"}, []byte("€100")},
		{"1 KiB", 7, acme, detBytes("pt:1 KiB", 1024)},
	} {
		key := detBytes("key:"+d.name, envelope.KeySize)
		nonce := detBytes("nonce:"+d.name, 12)
		k, err := envelope.NewKey(d.id, key)
		if err != nil {
			t.Fatal(err)
		}
		env, err := envelope.Seal(k, d.ad.ad(), d.pt, bytes.NewReader(nonce))
		if err != nil {
			t.Fatal(err)
		}
		vf.Seal = append(vf.Seal, sealVector{d.name, d.id, key, d.ad, nonce, d.pt, env})
	}
	for _, d := range []struct {
		name string
		id   uint32
		n    int
	}{
		{"empty stream", 1, 0},
		{"5 bytes", 2, 5},
		{"one full last segment (64 KiB)", 3, envelope.SegmentSize},
		{"two segments (64 KiB + 1)", 4, envelope.SegmentSize + 1},
	} {
		key := detBytes("key:"+d.name, envelope.KeySize)
		salt := detBytes("salt:"+d.name, 32)
		k, err := envelope.NewKey(d.id, key)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w, err := envelope.NewWriter(&buf, k, acme.ad(), bytes.NewReader(salt))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(streamPlaintext(d.n)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		vf.Stream = append(vf.Stream, streamVector{d.name, d.id, key, acme, salt, d.n, buf.Bytes()})
	}
	for _, d := range []struct {
		name  string
		parts []string
	}{
		{"no parts", nil},
		{"one empty part", []string{""}},
		{"email in a collection", []string{"t_acme", "customers", "email", "ada@example.com"}},
		{"same bytes, parts split differently", []string{"t_acme", "customers", "emailada@example.com"}},
	} {
		key := detBytes("index key:"+d.name, envelope.KeySize)
		ik, err := envelope.NewIndexKey(key)
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]hexBytes, len(d.parts))
		raw := make([][]byte, len(d.parts))
		for i, p := range d.parts {
			parts[i], raw[i] = []byte(p), []byte(p)
		}
		vf.Term = append(vf.Term, termVector{d.name, key, parts, ik.Term(raw...)})
	}
	return vf
}

func TestVectors(t *testing.T) {
	if *update {
		b, err := json.MarshalIndent(buildVectors(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		writeFuzzSeeds(t)
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Seal) == 0 || len(vf.Stream) == 0 || len(vf.Term) == 0 {
		t.Fatal("vectors missing")
	}
	for _, v := range vf.Seal {
		t.Run("seal/"+v.Name, func(t *testing.T) {
			k, err := envelope.NewKey(v.KeyID, v.Key)
			if err != nil {
				t.Fatal(err)
			}
			nonces := bytes.NewReader(v.Nonce)
			env, err := envelope.Seal(k, v.AD.ad(), v.Plaintext, nonces)
			if err != nil {
				t.Fatal(err)
			}
			if nonces.Len() != 0 {
				t.Errorf("Seal read %d bytes of nonce, want 12", len(v.Nonce)-nonces.Len())
			}
			if diff := cmp.Diff([]byte(v.Envelope), env); diff != "" {
				t.Errorf("Seal (-stored +got):\n%s", diff)
			}
			pt, err := envelope.Open(k, v.AD.ad(), v.Envelope)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]byte(v.Plaintext), pt); diff != "" {
				t.Errorf("Open (-stored +got):\n%s", diff)
			}
			if id, err := envelope.KeyID(v.Envelope); err != nil || id != v.KeyID {
				t.Errorf("KeyID = %d, %v; want %d", id, err, v.KeyID)
			}
		})
	}
	for _, v := range vf.Stream {
		t.Run("stream/"+v.Name, func(t *testing.T) {
			k, err := envelope.NewKey(v.KeyID, v.Key)
			if err != nil {
				t.Fatal(err)
			}
			pt := streamPlaintext(v.PlaintextLength)
			var buf bytes.Buffer
			w, err := envelope.NewWriter(&buf, k, v.AD.ad(), bytes.NewReader(v.Salt))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(pt); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), v.Stream) {
				t.Errorf("NewWriter wrote %d bytes that differ from the stored %d", buf.Len(), len(v.Stream))
			}
			br := bufio.NewReader(bytes.NewReader(v.Stream))
			if id, err := envelope.PeekStreamKeyID(br); err != nil || id != v.KeyID {
				t.Errorf("PeekStreamKeyID = %d, %v; want %d", id, err, v.KeyID)
			}
			r, err := envelope.NewReader(br, k, v.AD.ad())
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Errorf("NewReader gave %d bytes that differ from the %d stored", len(got), len(pt))
			}
		})
	}
	for _, v := range vf.Term {
		t.Run("term/"+v.Name, func(t *testing.T) {
			ik, err := envelope.NewIndexKey(v.Key)
			if err != nil {
				t.Fatal(err)
			}
			parts := make([][]byte, len(v.Parts))
			for i, p := range v.Parts {
				parts[i] = p
			}
			if diff := cmp.Diff([]byte(v.Term), ik.Term(parts...)); diff != "" {
				t.Errorf("Term (-stored +got):\n%s", diff)
			}
		})
	}
}

// writeFuzzSeeds rewrites the committed seed corpora of FuzzOpen,
// FuzzStreamReader and FuzzStreamTamper: genuine inputs under the fuzz key,
// and a few broken ones.
func writeFuzzSeeds(t *testing.T) {
	t.Helper()
	write := func(target, name string, vals ...string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := "go test fuzz v1\n"
		for _, v := range vals {
			body += v + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range openSeeds(t) {
		write("FuzzOpen", s.name, fmt.Sprintf("[]byte(%q)", s.env))
	}
	for _, s := range streamSeeds(t) {
		write("FuzzStreamReader", s.name, fmt.Sprintf("[]byte(%q)", s.src), fmt.Sprintf("uint16(%d)", s.readSize))
	}
	for _, s := range tamperSeeds() {
		write("FuzzStreamTamper", s.name, fmt.Sprintf("uint32(%d)", s.pos), fmt.Sprintf("byte(%q)", s.xor),
			fmt.Sprintf("uint32(%d)", s.keep), fmt.Sprintf("byte(%q)", s.extra), fmt.Sprintf("uint16(%d)", s.readSize))
	}
}
