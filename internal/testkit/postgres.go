package testkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection

	"strongroom.dev/strongroom/store"
)

// RequirePostgresEnv set to 1 turns "PostgreSQL is not available" skips into
// failures (CI sets it).
const RequirePostgresEnv = "STRONGROOM_REQUIRE_POSTGRES"

// TestPostgresEnv names the admin connection URL of the test PostgreSQL server.
const TestPostgresEnv = "STRONGROOM_TEST_POSTGRES"

const defaultTestPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AppLoginRole is the login role tests connect as: a member of strongroom_app,
// exactly as the documented production setup.
const AppLoginRole = "strongroom_test_login"

// PostgresDB is a throwaway database on the test server.
type PostgresDB struct {
	Name     string
	OwnerURL string // the schema owner (the admin user): for migrations
	AppURL   string // the application login role: owns nothing, no BYPASSRLS
}

func adminURL() string {
	if u := os.Getenv(TestPostgresEnv); u != "" {
		return u
	}
	return defaultTestPostgres
}

// NewPostgresDB creates an empty database, migrated by its owner, and the
// application login role; it drops the database when the test ends. Without a
// reachable server it skips (or fails when RequirePostgresEnv=1).
func NewPostgresDB(t testing.TB) PostgresDB {
	t.Helper()
	return newPostgresDB(t, 0)
}

// NewPostgresDBAt is NewPostgresDB with the schema migrated only up to
// version, for tests of a later migration over rows of the older schema.
func NewPostgresDBAt(t testing.TB, version int) PostgresDB {
	t.Helper()
	if version < 1 {
		t.Fatalf("NewPostgresDBAt: version %d", version)
	}
	return newPostgresDB(t, version)
}

// newPostgresDB migrates to version, or fully when version is 0.
func newPostgresDB(t testing.TB, version int) PostgresDB {
	t.Helper()
	admin, err := sql.Open("pgx", adminURL())
	if err != nil {
		t.Fatalf("opening admin connection: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		SkipOrFail(t, RequirePostgresEnv, "PostgreSQL is not reachable at %s (set %s): %v", redact(adminURL()), TestPostgresEnv, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "strongroom_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping test database %s: %v", name, err)
		}
	})
	db := PostgresDB{Name: name, OwnerURL: withDatabase(t, adminURL(), name, "")}
	owner, err := store.Open(ctx, store.Config{URL: db.OwnerURL})
	if err != nil {
		t.Fatalf("opening test database as owner: %v", err)
	}
	migrate := owner.Migrate
	if version > 0 {
		migrate = func(ctx context.Context) ([]int, error) { return owner.MigrateTo(ctx, version) }
	}
	if _, err := migrate(ctx); err != nil {
		owner.Close()
		t.Fatalf("migrating test database: %v", err)
	}
	owner.Close()
	// The login role is cluster-wide and shared by all test databases; concurrent
	// test packages may race to create it.
	if _, err := admin.ExecContext(ctx, `DO $$ BEGIN
		CREATE ROLE `+AppLoginRole+` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS IN ROLE strongroom_app;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`); err != nil {
		t.Fatalf("creating application login role: %v", err)
	}
	db.AppURL = withDatabase(t, adminURL(), name, AppLoginRole)
	return db
}

// OpenPostgresStore opens a migrated throwaway database as the application role.
func OpenPostgresStore(t testing.TB) (*store.Store, PostgresDB) {
	t.Helper()
	db := NewPostgresDB(t)
	s, err := store.Open(context.Background(), store.Config{URL: db.AppURL})
	if err != nil {
		t.Fatalf("opening store as application role: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, db
}

// OpenSQLiteStore opens a migrated SQLite store in a temporary folder.
func OpenSQLiteStore(t testing.TB) *store.Store {
	t.Helper()
	return OpenSQLiteStoreIn(t, t.TempDir())
}

// OpenSQLiteStoreIn opens a migrated SQLite store in dir (strongroom.db, with
// keyring.db beside it), for tests that look at the files.
func OpenSQLiteStoreIn(t testing.TB, dir string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{Path: filepath.Join(dir, "strongroom.db")})
	if err != nil {
		t.Fatalf("opening sqlite store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrating sqlite store: %v", err)
	}
	return s
}

// Engine is one storage engine a test runs against.
type Engine struct {
	Name string
	Open func(t testing.TB) *store.Store
}

// Engines lists both engines: every storage test runs against each.
func Engines() []Engine {
	return []Engine{
		{Name: "sqlite", Open: OpenSQLiteStore},
		{Name: "postgres", Open: func(t testing.TB) *store.Store { s, _ := OpenPostgresStore(t); return s }},
	}
}

func withDatabase(t testing.TB, base, db, user string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", TestPostgresEnv, err)
	}
	u.Path = "/" + db
	if user != "" {
		u.User = url.User(user)
	}
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// OpenRaw opens a store of the named engine together with a raw connection to
// the same database behind the store's back (the file on SQLite; the owner role
// on PostgreSQL), for tests that tamper with or inspect what is stored. dir is
// the SQLite data folder ("" on PostgreSQL).
func OpenRaw(t testing.TB, engine string) (st *store.Store, raw *sql.DB, dir string) {
	t.Helper()
	var url, driver string
	switch engine {
	case "sqlite":
		dir = t.TempDir()
		st = OpenSQLiteStoreIn(t, dir)
		driver, url = "sqlite", "file:"+filepath.Join(dir, "strongroom.db")+"?_pragma=busy_timeout(10000)"
	default:
		var db PostgresDB
		st, db = OpenPostgresStore(t)
		driver, url = "pgx", db.OwnerURL
	}
	raw, err := sql.Open(driver, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return st, raw, dir
}

// AtRest returns everything a raw store holds: with a SQLite data folder dir,
// the bytes of every file in it (database, WAL, keyring); otherwise the text of
// the rows the queries select through raw (PostgreSQL). Tests search it for
// plaintext that must not be stored.
func AtRest(t testing.TB, raw *sql.DB, dir string, queries ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
		return b.Bytes()
	}
	for _, q := range queries {
		rows, err := raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return b.Bytes()
}
