package backup

// The blob section (formats 2 and 3, either layout): after the data, the
// sealed blob of every record_files row of the snapshot, as the blob store holds it (sealed with
// its organization's data key, which no data backup contains). See the
// format comment in format.go and docs/decisions.md.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"

	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/store"
)

// Blob frame kinds.
const (
	kindBlob     = 'F' // blob start JSON {"key"}
	kindBlobData = 'D' // up to blobChunk bytes of the current blob
	kindBlobEnd  = 'G' // blob end JSON {"key", "bytes", "sha256"}
)

// blobChunk is the size of a blob data frame: a blob is copied through one
// buffer of this size, never held whole.
const blobChunk = 1 << 20

// filesTable is the table whose rows name the blobs.
const filesTable = "record_files"

// ErrBlobsNotEmpty is returned by a restore whose target blob store already
// holds objects.
var ErrBlobsNotEmpty = errors.New("the target blob store is not empty")

// BlobSummary is the blob section's part of the manifest.
type BlobSummary struct {
	// Count and Bytes are the blobs in the archive and their total size
	// (sealed).
	Count int64 `json:"count"`
	Bytes int64 `json:"bytes"`
	// Checksum is the SHA-256 of every blob's key, size and SHA-256, in the
	// archive's order (by key).
	Checksum string `json:"checksum"`
	// Missing lists the keys of file rows in the archive whose blob was not
	// in the blob store when the backup copied it (the file was deleted
	// after the snapshot, or its blob was lost), by key.
	Missing []string `json:"missing"`
}

// blobStart and blobEnd are the JSON of the 'F' and 'G' frames.
type blobStart struct {
	Key string `json:"key"`
}

type blobEnd struct {
	Key    string `json:"key"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// blobSum accumulates the section checksum.
type blobSum struct {
	h            hash.Hash
	count, bytes int64
}

func newBlobSum() *blobSum { return &blobSum{h: sha256.New()} }

func (s *blobSum) add(e blobEnd) {
	s.h.Write([]byte(e.Key + "\x00" + strconv.FormatInt(e.Bytes, 10) + "\x00" + e.SHA256 + "\n"))
	s.count++
	s.bytes += e.Bytes
}

func (s *blobSum) summary(missing []string) *BlobSummary {
	if missing == nil {
		missing = []string{}
	}
	return &BlobSummary{Count: s.count, Bytes: s.bytes, Checksum: hex.EncodeToString(s.h.Sum(nil)), Missing: missing}
}

// fileKeyColumns returns the positions of a record_files table's tenant_id
// and id columns, ok false for another table.
func fileKeyColumns(t *store.TableSchema) (tenant, id int, ok bool) {
	if t.Name != filesTable {
		return 0, 0, false
	}
	tenant = slices.IndexFunc(t.Columns, func(c store.Column) bool { return c.Name == "tenant_id" })
	id = slices.IndexFunc(t.Columns, func(c store.Column) bool { return c.Name == "id" })
	return tenant, id, tenant >= 0 && id >= 0
}

// fileKey is the blob key of a record_files row, ok false when its columns
// are not text.
func fileKey(row []any, tenant, id int) (string, bool) {
	t, ok1 := row[tenant].(string)
	f, ok2 := row[id].(string)
	if !ok1 || !ok2 {
		return "", false
	}
	return blob.FileKey(t, f), true
}

// blobKeys collects the blob keys of the record_files rows a writer scans.
type blobKeys struct{ keys []string }

// collector returns the function to call with each row of table t, or nil
// when t is not the files table.
func (bk *blobKeys) collector(t *store.TableSchema) func(row []any) {
	ti, ii, ok := fileKeyColumns(t)
	if !ok {
		return nil
	}
	return func(row []any) {
		if k, ok := fileKey(row, ti, ii); ok {
			bk.keys = append(bk.keys, k)
		}
	}
}

// writeBlobSection writes the blob of each key (the record_files rows of the
// snapshot the tables were written from), sorted, from bs in blobChunk
// frames, and returns the section's summary. A blob that is not in bs (its
// file was deleted after the snapshot, or the blob was lost) is listed as
// missing; a blob that fails while being read fails the backup.
func writeBlobSection(ctx context.Context, fw *frameWriter, keys []string, bs *blob.Store) (*BlobSummary, error) {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if bs == nil && len(keys) > 0 {
		return nil, fmt.Errorf("backup: the snapshot has %d files but no blob store was given to copy their content from", len(keys))
	}
	sum := newBlobSum()
	var missing []string
	buf := make([]byte, blobChunk)
	// Each chunk is hashed (the tee's goroutine) while it is framed and
	// compressed (here and the chunk compressor's).
	h := &currentHash{}
	out := newTee(h, frameTo{fw, kindBlobData})
	defer out.Close()
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := bs.NewReader(ctx, key)
		if errors.Is(err, blob.ErrNotFound) {
			missing = append(missing, key)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("copying blob %s: %w", key, err)
		}
		h.Hash = sha256.New()
		e, err := copyBlob(fw, out, h, key, r, buf)
		r.Close()
		if err != nil {
			return nil, err
		}
		sum.add(e)
	}
	return sum.summary(missing), nil
}

// copyBlob writes the blob of key, read from r, to fw: its start frame, its
// data frames through out (which also hashes them into h, a new hash) and its
// end frame.
func copyBlob(fw *frameWriter, out io.Writer, h hash.Hash, key string, r io.Reader, buf []byte) (blobEnd, error) {
	if err := writeJSON(fw, kindBlob, blobStart{Key: key}); err != nil {
		return blobEnd{}, err
	}
	var n int64
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			n += int64(k)
			if _, werr := out.Write(buf[:k]); werr != nil {
				return blobEnd{}, fmt.Errorf("writing archive: %w", werr)
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return blobEnd{}, fmt.Errorf("copying blob %s: %w", key, err)
		}
	}
	e := blobEnd{Key: key, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	return e, writeJSON(fw, kindBlobEnd, e)
}

// currentHash is the hash of the blob being copied, which a tee writes to
// from its goroutine: swapped only between blobs, when no write is under way.
type currentHash struct{ hash.Hash }

// blobReader checks the blob section while an archive is read and, with a
// sink, writes each blob into it; what it wrote is deleted again by abort.
type blobReader struct {
	ctx  context.Context
	sink *blob.Store // nil: verify only

	rows    map[string]uint8 // keys of the record_files rows read: rowOnly, or rowBlob once its blob was read
	seen    int64            // blobs read
	last    string           // the last blob's key (keys ascend)
	sum     *blobSum
	written []string

	// deferRows is set for the sqlite-file layout, whose file rows are known
	// only once the file was extracted: blob keys are collected in read and
	// matched with the rows by checkRows.
	deferRows bool
	read      map[string]bool
	// skip is set for the archive a restore writes internally from an
	// extracted database file, which has no blob section (the outer
	// archive's was checked).
	skip bool

	cur    *blobEnd // the open blob: key, bytes and
	h      currentHash
	w      io.WriteCloser
	cancel context.CancelFunc
	// out hashes each data frame (its goroutine) while writing it to w,
	// and syncer syncs each blob written to disk in the background, when
	// there is a sink; both started at the first blob.
	out    *tee
	syncer *blob.Syncer
}

// blobWriter writes to the blob reader's current sink writer (a tee's
// foreground).
type blobWriter struct{ br *blobReader }

func (w blobWriter) Write(p []byte) (int, error) { return w.br.w.Write(p) }

// stopTee ends the tee's goroutine, if one was started.
func (br *blobReader) stopTee() {
	if br.out != nil {
		br.out.Close()
		br.out = nil
	}
}

func newBlobReader() *blobReader {
	return &blobReader{ctx: context.Background(), rows: map[string]uint8{}, sum: newBlobSum()}
}

// noteRow records the blob key of a record_files row.
func (br *blobReader) noteRow(t *store.TableSchema, row []any) {
	ti, ii, ok := fileKeyColumns(t)
	if !ok {
		return
	}
	if k, ok := fileKey(row, ti, ii); ok {
		br.rows[k] = rowOnly
	}
}

const (
	rowOnly = 1
	rowBlob = 2
)

// frame handles one blob frame.
func (br *blobReader) frame(kind byte, p []byte) error {
	switch kind {
	case kindBlob:
		if br.cur != nil {
			return formatErr("a blob starts inside another")
		}
		var s blobStart
		if err := strictJSON(p, &s); err != nil {
			return formatErr("blob start: %v", err)
		}
		if br.seen > 0 && s.Key <= br.last {
			return formatErr("blobs out of order or repeated at %q", s.Key)
		}
		if br.deferRows {
			if br.read == nil {
				br.read = map[string]bool{}
			}
			br.read[s.Key] = true
		} else {
			if br.rows[s.Key] != rowOnly {
				return formatErr("blob %q belongs to no file row of the archive", s.Key)
			}
			br.rows[s.Key] = rowBlob
		}
		br.cur, br.h.Hash, br.last = &blobEnd{Key: s.Key}, sha256.New(), s.Key
		br.seen++
		if br.sink != nil {
			wctx, cancel := context.WithCancel(br.ctx)
			w, err := br.sink.NewUnsyncedWriter(wctx, s.Key) // synced by br.syncer
			if err != nil {
				cancel()
				return fmt.Errorf("restoring blob %s: %w", s.Key, err)
			}
			br.w, br.cancel = w, cancel
			if br.out == nil {
				br.out = newTee(&br.h, blobWriter{br})
				br.syncer = br.sink.NewSyncer(br.ctx)
			}
		}
	case kindBlobData:
		if br.cur == nil {
			return formatErr("blob data outside a blob")
		}
		br.cur.Bytes += int64(len(p))
		if br.w == nil {
			br.h.Write(p)
		} else if _, err := br.out.Write(p); err != nil {
			return fmt.Errorf("restoring blob %s: %w", br.cur.Key, err)
		}
	case kindBlobEnd:
		if br.cur == nil {
			return formatErr("a blob end outside a blob")
		}
		var e blobEnd
		if err := strictJSON(p, &e); err != nil {
			return formatErr("blob end: %v", err)
		}
		got := *br.cur
		got.SHA256 = hex.EncodeToString(br.h.Sum(nil))
		if e != got {
			return formatErr("blob %s: %d bytes with SHA-256 %s read, the archive says %d bytes with SHA-256 %s",
				got.Key, got.Bytes, got.SHA256, e.Bytes, e.SHA256)
		}
		if br.w != nil {
			err := br.w.Close()
			br.cancel()
			br.w = nil
			if err != nil {
				return fmt.Errorf("restoring blob %s: %w", got.Key, err)
			}
			br.written = append(br.written, got.Key)
			if err := br.syncer.Add(got.Key); err != nil {
				return fmt.Errorf("restoring blob %s: %w", got.Key, err)
			}
		}
		br.sum.add(got)
		br.cur = nil
	}
	return nil
}

// check compares the section read with the manifest's summary: the same
// blobs, and every file row of the archive with its blob or listed missing.
func (br *blobReader) check(format int, m *BlobSummary) error {
	br.stopTee()
	if br.cur != nil {
		return formatErr("the manifest comes inside a blob")
	}
	if format < 2 || br.skip {
		if m != nil || br.seen > 0 {
			return formatErr("a format %d archive with blobs", format)
		}
		return nil
	}
	if m == nil {
		return formatErr("the manifest has no blob section summary")
	}
	if !slices.IsSorted(m.Missing) {
		return formatErr("the manifest's missing blobs are not in order")
	}
	got := br.sum.summary(m.Missing)
	if got.Count != m.Count || got.Bytes != m.Bytes || got.Checksum != m.Checksum {
		return formatErr("blob section: %d blobs, %d bytes with checksum %s read, the manifest says %d blobs, %d bytes with checksum %s",
			got.Count, got.Bytes, got.Checksum, m.Count, m.Bytes, m.Checksum)
	}
	if br.deferRows {
		return nil // checkRows, once the rows are known
	}
	return br.checkedMissing(m)
}

// checkRows is check's comparison of the file rows with the blobs read and
// the manifest's missing keys, for the sqlite-file layout: called after
// check, once noteRow was called with every record_files row of the
// extracted file.
func (br *blobReader) checkRows(m *BlobSummary) error {
	if !br.deferRows || m == nil {
		return errors.New("backup: blob rows checked out of turn")
	}
	for k := range br.read {
		if br.rows[k] != rowOnly {
			return formatErr("blob %q belongs to no file row of the archive", k)
		}
		br.rows[k] = rowBlob
	}
	return br.checkedMissing(m)
}

// checkedMissing is checkMissing, the last check of the section, and then
// waits until the blobs written are durable: the restore commits the rows
// that name them only after it.
func (br *blobReader) checkedMissing(m *BlobSummary) error {
	if err := br.checkMissing(m); err != nil {
		return err
	}
	return br.waitSynced()
}

// waitSynced waits for the syncs of the blobs written.
func (br *blobReader) waitSynced() error {
	if br.syncer == nil {
		return nil
	}
	err := br.syncer.Wait()
	br.syncer = nil
	if err != nil {
		return fmt.Errorf("restoring blobs: %w", err)
	}
	return nil
}

// checkMissing checks that every file row has its blob or is listed missing,
// and that the missing keys name file rows without a blob, once.
func (br *blobReader) checkMissing(m *BlobSummary) error {
	if int64(len(br.rows)) != m.Count+int64(len(m.Missing)) {
		return formatErr("the archive has %d file rows but %d blobs and %d listed missing", len(br.rows), m.Count, len(m.Missing))
	}
	for i, k := range m.Missing {
		if br.rows[k] != rowOnly || (i > 0 && m.Missing[i-1] == k) {
			return formatErr("the manifest lists blob %q missing, which no file row names, which is in the archive or which it repeats", k)
		}
	}
	return nil
}

// abort abandons the blob being written and deletes the blobs written, when
// the restore is refused or fails: nothing is left behind.
func (br *blobReader) abort() error {
	br.stopTee()
	_ = br.waitSynced() // no sync left running; the blobs go anyway
	if br.w != nil {
		br.cancel()
		_ = br.w.Close() // abandoned: its context is cancelled
		br.w = nil
	}
	if br.sink == nil {
		return nil
	}
	ctx := context.WithoutCancel(br.ctx)
	var errs []error
	for _, k := range br.written {
		if err := br.sink.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	br.written = nil
	if len(errs) > 0 {
		return fmt.Errorf("deleting the blobs of the refused restore: %w", errors.Join(errs...))
	}
	return nil
}
