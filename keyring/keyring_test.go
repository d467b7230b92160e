package keyring_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
)

func newKEK(t *testing.T) *keyring.LocalKEK {
	t.Helper()
	m := make([]byte, 32)
	if _, err := rand.Read(m); err != nil {
		t.Fatal(err)
	}
	k, err := keyring.NewLocalKEK(m)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const tenantA, tenantB = strongroom.TenantID("01900000-0000-7000-8000-00000000000a"), strongroom.TenantID("01900000-0000-7000-8000-00000000000b")

func seal(t *testing.T, keys *keyring.TenantKeys, msg string) []byte {
	t.Helper()
	env, err := envelope.Seal(keys.Current, envelope.AD{Tenant: string(keys.Tenant), Table: "t", Row: "r", Field: "f"}, []byte(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func open(keys *keyring.TenantKeys, env []byte) (string, error) {
	id, err := envelope.KeyID(env)
	if err != nil {
		return "", err
	}
	k, ok := keys.Key(id)
	if !ok {
		return "", errors.New("no such key")
	}
	p, err := envelope.Open(k, envelope.AD{Tenant: string(keys.Tenant), Table: "t", Row: "r", Field: "f"}, env)
	return string(p), err
}

func TestKeyring(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			kek := newKEK(t)
			r := keyring.New(kek, nil, st, keyring.Options{})

			a1, err := r.Keys(ctx, tenantA)
			if err != nil {
				t.Fatal(err)
			}
			if a1.Current.ID() != 1 {
				t.Fatalf("first key version %d, want 1", a1.Current.ID())
			}
			b1, err := r.Keys(ctx, tenantB)
			if err != nil {
				t.Fatal(err)
			}
			if a1.Current.Equal(b1.Current) {
				t.Fatal("two tenants got the same data key")
			}
			old := seal(t, a1, "sealed under version 1")

			// A second keyring over the same storage (another replica) unwraps the
			// same keys.
			a1again, err := keyring.New(kek, nil, st, keyring.Options{}).Keys(ctx, tenantA)
			if err != nil {
				t.Fatal(err)
			}
			if !a1again.Current.Equal(a1.Current) {
				t.Fatal("another keyring instance unwrapped a different key")
			}

			// Rotation: a new version for new writes; the old one still opens.
			v, err := r.Rotate(ctx, tenantA)
			if err != nil || v != 2 {
				t.Fatalf("Rotate = %d, %v; want 2", v, err)
			}
			a2, err := r.Keys(ctx, tenantA)
			if err != nil {
				t.Fatal(err)
			}
			if a2.Current.ID() != 2 {
				t.Fatalf("current version %d after rotation, want 2", a2.Current.ID())
			}
			if got, err := open(a2, old); err != nil || got != "sealed under version 1" {
				t.Fatalf("old envelope after rotation: %q, %v", got, err)
			}

			// Master-key rotation: restart with a new key and the old one as
			// previous, re-wrap, then the new key alone opens everything.
			next := newKEK(t)
			rr := keyring.New(next, []keyring.KEK{kek}, st, keyring.Options{})
			n, err := rr.RewrapAll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != 5 { // A: index, data 1, data 2; B: index, data 1
				t.Fatalf("re-wrapped %d keys, want 5", n)
			}
			onlyNext := keyring.New(next, nil, st, keyring.Options{})
			a, err := onlyNext.Keys(ctx, tenantA)
			if err != nil {
				t.Fatalf("keys under the new master key alone: %v", err)
			}
			if got, err := open(a, old); err != nil || got != "sealed under version 1" {
				t.Fatalf("old envelope after master rotation: %q, %v", got, err)
			}
			if _, err := keyring.New(kek, nil, st, keyring.Options{}).Keys(ctx, tenantA); err == nil {
				t.Fatal("the old master key alone still unwraps after re-wrapping")
			}
			if n, err := rr.RewrapAll(ctx); err != nil || n != 0 {
				t.Fatalf("second RewrapAll re-wrapped %d (%v), want 0", n, err)
			}

			// Shredding: A's keys are gone for good, B's stay.
			gone, err := onlyNext.Destroy(ctx, tenantA)
			if err != nil {
				t.Fatal(err)
			}
			if len(gone) != 3 {
				t.Fatalf("destroyed %d keys, want 3", len(gone))
			}
			if _, err := onlyNext.Keys(ctx, tenantA); !errors.Is(err, keyring.ErrShredded) {
				t.Fatalf("keys of a shredded tenant: %v, want ErrShredded (and no new keys)", err)
			}
			if _, err := keyring.New(next, nil, st, keyring.Options{}).Keys(ctx, tenantA); !errors.Is(err, keyring.ErrShredded) {
				t.Fatalf("another replica: %v, want ErrShredded", err)
			}
			if _, err := onlyNext.Keys(ctx, tenantB); err != nil {
				t.Fatalf("B after shredding A: %v", err)
			}
			tenants, err := st.KeyringTenants(ctx)
			if err != nil || len(tenants) != 1 || tenants[0] != tenantB {
				t.Fatalf("KeyringTenants = %v, %v; want only B", tenants, err)
			}
		})
	}
}

// TestWrappedKeysAreBound: a wrapped key copied to another tenant's row does not
// unwrap there, even under the same master key.
func TestWrappedKeysAreBound(t *testing.T) {
	ctx := context.Background()
	st := testkit.OpenSQLiteStore(t)
	kek := newKEK(t)
	r := keyring.New(kek, nil, st, keyring.Options{})
	if _, err := r.Keys(ctx, tenantA); err != nil {
		t.Fatal(err)
	}
	keysA, err := st.TenantKeys(ctx, tenantA)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keysA {
		k.Tenant = tenantB
		if err := st.AddTenantKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	_, err = keyring.New(kek, nil, st, keyring.Options{}).Keys(ctx, tenantB)
	if err == nil || !strings.Contains(err.Error(), "bound to another place") {
		t.Fatalf("keys copied from A to B: %v, want a binding error", err)
	}
}

func TestKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	path := filepath.Join(dir, "master.key")
	k1, created, err := keyring.CreateKeyFile(path, nil)
	if err != nil || !created {
		t.Fatalf("CreateKeyFile: %v, created %v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o, want 600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("key folder mode %o, want 700", di.Mode().Perm())
	}
	k2, created, err := keyring.CreateKeyFile(path, nil)
	if err != nil || created || k2.ID() != k1.ID() {
		t.Fatalf("second CreateKeyFile: %v, created %v, same key %v", err, created, k2.ID() == k1.ID())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.LoadKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key file: %v, want a refusal", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.LoadKeyFile(bad); err == nil {
		t.Error("a short key was accepted")
	}
	m := []byte("0123456789abcdef0123456789abcdef")
	env := map[string]string{"SR_KEY": base64.StdEncoding.EncodeToString(m), "SR_BAD": "not base64!"}
	if _, err := keyring.FromEnv("SR_KEY", func(k string) string { return env[k] }); err != nil {
		t.Errorf("FromEnv: %v", err)
	}
	for _, name := range []string{"SR_BAD", "SR_MISSING"} {
		_, err := keyring.FromEnv(name, func(k string) string { return env[k] })
		if err == nil {
			t.Errorf("FromEnv(%s) accepted", name)
		} else if strings.Contains(err.Error(), "not base64!") {
			t.Errorf("FromEnv error repeats the variable's value: %v", err)
		}
	}
	if !strings.HasPrefix(k1.ID(), "local:") || strings.Contains(k1.ID(), base64.StdEncoding.EncodeToString(m)) {
		t.Errorf("KEK ID %q", k1.ID())
	}
}
