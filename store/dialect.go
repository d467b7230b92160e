package store

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The dialect differences that business code must not see live here: how each
// engine reports constraint violations, and how each lists its tables. Queries use
// $n placeholders, which both engines accept.

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isUniqueViolation reports whether err is a unique or primary-key violation.
func isUniqueViolation(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return pgCode(err) == "23505"
}

// isForeignKeyViolation reports whether err is a foreign-key violation.
func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY || pgCode(err) == "23503"
}

// hasTable reports whether the named table exists.
func (s *Store) hasTable(ctx context.Context, name string) (bool, error) {
	var n int
	var err error
	if s.engine == Postgres {
		err = s.read.QueryRowContext(ctx,
			"SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1", name).Scan(&n)
	} else {
		err = s.read.QueryRowContext(ctx,
			"SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = $1", name).Scan(&n)
	}
	if err != nil {
		return false, fmt.Errorf("listing tables: %w", err)
	}
	return n > 0, nil
}
