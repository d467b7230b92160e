package backup

import (
	"errors"
	"fmt"
	"testing"
)

// FuzzParseKeyring: the keyring backup parser never panics, refuses with
// ErrFormat, and what it accepts has only known kinds and no repeated key.
func FuzzParseKeyring(f *testing.F) {
	f.Add([]byte(`{"format":1,"kind":"strongroom-keyring","created_at":"2026-11-21T12:00:00Z","keys":[` +
		`{"tenant":"t1","kind":"data","version":1,"kek_id":"k","wrapped":"AAEC","created_at":"2026-11-21T12:00:00Z"},` +
		`{"tenant":"t2","kind":"shredded","version":0,"kek_id":"","wrapped":"","created_at":"2026-11-21T12:00:00Z"}]}`))
	f.Add([]byte(`{"format":1,"kind":"strongroom-keyring","keys":[{"tenant":"t1","kind":"data","version":1},{"tenant":"t1","kind":"data","version":1}]}`))
	f.Add([]byte(`{"format":2,"kind":"strongroom-keyring"}`))
	f.Add([]byte(`{"format":1,"kind":"strongroom-keyring","extra":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ka, err := parseKeyring(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("an error that is not ErrFormat: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, k := range ka.Keys {
			id := fmt.Sprintf("%s/%s/%d", k.Tenant, k.Kind, k.Version)
			if seen[id] {
				t.Fatalf("a repeated key was accepted: %s", id)
			}
			seen[id] = true
		}
	})
}

// TestParseKeyringRefuses: repeated keys, unknown kinds, other formats and
// unknown fields are refused.
func TestParseKeyringRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"repeated":      `{"format":1,"kind":"strongroom-keyring","keys":[{"tenant":"t1","kind":"data","version":1},{"tenant":"t1","kind":"data","version":1}]}`,
		"unknown kind":  `{"format":1,"kind":"strongroom-keyring","keys":[{"tenant":"t1","kind":"master","version":1}]}`,
		"no tenant":     `{"format":1,"kind":"strongroom-keyring","keys":[{"tenant":"","kind":"data","version":1}]}`,
		"format 2":      `{"format":2,"kind":"strongroom-keyring"}`,
		"other kind":    `{"format":1,"kind":"strongroom-backup"}`,
		"unknown field": `{"format":1,"kind":"strongroom-keyring","extra":1}`,
		"not json":      `hello`,
	} {
		if _, err := parseKeyring([]byte(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
