package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

type dumpedTable struct {
	schema store.TableSchema
	rows   [][]any
}

// dumpStore reads every row of st's snapshot into memory.
func dumpStore(t *testing.T, st *store.Store) (int, []dumpedTable) {
	t.Helper()
	var version int
	var out []dumpedTable
	err := st.Snapshot(t.Context(), func(sn *store.Snapshot) error {
		version = sn.SchemaVersion()
		for _, ts := range sn.Tables() {
			d := dumpedTable{schema: ts}
			if err := sn.Scan(t.Context(), ts, func(row []any) error {
				d.rows = append(d.rows, slices.Clone(row))
				return nil
			}); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return version, out
}

func loadDump(ctx context.Context, st *store.Store, version int, tables []dumpedTable) error {
	return st.Load(ctx, version, func(l *store.Loader) error {
		for _, d := range tables {
			cols := make([]string, len(d.schema.Columns))
			for i, c := range d.schema.Columns {
				cols[i] = c.Name
			}
			for _, r := range d.rows {
				if err := l.Insert(ctx, d.schema.Name, cols, r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func rowCount(tables []dumpedTable) int {
	n := 0
	for _, d := range tables {
		n += len(d.rows)
	}
	return n
}

// openLoadTarget opens a migrated store of engine as a role that may read
// and load every tenant's rows (the owner on PostgreSQL), with its data
// folder ("" on PostgreSQL).
func openLoadTarget(t *testing.T, engine string) (*store.Store, string) {
	t.Helper()
	if engine == "sqlite" {
		dir := t.TempDir()
		return testkit.OpenSQLiteStoreIn(t, dir), dir
	}
	db := testkit.NewPostgresDB(t)
	st, err := store.Open(t.Context(), store.Config{URL: db.OwnerURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, ""
}

// sqliteSchema returns every schema object of the SQLite database in dir
// (nil on PostgreSQL).
func sqliteSchema(t *testing.T, dir string) []string {
	t.Helper()
	if dir == "" {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "strongroom.db")+"?_pragma=busy_timeout(10000)&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_schema ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("only %d schema objects", len(out))
	}
	return out
}

// dataFolderFiles lists the files of a SQLite data folder, to find leftovers
// of a load ("" on PostgreSQL).
func dataFolderFiles(t *testing.T, st *store.Store, dir string) []string {
	t.Helper()
	if st.Engine() != store.SQLite {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "keyring.db") {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestLoad: a load into an empty store of either engine makes the rows
// visible and leaves a working store (on SQLite, the file built beside it and
// swapped in; nothing else left in the folder); a load that fails — fn's
// error, a row whose parent is missing, a non-empty target — leaves the
// target empty and the folder as it was.
func TestLoad(t *testing.T) {
	for _, e := range []string{"sqlite", "postgres"} {
		t.Run(e, func(t *testing.T) {
			ctx := t.Context()
			src, _ := openLoadTarget(t, e)
			now := time.Now().UTC().Truncate(time.Microsecond)
			org := strongroom.Organization{ID: strongroom.TenantID(uuid.Must(uuid.NewV7()).String()), Name: "load", CreatedAt: now}
			coll := strongroom.Collection{ID: strongroom.CollectionID(uuid.Must(uuid.NewV7()).String()), Name: "c", Schema: []byte(`{}`), CreatedAt: now}
			if err := src.Write(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error {
				if err := tx.CreateOrganization(ctx, &org); err != nil {
					return err
				}
				return tx.CreateCollection(ctx, &coll)
			}); err != nil {
				t.Fatal(err)
			}
			version, tables := dumpStore(t, src)

			newTarget := func(t *testing.T) (*store.Store, string) { return openLoadTarget(t, e) }
			requireUntouched := func(t *testing.T, dst *store.Store, dir string, before []string) {
				t.Helper()
				if full, err := dst.HasData(ctx); err != nil || full {
					t.Fatalf("HasData after a failed load = %v, %v; want false", full, err)
				}
				if after := dataFolderFiles(t, dst, dir); !slices.Equal(before, after) {
					t.Errorf("data folder after a failed load: %v, before: %v", after, before)
				}
			}

			t.Run("loads", func(t *testing.T) {
				dst, dir := newTarget(t)
				before := dataFolderFiles(t, dst, dir)
				schemaBefore := sqliteSchema(t, dir)
				if err := loadDump(ctx, dst, version, tables); err != nil {
					t.Fatalf("Load: %v", err)
				}
				_, got := dumpStore(t, dst)
				if rowCount(got) != rowCount(tables) || rowCount(got) == 0 {
					t.Errorf("loaded %d rows, want %d", rowCount(got), rowCount(tables))
				}
				if after := dataFolderFiles(t, dst, dir); len(after) > len(before)+2 {
					t.Errorf("data folder after the load: %v", after)
				} else {
					for _, f := range after {
						if strings.Contains(f, ".load-") {
							t.Errorf("the load left %s", f)
						}
					}
				}
				if diff := cmp.Diff(schemaBefore, sqliteSchema(t, dir)); diff != "" {
					t.Errorf("schema (tables, indexes, triggers) changed by the load (-before +after):\n%s", diff)
				}
				// The store works on after the load: the swapped-in file is
				// reopened for reads and writes, indexes and constraints in place.
				other := strongroom.Organization{ID: strongroom.TenantID(uuid.Must(uuid.NewV7()).String()), Name: "after", CreatedAt: now}
				if err := dst.Write(ctx, store.TenantScope(other.ID), func(tx *store.Tx) error {
					return tx.CreateOrganization(ctx, &other)
				}); err != nil {
					t.Fatalf("writing after the load: %v", err)
				}
				dup := coll
				err := dst.Write(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error { return tx.CreateCollection(ctx, &dup) })
				if err == nil {
					t.Error("a second collection of the same name was accepted after the load: the unique constraint is gone")
				}
				if err := loadDump(ctx, dst, version, tables); !errors.Is(err, store.ErrNotEmpty) {
					t.Errorf("a second load: %v, want ErrNotEmpty", err)
				}
			})
			t.Run("fn fails", func(t *testing.T) {
				dst, dir := newTarget(t)
				before := dataFolderFiles(t, dst, dir)
				boom := errors.New("boom")
				err := dst.Load(ctx, version, func(l *store.Loader) error {
					for _, d := range tables {
						for _, r := range d.rows {
							cols := make([]string, len(d.schema.Columns))
							for i, c := range d.schema.Columns {
								cols[i] = c.Name
							}
							if err := l.Insert(ctx, d.schema.Name, cols, r); err != nil {
								return err
							}
						}
					}
					return boom
				})
				if !errors.Is(err, boom) {
					t.Fatalf("Load = %v, want fn's error", err)
				}
				requireUntouched(t, dst, dir, before)
			})
			t.Run("missing parent", func(t *testing.T) {
				dst, dir := newTarget(t)
				before := dataFolderFiles(t, dst, dir)
				orphans := slices.DeleteFunc(slices.Clone(tables), func(d dumpedTable) bool { return d.schema.Name == "organizations" })
				err := loadDump(ctx, dst, version, orphans)
				if err == nil {
					t.Fatal("rows without their parent were loaded")
				}
				if !errors.Is(err, store.ErrForeignKey) {
					t.Errorf("Load = %v, want ErrForeignKey", err)
				}
				requireUntouched(t, dst, dir, before)
			})
			t.Run("target of another version", func(t *testing.T) {
				// PostgreSQL loads only at the target's own version; SQLite
				// replaces the empty file by one built at the rows' version
				// (here: no rows, as of the previous version).
				dst, dir := newTarget(t)
				before := dataFolderFiles(t, dst, dir)
				var noRows []dumpedTable
				err := loadDump(ctx, dst, version-1, noRows)
				if e == "postgres" {
					if err == nil || !strings.Contains(err.Error(), "target schema is at version") {
						t.Fatalf("Load at another version = %v", err)
					}
					requireUntouched(t, dst, dir, before)
					return
				}
				if err != nil {
					t.Fatalf("Load at the previous version: %v", err)
				}
				if st, err := dst.SchemaStatus(ctx); err != nil || st.Applied != version-1 {
					t.Errorf("after a load at version %d the store is at %+v (%v)", version-1, st, err)
				}
			})
			t.Run("not empty", func(t *testing.T) {
				if err := loadDump(ctx, src, version, tables); !errors.Is(err, store.ErrNotEmpty) {
					t.Fatalf("Load into the source = %v, want ErrNotEmpty", err)
				}
			})
		})
	}
}
