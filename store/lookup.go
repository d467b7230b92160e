package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Lookup runs fn as a read of a single statement bound to scope: the hot path of
// every request (session, collection and record lookups). On SQLite it skips the
// BEGIN/ROLLBACK of a read transaction (one statement is consistent by itself)
// and runs prepared statements from a cache, which modernc's driver lacks; on
// PostgreSQL it is Read, because row-level security needs the transaction's
// tenant setting. fn must issue at most one statement; use Read for more.
func (s *Store) Lookup(ctx context.Context, scope Scope, fn func(*Tx) error) error {
	if s.engine != SQLite {
		return s.runRead(ctx, scope, fn)
	}
	return fn(&Tx{s: s, q: &s.stmts, scope: scope})
}

// stmtCache is a querier over the read pool that prepares each distinct query
// once; database/sql then prepares it lazily on each pool connection and reuses
// it. The queries are the store's own constants, so the cache stays small.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	st, ok := c.m[query]
	c.mu.RUnlock()
	if ok {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	if len(c.m) >= maxCachedStmts {
		return nil, errCacheFull
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

var errLookupWrite = errors.New("store: write in a lookup")

// maxCachedStmts bounds the cache: queries with a variable number of
// placeholders (client lists, filters) have many shapes; past the bound they
// run unprepared.
const maxCachedStmts = 256

var errCacheFull = errors.New("store: statement cache full")

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return nil, errLookupWrite
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return c.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		// Cache full, or preparing failed: run the query unprepared (a failure
		// then reaches Scan, since a *sql.Row cannot carry an error we make).
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
