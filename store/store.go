// Package store is Strongroom's one storage layer. It speaks the root domain types
// over two engines, SQLite (the embedded default) and PostgreSQL (scale-out), with
// the dialect differences kept in this package's dialect files.
//
// Every tenant-owned table is reached only through a Tx bound to one tenant: its
// methods add the tenant to every statement, and on PostgreSQL the transaction also
// sets the tenant for row-level security, so a query cannot reach another tenant's
// rows even if a method forgot its WHERE clause. The store never decides access;
// services do, before they call it.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"strongroom.dev/strongroom"
)

// Engine names a database engine.
type Engine string

// The engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Config says where the store lives.
type Config struct {
	// URL is "postgres://..." / "postgresql://..." for PostgreSQL. Empty selects
	// SQLite at Path.
	URL string
	// Path is the SQLite database file (embedded mode).
	Path string
	// KeyringPath is the SQLite keyring file (embedded mode); default: keyring.db
	// beside Path. On PostgreSQL the keyring is the strongroom_keyring schema.
	KeyringPath string
	// ReadConns is the size of the read pool (default 2×GOMAXPROCS, at least 4).
	ReadConns int
	// Logger receives store diagnostics; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Store is an open database.
type Store struct {
	engine Engine
	// path and readConns are the SQLite database file and read pool size,
	// kept to reopen the file after a bulk load replaced it (bulkload.go).
	path      string
	readConns int
	read      *sql.DB // read pool
	write     *sql.DB // SQLite: the single writer connection; PostgreSQL: same as read
	writer    *groupWriter
	stmts     stmtCache // SQLite: prepared statements of Lookup
	// keys holds the keyring (see keys.go): a separate SQLite database, or the
	// main PostgreSQL database with the table in schema strongroom_keyring.
	keys      *sql.DB
	keysTable string
	log       *slog.Logger
	now       func() time.Time
	// auditWrites, when set, is told how long each Write that appended audit
	// events took (ObserveAuditWrites).
	auditWrites func(time.Duration)
}

// Open opens the store. It does not migrate; call Migrate (embedded mode) or run
// `strongroom migrate` (PostgreSQL, as the owner role) first.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	switch {
	case IsPostgresURL(cfg.URL):
		s.engine = Postgres
		err = s.openPostgres(ctx, cfg)
	case cfg.URL != "":
		return nil, strongroom.Errorf(strongroom.EINVALID, "database URL must start with postgres:// or postgresql://")
	default:
		s.engine = SQLite
		err = s.openSQLite(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// IsPostgresURL reports whether u names a PostgreSQL database.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Engine reports which engine the store runs on.
func (s *Store) Engine() Engine { return s.engine }

// Close stops the writer and closes the connections.
func (s *Store) Close() error {
	if s.writer != nil {
		s.writer.stop()
	}
	s.stmts.close()
	err := s.read.Close()
	if s.write != s.read {
		err = errors.Join(err, s.write.Close())
	}
	if s.keys != nil && s.keys != s.read {
		err = errors.Join(err, s.keys.Close())
	}
	return err
}

// Ping checks that the database answers (used by /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging database: %w", err)
	}
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("querying database: %w", err)
	}
	return nil
}

// Scope binds a transaction. Tenant binds it to one organization (tenant-owned
// tables become reachable); User additionally lets it read the user's own
// memberships across organizations (for /me). Both may be empty for global work.
type Scope struct {
	Tenant strongroom.TenantID
	User   strongroom.UserID
}

// TenantScope is a Scope bound to one tenant.
func TenantScope(t strongroom.TenantID) Scope { return Scope{Tenant: t} }

// Read runs fn in a read-only transaction bound to scope.
func (s *Store) Read(ctx context.Context, scope Scope, fn func(*Tx) error) error {
	return s.runRead(ctx, scope, fn)
}

// Write runs fn in a read-write transaction bound to scope. fn's changes and the
// audit events it appends commit together or not at all. On SQLite, concurrent
// writes are group-committed: fn runs inside a savepoint of a batch transaction,
// so fn must not block on anything but the database and must not call the store
// again (it would wait for itself). fn must return every store error it gets: a
// failed statement aborts a PostgreSQL transaction, so carrying on after one
// would commit on SQLite but fail on PostgreSQL.
func (s *Store) Write(ctx context.Context, scope Scope, fn func(*Tx) error) error {
	if s.auditWrites != nil {
		return s.observedWrite(ctx, scope, fn)
	}
	if s.engine == SQLite {
		return s.writer.submit(ctx, scope, fn)
	}
	return s.runPostgresWrite(ctx, scope, fn)
}

// ObserveAuditWrites makes every Write that appended audit events and
// committed report its duration to fn: from the call to the durable commit,
// the wait for a group commit included. fn must be cheap and must not block.
// Call it before the store is used concurrently.
func (s *Store) ObserveAuditWrites(fn func(time.Duration)) { s.auditWrites = fn }

func (s *Store) observedWrite(ctx context.Context, scope Scope, fn func(*Tx) error) error {
	start := time.Now()
	audited := false
	run := func(tx *Tx) error {
		err := fn(tx)
		audited = tx.audited // read by this caller after the write returns
		return err
	}
	var err error
	if s.engine == SQLite {
		err = s.writer.submit(ctx, scope, run)
	} else {
		err = s.runPostgresWrite(ctx, scope, run)
	}
	if err == nil && audited {
		s.auditWrites(time.Since(start))
	}
	return err
}

// querier is what a Tx needs of *sql.Tx / *sql.Conn.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a transaction bound to a Scope. Its methods are the only way to reach
// tenant-owned tables.
type Tx struct {
	s        *Store
	q        querier
	scope    Scope
	writable bool
	audited  bool // AppendAudit was called
}

// Tenant returns the tenant the transaction is bound to.
func (tx *Tx) Tenant() strongroom.TenantID { return tx.scope.Tenant }

// tenant returns the bound tenant, or an error if the transaction is not bound to
// one: a tenant-table method called on an unbound transaction is a programming
// mistake, reported as an internal error rather than run unscoped.
func (tx *Tx) tenant() (strongroom.TenantID, error) {
	if tx.scope.Tenant == "" {
		return "", errors.New("store: tenant-owned table used in a transaction bound to no tenant")
	}
	return tx.scope.Tenant, nil
}

func (tx *Tx) mustWrite() error {
	if !tx.writable {
		return errors.New("store: write in a read-only transaction")
	}
	return nil
}

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := tx.mustWrite(); err != nil {
		return nil, err
	}
	return tx.q.ExecContext(ctx, query, args...)
}

// micros and fromMicros convert times to the integer microseconds both engines store.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// list runs a query and scans each row with scan: the one loop behind the
// store's list methods. what names the list in errors.
func list[T any](ctx context.Context, q querier, what string, scan func(interface{ Scan(...any) error }) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	return out, nil
}
