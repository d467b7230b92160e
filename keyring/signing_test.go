package keyring_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/store"
)

// TestSigningKey: the checkpoint-signing key is made once, wrapped in the
// keyring, the same for every keyring over the store, survives a master-key
// rotation, and is no data key.
func TestSigningKey(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			kek := newKEK(t)
			r := keyring.New(kek, nil, st, keyring.Options{})
			k1, err := r.SigningKey(ctx)
			if err != nil {
				t.Fatal(err)
			}
			again, err := r.SigningKey(ctx)
			if err != nil || again != k1 {
				t.Fatalf("second call: %v, %v", again, err)
			}
			other, err := keyring.New(kek, nil, st, keyring.Options{}).SigningKey(ctx)
			if err != nil || !other.PublicKey().Equal(k1.PublicKey()) {
				t.Fatalf("another keyring over the store got another key: %v", err)
			}
			if k1.KeyID() != auditlog.KeyID(k1.PublicKey()) {
				t.Errorf("key id %s", k1.KeyID())
			}
			msg := []byte("checkpoint")
			sig, err := k1.Sign(nil, msg, crypto.Hash(0))
			if err != nil || !ed25519.Verify(k1.PublicKey(), msg, sig) {
				t.Fatalf("signature does not verify: %v", err)
			}
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
				if got := fmt.Sprintf(verb, k1); got != "keyring.SigningKey("+k1.KeyID()+")" {
					t.Errorf("%s prints %q", verb, got)
				}
			}
			// Stored wrapped, under the platform tenant only.
			stored, err := st.TenantKeys(ctx, strongroom.PlatformTenant)
			if err != nil || len(stored) != 1 || stored[0].Kind != store.KeySigning || stored[0].KEKID != kek.ID() {
				t.Fatalf("stored: %+v, %v", stored, err)
			}
			if tenants, err := st.KeyringTenants(ctx); err != nil || len(tenants) != 0 {
				t.Errorf("KeyringTenants = %v, %v; the signing key is no data key", tenants, err)
			}
			if _, err := r.Keys(ctx, strongroom.PlatformTenant); err != nil {
				t.Errorf("platform data keys beside the signing key: %v", err)
			}
			// Master-key rotation re-wraps it.
			newer := newKEK(t)
			if _, err := keyring.New(newer, []keyring.KEK{kek}, st, keyring.Options{}).RewrapAll(ctx); err != nil {
				t.Fatal(err)
			}
			rotated, err := keyring.New(newer, nil, st, keyring.Options{}).SigningKey(ctx)
			if err != nil || !rotated.PublicKey().Equal(k1.PublicKey()) {
				t.Fatalf("after master rotation: %v", err)
			}
			if _, err := keyring.New(newKEK(t), nil, st, keyring.Options{}).SigningKey(ctx); err == nil {
				t.Error("a keyring with another master key read the signing key")
			}
		})
	}
}

// TestSQLiteKeyringUpgrade: a keyring file of the first version, whose CHECK
// constraint knew no signing keys, is upgraded on open and keeps its keys.
func TestSQLiteKeyringUpgrade(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "keyring.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE tenant_keys (tenant_id TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('data', 'index', 'shredded')),
		 version INTEGER NOT NULL, kek_id TEXT NOT NULL, wrapped BLOB NOT NULL, created_at INTEGER NOT NULL,
		 PRIMARY KEY (tenant_id, kind, version)) STRICT, WITHOUT ROWID`,
		`INSERT INTO tenant_keys VALUES ('t1', 'shredded', 0, '', x'', 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	st := testkit.OpenSQLiteStoreIn(t, dir)
	ctx := context.Background()
	if _, err := keyring.New(newKEK(t), nil, st, keyring.Options{}).SigningKey(ctx); err != nil {
		t.Fatalf("signing key in an upgraded keyring: %v", err)
	}
	keys, err := st.TenantKeys(ctx, "t1")
	if err != nil || len(keys) != 1 || keys[0].Kind != store.KeyShredded {
		t.Errorf("old keys after the upgrade: %+v, %v", keys, err)
	}
}
