package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqlitePragmas are applied to every connection, busy_timeout first so the others
// wait for a lock instead of failing. synchronous=FULL makes every commit durable
// (fsync of the WAL); group commit keeps that affordable.
var sqlitePragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"foreign_keys(ON)",
	"synchronous(FULL)",
	// REPLACE fires delete triggers only with recursive triggers on, so the audit
	// log's append-only triggers also refuse REPLACE INTO.
	"recursive_triggers(ON)",
	// Deleted rows are overwritten with zeros, not left in free pages and free
	// space: what retention, a data subject's erasure or a purge deletes must not
	// live on in the database file, nor in the file-layout backups that copy it
	// (docs/lifecycle.md, "Deleted rows and database-file backups").
	"secure_delete(ON)",
}

func sqliteDSN(path string, readOnly bool) string {
	v := url.Values{}
	for _, p := range sqlitePragmas {
		v.Add("_pragma", p)
	}
	if readOnly {
		v.Add("_pragma", "query_only(ON)")
	}
	return "file:" + path + "?" + v.Encode()
}

func (s *Store) openSQLite(ctx context.Context, cfg Config) error {
	if cfg.Path == "" {
		return fmt.Errorf("opening sqlite: no database path")
	}
	s.path, s.readConns = cfg.Path, cfg.ReadConns
	r, w, err := openSQLiteData(ctx, cfg.Path, cfg.ReadConns)
	if err != nil {
		return err
	}
	s.read, s.write = r, w
	s.stmts.db = r
	kp := cfg.KeyringPath
	if kp == "" {
		kp = filepath.Join(filepath.Dir(cfg.Path), "keyring.db")
	}
	if err := s.openSQLiteKeyring(ctx, kp); err != nil {
		r.Close()
		w.Close()
		return err
	}
	gw, err := newGroupWriter(ctx, s)
	if err != nil {
		r.Close()
		w.Close()
		s.keys.Close()
		return err
	}
	s.writer = gw
	return nil
}

// openSQLiteData opens the database file's writer (one connection) and read
// pool.
func openSQLiteData(ctx context.Context, path string, readConns int) (r, w *sql.DB, err error) {
	w, err = sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, nil, fmt.Errorf("opening sqlite writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer connection creates the file and switches it to WAL before any
	// reader opens it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("opening sqlite %s: %w", path, err)
	}
	r, err = sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("opening sqlite readers: %w", err)
	}
	n := readConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	return r, w, nil
}
