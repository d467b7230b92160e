package backup

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/store"
)

// Write takes a consistent snapshot of st and writes it to w as an encrypted
// archive for the recipients, in constant memory (a row, a MiB of the
// database file or one blob chunk at a time; the blob keys of the snapshot's
// files are kept until their blobs are copied). After the data it copies,
// sealed as they are, the blobs of the snapshot's file rows from blobs, which
// may be nil only when there are no files. It returns the manifest, which is
// also the archive's last frame. A SQLite store is written in the
// sqlite-file layout, a PostgreSQL one in the logical layout (WriteLayout
// chooses).
func Write(ctx context.Context, st *store.Store, blobs *blob.Store, w io.Writer, recipients []age.Recipient, now time.Time) (*Manifest, error) {
	return WriteLayout(ctx, st, blobs, w, recipients, now, LayoutAuto)
}

// WriteLayout is Write in the given layout: LayoutAuto (the file of a
// SQLite store, the rows of a PostgreSQL one), LayoutLogical, or
// LayoutSQLiteFile (SQLite stores only).
func WriteLayout(ctx context.Context, st *store.Store, blobs *blob.Store, w io.Writer, recipients []age.Recipient, now time.Time, layout Layout) (*Manifest, error) {
	layout, err := layout.resolve(st.Engine())
	if err != nil {
		return nil, err
	}
	if len(recipients) == 0 {
		return nil, errors.New("backup: no recipient to encrypt to")
	}
	// The system calls writing the archive (and whatever w does, hashing
	// it for the index, uploading it) run in a stage of their own.
	out := newStage(stageBuffer, stageDepth, func(p []byte) error {
		_, err := w.Write(p)
		return err
	})
	aw, err := age.Encrypt(out, recipients...)
	if err != nil {
		out.Abort()
		return nil, fmt.Errorf("starting encryption: %w", err)
	}
	// Compressing runs on several cores, a frame per chunk. The database
	// file is mostly sealed ciphertext, which entropy coding cannot shrink:
	// only matches (page structure, text) are looked for. No zstd checksum:
	// age authenticates every byte.
	workers := min(max(runtime.GOMAXPROCS(0), 2), 8)
	zw, err := newChunkCompressor(aw, stageBuffer, 2*workers, workers, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithNoEntropyCompression(layout == LayoutSQLiteFile), zstd.WithEncoderCRC(false))
	if err != nil {
		out.Abort()
		return nil, fmt.Errorf("starting compression: %w", err)
	}
	var m *Manifest
	err = st.Snapshot(ctx, func(sn *store.Snapshot) error {
		var err error
		src := &blobSource{store: blobs}
		if layout == LayoutSQLiteFile {
			m, err = writeSQLiteFile(ctx, zw, sn, now, src)
		} else {
			m, err = writePlain(ctx, zw, sn, now, src)
		}
		return err
	})
	if err != nil {
		zw.Abort()
		out.Abort()
		return nil, err
	}
	if err := zw.Close(); err != nil {
		out.Abort()
		return nil, fmt.Errorf("finishing compression: %w", err)
	}
	if err := aw.Close(); err != nil {
		out.Abort()
		return nil, fmt.Errorf("finishing encryption: %w", err)
	}
	if err := out.Close(); err != nil {
		return nil, fmt.Errorf("writing the archive: %w", err)
	}
	// The pipeline's buffers (a few MiB) can let the reading finish before
	// a cancellation reaches it: a backup cancelled before its last byte
	// was written is still reported cancelled, not taken.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// The pipeline's stages hand over buffers of stageBuffer bytes, stageDepth
// of them in flight each.
const (
	stageBuffer = 1 << 20
	stageDepth  = 4
)

// blobSource is where writePlain copies blobs from; nil: no blob section
// (Summarize, which compares only tables).
type blobSource struct{ store *blob.Store }

func writePlain(ctx context.Context, w io.Writer, sn *store.Snapshot, now time.Time, blobs *blobSource) (*Manifest, error) {
	h := Header{Format: Format, Engine: string(sn.Engine()), SchemaVersion: sn.SchemaVersion(), CreatedAt: now.UTC(), Layout: LayoutLogical, Tables: sn.Tables()}
	fw, err := startArchive(w, &h)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: Format, Engine: h.Engine, SchemaVersion: h.SchemaVersion, CreatedAt: h.CreatedAt, Layout: h.Layout}
	var buf []byte
	prog := progressFrom(ctx)
	var files blobKeys
	for i, t := range h.Tables {
		prog.phase("table " + t.Name)
		if err := fw.frame(kindTable, binary.BigEndian.AppendUint32(nil, uint32(i))); err != nil {
			return nil, fmt.Errorf("writing archive: %w", err)
		}
		var sum tableSum
		collect := files.collector(&t)
		err := sn.Scan(ctx, t, func(row []any) error {
			if collect != nil {
				collect(row)
			}
			var err error
			if buf, err = appendRow(buf[:0], row); err != nil {
				return fmt.Errorf("table %s: %w", t.Name, err)
			}
			sum.add(buf)
			prog.row(len(buf))
			if err := fw.frame(kindRow, buf); err != nil {
				return fmt.Errorf("writing archive: table %s: %w", t.Name, err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		ts := TableSummary{Name: t.Name, Rows: sum.rows, Checksum: sum.hex()}
		if err := writeJSON(fw, kindTableEnd, ts); err != nil {
			return nil, err
		}
		m.Tables = append(m.Tables, ts)
	}
	if err := finishArchive(ctx, fw, m, files.keys, blobs); err != nil {
		return nil, err
	}
	return m, nil
}

// startArchive writes an archive's magic and header.
func startArchive(w io.Writer, h *Header) (*frameWriter, error) {
	fw := newFrameWriter(w)
	if err := fw.raw(append([]byte(magic), Format)); err != nil {
		return nil, fmt.Errorf("writing archive: %w", err)
	}
	if err := writeJSON(fw, kindHeader, h); err != nil {
		return nil, err
	}
	return fw, nil
}

// finishArchive writes what follows the data section in either layout: the
// blob section (the blobs of the snapshot's files, unless blobs is nil), the
// manifest m, which it completes, and the end.
func finishArchive(ctx context.Context, fw *frameWriter, m *Manifest, keys []string, blobs *blobSource) error {
	if blobs != nil {
		progressFrom(ctx).phase("file blobs")
		var err error
		if m.Blobs, err = writeBlobSection(ctx, fw, keys, blobs.store); err != nil {
			return err
		}
	}
	m.PlainBytes = fw.n // before the manifest frame, so that the manifest can state it
	if err := writeJSON(fw, kindManifest, m); err != nil {
		return err
	}
	if err := fw.end(); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	return nil
}

func writeJSON(fw *frameWriter, kind byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %c frame: %w", kind, err)
	}
	if err := fw.frame(kind, b); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	return nil
}

// Decrypt opens an archive for the identities and returns the plaintext
// stream (zstd decompressed). A wrong identity is refused here; tampering and
// truncation are found while reading (age authenticates every 64 KiB chunk
// and the end), and reported by ReadPlain as errors.
func Decrypt(r io.Reader, identities []age.Identity) (io.ReadCloser, error) {
	if len(identities) == 0 {
		return nil, errors.New("backup: no identity to decrypt with")
	}
	ar, err := age.Decrypt(r, identities...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("backup: the identity does not open this archive (it was encrypted to another recipient): %w", err)
		}
		return nil, fmt.Errorf("backup: opening the archive: %w", err)
	}
	// Decrypting (the read-ahead's goroutine) overlaps decompressing
	// (zstd's). zstd's checksums are not checked: age authenticated every
	// byte already (and archives written now carry none).
	ra := newReadAhead(ar, stageBuffer, stageDepth)
	zr, err := zstd.NewReader(ra, zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxMemory(256<<20), zstd.WithDecoderMaxWindow(32<<20),
		zstd.IgnoreChecksum(true))
	if err != nil {
		ra.Close()
		return nil, fmt.Errorf("backup: starting decompression: %w", err)
	}
	return &plainReader{zr: zr, ra: ra}, nil
}

// plainReader is the plaintext of an archive: zstd over a read-ahead of age.
type plainReader struct {
	zr *zstd.Decoder
	ra *readAhead
}

func (p *plainReader) Read(b []byte) (int, error) { return p.zr.Read(b) }

// Close stops the decoder and the read-ahead.
func (p *plainReader) Close() error {
	p.zr.Close()
	return p.ra.Close()
}

// Reader reads a plaintext archive: first the header, then the rows.
type Reader struct {
	fr     *frameReader
	header *Header
	done   bool
	blobs  *blobReader
}

// NewReader reads the archive's magic and header.
func NewReader(r io.Reader) (*Reader, error) {
	fr := newFrameReader(r)
	if err := fr.magic(); err != nil {
		return nil, err
	}
	kind, p, err := fr.next()
	if err != nil {
		return nil, err
	}
	if kind != kindHeader {
		return nil, formatErr("the first frame is %q, not the header", kind)
	}
	var h Header
	if err := strictJSON(p, &h); err != nil {
		return nil, formatErr("header: %v", err)
	}
	if h.Format != fr.format {
		return nil, formatErr("header says format %d, the archive starts as format %d", h.Format, fr.format)
	}
	if err := h.Layout.check(h.Format); err != nil {
		return nil, err
	}
	if h.SchemaVersion < 1 {
		return nil, formatErr("header has no schema version")
	}
	seen := map[string]bool{}
	for _, t := range h.Tables {
		if t.Name == "" || seen[t.Name] || len(t.Columns) == 0 {
			return nil, formatErr("header lists an unnamed, repeated or empty table")
		}
		seen[t.Name] = true
		for _, c := range t.Columns {
			switch c.Type {
			case store.ColumnInteger, store.ColumnText, store.ColumnBytes, store.ColumnReal:
			default:
				return nil, formatErr("table %s column %s has unknown type %q", t.Name, c.Name, c.Type)
			}
		}
	}
	br := newBlobReader()
	br.deferRows = h.Layout == LayoutSQLiteFile
	return &Reader{fr: fr, header: &h, blobs: br}, nil
}

// Header returns the archive's header.
func (ar *Reader) Header() *Header { return ar.header }

// Rows reads every row, calling fn with the table and its values (reused
// between calls), checks each table's count and checksum and the manifest
// against what was read, and checks the archive's end. Only when it returns
// nil has the whole archive been read and found intact.
func (ar *Reader) Rows(fn func(t *store.TableSchema, row []any) error) (*Manifest, error) {
	if ar.done {
		return nil, errors.New("backup: archive already read")
	}
	ar.done = true
	h := ar.header
	if h.Layout == LayoutSQLiteFile {
		return nil, fmt.Errorf("backup: the archive holds a SQLite database file, not rows (read it with File)")
	}
	var (
		cur     = -1 // current table index
		next    = 0  // the next table expected
		sum     tableSum
		row     []any
		summary []TableSummary
		m       *Manifest
		plain   int64
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
		case kindTable:
			if cur >= 0 || m != nil {
				return nil, formatErr("a table starts inside another or after the manifest")
			}
			if len(p) != 4 || int(binary.BigEndian.Uint32(p)) != next || next >= len(h.Tables) {
				return nil, formatErr("tables out of order")
			}
			cur, next, sum = next, next+1, tableSum{}
			row = make([]any, len(h.Tables[cur].Columns))
		case kindRow:
			if cur < 0 {
				return nil, formatErr("a row outside a table")
			}
			t := &h.Tables[cur]
			if err := decodeRow(p, t.Columns, row); err != nil {
				return nil, formatErr("table %s row %d: %v", t.Name, sum.rows+1, err)
			}
			sum.add(p)
			ar.blobs.noteRow(t, row)
			if err := fn(t, row); err != nil {
				return nil, err
			}
		case kindTableEnd:
			if cur < 0 {
				return nil, formatErr("a table end outside a table")
			}
			var ts TableSummary
			if err := strictJSON(p, &ts); err != nil {
				return nil, formatErr("table end: %v", err)
			}
			name := h.Tables[cur].Name
			if ts.Name != name || ts.Rows != sum.rows || ts.Checksum != sum.hex() {
				return nil, formatErr("table %s: %d rows with checksum %s read, the archive says %d rows with checksum %s",
					name, sum.rows, sum.hex(), ts.Rows, ts.Checksum)
			}
			summary = append(summary, ts)
			cur = -1
		case kindBlob, kindBlobData, kindBlobEnd:
			if h.Format < 2 || cur >= 0 || m != nil || next != len(h.Tables) {
				return nil, formatErr("a blob frame outside the blob section")
			}
			if err := ar.blobs.frame(kind, p); err != nil {
				return nil, err
			}
		case kindManifest:
			if cur >= 0 || m != nil || next != len(h.Tables) {
				return nil, formatErr("the manifest comes before every table was read")
			}
			m = new(Manifest)
			if err := strictJSON(p, m); err != nil {
				return nil, formatErr("manifest: %v", err)
			}
			if m.Format != h.Format || m.Engine != h.Engine || m.SchemaVersion != h.SchemaVersion || m.Layout != h.Layout || m.File != nil ||
				!m.CreatedAt.Equal(h.CreatedAt) || !slices.Equal(m.Tables, summary) || m.PlainBytes != plain {
				return nil, formatErr("the manifest does not match the archive's contents")
			}
			if err := ar.blobs.check(h.Format, m.Blobs); err != nil {
				return nil, err
			}
		case kindEnd:
			if m == nil {
				return nil, formatErr("the archive ends without a manifest")
			}
			return m, nil
		default:
			return nil, formatErr("unknown frame kind %d", kind)
		}
	}
}

// plainSoFar is how many plaintext bytes were read (hashed) before the next
// frame: the manifest states it for the bytes before itself.
func (ar *Reader) plainSoFar() int64 { return ar.fr.n }

func strictJSON(p []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(p))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}
