// The store's tests live in package store_test: internal/testkit imports store,
// so the tests reach the store through its public API, like every caller.
package store_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
	"strongroom.dev/strongroom/store/storetest"
)

// TestConformance runs the conformance suite against every engine. PostgreSQL
// is skipped when unreachable, unless STRONGROOM_REQUIRE_POSTGRES=1.
func TestConformance(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) { storetest.Run(t, e.Open) })
	}
}

func TestMigrations(t *testing.T) {
	for _, e := range []store.Engine{store.SQLite, store.Postgres} {
		t.Run(string(e), func(t *testing.T) {
			ms, err := store.Migrations(e)
			if err != nil {
				t.Fatalf("Migrations: %v", err)
			}
			if len(ms) == 0 {
				t.Fatal("no migrations embedded")
			}
			for i, m := range ms {
				if m.Version != i+1 {
					t.Errorf("migration %d has version %d", i, m.Version)
				}
				sum := sha256.Sum256([]byte(m.SQL))
				if want := hex.EncodeToString(sum[:]); m.Checksum != want {
					t.Errorf("migration %s: checksum %s, want %s", m.Name, m.Checksum, want)
				}
			}
		})
	}
}

// openSQLite opens (without migrating) a SQLite store at path.
func openSQLite(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), store.Config{Path: path})
	if err != nil {
		t.Fatalf("opening sqlite store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func schemaStatus(t *testing.T, s *store.Store) store.SchemaStatus {
	t.Helper()
	st, err := s.SchemaStatus(t.Context())
	if err != nil {
		t.Fatalf("SchemaStatus: %v", err)
	}
	return st
}

func TestSQLiteMigrate(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "strongroom.db")
	s := openSQLite(t, path)
	ms, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	latest := len(ms)

	before := schemaStatus(t, s)
	if d := cmp.Diff(store.SchemaStatus{Applied: 0, Latest: latest}, before); d != "" {
		t.Errorf("status before migrating (-want +got):\n%s", d)
	}
	if before.Current() {
		t.Error("an empty database reports a current schema")
	}

	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	var all []int
	for v := 1; v <= latest; v++ {
		all = append(all, v)
	}
	if d := cmp.Diff(all, applied); d != "" {
		t.Errorf("first Migrate applied (-want +got):\n%s", d)
	}
	after := schemaStatus(t, s)
	if !after.Current() || after.Applied != latest {
		t.Errorf("status after migrating = %+v, want current at %d", after, latest)
	}

	t.Run("idempotent", func(t *testing.T) {
		again, err := s.Migrate(ctx)
		if err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if len(again) != 0 {
			t.Errorf("second Migrate applied %v, want nothing", again)
		}
		// A fresh process sees the same.
		s.Close()
		s2 := openSQLite(t, path)
		again, err = s2.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Errorf("Migrate after reopening = %v, %v; want nothing applied", again, err)
		}
		if st := schemaStatus(t, s2); !st.Current() {
			t.Errorf("status after reopening = %+v, want current", st)
		}
	})

	t.Run("changed checksum is detected", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "strongroom.db")
		s := openSQLite(t, p)
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		raw, err := sql.Open("sqlite", "file:"+p+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		res, err := raw.ExecContext(ctx, "UPDATE schema_migrations SET checksum = $1 WHERE version = 1", "0000tampered")
		if err != nil {
			t.Fatalf("tampering with schema_migrations: %v", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("tampering changed %d rows, want 1", n)
		}
		applied, err := s.Migrate(ctx)
		if err == nil {
			t.Fatalf("Migrate over a changed migration succeeded (applied %v)", applied)
		}
		if len(applied) != 0 {
			t.Errorf("Migrate over a changed migration applied %v", applied)
		}
	})
}

func TestPostgresMigrate(t *testing.T) {
	ctx := t.Context()
	db := testkit.NewPostgresDB(t) // already migrated by its owner
	owner, err := store.Open(ctx, store.Config{URL: db.OwnerURL})
	if err != nil {
		t.Fatalf("opening as owner: %v", err)
	}
	defer owner.Close()
	again, err := owner.Migrate(ctx)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("second Migrate applied %v, want nothing", again)
	}
	app, err := store.Open(ctx, store.Config{URL: db.AppURL})
	if err != nil {
		t.Fatalf("opening as application role: %v", err)
	}
	defer app.Close()
	for name, s := range map[string]*store.Store{"owner": owner, "application role": app} {
		st, err := s.SchemaStatus(ctx)
		if err != nil {
			t.Fatalf("SchemaStatus as %s: %v", name, err)
		}
		if !st.Current() || st.Applied == 0 {
			t.Errorf("status as %s = %+v, want current", name, st)
		}
	}

	t.Run("changed checksum is detected", func(t *testing.T) {
		raw, err := sql.Open("pgx", db.OwnerURL)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, err := raw.ExecContext(ctx, "UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1"); err != nil {
			t.Fatalf("tampering with schema_migrations: %v", err)
		}
		if applied, err := owner.Migrate(ctx); err == nil {
			t.Fatalf("Migrate over a changed migration succeeded (applied %v)", applied)
		}
	})
}

// TestSQLiteAuditAppendOnly changes audit events behind the store's back: the
// triggers refuse it.
func TestSQLiteAuditAppendOnly(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "strongroom.db")
	s := openSQLite(t, path)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tenant := strongroom.TenantID("01900000-0000-7000-8000-000000000001")
	e := strongroom.NewAuditEvent(nil, tenant, "record.create", "record", "r1", strongroom.ResultSuccess)
	if err := s.Write(ctx, store.TenantScope(tenant), func(tx *store.Tx) error { return tx.AppendAudit(ctx, &e) }); err != nil {
		t.Fatal(err)
	}
	readAll := func() []strongroom.AuditEvent {
		t.Helper()
		var got []strongroom.AuditEvent
		if err := s.Read(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
			var err error
			got, err = tx.AuditEvents(ctx, 0, 0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := readAll()
	if len(want) != 1 {
		t.Fatalf("%d events written, want 1", len(want))
	}

	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// INSERT OR REPLACE would delete the conflicting row without firing delete
	// triggers (recursive_triggers is off on this raw connection); the insert
	// trigger refuses it. Anyone with the file can still drop the triggers:
	// tamper-evidence against that rests on the hash chain.
	for _, stmt := range []string{
		"UPDATE audit_events SET action = 'nothing.happened'",
		"UPDATE audit_events SET seq = seq + 100",
		"DELETE FROM audit_events",
		"DELETE FROM audit_events WHERE seq = 1",
		"INSERT INTO audit_events SELECT * FROM audit_events WHERE true ON CONFLICT DO UPDATE SET action = 'forged'",
		"INSERT OR REPLACE INTO audit_events SELECT tenant_id, seq, time, actor_type, actor_id, ip, device_type, 'forged', target_type, target_id, result, reason, request_id, metadata FROM audit_events",
		"REPLACE INTO audit_events SELECT * FROM audit_events",
	} {
		t.Run(stmt, func(t *testing.T) {
			_, err := raw.ExecContext(ctx, stmt)
			var se *sqlite.Error
			if !errors.As(err, &se) || se.Code() != sqlite3.SQLITE_CONSTRAINT_TRIGGER {
				t.Errorf("err = %v, want SQLITE_CONSTRAINT_TRIGGER", err)
			}
		})
	}
	if d := cmp.Diff(want, readAll()); d != "" {
		t.Errorf("audit events after the attempts (-want +got):\n%s", d)
	}
}
