package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Physical copies of a SQLite database, for the backup package's file layout.
//
// A snapshot reads its database's pages through sqlite_dbpage, in the read
// transaction of the snapshot: the pager serves each page as the snapshot sees
// it (from the file or the WAL), so the pages, in order, are a consistent
// database file while writers go on; no second copy is written anywhere. A
// restore writes such a file beside the store's database, checks it (SQLite's
// quick_check, the schema version, the row counts) and renames it into place
// like a bulk load (swapSQLite).

// ErrNotSQLite is returned by the physical-copy calls on a PostgreSQL store.
var ErrNotSQLite = errors.New("store: a database file copy needs a SQLite store")

// SQLiteFileInfo is what SQLitePages read.
type SQLiteFileInfo struct {
	PageSize int
	Pages    int64
}

// SQLiteFileSize is the size of the snapshot's database file, what
// SQLitePages will read (a backup's progress reports it). Only on SQLite.
func (sn *Snapshot) SQLiteFileSize(ctx context.Context) (int64, error) {
	if sn.s.engine != SQLite {
		return 0, ErrNotSQLite
	}
	var pages, size int64
	if err := sn.tx.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, fmt.Errorf("reading the page count: %w", err)
	}
	if err := sn.tx.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, fmt.Errorf("reading the page size: %w", err)
	}
	return pages * size, nil
}

// SQLitePages calls fn with each page of the snapshot's database file in file
// order (p is valid only during the call: it is SQLite's copy of the page).
// Only on SQLite.
func (sn *Snapshot) SQLitePages(ctx context.Context, fn func(p []byte) error) (SQLiteFileInfo, error) {
	var info SQLiteFileInfo
	if sn.s.engine != SQLite {
		return info, ErrNotSQLite
	}
	if err := sn.tx.QueryRowContext(ctx, "PRAGMA page_size").Scan(&info.PageSize); err != nil {
		return info, fmt.Errorf("reading the page size: %w", err)
	}
	if info.PageSize < 512 || info.PageSize > 65536 {
		return info, fmt.Errorf("page size %d is not one SQLite uses", info.PageSize)
	}
	// Map the file for this read (a page fetched from the map costs a copy,
	// from the file a system call each), and unmap it after: the setting
	// belongs to the pooled connection.
	if _, err := sn.tx.ExecContext(ctx, "PRAGMA mmap_size = 2147418112"); err != nil {
		return info, fmt.Errorf("mapping the database file: %w", err)
	}
	defer func() {
		if _, err := sn.tx.ExecContext(context.WithoutCancel(ctx), "PRAGMA mmap_size = 0"); err != nil {
			sn.s.log.Warn("unmapping the database file after a backup", "err", err)
		}
	}()
	rows, err := sn.tx.QueryContext(ctx, "SELECT pgno, data FROM sqlite_dbpage('main') ORDER BY pgno")
	if err != nil {
		return info, fmt.Errorf("reading the database pages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pgno int64
		var data sql.RawBytes
		if err := rows.Scan(&pgno, &data); err != nil {
			return info, fmt.Errorf("reading the database pages: %w", err)
		}
		if pgno != info.Pages+1 || len(data) != info.PageSize {
			return info, fmt.Errorf("reading the database pages: page %d of %d bytes after page %d", pgno, len(data), info.Pages)
		}
		info.Pages++
		if err := fn(data); err != nil {
			return info, err
		}
	}
	if err := rows.Err(); err != nil {
		return info, fmt.Errorf("reading the database pages: %w", err)
	}
	if info.Pages == 0 {
		return info, errors.New("reading the database pages: the database has none")
	}
	return info, nil
}

// RowCounts returns the snapshot's row count of every data table.
func (sn *Snapshot) RowCounts(ctx context.Context) (map[string]int64, error) {
	return rowCounts(ctx, sn.tx, sn.tables)
}

func rowCounts(ctx context.Context, q querier, ts []TableSchema) (map[string]int64, error) {
	out := make(map[string]int64, len(ts))
	for _, t := range ts {
		var n int64
		if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(t.Name)).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting the rows of %s: %w", t.Name, err)
		}
		out[t.Name] = n
	}
	return out, nil
}

// SQLiteFileCheck is what LoadSQLiteFile found in a written file, for the
// caller to compare with what it expects.
type SQLiteFileCheck struct {
	SchemaVersion int
	Tables        []TableSchema
	Rows          map[string]int64

	db *sql.DB // the file, open while check runs
}

// Scan reads every row of table t of the checked file, as Snapshot.Scan
// does; only while the check function runs.
func (c *SQLiteFileCheck) Scan(ctx context.Context, t TableSchema, fn func(row []any) error) error {
	return scanTable(ctx, c.db, t, fn)
}

// LoadSQLiteFile replaces the database of an empty SQLite store with a
// database file: write writes the file's bytes (into a new file beside the
// database, opened nowhere else); the file is then opened and checked
// (PRAGMA quick_check, its schema version must be schemaVersion), check is
// called with what it holds, and only if every step succeeded is the file
// synced and renamed over the store's (replaceSQLite, as in a bulk load). Any
// failure leaves the store's file untouched and the new file removed. The
// store is left at schemaVersion; the caller migrates it forward.
func (s *Store) LoadSQLiteFile(ctx context.Context, schemaVersion int, write func(f *os.File) error, check func(*SQLiteFileCheck) error) error {
	if s.engine != SQLite {
		return ErrNotSQLite
	}
	return s.replaceSQLite(ctx, schemaVersion, "restore", func(tmp string, _ []Migration) error {
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("creating the restore file: %w", err)
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		// The file is synced while it is checked: the check reads the page
		// cache, the sync writes it back, and neither waits for the other.
		// (replaceSQLite's sync after it finds nothing left to write.)
		synced := make(chan error, 1)
		go func() { synced <- f.Sync() }()
		cerr := checkSQLiteFile(ctx, tmp, schemaVersion, check)
		serr := <-synced
		if err := f.Close(); err != nil && serr == nil {
			serr = err
		}
		if cerr != nil {
			return cerr
		}
		if serr != nil {
			return fmt.Errorf("writing the restore file: %w", serr)
		}
		return nil
	})
}

// checkSQLiteFile opens a database file on one exclusive connection (so no
// shared-memory file is made), checks its structure and schema version, and
// calls check with its tables and row counts.
func checkSQLiteFile(ctx context.Context, path string, schemaVersion int, check func(*SQLiteFileCheck) error) error {
	v := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "locking_mode(EXCLUSIVE)", "mmap_size(2147418112)", "query_only(ON)"} {
		v.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return fmt.Errorf("opening the restore file: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("%w: checking the restored database: %w", ErrCorruptFile, err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("%w: checking the restored database: %w", ErrCorruptFile, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: checking the restored database: %w", ErrCorruptFile, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], "…")
		}
		return fmt.Errorf("%w: %s", ErrCorruptFile, strings.Join(problems, "; "))
	}
	c := &SQLiteFileCheck{db: db}
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&c.SchemaVersion); err != nil {
		return fmt.Errorf("%w: reading the restored database's schema version: %w", ErrCorruptFile, err)
	}
	if c.SchemaVersion != schemaVersion {
		return fmt.Errorf("%w: the restored database is at schema version %d, expected %d", ErrCorruptFile, c.SchemaVersion, schemaVersion)
	}
	if c.Tables, err = listTables(ctx, SQLite, db); err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptFile, err)
	}
	if c.Rows, err = rowCounts(ctx, db, c.Tables); err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptFile, err)
	}
	if err := check(c); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("closing the restore file: %w", err)
	}
	return nil
}

// ErrCorruptFile is returned by LoadSQLiteFile when the written file is not a
// sound database of the expected schema version.
var ErrCorruptFile = errors.New("store: the database file is not sound")

// CheckSQLiteFile checks a database file that is not a store's (one extracted
// from a backup to be read elsewhere) the way LoadSQLiteFile checks its new
// file: PRAGMA quick_check, the schema version, then check with its tables
// and row counts. The file must not be in use.
func CheckSQLiteFile(ctx context.Context, path string, schemaVersion int, check func(*SQLiteFileCheck) error) error {
	return checkSQLiteFile(ctx, path, schemaVersion, check)
}
