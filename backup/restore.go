package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/store"
)

// ErrTargetSchema is returned when a PostgreSQL target was migrated past
// the backup's schema version.
var ErrTargetSchema = errors.New("the target's schema is newer than the backup's")

// Restore decrypts an archive and loads it into st, which must hold no data
// (a fresh database, or one migrated but never used). The loaded rows become
// visible only after the archive was read to its authenticated end and every
// table's count and checksum matched (one transaction on PostgreSQL; on
// SQLite a new file renamed into place): a truncated, tampered, wrong-key or
// wrong-version archive leaves st empty.
// st is migrated to the archive's schema version first and to the binary's
// latest after, so a backup of an older schema restores into a newer binary.
// An empty SQLite store already migrated past the backup's version is fine
// (its file is replaced by one built at the backup's version); a PostgreSQL
// database migrated past it is refused with ErrTargetSchema, unchanged.
//
// On SQLite the caller must have st to itself during the restore: the loaded
// file is renamed over st's and st reopens it (store.Store.Load).
//
// The archive's blobs (formats 2 and 3, either layout) are written into blobs, which must hold no
// object (ErrBlobsNotEmpty otherwise), while the archive is read, so before
// the rows commit; when the restore is refused or fails, the blobs written
// are deleted again. blobs nil checks the blob section without keeping it
// (drills). A format 1 archive has no blobs: its manifest's Blobs is nil.
func Restore(ctx context.Context, st *store.Store, blobs *blob.Store, r io.Reader, identities []age.Identity) (*Manifest, error) {
	pr, err := Decrypt(r, identities)
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	return RestorePlain(ctx, st, blobs, pr)
}

// RestorePlain is Restore of a decrypted, decompressed archive.
func RestorePlain(ctx context.Context, st *store.Store, blobs *blob.Store, r io.Reader) (*Manifest, error) {
	ar, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	if blobs != nil {
		if empty, err := blobs.Empty(ctx); err != nil {
			return nil, fmt.Errorf("restoring: checking the target blob store: %w", err)
		} else if !empty {
			return nil, fmt.Errorf("restoring: %w: restore into an empty folder or bucket, as into an empty database", ErrBlobsNotEmpty)
		}
		ar.blobs.ctx, ar.blobs.sink = ctx, blobs
	}
	h := ar.Header()
	ms, err := store.Migrations(st.Engine())
	if err != nil {
		return nil, err
	}
	if h.SchemaVersion > len(ms) {
		return nil, fmt.Errorf("%w: the backup is of schema version %d, newer than this binary's %d: restore it with the version of strongroom that wrote it or a later one",
			ErrFormat, h.SchemaVersion, len(ms))
	}
	if full, err := st.HasData(ctx); err != nil {
		return nil, fmt.Errorf("restoring: %w", err)
	} else if full {
		return nil, fmt.Errorf("restoring: %w", store.ErrNotEmpty)
	}
	if st.Engine() == store.Postgres {
		ss, err := st.SchemaStatus(ctx)
		if err != nil {
			return nil, fmt.Errorf("restoring: %w", err)
		}
		if ss.Applied > h.SchemaVersion {
			return nil, fmt.Errorf("restoring: %w: the target database is at schema version %d, past the backup's %d; "+
				"a backup's rows load only into the schema of their version and migrations only go forward, so restore into a database "+
				"that was never migrated (the restore migrates it to %d, loads the rows and migrates it to this binary's version)",
				ErrTargetSchema, ss.Applied, h.SchemaVersion, h.SchemaVersion)
		}
	}
	if h.Layout == LayoutSQLiteFile {
		return restoreSQLiteFile(ctx, st, ar)
	}
	return restoreRows(ctx, st, ar)
}

// restoreRows loads the rows of a logical archive whose header was read into
// st, which was checked to be an empty target.
func restoreRows(ctx context.Context, st *store.Store, ar *Reader) (*Manifest, error) {
	h := ar.Header()
	if _, err := st.MigrateTo(ctx, h.SchemaVersion); err != nil {
		return nil, fmt.Errorf("preparing the target schema: %w", err)
	}
	var m *Manifest
	err := st.Load(ctx, h.SchemaVersion, func(l *store.Loader) error {
		plan, err := planLoad(h, l.Tables())
		if err != nil {
			return err
		}
		var conv []any
		m, err = ar.Rows(func(t *store.TableSchema, row []any) error {
			p := plan[t.Name]
			conv = conv[:0]
			for i, v := range row {
				x, err := store.NormalizeValue(p.types[i], v)
				if err != nil {
					return fmt.Errorf("table %s column %s: %w", t.Name, t.Columns[i].Name, err)
				}
				conv = append(conv, x)
			}
			return l.Insert(ctx, t.Name, p.cols, conv)
		})
		return err
	})
	if err != nil {
		// The rows were not committed: delete the blobs written.
		if aerr := ar.blobs.abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return nil, fmt.Errorf("restoring: %w", err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		return m, fmt.Errorf("migrating the restored store to this binary's schema: %w", err)
	}
	return m, nil
}

type tablePlan struct {
	cols  []string
	types []store.ColumnType // the target's
}

// planLoad matches the archive's tables and columns with the target's: the
// same tables with the same column names (order may differ), or the archive is
// refused before anything is written.
func planLoad(h *Header, target []store.TableSchema) (map[string]tablePlan, error) {
	tt := map[string]store.TableSchema{}
	for _, t := range target {
		tt[t.Name] = t
	}
	plan := map[string]tablePlan{}
	for _, t := range h.Tables {
		tgt, ok := tt[t.Name]
		if !ok {
			return nil, fmt.Errorf("%w: table %s is not in the target's schema version %d", ErrFormat, t.Name, h.SchemaVersion)
		}
		if len(tgt.Columns) != len(t.Columns) {
			return nil, fmt.Errorf("%w: table %s has %d columns in the archive and %d in the target", ErrFormat, t.Name, len(t.Columns), len(tgt.Columns))
		}
		p := tablePlan{}
		for _, c := range t.Columns {
			i := slices.IndexFunc(tgt.Columns, func(x store.Column) bool { return x.Name == c.Name })
			if i < 0 {
				return nil, fmt.Errorf("%w: table %s column %s is not in the target", ErrFormat, t.Name, c.Name)
			}
			p.cols = append(p.cols, c.Name)
			p.types = append(p.types, tgt.Columns[i].Type)
		}
		plan[t.Name] = p
		delete(tt, t.Name)
	}
	for name := range tt {
		return nil, fmt.Errorf("%w: the archive has no table %s, which schema version %d has", ErrFormat, name, h.SchemaVersion)
	}
	return plan, nil
}

// Summarize reads st's snapshot and returns the manifest a backup taken now
// would have (row counts and checksums), without writing anything: used to
// compare a restored store with its archive.
func Summarize(ctx context.Context, st *store.Store) (*Manifest, error) {
	var m *Manifest
	err := st.Snapshot(ctx, func(sn *store.Snapshot) error {
		var err error
		m, err = writePlain(ctx, io.Discard, sn, time.Time{}, nil)
		return err
	})
	return m, err
}

// SameData reports the first difference of tables, row counts or checksums
// between two manifests, or nil.
func SameData(a, b *Manifest) error {
	ac, bc := map[string]TableSummary{}, map[string]TableSummary{}
	for _, t := range a.Tables {
		ac[t.Name] = t
	}
	for _, t := range b.Tables {
		bc[t.Name] = t
	}
	var errs []error
	for name, x := range ac {
		y, ok := bc[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("table %s is missing", name))
		case x.Rows != y.Rows:
			errs = append(errs, fmt.Errorf("table %s: %d rows, expected %d", name, y.Rows, x.Rows))
		case x.Checksum != y.Checksum && x.Checksum != "" && y.Checksum != "":
			// A sqlite-file manifest has no row checksums: its file's
			// SHA-256 was checked instead.
			errs = append(errs, fmt.Errorf("table %s: checksum %s, expected %s", name, y.Checksum, x.Checksum))
		}
	}
	for name := range bc {
		if _, ok := ac[name]; !ok {
			errs = append(errs, fmt.Errorf("table %s is extra", name))
		}
	}
	return errors.Join(errs...)
}
