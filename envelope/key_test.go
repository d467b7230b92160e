package envelope_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/envelope"
)

// Key cannot be compared with ==: the `_ [0]func()` field makes
// `k1 == k2` a compile error, which no test can assert; Equal is the only
// comparison.

func TestNewKey(t *testing.T) {
	for _, tc := range []struct {
		name     string
		material []byte
		ok       bool
	}{
		{"32 bytes", detBytes("m", 32), true},
		{"empty", nil, false},
		{"16 bytes (AES-128 is not offered)", detBytes("m", 16), false},
		{"31 bytes", detBytes("m", 31), false},
		{"33 bytes", detBytes("m", 33), false},
		{"64 bytes", detBytes("m", 64), false},
		{"all zeros", make([]byte, 32), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := envelope.NewKey(9, tc.material)
			if (err == nil) != tc.ok {
				t.Fatalf("NewKey: err = %v, want ok = %v", err, tc.ok)
			}
			ik, err := envelope.NewIndexKey(tc.material)
			if (err == nil) != tc.ok {
				t.Fatalf("NewIndexKey: err = %v, want ok = %v", err, tc.ok)
			}
			if !tc.ok {
				if !k.IsZero() || !ik.IsZero() {
					t.Error("a failed constructor returned a non-zero key")
				}
				return
			}
			if k.ID() != 9 || k.IsZero() || ik.IsZero() {
				t.Errorf("got id %d, zero %v/%v", k.ID(), k.IsZero(), ik.IsZero())
			}
			if diff := cmp.Diff(tc.material, k.Material()); diff != "" {
				t.Errorf("Key.Material (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.material, ik.Material()); diff != "" {
				t.Errorf("IndexKey.Material (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeyMaterialIsCopied(t *testing.T) {
	m := detBytes("m", 32)
	orig := bytes.Clone(m)
	k, err := envelope.NewKey(1, m)
	if err != nil {
		t.Fatal(err)
	}
	ik, err := envelope.NewIndexKey(m)
	if err != nil {
		t.Fatal(err)
	}
	m[0] ^= 0xff // the caller's slice changes after NewKey
	k.Material()[1] ^= 0xff
	ik.Material()[1] ^= 0xff
	if diff := cmp.Diff(orig, k.Material()); diff != "" {
		t.Errorf("Key material changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(orig, ik.Material()); diff != "" {
		t.Errorf("IndexKey material changed (-want +got):\n%s", diff)
	}
}

func TestGenerateKey(t *testing.T) {
	k, err := envelope.GenerateKey(3, detReader("g"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(detBytes("g", 32), k.Material()); diff != "" {
		t.Errorf("material not read from r (-want +got):\n%s", diff)
	}
	a, err := envelope.GenerateKey(3, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := envelope.GenerateKey(3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) || a.IsZero() {
		t.Error("two keys from crypto/rand are equal or zero")
	}
	ia, err := envelope.GenerateIndexKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := envelope.GenerateIndexKey(detReader("g"))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Equal(ib) || !bytes.Equal(ib.Material(), detBytes("g", 32)) {
		t.Error("GenerateIndexKey did not use its reader")
	}
	for _, r := range []struct {
		name string
		r    func() error
	}{
		{"short reader", func() error { _, err := envelope.GenerateKey(1, bytes.NewReader(make([]byte, 31))); return err }},
		{"failing reader", func() error { _, err := envelope.GenerateKey(1, errReader{errors.New("no entropy")}); return err }},
		{"index key, short reader", func() error { _, err := envelope.GenerateIndexKey(bytes.NewReader(make([]byte, 5))); return err }},
	} {
		if err := r.r(); err == nil {
			t.Errorf("%s: no error", r.name)
		}
	}
}

func TestKeyEqual(t *testing.T) {
	m := detBytes("m", 32)
	other := detBytes("other", 32)
	mustKey := func(id uint32, m []byte) envelope.Key {
		k, err := envelope.NewKey(id, m)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k := mustKey(1, m)
	for _, tc := range []struct {
		name string
		a, b envelope.Key
		want bool
	}{
		{"same key", k, k, true},
		{"same id and material, built twice", k, mustKey(1, m), true},
		{"other material", k, mustKey(1, other), false},
		{"other id", k, mustKey(2, m), false},
		{"zero and zero", envelope.Key{}, envelope.Key{}, true},
		{"key and zero", k, envelope.Key{}, false},
		{"zero and key", envelope.Key{}, k, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Equal(tc.b); got != tc.want {
				t.Errorf("Equal = %v, want %v", got, tc.want)
			}
		})
	}
	ik1, _ := envelope.NewIndexKey(m)
	ik2, _ := envelope.NewIndexKey(m)
	ik3, _ := envelope.NewIndexKey(other)
	if !ik1.Equal(ik2) || ik1.Equal(ik3) || ik1.Equal(envelope.IndexKey{}) || !(envelope.IndexKey{}).Equal(envelope.IndexKey{}) {
		t.Error("IndexKey.Equal is wrong")
	}
}

func TestZeroKeys(t *testing.T) {
	var k envelope.Key
	var ik envelope.IndexKey
	if !k.IsZero() || k.Material() != nil || !ik.IsZero() || ik.Material() != nil {
		t.Error("zero keys are not zero")
	}
	if _, err := envelope.Seal(k, testAD, []byte("x"), nil); err == nil {
		t.Error("Seal with the zero key: no error")
	}
	pt, err := envelope.Open(k, testAD, make([]byte, 64))
	wantErrOpen(t, pt, err)
	if _, err := envelope.NewWriter(&bytes.Buffer{}, k, testAD, nil); err == nil {
		t.Error("NewWriter with the zero key: no error")
	}
	if _, err := envelope.NewReader(bytes.NewReader(make([]byte, 64)), k, testAD); err != envelope.ErrOpen {
		t.Errorf("NewReader with the zero key: err = %v, want ErrOpen", err)
	}
}

// TestKeysNeverPrintMaterial formats keys every way a log line or an error
// message could, and looks for their bytes in every usual encoding.
func TestKeysNeverPrintMaterial(t *testing.T) {
	// Every byte non-zero and above 0x20, so that a leak of any one form
	// would be found.
	material := detBytes("secret", 32)
	for i := range material {
		material[i] |= 0x21
	}
	k, err := envelope.NewKey(7, material)
	if err != nil {
		t.Fatal(err)
	}
	ik, err := envelope.NewIndexKey(material)
	if err != nil {
		t.Fatal(err)
	}
	encodings := map[string]string{
		"hex":            hex.EncodeToString(material),
		"HEX":            strings.ToUpper(hex.EncodeToString(material)),
		"base64":         base64.StdEncoding.EncodeToString(material),
		"base64url":      base64.RawURLEncoding.EncodeToString(material),
		"raw":            string(material),
		"decimal list":   strings.Trim(fmt.Sprint(material[:4]), "[]"),
		"Go byte list":   fmt.Sprintf("%#v", material[:4])[len("[]byte{"):][:10],
		"hex of 4 bytes": hex.EncodeToString(material[:4]),
	}
	type holder struct {
		Name string
		K    envelope.Key
		IK   envelope.IndexKey
	}
	h := holder{"h", k, ik}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%T %v"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, k), fmt.Sprintf(verb, ik),
			fmt.Sprintf(verb, &k), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h),
			fmt.Sprintf(verb, []envelope.Key{k}), fmt.Sprintf(verb, map[string]envelope.IndexKey{"a": ik}))
	}
	outputs = append(outputs, fmt.Sprintf("%v %+v %#v %s", k, k, k, k), k.String(), k.GoString(), ik.String(), ik.GoString())
	if b, err := json.Marshal(h); err == nil {
		outputs = append(outputs, string(b))
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("m", "k", k, "ik", ik, "h", h)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("m", "k", k, "ik", ik, "h", h)
	outputs = append(outputs, logs.String())

	for _, out := range outputs {
		for name, enc := range encodings {
			if strings.Contains(out, enc) {
				t.Errorf("output %q contains the key material as %s", out, name)
			}
		}
	}
	for _, tc := range []struct{ got, want string }{
		{fmt.Sprintf("%v", k), "envelope.Key(id=7)"},
		{fmt.Sprintf("%#v", k), "envelope.Key(id=7)"},
		{fmt.Sprintf("%x", k), "envelope.Key(id=7)"},
		{fmt.Sprintf("%+v", h), "{Name:h K:envelope.Key(id=7) IK:envelope.IndexKey}"},
		{fmt.Sprint(envelope.Key{}), "envelope.Key(zero)"},
		{fmt.Sprint(envelope.IndexKey{}), "envelope.IndexKey(zero)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
