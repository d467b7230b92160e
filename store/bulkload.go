package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// Bulk load of an empty SQLite store (Load on SQLite, used by restores).
//
// Inserting a backup's rows into the live database costs what writing them
// the first time did: every page goes to the WAL and again to the file at the
// checkpoint, and every secondary index grows by random inserts. A store
// being restored holds no data and serves nobody, so the rows go instead into
// a new file beside it, opened without a journal and without syncs; the
// secondary indexes are dropped before the rows come and created after them
// (one sort each instead of a random insert per row). Foreign keys are
// checked as rows come (parents come first; a lookup in the parent's primary
// key, which stays) and deferred to the commit: a PRAGMA foreign_key_check
// at the end instead read every row again, a fifth of a restore's time. Primary keys cannot be deferred this way (most
// tables are WITHOUT ROWID: the table is its primary key's B-tree), but a
// SQLite snapshot reads every table in primary-key order, so those inserts
// append. Only a complete, checked file is synced and renamed over the empty
// database: until then the store's own file is untouched, and a failed or
// interrupted load leaves at most the temporary file, which is removed (or,
// after a crash, left beside the database under a name nothing opens).

// bulkPragmas are the new file's connection settings: no rollback journal
// and no fsync (the file is discarded unless the load completes, and synced
// once before it is renamed into place), one exclusive connection and a 256
// MiB page cache. Foreign keys stay on, deferred to the commit (buildSQLite);
// so do the audit tables' triggers.
var bulkPragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(OFF)",
	"synchronous(OFF)",
	"locking_mode(EXCLUSIVE)",
	"cache_size(-262144)",
	"foreign_keys(ON)",
	"recursive_triggers(ON)",
}

func (s *Store) loadSQLite(ctx context.Context, schemaVersion int, fn func(*Loader) error) error {
	return s.replaceSQLite(ctx, schemaVersion, "load", func(tmp string, ms []Migration) error {
		return s.buildSQLite(ctx, tmp, ms, fn)
	})
}

// replaceSQLite is the shape both ways of filling an empty SQLite store
// share (a bulk load and LoadSQLiteFile): it checks that the store holds no
// data and that schemaVersion is one this binary knows, calls build to
// create a new database file at the path it is given (beside the store's,
// under a random name) from the migrations up to schemaVersion, then syncs
// that file, checks again that the store is still empty and renames the file
// over the store's database (swapSQLite). Whatever build leaves beside the
// new file (a journal, a WAL, shared memory) and the file itself, unless it
// was moved into place, are removed on the way out. what names the file in
// errors and logs ("load", "restore").
func (s *Store) replaceSQLite(ctx context.Context, schemaVersion int, what string, build func(tmp string, ms []Migration) error) error {
	if err := s.checkSQLiteTarget(ctx); err != nil {
		return err
	}
	ms, err := Migrations(SQLite)
	if err != nil {
		return err
	}
	if schemaVersion < 1 || schemaVersion > len(ms) {
		return fmt.Errorf("store: schema version %d is not one this binary knows (1..%d)", schemaVersion, len(ms))
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("naming the %s file: %w", what, err)
	}
	tmp := s.path + ".load-" + hex.EncodeToString(rnd[:])
	defer func() {
		// After a successful swap tmp no longer exists.
		for _, p := range []string{tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.log.Warn("removing a "+what+" file", "err", err)
			}
		}
	}()
	if err := build(tmp, ms[:schemaVersion]); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	// The store's file must still be empty: nothing but this load may use the
	// store meanwhile, but a mistake there must not cost data.
	if err := s.checkSQLiteTarget(ctx); err != nil {
		return err
	}
	return s.swapSQLite(ctx, tmp)
}

// checkSQLiteTarget checks that the store's database holds no data. Its
// schema version does not matter: the file is replaced by one built at the
// rows' version (so an empty store already migrated past the rows' version
// can be loaded and then migrated forward, which PostgreSQL cannot do).
func (s *Store) checkSQLiteTarget(ctx context.Context) error {
	full, err := s.HasData(ctx)
	if err != nil {
		return err
	}
	if full {
		return ErrNotEmpty
	}
	return nil
}

// buildSQLite creates the database file path (which must not exist), applies
// ms, and runs fn to load it with the secondary indexes dropped; then it
// recreates them, commits (the deferred foreign keys are checked there) and
// closes the file (replaceSQLite syncs it).
func (s *Store) buildSQLite(ctx context.Context, path string, ms []Migration, fn func(*Loader) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("creating the load file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("creating the load file: %w", err)
	}
	v := url.Values{}
	for _, p := range bulkPragmas {
		v.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return fmt.Errorf("opening the load file: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning load: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
		return fmt.Errorf("deferring foreign keys: %w", err)
	}
	for _, m := range ms {
		if _, err := s.applyMigrationIn(ctx, tx, m); err != nil {
			return fmt.Errorf("applying migration %s to the load file: %w", m.Name, err)
		}
	}
	indexes, err := dropIndexes(ctx, tx)
	if err != nil {
		return err
	}
	ts, err := listTables(ctx, SQLite, tx)
	if err != nil {
		return err
	}
	l := newLoader(tx, SQLite, ts)
	l.prepare = tx.PrepareContext
	defer l.closeStmts()
	if err := fn(l); err != nil {
		return err
	}
	if err := l.flush(ctx); err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := tx.ExecContext(ctx, ix.sql); err != nil {
			return fmt.Errorf("creating index %s after the load: %w", ix.name, err)
		}
	}
	l.closeStmts()
	if err := tx.Commit(); err != nil {
		if isForeignKeyViolation(err) {
			return fmt.Errorf("%w: %w", ErrForeignKey, err)
		}
		return fmt.Errorf("committing load: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("closing the load file: %w", err)
	}
	return nil
}

type indexDef struct{ name, sql string }

// dropIndexes drops every index that has its own CREATE INDEX statement (not
// the ones SQLite makes for PRIMARY KEY and UNIQUE constraints) and returns
// the statements that recreate them.
func dropIndexes(ctx context.Context, q querier) ([]indexDef, error) {
	rows, err := q.QueryContext(ctx, "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("listing indexes: %w", err)
	}
	var out []indexDef
	for rows.Next() {
		var ix indexDef
		if err := rows.Scan(&ix.name, &ix.sql); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing indexes: %w", err)
		}
		out = append(out, ix)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing indexes: %w", err)
	}
	for _, ix := range out {
		if _, err := q.ExecContext(ctx, "DROP INDEX "+quoteIdent(ix.name)); err != nil {
			return nil, fmt.Errorf("dropping index %s for the load: %w", ix.name, err)
		}
	}
	return out, nil
}

// ErrForeignKey is returned by Load when loaded rows refer to rows that are
// not there.
var ErrForeignKey = errors.New("store: a loaded row refers to a row that is not there")

// swapSQLite replaces the store's database file with path and reopens it.
// The store's connections are closed first (the last close checkpoints the
// WAL); what is left of the old file's WAL and shared memory is removed
// before the rename, since SQLite would otherwise read it with the new file.
func (s *Store) swapSQLite(ctx context.Context, path string) error {
	s.writer.stop()
	s.stmts.close()
	if err := errors.Join(s.read.Close(), s.write.Close()); err != nil {
		return errors.Join(fmt.Errorf("closing the store for the load: %w", err), s.reopenSQLite(ctx))
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(s.path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return errors.Join(fmt.Errorf("removing the empty store's %s file: %w", suffix, err), s.reopenSQLite(ctx))
		}
	}
	if err := os.Rename(path, s.path); err != nil {
		return errors.Join(fmt.Errorf("moving the loaded database into place: %w", err), s.reopenSQLite(ctx))
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return errors.Join(err, s.reopenSQLite(ctx))
	}
	return s.reopenSQLite(ctx)
}

// reopenSQLite opens the store's database file again after swapSQLite closed
// it.
func (s *Store) reopenSQLite(ctx context.Context) error {
	r, w, err := openSQLiteData(ctx, s.path, s.readConns)
	if err != nil {
		return fmt.Errorf("reopening the store: %w", err)
	}
	s.read, s.write = r, w
	s.stmts.db = r
	gw, err := newGroupWriter(ctx, s)
	if err != nil {
		return fmt.Errorf("reopening the store: %w", err)
	}
	s.writer = gw
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing the data folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing the data folder: %w", err)
	}
	return nil
}
