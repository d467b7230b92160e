package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/store"
)

// openSQLiteIn opens an empty, migrated SQLite store in its own folder and
// returns the folder too (to look for files a restore left behind).
func openSQLiteIn(t *testing.T) (*store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(dir, "strongroom.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, dir
}

// requireNoLoadFiles fails if a restore left a file beside the database.
func requireNoLoadFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".load-") {
			t.Errorf("the restore left %s behind", e.Name())
		}
	}
}

// fileFrames splits a plaintext archive into its frames (the end aside).
type plainFrame struct {
	kind byte
	p    []byte
}

func splitFrames(t testing.TB, plain []byte) []plainFrame {
	t.Helper()
	var out []plainFrame
	p := plain[magicLen:]
	for len(p) > 0 {
		kind, n := p[0], binary.BigEndian.Uint32(p[1:5])
		if kind == 'Z' {
			break
		}
		out = append(out, plainFrame{kind, bytes.Clone(p[5 : 5+n])})
		p = p[5+n:]
	}
	return out
}

// joinFrames builds a plaintext archive of format from frames with a valid
// end hash (row and file frames left out of it, and from format 4 on blob
// data frames), as an attacker holding the recipient's public key could.
func joinFrames(format byte, frames []plainFrame) []byte {
	out := append([]byte("STRONGROOM-BACKUP\n"), format)
	h := sha256.New()
	h.Write(out)
	for _, f := range frames {
		frame := binary.BigEndian.AppendUint32([]byte{f.kind}, uint32(len(f.p)))
		frame = append(frame, f.p...)
		out = append(out, frame...)
		if f.kind != 'R' && f.kind != 'P' && (f.kind != 'D' || format < 4) {
			h.Write(frame)
		}
	}
	out = append(out, 'Z', 0, 0, 0, 32)
	return h.Sum(out)
}

// fileOf returns the database file carried by a sqlite-file plaintext.
func fileOf(frames []plainFrame) []byte {
	var b []byte
	for _, f := range frames {
		if f.kind == 'P' {
			b = append(b, f.p...)
		}
	}
	return b
}

// withFile replaces the file frames with one frame of file and fixes the
// manifest's size, pages, SHA-256 and plain bytes so that they describe it.
func withFile(t testing.TB, frames []plainFrame, file []byte) []plainFrame {
	t.Helper()
	var out []plainFrame
	plain := int64(magicLen)
	added := false
	for _, f := range frames {
		switch f.kind {
		case 'P':
			if !added {
				out = append(out, plainFrame{'P', file})
				plain += 5 + int64(len(file))
				added = true
			}
			continue
		case 'M':
			sum := sha256.Sum256(file)
			f.p = editJSON(t, f.p, func(m map[string]any) {
				fs := m["file"].(map[string]any)
				fs["bytes"] = len(file)
				fs["pages"] = len(file) / int(fs["page_size"].(float64))
				fs["sha256"] = hex.EncodeToString(sum[:])
				m["plain_bytes"] = plain
			})
		}
		out = append(out, f)
		plain += 5 + int64(len(f.p))
	}
	return out
}

// fixPlainBytes sets the manifest's plain_bytes to the size of the frames
// before it, as an edit of a frame before it changes it.
func fixPlainBytes(t testing.TB, frames []plainFrame) []plainFrame {
	t.Helper()
	out := slices.Clone(frames)
	plain := int64(magicLen)
	for i, f := range out {
		if f.kind == 'M' {
			out[i].p = editJSON(t, f.p, func(m map[string]any) { m["plain_bytes"] = plain })
			break
		}
		plain += 5 + int64(len(f.p))
	}
	return out
}

func editFrames(frames []plainFrame, kind byte, edit func([]byte) []byte) []plainFrame {
	out := make([]plainFrame, 0, len(frames))
	for _, f := range frames {
		if f.kind == kind {
			f.p = edit(bytes.Clone(f.p))
		}
		out = append(out, f)
	}
	return out
}

// TestSQLiteFileLayout: a SQLite store backs up in the sqlite-file layout by
// default, with the file's SHA-256 and every table's row count in the
// manifest; the archive holds the file and no rows.
func TestSQLiteFileLayout(t *testing.T) {
	src := newSource(t, "sqlite")
	m := src.manifest
	if m.Format != backup.Format || m.Layout != backup.LayoutSQLiteFile || m.File == nil || m.File.Bytes != m.File.Pages*int64(m.File.PageSize) {
		t.Fatalf("manifest: %+v", m)
	}
	frames := splitFrames(t, plaintext(t, src.archive, src.id))
	file := fileOf(frames)
	if sum := sha256.Sum256(file); int64(len(file)) != m.File.Bytes || hex.EncodeToString(sum[:]) != m.File.SHA256 {
		t.Fatalf("the archive's file (%d bytes) is not the manifest's (%d bytes)", len(file), m.File.Bytes)
	}
	if !bytes.HasPrefix(file, []byte("SQLite format 3\x00")) {
		t.Fatal("the file is not a SQLite database")
	}
	for _, f := range frames {
		if f.kind == 'R' || f.kind == 'T' {
			t.Fatalf("a %c frame in a sqlite-file archive", f.kind)
		}
	}
	for _, tt := range m.Tables {
		if tt.Checksum != "" {
			t.Fatalf("table %s has a checksum in a sqlite-file manifest", tt.Name)
		}
	}
	if rowsOf(m, "records") == 0 || rowsOf(m, "audit_events") == 0 {
		t.Fatalf("row counts missing: %+v", m.Tables)
	}
	// A PostgreSQL store cannot be written in it; unknown layouts are refused.
	pg := openStore(t, "postgres")
	if _, err := backup.WriteLayout(context.Background(), pg, nil, io.Discard, []age.Recipient{src.id.Recipient()}, created, backup.LayoutSQLiteFile); err == nil {
		t.Error("a PostgreSQL store written in the sqlite-file layout")
	}
	if _, err := backup.WriteLayout(context.Background(), src.st, nil, io.Discard, []age.Recipient{src.id.Recipient()}, created, "tarball"); err == nil {
		t.Error("an unknown layout was accepted")
	}
	// Into SQLite the file restores with no file left beside the database.
	dst, dir := openSQLiteIn(t)
	if _, err := backup.Restore(context.Background(), dst, nil, bytes.NewReader(src.archive), []age.Identity{src.id}); err != nil {
		t.Fatal(err)
	}
	requireNoLoadFiles(t, dir)
	want, err := backup.Summarize(context.Background(), src.st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := backup.Summarize(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := backup.SameData(want, got); err != nil {
		t.Fatal(err)
	}
}

// TestSQLiteFileRefused: truncated, tampered, wrong-key and inconsistent
// sqlite-file archives are refused with a clear error, the target stays
// empty, and no file is left beside a SQLite target's database.
func TestSQLiteFileRefused(t *testing.T) {
	src := newSource(t, "sqlite")
	plain := plaintext(t, src.archive, src.id)
	frames := splitFrames(t, plain)
	file := fileOf(frames)
	other := newIdentity(t)
	n := len(src.archive)
	flip := func(at int) []byte {
		b := bytes.Clone(src.archive)
		b[at] ^= 0x01
		return b
	}
	sealed := func(fs []plainFrame) []byte {
		return seal(t, joinFrames(backup.Format, fixPlainBytes(t, fs)), src.id.Recipient())
	}
	// A file whose pages were shuffled: the same size, not a sound database.
	pageSize := src.manifest.File.PageSize
	shuffled := bytes.Clone(file)
	copy(shuffled[pageSize:2*pageSize], file[len(file)-pageSize:])
	garbage := make([]byte, len(file))
	_, _ = rand.Read(garbage)
	copy(garbage, file[:100]) // the SQLite header, then noise
	cases := []struct {
		name    string
		archive []byte
		id      age.Identity
		want    string
	}{
		{"wrong identity", src.archive, other, "does not open this archive"},
		{"truncated in the middle", src.archive[:n/2], src.id, ""},
		{"truncated by one byte", src.archive[:n-1], src.id, ""},
		{"flipped in the middle", flip(n / 2), src.id, ""},
		{"flipped in the last byte", flip(n - 1), src.id, ""},
		{"file changed with the end hash kept valid", sealed(editFrames(frames, 'P', func(p []byte) []byte {
			p[len(p)/2] ^= 1
			return p
		})), src.id, "not the one the manifest describes"},
		{"file frames dropped", sealed(editFrames(frames, 'P', func([]byte) []byte { return nil })), src.id, "not the one the manifest describes"},
		{"manifest row count changed", sealed(editFrames(frames, 'M', func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) {
				for _, tt := range m["tables"].([]any) {
					if tt.(map[string]any)["name"] == "records" {
						tt.(map[string]any)["rows"] = 999
					}
				}
			})
		})), src.id, "rows, the manifest says 999"},
		{"manifest without file", sealed(editFrames(frames, 'M', func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { delete(m, "file") })
		})), src.id, "manifest does not match"},
		{"manifest with checksums", sealed(editFrames(frames, 'M', func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { m["tables"].([]any)[0].(map[string]any)["checksum"] = "00" })
		})), src.id, "does not match the header"},
		{"unknown layout", sealed(editFrames(frames, 'H', func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { m["layout"] = "tarball" })
		})), src.id, "unknown layout"},
		{"not of a SQLite store", sealed(editFrames(frames, 'H', func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { m["engine"] = "postgres" })
		})), src.id, `sqlite-file archive of a "postgres" store`},
		{"layout in a format 1 archive", seal(t, joinFrames(1, editFrames(frames, 'H', func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { m["format"] = 1 })
		})), src.id.Recipient()), src.id, "format 1 header names a layout"},
		{"rows in a sqlite-file archive", sealed(append(frames[:1:1], append([]plainFrame{{'T', []byte{0, 0, 0, 0}}}, frames[1:]...)...)), src.id, "unknown frame kind"},
		{"shuffled pages described by the manifest", sealed(withFile(t, frames, shuffled)), src.id, "not sound"},
		{"noise described by the manifest", sealed(withFile(t, frames, garbage)), src.id, "not sound"},
		{"older schema version in the header", sealed(editFrames(editFrames(frames, 'H', func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { m["schema_version"] = 1 })
		}), 'M', func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { m["schema_version"] = 1 })
		})), src.id, "schema version"},
		{"newer schema version", sealed(editFrames(frames, 'H', func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { m["schema_version"] = 999 })
		})), src.id, "schema version 999, newer than this binary"},
	}
	for _, engine := range engines {
		for _, c := range cases {
			t.Run(engine+"/"+c.name, func(t *testing.T) {
				var dst *store.Store
				dir := ""
				if engine == "sqlite" {
					dst, dir = openSQLiteIn(t)
				} else {
					dst = openStore(t, engine)
				}
				_, err := backup.Restore(context.Background(), dst, nil, bytes.NewReader(c.archive), []age.Identity{c.id})
				if err == nil {
					t.Fatal("restored")
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %q does not say %q", err, c.want)
				}
				requireEmpty(t, dst)
				if dir != "" {
					requireNoLoadFiles(t, dir)
				}
			})
		}
	}
}

// TestSQLiteFileWhileWriting: a sqlite-file backup taken while transactions
// commit is a consistent snapshot: every transaction wrote an organization
// and a collection in it, and the restored store has as many of one as of the
// other, and what the manifest counted.
func TestSQLiteFileWhileWriting(t *testing.T) {
	ctx := context.Background()
	st, _ := openSQLiteIn(t)
	id := newIdentity(t)
	var committed atomic.Int64
	writeOne := func() error {
		org := strongroom.Organization{ID: strongroom.TenantID(newID()), Name: "o", CreatedAt: created}
		coll := strongroom.Collection{ID: strongroom.CollectionID(newID()), Name: "c", Schema: []byte(`{}`), CreatedAt: created}
		err := st.Write(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error {
			if err := tx.CreateOrganization(ctx, &org); err != nil {
				return err
			}
			return tx.CreateCollection(ctx, &coll)
		})
		if err == nil {
			committed.Add(1)
		}
		return err
	}
	// Enough data that the archive is many age chunks (each a write to the
	// slow destination), most of it in the WAL.
	big := strongroom.Organization{ID: strongroom.TenantID(newID()), Name: "big", CreatedAt: created}
	bigColl := strongroom.Collection{ID: strongroom.CollectionID(newID()), Name: "c", Schema: []byte(`{}`), CreatedAt: created}
	write(t, st, store.TenantScope(big.ID), func(ctx context.Context, tx *store.Tx) error {
		if err := tx.CreateOrganization(ctx, &big); err != nil {
			return err
		}
		if err := tx.CreateCollection(ctx, &bigColl); err != nil {
			return err
		}
		for range 512 {
			data := make([]byte, 4096)
			_, _ = rand.Read(data)
			r := strongroom.Record{CollectionID: bigColl.ID, ID: strongroom.RecordID(newID()), Version: 1, Data: data, CreatedAt: created, UpdatedAt: created}
			if err := tx.CreateRecord(ctx, &r, nil); err != nil {
				return err
			}
		}
		return nil
	})
	committed.Add(1)
	for range 200 {
		if err := writeOne(); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := writeOne(); err != nil {
				done <- err
				return
			}
		}
	}()
	// The destination is slow, so the snapshot stays open while the writer
	// commits (and the WAL is checkpointed into the file being read).
	before := committed.Load()
	var b bytes.Buffer
	m, err := backup.Write(ctx, st, nil, &slowWriter{w: &b, delay: 10 * time.Millisecond}, []age.Recipient{id.Recipient()}, created)
	during := committed.Load() - before
	close(stop)
	if werr := <-done; werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if during < 5 {
		t.Fatalf("only %d transactions committed during the backup: the test proves nothing", during)
	}
	if m.Layout != backup.LayoutSQLiteFile || rowsOf(m, "organizations") != rowsOf(m, "collections") {
		t.Fatalf("manifest: %+v", m)
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			dst := openStore(t, engine)
			if _, err := backup.Restore(ctx, dst, nil, bytes.NewReader(b.Bytes()), []age.Identity{id}); err != nil {
				t.Fatal(err)
			}
			got, err := backup.Summarize(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			if err := backup.SameData(m, got); err != nil {
				t.Fatal(err)
			}
			if o, c := rowsOf(got, "organizations"), rowsOf(got, "collections"); o != c || o < 200 || o >= committed.Load() {
				t.Fatalf("%d organizations and %d collections restored of %d committed", o, c, committed.Load())
			}
		})
	}
}

type slowWriter struct {
	w     io.Writer
	delay time.Duration
}

func (s *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.w.Write(p)
}

// asFormat1 is src's archive (of the logical layout) rewritten as format 1
// would have written it: magic 1, no layout and no blob section in the
// header and the manifest.
func asFormat1(t *testing.T, src *source) []byte {
	t.Helper()
	toFormat1 := func(p []byte) []byte {
		return editJSON(t, p, func(m map[string]any) {
			m["format"] = 1
			delete(m, "layout")
			delete(m, "blobs")
		})
	}
	return joinFrames(1, fixPlainBytes(t, editFrames(editFrames(splitFrames(t, plaintext(t, src.archive, src.id)), 'H', toFormat1), 'M', toFormat1)))
}

// TestFormat1Restores: archives of format 1 (written before the layouts)
// still restore: the committed seed (of schema version 7) into SQLite, and
// the fixture's logical archive rewritten as format 1 (no layout, magic 1)
// into both engines.
func TestFormat1Restores(t *testing.T) {
	seed := committedSeed(t, "valid-format1", 1)
	src := newSourceLayout(t, "sqlite", backup.LayoutLogical)
	fixture1 := asFormat1(t, src)
	want, err := backup.Summarize(context.Background(), src.st)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, engine string
		plain        []byte
	}{{"seed/sqlite", "sqlite", seed}, {"fixture/sqlite", "sqlite", fixture1}, {"fixture/postgres", "postgres", fixture1}} {
		t.Run(c.name, func(t *testing.T) {
			dst := openStore(t, c.engine)
			if c.name == "seed/sqlite" {
				dst, _ = openSQLiteIn(t) // migrated past the seed's version 7: its file is replaced
			}
			m, err := backup.Restore(context.Background(), dst, nil, bytes.NewReader(seal(t, c.plain, src.id.Recipient())), []age.Identity{src.id})
			if err != nil {
				t.Fatal(err)
			}
			if m.Format != 1 || m.Layout != "" || m.File != nil {
				t.Fatalf("manifest: %+v", m)
			}
			got, err := backup.Summarize(context.Background(), dst)
			if err != nil {
				t.Fatal(err)
			}
			// The seed's tables are those of version 7: compare them only.
			for _, tt := range m.Tables {
				if g := rowsOf(got, tt.Name); g != tt.Rows {
					t.Errorf("table %s: %d rows restored, the archive has %d", tt.Name, g, tt.Rows)
				}
			}
			if c.name == "seed/sqlite" {
				if rowsOf(got, "organizations") != 1 {
					t.Fatal("the seed's organization was not restored")
				}
				return
			}
			if err := backup.SameData(want, got); err != nil {
				t.Fatal(err)
			}
			if err := backup.SameData(want, m); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// fileSeed is a small valid sqlite-file plaintext for the fuzzer: one page
// of 512 bytes (the reader checks the archive, not the database in it).
func fileSeed(t testing.TB) []byte {
	t.Helper()
	page := bytes.Repeat([]byte{0xA5}, 512)
	sum := sha256.Sum256(page)
	emptySum := sha256.Sum256(nil) // the checksum of an empty blob section
	h, err := json.Marshal(map[string]any{"format": 3, "engine": "sqlite", "schema_version": 1, "created_at": created, "layout": "sqlite-file", "tables": []any{}})
	if err != nil {
		t.Fatal(err)
	}
	plain := int64(magicLen + 5 + len(h) + 5 + len(page))
	m, err := json.Marshal(map[string]any{"format": 3, "engine": "sqlite", "schema_version": 1, "created_at": created, "layout": "sqlite-file",
		"tables": []any{}, "plain_bytes": plain, "file": map[string]any{"bytes": 512, "page_size": 512, "pages": 1, "sha256": hex.EncodeToString(sum[:])},
		"blobs": map[string]any{"count": 0, "bytes": 0, "checksum": hex.EncodeToString(emptySum[:]), "missing": []string{}}})
	if err != nil {
		t.Fatal(err)
	}
	return joinFrames(3, []plainFrame{{'H', h}, {'P', page}, {'M', m}})
}

func TestFileSeedReads(t *testing.T) {
	m, err := readAll(fileSeed(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.File == nil || m.File.Bytes != 512 {
		t.Fatalf("manifest: %+v", m)
	}
	if _, err := readAll(bytes.Replace(fileSeed(t), bytes.Repeat([]byte{0xA5}, 512), bytes.Repeat([]byte{0xA4}, 512), 1)); !errors.Is(err, backup.ErrFormat) {
		t.Fatalf("a changed page read: %v", err)
	}
}

// TestSQLiteFileHoldsNoDeletedRows: what was deleted before a backup is not in
// the database file the backup carries (the store deletes securely), while the
// same bytes, still live, are: the check can fail.
func TestSQLiteFileHoldsNoDeletedRows(t *testing.T) {
	id := newIdentity(t)
	st := openStore(t, "sqlite")
	org := strongroom.Organization{ID: strongroom.TenantID(newID()), Name: "org", CreatedAt: created}
	scope := store.TenantScope(org.ID)
	write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateOrganization(ctx, &org) })
	marker := "erased-client-" + newID()
	c := strongroom.Client{ID: strongroom.ClientID(newID()), Name: marker, CreatedAt: created}
	write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateClient(ctx, &c) })
	file := func() []byte {
		t.Helper()
		var b bytes.Buffer
		if _, err := backup.WriteLayout(context.Background(), st, nil, &b, []age.Recipient{id.Recipient()}, created, backup.LayoutSQLiteFile); err != nil {
			t.Fatal(err)
		}
		return fileOf(splitFrames(t, plaintext(t, b.Bytes(), id)))
	}
	if !bytes.Contains(file(), []byte(marker)) {
		t.Fatal("a live row's bytes are not in the backup's file: the check below proves nothing")
	}
	write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteClient(ctx, c.ID) })
	if bytes.Contains(file(), []byte(marker)) {
		t.Fatal("a deleted row's bytes are still in the backup's database file")
	}
}
