package blocklist

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func entriesOf(l *list) []string {
	var out []string
	for i := range l.len() {
		out = append(out, l.entry(i))
	}
	return out
}

func TestEncodeDecode(t *testing.T) {
	long := strings.Repeat("a", 300) // shares more than 255 bytes with its neighbours
	for _, tc := range []struct {
		name    string
		entries []string
	}{
		{"none", nil},
		{"one", []string{"password"}},
		{"shared prefixes", []string{"pass", "passw", "password", "password1", "passwort", "qwerty"}},
		{"prefix longer than 255 bytes", []string{long, long + "b", long + "bc", long + "c"}},
		{"non-ASCII", []string{"école", "écolé", "ü", "北京", "🙂🙂"}},
		{"newline byte as prefix length", []string{"0123456789", "0123456789x", strings.Repeat("z", 10), strings.Repeat("z", 11)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Encode(&buf, tc.entries); err != nil {
				t.Fatalf("Encode: %v", err)
			}
			l, err := decode(buf.Bytes())
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if diff := cmp.Diff(tc.entries, entriesOf(l)); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			for _, e := range tc.entries {
				if !l.contains(e) {
					t.Errorf("contains(%q) = false", e)
				}
				if l.contains(e+"\x00") || l.contains(e[:len(e)-1]+"\x00") {
					t.Errorf("contains found a neighbour of %q", e)
				}
			}
			if l.contains("") {
				t.Error(`contains("") = true`)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []string
	}{
		{"empty entry", []string{""}},
		{"not sorted", []string{"b", "a"}},
		{"duplicate", []string{"a", "a"}},
		{"upper case", []string{"Password"}},
		{"surrounding space", []string{" password"}},
		{"not NFKC", []string{"ｐassword"}},
		{"newline", []string{"pass\nword"}},
		{"too long", []string{strings.Repeat("x", MaxEntryBytes+1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Encode(&bytes.Buffer{}, tc.entries); err == nil {
				t.Errorf("Encode(%q) succeeded", tc.entries)
			}
		})
	}
}

// gz compresses raw, a hand-made uncompressed stream.
func gz(t *testing.T, raw string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeRejects(t *testing.T) {
	valid := gz(t, magic+" 3 9\n\x00abc\n\x02d\n\x00xyz\n")
	if _, err := decode(valid); err != nil {
		t.Fatalf("the valid stream does not decode: %v", err)
	}
	truncated := valid[:len(valid)-6] // cuts into the gzip trailer
	corrupt := bytes.Clone(valid)
	corrupt[len(corrupt)-8]++ // the CRC-32
	for _, tc := range []struct {
		name string
		gz   []byte
	}{
		{"not gzip", []byte(magic + " 0 0\n")},
		{"empty", nil},
		{"truncated gzip", truncated},
		{"bad checksum", corrupt},
		{"no header", gz(t, "")},
		{"other magic", gz(t, "something v1 0 0\n")},
		{"later version", gz(t, "strongroom-blocklist v2 0 0\n")},
		{"negative count", gz(t, magic+" -1 0\n")},
		{"size beyond the bound", gz(t, magic+" 1 999999999\n\x00a\n")},
		{"fewer entries than the header says", gz(t, magic+" 2 2\n\x00a\n")},
		{"more entries than the header says", gz(t, magic+" 1 1\n\x00a\n\x00b\n")},
		{"fewer bytes than the header says", gz(t, magic+" 1 2\n\x00a\n")},
		{"more bytes than the header says", gz(t, magic+" 1 1\n\x00ab\n")},
		{"prefix longer than the previous entry", gz(t, magic+" 2 4\n\x00a\n\x02bc\n")},
		{"prefix in the first entry", gz(t, magic+" 1 2\n\x01ab\n")},
		{"empty suffix", gz(t, magic+" 2 2\n\x00a\n\x01\n")},
		{"empty first entry", gz(t, magic+" 1 0\n\x00\n")},
		{"not sorted", gz(t, magic+" 2 2\n\x00b\n\x00a\n")},
		{"duplicate", gz(t, magic+" 2 2\n\x00a\n\x00a\n")},
		{"no final newline", gz(t, magic+" 1 1\n\x00a")},
		{"entry too long", gz(t, magic+" 1 1025\n\x00"+strings.Repeat("x", 1025)+"\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if l, err := decode(tc.gz); err == nil {
				t.Errorf("decode succeeded with %q", entriesOf(l))
			}
		})
	}
}
