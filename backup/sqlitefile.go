package backup

// The sqlite-file layout (format 3): the archive carries the SQLite database
// file of a snapshot instead of its rows. Reading the pages of a snapshot
// costs about what copying the file does, where encoding every row, hashing
// it and, at the restore, inserting it again and rebuilding every index cost
// three to nine times more (docs/benchmarks.md). The file restores into SQLite
// by renaming it into place after it was checked, and into PostgreSQL through
// the logical loader, reading the extracted file as a store: the layout keeps
// the archive portable, only slower to load into the other engine.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"strongroom.dev/strongroom/store"
)

// Layout is how an archive holds the data.
type Layout string

// Layouts. LayoutAuto is for writing only: the file of a SQLite store, the
// rows of a PostgreSQL one.
const (
	LayoutAuto       Layout = ""
	LayoutLogical    Layout = "logical"
	LayoutSQLiteFile Layout = "sqlite-file"
)

// resolve returns the layout a backup of an engine's store is written in.
func (l Layout) resolve(e store.Engine) (Layout, error) {
	switch l {
	case LayoutAuto:
		if e == store.SQLite {
			return LayoutSQLiteFile, nil
		}
		return LayoutLogical, nil
	case LayoutLogical:
		return l, nil
	case LayoutSQLiteFile:
		if e != store.SQLite {
			return "", fmt.Errorf("backup: the %s layout needs a SQLite store, this one is %s", l, e)
		}
		return l, nil
	}
	return "", fmt.Errorf("backup: unknown layout %q", string(l))
}

// check validates a header's layout for its format.
func (l Layout) check(format int) error {
	if format < 3 {
		if l != "" {
			return formatErr("a format %d header names a layout", format)
		}
		return nil
	}
	if l != LayoutLogical && l != LayoutSQLiteFile {
		return formatErr("unknown layout %q", string(l))
	}
	return nil
}

// FileSummary describes the database file of a sqlite-file archive.
type FileSummary struct {
	Bytes    int64  `json:"bytes"`
	PageSize int    `json:"page_size"`
	Pages    int64  `json:"pages"`
	SHA256   string `json:"sha256"`
}

// writeSQLiteFile writes the sqlite-file layout of a SQLite snapshot: the
// header, the database file's pages as the snapshot sees them, the blob
// section (the blobs of the record_files rows of the same snapshot, read in
// its transaction, so the rows the file holds), the manifest (the file's size
// and SHA-256, each table's row count, the blob summary) and the end.
func writeSQLiteFile(ctx context.Context, w io.Writer, sn *store.Snapshot, now time.Time, blobs *blobSource) (*Manifest, error) {
	h := Header{Format: Format, Engine: string(sn.Engine()), SchemaVersion: sn.SchemaVersion(), CreatedAt: now.UTC(), Layout: LayoutSQLiteFile, Tables: sn.Tables()}
	fw, err := startArchive(w, &h)
	if err != nil {
		return nil, err
	}
	prog := progressFrom(ctx)
	var total int64
	if prog != nil {
		if total, err = sn.SQLiteFileSize(ctx); err != nil {
			return nil, err
		}
		prog.fileBytes(0, total)
		prog.phase("database file")
	}
	// Reading the pages (here), hashing them (the stage's goroutine),
	// framing and compressing them (the tee's and zstd's) and encrypting and
	// writing them (WriteLayout's) overlap.
	sum := sha256.New()
	framed := newTee(frameTo{fw, kindFile}, sum)
	defer framed.Close()
	var n int64
	pages := newStage(stageBuffer, stageDepth, func(p []byte) error {
		n += int64(len(p))
		prog.fileBytes(n, total)
		if _, err := framed.Write(p); err != nil {
			return fmt.Errorf("writing archive: %w", err)
		}
		return nil
	})
	info, err := sn.SQLitePages(ctx, func(p []byte) error {
		_, err := pages.Write(p)
		return err
	})
	if err != nil {
		pages.Abort()
		return nil, err
	}
	if err := pages.Close(); err != nil {
		return nil, err
	}
	counts, err := sn.RowCounts(ctx)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: Format, Engine: h.Engine, SchemaVersion: h.SchemaVersion, CreatedAt: h.CreatedAt, Layout: h.Layout,
		File: &FileSummary{Bytes: n, PageSize: info.PageSize, Pages: info.Pages, SHA256: hex.EncodeToString(sum.Sum(nil))}}
	for _, t := range h.Tables {
		m.Tables = append(m.Tables, TableSummary{Name: t.Name, Rows: counts[t.Name]})
	}
	prog.rowsDone(m.Rows())
	var files blobKeys
	if blobs != nil {
		for _, t := range h.Tables {
			collect := files.collector(&t)
			if collect == nil {
				continue
			}
			if err := sn.Scan(ctx, t, func(row []any) error { collect(row); return nil }); err != nil {
				return nil, err
			}
		}
	}
	if err := finishArchive(ctx, fw, m, files.keys, blobs); err != nil {
		return nil, err
	}
	return m, nil
}

// frameTo writes each buffer as one frame of a kind.
type frameTo struct {
	fw   *frameWriter
	kind byte
}

func (f frameTo) Write(p []byte) (int, error) {
	if err := f.fw.frame(f.kind, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// File reads the rest of a sqlite-file archive, writing the database file to
// w, and checks the file's size and SHA-256, the blob section's frames and
// summary, the manifest against the header and the archive's end. Only when
// it returns nil is what was written to w the whole, intact file. Whether
// every file row of the database file has its blob is checked by the
// restore, once the file is extracted (checkExtracted).
func (ar *Reader) File(w io.Writer) (*Manifest, error) {
	if ar.done {
		return nil, errors.New("backup: archive already read")
	}
	ar.done = true
	h := ar.header
	if h.Layout != LayoutSQLiteFile {
		return nil, errors.New("backup: the archive holds rows, not a SQLite database file (read it with Rows)")
	}
	if h.Engine != string(store.SQLite) {
		return nil, formatErr("a %s archive of a %q store", h.Layout, h.Engine)
	}
	// Decrypting (Decrypt's read-ahead), decompressing (zstd's
	// goroutines), reading frames (here), hashing the file (the stage's
	// goroutine) and writing it (the tee's) overlap.
	sum := sha256.New()
	fw := newTee(w, sum) // hashing a buffer while it is written
	defer fw.Close()
	out := newStage(stageBuffer, stageDepth, func(p []byte) error {
		if _, err := fw.Write(p); err != nil {
			return fmt.Errorf("writing the database file: %w", err)
		}
		return nil
	})
	defer out.Abort()
	var (
		n       int64
		m       *Manifest
		plain   int64
		inBlobs bool // a blob frame was read: the file is complete
	)
	for {
		if m == nil {
			plain = ar.plainSoFar()
		}
		kind, p, err := ar.fr.next()
		if err != nil {
			return nil, err
		}
		switch kind {
		case kindFile:
			if m != nil || inBlobs {
				return nil, formatErr("file data after the blob section or the manifest")
			}
			n += int64(len(p))
			if _, err := out.Write(p); err != nil {
				return nil, err
			}
		case kindManifest:
			if m != nil {
				return nil, formatErr("a second manifest")
			}
			m = new(Manifest)
			if err := strictJSON(p, m); err != nil {
				return nil, formatErr("manifest: %v", err)
			}
			if err := out.Close(); err != nil {
				return nil, err
			}
			if err := checkFileManifest(h, m, n, hex.EncodeToString(sum.Sum(nil)), plain); err != nil {
				return nil, err
			}
			if err := ar.blobs.check(h.Format, m.Blobs); err != nil {
				return nil, err
			}
		case kindBlob, kindBlobData, kindBlobEnd:
			if m != nil {
				return nil, formatErr("a blob frame outside the blob section")
			}
			inBlobs = true
			if err := ar.blobs.frame(kind, p); err != nil {
				return nil, err
			}
		case kindEnd:
			if m == nil {
				return nil, formatErr("the archive ends without a manifest")
			}
			return m, nil
		default:
			return nil, formatErr("unknown frame kind %d in a %s archive", kind, h.Layout)
		}
	}
}

// checkFileManifest checks a sqlite-file manifest against the header and the
// file that was read.
func checkFileManifest(h *Header, m *Manifest, n int64, sum string, plain int64) error {
	if m.Format != h.Format || m.Engine != h.Engine || m.SchemaVersion != h.SchemaVersion || m.Layout != h.Layout ||
		!m.CreatedAt.Equal(h.CreatedAt) || m.PlainBytes != plain || m.File == nil {
		return formatErr("the manifest does not match the archive's contents")
	}
	f := m.File
	if f.Bytes != n || f.SHA256 != sum {
		return formatErr("the database file read (%d bytes, sha256 %s) is not the one the manifest describes (%d bytes, sha256 %s)", n, sum, f.Bytes, f.SHA256)
	}
	if f.PageSize < 512 || f.PageSize > 65536 || f.PageSize&(f.PageSize-1) != 0 || f.Pages < 1 || f.Pages*int64(f.PageSize) != f.Bytes {
		return formatErr("the manifest's page size %d and %d pages do not make its %d bytes", f.PageSize, f.Pages, f.Bytes)
	}
	if len(m.Tables) != len(h.Tables) {
		return formatErr("the manifest lists %d tables, the header %d", len(m.Tables), len(h.Tables))
	}
	for i, t := range m.Tables {
		if t.Name != h.Tables[i].Name || t.Rows < 0 || t.Checksum != "" {
			return formatErr("the manifest's table %q does not match the header's", t.Name)
		}
	}
	return nil
}

// checkFileRows compares the tables and row counts found in a restored file
// with the manifest's.
func checkFileRows(m *Manifest, c *store.SQLiteFileCheck) error {
	var errs []error
	names := make([]string, 0, len(c.Tables))
	for _, t := range c.Tables {
		names = append(names, t.Name)
	}
	for _, t := range m.Tables {
		got, ok := c.Rows[t.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("table %s is missing", t.Name))
		case got != t.Rows:
			errs = append(errs, fmt.Errorf("table %s: %d rows, the manifest says %d", t.Name, got, t.Rows))
		}
		names = slices.DeleteFunc(names, func(n string) bool { return n == t.Name })
	}
	for _, n := range names {
		errs = append(errs, fmt.Errorf("table %s is not in the manifest", n))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: the restored database file differs from the manifest: %w", ErrFormat, err)
	}
	return nil
}

// restoreSQLiteFile restores a sqlite-file archive whose header was read: on
// SQLite the file replaces the store's (checked first), on PostgreSQL it is
// extracted to a temporary folder, checked, and its rows loaded.
func restoreSQLiteFile(ctx context.Context, st *store.Store, ar *Reader) (*Manifest, error) {
	h := ar.Header()
	if st.Engine() != store.SQLite {
		return restoreSQLiteFileLogically(ctx, st, ar)
	}
	var m *Manifest
	err := st.LoadSQLiteFile(ctx, h.SchemaVersion,
		func(f *os.File) error {
			var err error
			m, err = ar.File(f)
			return err
		},
		func(c *store.SQLiteFileCheck) error { return checkExtracted(ctx, ar, m, c) })
	if err != nil {
		// The file was not put in place: delete the blobs written.
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

// checkExtracted checks an extracted database file against the manifest: its
// tables and row counts, and that each of its record_files rows has its blob
// in the archive or is listed missing.
func checkExtracted(ctx context.Context, ar *Reader, m *Manifest, c *store.SQLiteFileCheck) error {
	if err := checkFileRows(m, c); err != nil {
		return err
	}
	for _, t := range c.Tables {
		if _, _, ok := fileKeyColumns(&t); !ok {
			continue
		}
		if err := c.Scan(ctx, t, func(row []any) error { ar.blobs.noteRow(&t, row); return nil }); err != nil {
			return fmt.Errorf("%w: reading the restored database's files: %w", ErrFormat, err)
		}
	}
	return ar.blobs.checkRows(m.Blobs)
}

// restoreSQLiteFileLogically extracts the database file into a temporary
// folder (TMPDIR), checks it, opens it as a store and streams its snapshot in
// the logical layout into RestorePlain of st.
func restoreSQLiteFileLogically(ctx context.Context, st *store.Store, ar *Reader) (*Manifest, error) {
	m, err := loadSQLiteFileLogically(ctx, st, ar)
	if err != nil {
		// The rows were not committed: delete the blobs written.
		if aerr := ar.blobs.abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return nil, err
	}
	return m, nil
}

func loadSQLiteFileLogically(ctx context.Context, st *store.Store, ar *Reader) (*Manifest, error) {
	h := ar.Header()
	dir, err := os.MkdirTemp("", "strongroom-restore-")
	if err != nil {
		return nil, fmt.Errorf("restoring: making a folder for the database file: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "strongroom.db")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("restoring: %w", err)
	}
	m, err := ar.File(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the database file: %w", cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("restoring: %w", err)
	}
	if err := store.CheckSQLiteFile(ctx, path, h.SchemaVersion, func(c *store.SQLiteFileCheck) error { return checkExtracted(ctx, ar, m, c) }); err != nil {
		return nil, fmt.Errorf("restoring: %w", err)
	}
	src, err := store.Open(ctx, store.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("restoring: opening the database file: %w", err)
	}
	defer src.Close()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		// The rows only: the blobs were restored from the outer archive.
		err := src.Snapshot(ctx, func(sn *store.Snapshot) error {
			_, err := writePlain(ctx, pw, sn, m.CreatedAt, nil)
			return err
		})
		pw.CloseWithError(err)
		done <- err
	}()
	lm, err := restoreInner(ctx, st, pr)
	pr.CloseWithError(errors.New("backup: the restore stopped reading"))
	if werr := <-done; err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	if err := SameData(m, lm); err != nil {
		return nil, fmt.Errorf("restoring: the loaded rows differ from the manifest: %w", err)
	}
	return m, nil
}

// restoreInner loads the logical archive written from an extracted database
// file (no blob section) into st, which RestorePlain already checked.
func restoreInner(ctx context.Context, st *store.Store, r io.Reader) (*Manifest, error) {
	ar, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	ar.blobs.skip = true
	return restoreRows(ctx, st, ar)
}
