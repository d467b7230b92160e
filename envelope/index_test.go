package envelope_test

import (
	"bytes"
	"fmt"
	"testing"

	"strongroom.dev/strongroom/envelope"
)

func testIndexKey(t testing.TB, seed string) envelope.IndexKey {
	t.Helper()
	k, err := envelope.NewIndexKey(detBytes("index:"+seed, envelope.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTerm(t *testing.T) {
	k := testIndexKey(t, "a")
	term := func(parts ...string) []byte {
		bs := make([][]byte, len(parts))
		for i, p := range parts {
			bs[i] = []byte(p)
		}
		return k.Term(bs...)
	}
	base := term("t_acme", "customers", "email", "ada@example.com")
	if envelope.TermSize != 32 || len(base) != envelope.TermSize {
		t.Fatalf("len(term) = %d, want 32", len(base))
	}
	if !bytes.Equal(base, term("t_acme", "customers", "email", "ada@example.com")) {
		t.Error("Term is not deterministic")
	}
	if bytes.Equal(k.Term(), k.Term([]byte{})) {
		t.Error("no parts and one empty part give the same term")
	}
	if !bytes.Equal(k.Term(nil), k.Term([]byte{})) {
		t.Error("a nil part and an empty part differ")
	}
	for _, tc := range []struct {
		name string
		got  []byte
	}{
		{"other tenant", term("t_other", "customers", "email", "ada@example.com")},
		{"other collection", term("t_acme", "leads", "email", "ada@example.com")},
		{"other field", term("t_acme", "customers", "billing_email", "ada@example.com")},
		{"other value", term("t_acme", "customers", "email", "ada@example.org")},
		{"parts split differently", term("t_acme", "customers", "emailada@example.com")},
		{"boundary moved", term("t_acm", "ecustomers", "email", "ada@example.com")},
		{"one part fewer", term("t_acme", "customers", "email")},
		{"one empty part more", term("t_acme", "customers", "email", "ada@example.com", "")},
		{"other index key", testIndexKey(t, "b").Term([]byte("t_acme"), []byte("customers"), []byte("email"), []byte("ada@example.com"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.got, base) {
				t.Errorf("term equals the base term")
			}
		})
	}
	// Terms of different values within one scope are all different.
	seen := map[string]bool{}
	for i := range 1000 {
		s := string(term("t", "c", "f", fmt.Sprint(i)))
		if seen[s] {
			t.Fatalf("term of %d repeated", i)
		}
		seen[s] = true
	}
}

func TestTermZeroKeyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Term with the zero IndexKey did not panic")
		}
	}()
	envelope.IndexKey{}.Term([]byte("x"))
}

func TestTermDoesNotChangeParts(t *testing.T) {
	k := testIndexKey(t, "a")
	p := []byte("value")
	k.Term(p, p)
	if string(p) != "value" {
		t.Errorf("part changed to %q", p)
	}
}
