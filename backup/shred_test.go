package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/store"
)

func recordAD(tenant strongroom.TenantID, coll strongroom.CollectionID, id strongroom.RecordID) envelope.AD {
	return envelope.AD{Tenant: string(tenant), Table: "records", Row: string(coll) + "/" + string(id), Field: "data"}
}

// TestShreddedTenantUnreadableInOldBackups (LIF-04): after a tenant's keys
// are destroyed and the keyring backups rewritten, a data backup taken before
// restores with the tenant's records present but unreadable (no keyring
// backup holds its keys any more), while another tenant's records still open.
func TestShreddedTenantUnreadableInOldBackups(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t, engine)
			material := make([]byte, 32)
			_, _ = rand.Read(material)
			kek, err := keyring.NewLocalKEK(material)
			if err != nil {
				t.Fatal(err)
			}
			kr := keyring.New(kek, nil, st, keyring.Options{})
			type rec struct {
				tenant strongroom.TenantID
				coll   strongroom.CollectionID
				id     strongroom.RecordID
				plain  string
			}
			var recs []rec
			var tenants []strongroom.TenantID
			for o := range 2 {
				org := strongroom.Organization{ID: strongroom.TenantID(newID()), Name: fmt.Sprintf("org %d", o), CreatedAt: created}
				scope := store.TenantScope(org.ID)
				write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateOrganization(ctx, &org) })
				tenants = append(tenants, org.ID)
				coll := strongroom.Collection{ID: strongroom.CollectionID(newID()), Name: "notes", Schema: []byte(`{}`), CreatedAt: created}
				write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateCollection(ctx, &coll) })
				keys, err := kr.Keys(ctx, org.ID)
				if err != nil {
					t.Fatal(err)
				}
				for i := range 5 {
					r := strongroom.Record{CollectionID: coll.ID, ID: strongroom.RecordID(newID()), Version: 1, CreatedAt: created, UpdatedAt: created}
					plain := fmt.Sprintf(`{"secret":"tenant %d record %d"}`, o, i)
					if r.Data, err = envelope.Seal(keys.Current, recordAD(org.ID, coll.ID, r.ID), []byte(plain), nil); err != nil {
						t.Fatal(err)
					}
					write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateRecord(ctx, &r, nil) })
					recs = append(recs, rec{org.ID, coll.ID, r.ID, plain})
				}
			}
			id := newIdentity(t)
			recipients := []age.Recipient{id.Recipient()}
			var data bytes.Buffer
			if _, err := backup.Write(ctx, st, nil, &data, recipients, created); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(plaintext(t, data.Bytes(), id), []byte("tenant 0 record")) {
				t.Fatal("the data backup holds a record payload in the clear")
			}
			kloc, err := backup.OpenKeyringLocation(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer kloc.Close()
			before, err := kloc.PutKeyring(ctx, st, recipients, created)
			if err != nil {
				t.Fatal(err)
			}
			if before.Rows < 4 {
				t.Fatalf("keyring backup of %d keys", before.Rows)
			}

			// Terminate tenant 0: destroy its keys, rewrite the keyring backups.
			if _, err := kr.Destroy(ctx, tenants[0]); err != nil {
				t.Fatal(err)
			}
			after, deleted, err := backup.RewriteKeyringBackups(ctx, st, kloc, recipients, created.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(deleted) != 1 || deleted[0] != before.Name {
				t.Fatalf("deleted %v, want the keyring backup from before (%s)", deleted, before.Name)
			}
			list, err := kloc.List(ctx)
			if err != nil || len(list) != 1 || list[0].Name != after.Name {
				t.Fatalf("keyring backups left: %v (%v)", list, err)
			}

			// Disaster: restore the old data backup and the only keyring backup
			// into a fresh store of the same engine, with the same master key.
			dst := openStore(t, engine)
			if _, err := backup.Restore(ctx, dst, nil, bytes.NewReader(data.Bytes()), []age.Identity{id}); err != nil {
				t.Fatal(err)
			}
			r, err := kloc.Open(ctx, after.Name)
			if err != nil {
				t.Fatal(err)
			}
			ka, err := backup.RestoreKeyring(ctx, dst, r, []age.Identity{id})
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range ka.Keys {
				if k.Tenant == tenants[0] && k.Kind != store.KeyShredded {
					t.Errorf("the rewritten keyring backup holds a key of the shredded tenant: %s v%d", k.Kind, k.Version)
				}
			}
			kr2 := keyring.New(kek, nil, dst, keyring.Options{})
			if _, err := kr2.Keys(ctx, tenants[0]); !errors.Is(err, keyring.ErrShredded) {
				t.Errorf("shredded tenant's keys: %v, want ErrShredded", err)
			}
			for _, rc := range recs {
				var got *strongroom.Record
				err := dst.Read(ctx, store.TenantScope(rc.tenant), func(tx *store.Tx) error {
					var err error
					got, err = tx.Record(ctx, rc.coll, rc.id, strongroom.Visibility{All: true})
					return err
				})
				if err != nil {
					t.Fatalf("reading restored record: %v", err)
				}
				if rc.tenant == tenants[0] {
					continue // its keys are gone: nothing can open it (checked above)
				}
				keys, err := kr2.Keys(ctx, rc.tenant)
				if err != nil {
					t.Fatal(err)
				}
				kid, _ := envelope.KeyID(got.Data)
				k, ok := keys.Key(kid)
				if !ok {
					t.Fatalf("no key %d for the other tenant", kid)
				}
				p, err := envelope.Open(k, recordAD(rc.tenant, rc.coll, rc.id), got.Data)
				if err != nil || string(p) != rc.plain {
					t.Errorf("other tenant's record: %q, %v", p, err)
				}
			}
			// A keyring restore into a keyring that holds keys is refused.
			r, _ = kloc.Open(ctx, after.Name)
			if _, err := backup.RestoreKeyring(ctx, dst, r, []age.Identity{id}); !errors.Is(err, store.ErrNotEmpty) {
				t.Errorf("keyring restore into a non-empty keyring: %v", err)
			}
			r.Close()
			// A wrong identity is refused.
			r, _ = kloc.Open(ctx, after.Name)
			if _, err := backup.ReadKeyring(r, []age.Identity{newIdentity(t)}); err == nil {
				t.Error("a wrong identity opened the keyring backup")
			}
			r.Close()
		})
	}
}
