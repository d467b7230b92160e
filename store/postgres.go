package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

func (s *Store) openPostgres(ctx context.Context, cfg Config) error {
	db, err := sql.Open("pgx", cfg.URL)
	if err != nil {
		return fmt.Errorf("opening postgres: %w", err)
	}
	n := cfg.ReadConns
	if n <= 0 {
		n = max(8, 4*runtime.GOMAXPROCS(0))
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("connecting to postgres: %w", err)
	}
	s.read, s.write = db, db
	s.keys, s.keysTable = db, "strongroom_keyring.tenant_keys"
	return nil
}

// bindPostgres sets the transaction-local settings that the row-level security
// policies read. Unset (or empty) settings match no tenant row.
func bindPostgres(ctx context.Context, tx *sql.Tx, scope Scope) error {
	if _, err := tx.ExecContext(ctx,
		"SELECT set_config('strongroom.tenant_id', $1, true), set_config('strongroom.user_id', $2, true)",
		string(scope.Tenant), string(scope.User)); err != nil {
		return fmt.Errorf("binding transaction to tenant: %w", err)
	}
	return nil
}

func (s *Store) runPostgresWrite(ctx context.Context, scope Scope, fn func(*Tx) error) (err error) {
	stx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	if err = bindPostgres(ctx, stx, scope); err != nil {
		return err
	}
	if err = fn(&Tx{s: s, q: stx, scope: scope, writable: true}); err != nil {
		return err
	}
	if err = stx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

func (s *Store) runRead(ctx context.Context, scope Scope, fn func(*Tx) error) (err error) {
	stx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("beginning read transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: read panicked: %v", p)
		}
		// A read-only transaction has nothing to keep; rollback ends it cheaply.
		_ = stx.Rollback()
	}()
	if s.engine == Postgres {
		if err = bindPostgres(ctx, stx, scope); err != nil {
			return err
		}
	}
	return fn(&Tx{s: s, q: stx, scope: scope})
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
