package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one numbered schema change of one dialect.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string // hex SHA-256 of SQL; an applied migration must never change
}

// Migrations returns the embedded migrations of an engine, in order.
func Migrations(e Engine) ([]Migration, error) {
	dir := path.Join("migrations", string(e))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var ms []Migration
	for _, ent := range entries {
		name := ent.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", name)
		}
		b, err := migrationFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := range ms {
		if ms[i].Version != i+1 {
			return nil, fmt.Errorf("migrations of %s are not numbered 1..n without gaps", e)
		}
	}
	return ms, nil
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    checksum   TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
)`

// migrationLockKey is the PostgreSQL advisory lock that serializes concurrent
// migrators (for example several replicas started at once).
const migrationLockKey = 7_406_131_209

// Migrate applies every pending migration, each in its own transaction, and
// verifies that the already applied ones are unchanged. On PostgreSQL it must run
// as the schema owner, not as the application role. It returns the versions applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	ms, err := Migrations(s.engine)
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range ms {
		did, err := s.applyMigration(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("applying migration %s: %w", m.Name, err)
		}
		if did {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

func (s *Store) applyMigration(ctx context.Context, m Migration) (bool, error) {
	var did bool
	apply := func(q querier) error {
		var err error
		did, err = s.applyMigrationIn(ctx, q, m)
		return err
	}
	if s.engine == SQLite {
		err := s.writer.submit(ctx, Scope{}, func(tx *Tx) error { return apply(tx.q) })
		return did, err
	}
	stx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("beginning migration transaction: %w", err)
	}
	defer func() { _ = stx.Rollback() }()
	if _, err := stx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
		return false, fmt.Errorf("taking migration lock: %w", err)
	}
	if err := apply(stx); err != nil {
		return false, err
	}
	if _, err := stx.ExecContext(ctx, "GRANT SELECT ON schema_migrations TO strongroom_app"); err != nil {
		return false, fmt.Errorf("granting schema_migrations: %w", err)
	}
	if err := stx.Commit(); err != nil {
		return false, fmt.Errorf("committing migration: %w", err)
	}
	return did, nil
}

// SchemaStatus compares the database's applied migrations with the binary's.
type SchemaStatus struct {
	Applied int // highest applied version (0: none)
	Latest  int // highest embedded version
}

// Current reports whether the schema is exactly what the binary expects.
func (st SchemaStatus) Current() bool { return st.Applied == st.Latest }

// SchemaStatus reads the applied schema version.
func (s *Store) SchemaStatus(ctx context.Context) (SchemaStatus, error) {
	ms, err := Migrations(s.engine)
	if err != nil {
		return SchemaStatus{}, err
	}
	st := SchemaStatus{Latest: len(ms)}
	ok, err := s.hasTable(ctx, "schema_migrations")
	if err != nil || !ok {
		return st, err
	}
	var v sql.NullInt64
	if err := s.read.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return st, fmt.Errorf("reading schema version: %w", err)
	}
	st.Applied = int(v.Int64)
	return st, nil
}

// applyMigrationIn applies m with q (a transaction) unless it is applied
// already, and reports whether it did.
func (s *Store) applyMigrationIn(ctx context.Context, q querier, m Migration) (bool, error) {
	if _, err := q.ExecContext(ctx, migrationsTable); err != nil {
		return false, fmt.Errorf("creating schema_migrations: %w", err)
	}
	var sum string
	err := q.QueryRowContext(ctx, "SELECT checksum FROM schema_migrations WHERE version = $1", m.Version).Scan(&sum)
	switch {
	case err == nil:
		if sum != m.Checksum {
			return false, fmt.Errorf("migration %d was changed after it was applied (checksum %s, embedded %s)", m.Version, sum, m.Checksum)
		}
		return false, nil
	case err != sql.ErrNoRows:
		return false, fmt.Errorf("reading schema_migrations: %w", err)
	}
	if _, err := q.ExecContext(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := q.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
		m.Version, m.Name, m.Checksum, micros(s.now())); err != nil {
		return false, fmt.Errorf("recording migration: %w", err)
	}
	return true, nil
}
