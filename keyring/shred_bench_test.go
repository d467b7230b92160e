package keyring_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
)

// BenchmarkShred measures crypto-shredding a tenant that owns 1,000 and
// 1,000,000 records (DESIGN: the two cost the same). The records are inserted
// behind the store's back (they only need to exist); each iteration restores the
// tenant's wrapped keys and then destroys them.
func BenchmarkShred(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			st := testkit.OpenSQLiteStoreIn(b, dir)
			m := make([]byte, 32)
			_, _ = rand.Read(m)
			kek, _ := keyring.NewLocalKEK(m)
			r := keyring.New(kek, nil, st, keyring.Options{})
			const tenant = strongroom.TenantID("01900000-0000-7000-8000-00000000abcd")
			if _, err := r.Keys(ctx, tenant); err != nil {
				b.Fatal(err)
			}
			saved, err := st.TenantKeys(ctx, tenant)
			if err != nil {
				b.Fatal(err)
			}
			fillRecords(b, filepath.Join(dir, "strongroom.db"), tenant, n)
			keysDB, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "keyring.db")+"?_pragma=busy_timeout(10000)")
			if err != nil {
				b.Fatal(err)
			}
			defer keysDB.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if _, err := keysDB.Exec("DELETE FROM tenant_keys WHERE tenant_id = $1", string(tenant)); err != nil {
					b.Fatal(err)
				}
				for _, k := range saved {
					if err := st.AddTenantKey(ctx, k); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if _, err := r.Destroy(ctx, tenant); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fillRecords inserts an organization, a collection and n records (random
// 200-byte payloads standing in for envelopes) in one transaction.
func fillRecords(b *testing.B, path string, tenant strongroom.TenantID, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(OFF)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.Exec("INSERT INTO organizations (id, name, created_at) VALUES ($1, 'Bench', 0)", string(tenant)); err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO collections (tenant_id, id, name, schema, searchable, created_at) VALUES ($1, 'c', 'bench', '{}', '[]', 0)", string(tenant)); err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare("INSERT INTO records (tenant_id, collection_id, id, version, data, key_id, created_at, updated_at) VALUES ($1, 'c', $2, 1, $3, 1, 0, 0)")
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 200)
	_, _ = rand.Read(payload)
	for i := 0; i < n; i++ {
		if _, err := stmt.Exec(string(tenant), fmt.Sprintf("r%09d", i), payload); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	var count int
	if err := db.QueryRow("SELECT count(*) FROM records WHERE tenant_id = $1", string(tenant)).Scan(&count); err != nil || count != n {
		b.Fatalf("%d records inserted (%v), want %d", count, err, n)
	}
}
