package backup_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

var engines = []string{"sqlite", "postgres"}

var created = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// openStore opens an empty, migrated store. On PostgreSQL it connects as the
// schema owner (a superuser in tests), as backups and restores must: the
// application role sees one tenant at a time.
func openStore(t testing.TB, engine string) *store.Store {
	t.Helper()
	if engine == "sqlite" {
		return testkit.OpenSQLiteStore(t)
	}
	db := testkit.NewPostgresDB(t)
	st, err := store.Open(context.Background(), store.Config{URL: db.OwnerURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func write(t testing.TB, st *store.Store, scope store.Scope, fn func(ctx context.Context, tx *store.Tx) error) {
	t.Helper()
	if err := st.Write(context.Background(), scope, func(tx *store.Tx) error { return fn(context.Background(), tx) }); err != nil {
		t.Fatal(err)
	}
}

// fixture fills st with two organizations (users, members, clients,
// collections, records with index terms, hostile strings and bytes) and audit
// events in their chains and the platform's, sealed and checkpointed with
// key. It returns the two tenants.
func fixture(t *testing.T, st *store.Store, key ed25519.PrivateKey) []strongroom.TenantID {
	t.Helper()
	hostile := []string{"plain", "quote ' \" ; DROP TABLE users; --", "ünïcødé ✓ 𝄞", "line\nbreak\ttab", ""}
	var tenants []strongroom.TenantID
	for o := range 2 {
		org := strongroom.Organization{ID: strongroom.TenantID(newID()), Name: fmt.Sprintf("org %d %s", o, hostile[o+1]), CreatedAt: created}
		scope := store.TenantScope(org.ID)
		write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateOrganization(ctx, &org) })
		tenants = append(tenants, org.ID)
		u := strongroom.User{ID: strongroom.UserID(newID()), Email: fmt.Sprintf("user%d@example.com", o), PasswordHash: "$argon2id$v=19$x", CreatedAt: created}
		write(t, st, store.Scope{}, func(ctx context.Context, tx *store.Tx) error { return tx.CreateUser(ctx, &u) })
		m := strongroom.Membership{UserID: u.ID, Role: strongroom.RoleAdmin, CreatedAt: created}
		write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.AddMember(ctx, &m) })
		c := strongroom.Client{ID: strongroom.ClientID(newID()), Name: "client " + hostile[2], CreatedAt: created}
		write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateClient(ctx, &c) })
		coll := strongroom.Collection{ID: strongroom.CollectionID(newID()), Name: "people", Schema: []byte(`{"type":"object"}`),
			Searchable: []string{"email"}, CreatedAt: created}
		write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateCollection(ctx, &coll) })
		for i := range 40 {
			data := make([]byte, 64+i)
			_, _ = rand.Read(data)
			r := strongroom.Record{CollectionID: coll.ID, ID: strongroom.RecordID(newID()), Version: 1, Data: data,
				CreatedAt: created, UpdatedAt: created.Add(time.Duration(i) * time.Microsecond)}
			if i%2 == 0 {
				r.ClientID = &c.ID
			}
			terms := []store.Term{{Field: "email", Term: []byte(hostile[i%len(hostile)] + fmt.Sprint(i))}}
			write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateRecord(ctx, &r, terms) })
		}
	}
	for i := range 30 {
		for _, tenant := range append(tenants, strongroom.PlatformTenant) {
			e := strongroom.NewAuditEvent(&strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "u1", IP: "198.51.100.7",
				DeviceType: "desktop", RequestID: fmt.Sprintf("req-%d", i)}, tenant, "record.create", "record", hostile[i%len(hostile)],
				strongroom.ResultSuccess)
			e.Metadata = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
			write(t, st, store.TenantScope(tenant), func(ctx context.Context, tx *store.Tx) error { return tx.AppendAudit(ctx, &e) })
		}
		if i == 14 || i == 29 {
			sealAndCheckpoint(t, st, key)
		}
	}
	return tenants
}

func sealAndCheckpoint(t *testing.T, st *store.Store, key ed25519.PrivateKey) {
	t.Helper()
	s, err := audit.NewSequencer(audit.Config{Store: st, Signer: key, Holder: "fixture", Logger: slog.New(slog.DiscardHandler),
		SealInterval: 10 * time.Millisecond, CheckpointInterval: time.Hour, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	testkit.WaitFor(t, 30*time.Second, func() bool {
		if _, err := s.Tick(ctx); err != nil {
			t.Fatalf("Tick: %v", err)
		}
		for _, r := range verify(t, st, key) {
			if r.Unsealed > 0 {
				return false
			}
		}
		return true
	})
	if _, err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, st *store.Store, key ed25519.PrivateKey) []audit.ChainReport {
	t.Helper()
	rs, err := audit.Verify(context.Background(), audit.VerifyConfig{Store: st, PublicKey: key.Public().(ed25519.PublicKey)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newIdentity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// source is a filled store of an engine with its archive.
type source struct {
	st       *store.Store
	key      ed25519.PrivateKey
	id       *age.X25519Identity
	archive  []byte
	manifest *backup.Manifest
	tenants  []strongroom.TenantID
}

func newSource(t *testing.T, engine string) *source {
	t.Helper()
	return newSourceLayout(t, engine, backup.LayoutAuto)
}

// newSourceLayout is newSource with the archive in layout.
func newSourceLayout(t *testing.T, engine string, layout backup.Layout) *source {
	t.Helper()
	s := &source{st: openStore(t, engine), key: newKey(t), id: newIdentity(t)}
	s.tenants = fixture(t, s.st, s.key)
	var b bytes.Buffer
	m, err := backup.WriteLayout(context.Background(), s.st, nil, &b, []age.Recipient{s.id.Recipient()}, created, layout)
	if err != nil {
		t.Fatal(err)
	}
	s.archive, s.manifest = b.Bytes(), m
	return s
}

// TestRoundTrip: a backup of each engine in each of its layouts restores
// into each engine with the same rows (per-table counts and checksums of the
// source's and the target's snapshots, and the manifest's), and the restored
// audit chains verify with the original signing key.
func TestRoundTrip(t *testing.T) {
	type from struct {
		engine string
		layout backup.Layout
	}
	for _, f := range []from{{"sqlite", backup.LayoutSQLiteFile}, {"sqlite", backup.LayoutLogical}, {"postgres", backup.LayoutLogical}} {
		src := newSourceLayout(t, f.engine, f.layout)
		if src.manifest.Engine != f.engine || src.manifest.Layout != f.layout || src.manifest.Format != backup.Format || src.manifest.Rows() == 0 {
			t.Fatalf("manifest: %+v", src.manifest)
		}
		// The manifest of a sqlite-file archive has row counts only; the
		// source's snapshot gives the checksums to compare with.
		want, err := backup.Summarize(context.Background(), src.st)
		if err != nil {
			t.Fatal(err)
		}
		if err := backup.SameData(want, src.manifest); err != nil {
			t.Fatalf("manifest differs from the source: %v", err)
		}
		for _, tbl := range []string{"organizations", "records", "record_terms", "audit_events", "audit_seals", "audit_checkpoints", "users"} {
			if n := rowsOf(src.manifest, tbl); n == 0 {
				t.Fatalf("the fixture left table %s empty", tbl)
			}
		}
		for _, to := range engines {
			t.Run(f.engine+"/"+string(f.layout)+"→"+to, func(t *testing.T) {
				dst := openStore(t, to)
				m, err := backup.Restore(context.Background(), dst, nil, bytes.NewReader(src.archive), []age.Identity{src.id})
				if err != nil {
					t.Fatal(err)
				}
				if err := backup.SameData(src.manifest, m); err != nil {
					t.Fatalf("manifest read back differs: %v", err)
				}
				got, err := backup.Summarize(context.Background(), dst)
				if err != nil {
					t.Fatal(err)
				}
				if err := backup.SameData(src.manifest, got); err != nil {
					t.Fatalf("restored store differs from the backup: %v", err)
				}
				if err := backup.SameData(want, got); err != nil {
					t.Fatalf("restored store differs from the source: %v", err)
				}
				for _, tt := range got.Tables {
					if tt.Checksum == "" {
						t.Fatalf("table %s summarized without a checksum", tt.Name)
					}
				}
				rs := verify(t, dst, src.key)
				if len(rs) != 3 {
					t.Fatalf("%d chains restored, want 3", len(rs))
				}
				for _, r := range rs {
					if !r.OK() || r.Events != 30 || r.Sealed != 30 || r.DBCheckpoints != 2 {
						t.Errorf("restored chain %s: %+v", r.Tenant, r)
					}
				}
				// New events continue the restored chains after their heads.
				e := strongroom.NewAuditEvent(&strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "u1"}, src.tenants[0],
					"record.read", "record", "x", strongroom.ResultSuccess)
				write(t, dst, store.TenantScope(src.tenants[0]), func(ctx context.Context, tx *store.Tx) error { return tx.AppendAudit(ctx, &e) })
				sealAndCheckpoint(t, dst, src.key)
				for _, r := range verify(t, dst, src.key) {
					if !r.OK() {
						t.Errorf("after a new event, chain %s: %+v", r.Tenant, r)
					}
				}
				// A second restore into the now non-empty store is refused.
				if _, err := backup.Restore(context.Background(), dst, nil, bytes.NewReader(src.archive), []age.Identity{src.id}); !errors.Is(err, store.ErrNotEmpty) {
					t.Errorf("restore into a non-empty store: %v, want ErrNotEmpty", err)
				}
			})
		}
	}
}

func rowsOf(m *backup.Manifest, table string) int64 {
	for _, t := range m.Tables {
		if t.Name == table {
			return t.Rows
		}
	}
	return -1
}

// requireEmpty fails unless st holds no data rows.
func requireEmpty(t *testing.T, st *store.Store) {
	t.Helper()
	m, err := backup.Summarize(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Rows(); n != 0 {
		t.Fatalf("the target holds %d rows after a refused restore", n)
	}
}

// openSQLiteAt opens a SQLite store migrated only to version.
func openSQLiteAt(t *testing.T, version int) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: t.TempDir() + "/strongroom.db"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestOlderSchema: a backup of an older schema restores into this binary
// (loaded at its version, then migrated on); a non-empty target of an older
// schema is refused without being migrated.
func TestOlderSchema(t *testing.T) {
	ctx := context.Background()
	ms, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	old := len(ms) - 1
	src := openSQLiteAt(t, old)
	u := strongroom.User{ID: strongroom.UserID(newID()), Email: "old@example.com", PasswordHash: "$argon2id$v=19$x", CreatedAt: created}
	write(t, src, store.Scope{}, func(ctx context.Context, tx *store.Tx) error { return tx.CreateUser(ctx, &u) })
	id := newIdentity(t)
	var b bytes.Buffer
	m, err := backup.Write(ctx, src, nil, &b, []age.Recipient{id.Recipient()}, created)
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != old {
		t.Fatalf("schema version %d, want %d", m.SchemaVersion, old)
	}
	// Into a fresh (unmigrated) store, as `strongroom restore` makes one, and
	// into an empty SQLite store already migrated past the backup's version
	// (the loaded file, built at the backup's version, replaces its file).
	targets := []struct {
		name string
		open func(t *testing.T) *store.Store
	}{
		{"sqlite fresh", func(t *testing.T) *store.Store {
			dst, err := store.Open(ctx, store.Config{Path: t.TempDir() + "/strongroom.db"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dst.Close() })
			return dst
		}},
		{"sqlite migrated past the backup", func(t *testing.T) *store.Store { return openSQLiteAt(t, len(ms)) }},
	}
	for _, target := range targets {
		dst := target.open(t)
		engine := target.name
		if _, err := backup.Restore(ctx, dst, nil, bytes.NewReader(b.Bytes()), []age.Identity{id}); err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		if st, err := dst.SchemaStatus(ctx); err != nil || !st.Current() {
			t.Errorf("%s: after restore the schema is %+v (%v)", engine, st, err)
		}
		var got *strongroom.User
		if err := dst.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
			var err error
			got, err = tx.UserByEmail(ctx, u.Email)
			return err
		}); err != nil || got.ID != u.ID {
			t.Errorf("%s: restored user %+v, %v", engine, got, err)
		}
	}
	// A PostgreSQL database migrated past the backup's version cannot be
	// taken back to it: refused, with what to do instead, and left as it was.
	pg := openStore(t, "postgres")
	before, err := pg.SchemaStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = backup.Restore(ctx, pg, nil, bytes.NewReader(b.Bytes()), []age.Identity{id})
	if !errors.Is(err, backup.ErrTargetSchema) || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d, past the backup's %d", before.Applied, old)) ||
		!strings.Contains(err.Error(), "never migrated") {
		t.Errorf("restore into a PostgreSQL database of a newer schema: %v", err)
	}
	if after, err := pg.SchemaStatus(ctx); err != nil || after != before {
		t.Errorf("the refused target's schema went from %+v to %+v (%v)", before, after, err)
	}
	requireEmpty(t, pg)
	// The old store itself is not empty: a restore into it is refused and
	// leaves its schema where it was.
	if _, err := backup.Restore(ctx, src, nil, bytes.NewReader(b.Bytes()), []age.Identity{id}); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("restore into a non-empty store: %v", err)
	}
	if st, _ := src.SchemaStatus(ctx); st.Applied != old {
		t.Errorf("a refused restore migrated the target to %d", st.Applied)
	}
}
