// Package backup writes and reads Strongroom's backups: a consistent logical
// snapshot of every data table in an engine-neutral format (so a SQLite backup
// restores into PostgreSQL and back), compressed with zstd and encrypted with
// age to a recipient whose identity can live offline; it restores them into an
// empty store, keeps a folder or bucket of them under retention, runs restore
// drills, and backs up the keyring apart from the data. docs/operations.md
// describes its use, docs/decisions.md its choices.
//
// The zstd stream is a sequence of independent zstd frames, one per MiB of
// plaintext, compressed on several cores (archives written before 2026-11-22
// hold one zstd frame; any zstd decoder reads both the same). The archive (the
// plaintext inside zstd inside age) is a sequence of frames of its own:
//
//	archive = magic frame* end
//	magic   = "STRONGROOM-BACKUP" 0x0A u8(format)        format is 4 (1 to 3 still read)
//	frame   = u8(kind) u32(len) payload[len]             len ≤ MaxFrame
//	kinds   'H' header JSON (engine, schema version, created at, layout, tables and columns)
//	        'T' u32(table index)                         starts a table's rows
//	        'R' row                                      one row of the current table
//	        'E' table end JSON (rows, checksum)
//	        'F' blob start JSON (key)                    after the data section
//	        'D' bytes (≤ 1 MiB)                          the next bytes of the current blob
//	        'G' blob end JSON (key, bytes, SHA-256)
//	        'M' manifest JSON (the header's facts, every table's count and checksum,
//	            and the blob section's count, bytes, checksum and missing keys)
//	end     = 'Z' u32(32) SHA-256(the magic and every frame before this one but the 'R', 'P' and 'D' frames)
//	row     = value*  (one per column)
//	value   = 0x00 (null) | 0x01 i64 | 0x02 u32(len) utf8 | 0x03 u32(len) bytes | 0x04 f64 bits
//
// That is the logical layout: magic H (T R* E)* (F D* G)* M end, header
// "layout": "logical". Formats 3 and 4 have a second layout for SQLite sources,
// "sqlite-file": the database file itself instead of rows (see sqlitefile.go):
//
//	archive = magic H P* (F D* G)* M end
//	        'P' a run of the database file's bytes, in order
//	        'M' manifest JSON with the file's size, page size and SHA-256,
//	            every table's row count (no row checksums) and the blob section's summary
//
// Both layouts carry the blob section between the data section ('T'…'E' or
// 'P'*) and the manifest. Older formats still read: format 3 is format 4
// with the blobs' 'D' frames in the end's hash; format 2 is the logical
// layout with the blob section and no layout in the header; format 1 the
// logical layout without a blob section.
//
// Row, file and blob data frames are left out of the end's hash: each
// table's checksum covers its rows (a row changed, dropped, added or moved to
// another table changes a checksum), the manifest's SHA-256 covers the file,
// each blob's SHA-256 in its 'G' frame (which the end's hash covers) covers
// its data frames (a frame changed, dropped, added or moved to another blob
// changes a blob's SHA-256 or size), and hashing them twice would cost a
// quarter of a backup's time, a third of one of mostly blobs.
//
// The blob section (blobs.go) holds, by key, the blob of every
// record_files row of the snapshot the data comes from, as the blob store
// holds it: sealed with its organization's data key, so the archive holds no
// plaintext file content and a shredded organization's blobs stay unreadable.
// A blob gone from the store when the backup copies it (its file was deleted
// after the snapshot) is listed in the manifest as missing. The section's
// checksum is the SHA-256 of each blob's "key NUL bytes NUL sha256-hex LF" in
// order. In the sqlite-file layout the reader checks the section's frames as
// they come and, once the file is extracted, that every record_files row of
// the file has its blob or is listed missing (the logical layout checks the
// rows as they are read).
//
// Integers are big-endian. A table's checksum is the sum modulo 2^256 of the
// SHA-256 of each row's encoding: it does not depend on the order rows are
// read in, which differs between engines, so the same data gives the same
// checksum whichever engine it was read from.
package backup

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom/store"
)

// Format is the archive format version this package writes. It reads this
// one, format 3 (the same frames, with the blobs' data frames in the end's
// hash), format 2 (the logical layout with the blob section, no layout in the
// header) and format 1 (the logical layout, no blob section).
const Format = 4

// readableFormat reports whether this binary reads archives of format f.
func readableFormat(f int) bool { return f >= 1 && f <= Format }

// MaxFrame bounds one frame (one row, the header or the manifest), so that a
// hostile archive cannot make the reader allocate without limit.
const MaxFrame = 64 << 20

const magic = "STRONGROOM-BACKUP\n"

// Frame kinds.
const (
	kindHeader   = 'H'
	kindTable    = 'T'
	kindRow      = 'R'
	kindTableEnd = 'E'
	kindManifest = 'M'
	kindEnd      = 'Z'
	kindFile     = 'P' // sqlite-file layout: a run of the database file's pages
)

// unhashed reports whether a frame kind is left out of the end's hash in an
// archive of a format: its contents are covered by a table checksum, the
// file's SHA-256 or, from format 4 on, the blob's SHA-256.
func unhashed(format int, kind byte) bool {
	return kind == kindRow || kind == kindFile || (format >= 4 && kind == kindBlobData)
}

// Value tags.
const (
	tagNull  = 0
	tagInt   = 1
	tagText  = 2
	tagBytes = 3
	tagReal  = 4
)

// Header opens an archive: what the rows are.
type Header struct {
	Format        int                 `json:"format"`
	Engine        string              `json:"engine"`
	SchemaVersion int                 `json:"schema_version"`
	CreatedAt     time.Time           `json:"created_at"`
	Tables        []store.TableSchema `json:"tables"`

	// Layout is LayoutLogical or LayoutSQLiteFile; empty in formats 1 and 2
	// (rows).
	Layout Layout `json:"layout,omitempty"`
}

// TableSummary is a table's row count and checksum.
type TableSummary struct {
	Name     string `json:"name"`
	Rows     int64  `json:"rows"`
	Checksum string `json:"checksum"`
}

// Manifest describes a backup: written inside the archive (authenticated by
// age) and, without the checksums of the encrypted file that it cannot know
// yet, summarized in the index beside it.
type Manifest struct {
	Format        int            `json:"format"`
	Engine        string         `json:"engine"`
	SchemaVersion int            `json:"schema_version"`
	CreatedAt     time.Time      `json:"created_at"`
	Tables        []TableSummary `json:"tables"`
	// PlainBytes is the size of the archive before compression.
	PlainBytes int64 `json:"plain_bytes"`
	// Layout is the header's; File describes the database file of the
	// sqlite-file layout (whose tables have row counts, no checksums).
	Layout Layout       `json:"layout,omitempty"`
	File   *FileSummary `json:"file,omitempty"`
	// Blobs summarizes the blob section (formats 2 and 3, either layout);
	// nil in format 1, whose archives have none.
	Blobs *BlobSummary `json:"blobs,omitempty"`
}

// Rows is the total row count.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// Checksums maps each table to its checksum.
func (m *Manifest) Checksums() map[string]string {
	out := make(map[string]string, len(m.Tables))
	for _, t := range m.Tables {
		out[t.Name] = t.Checksum
	}
	return out
}

// tableSum accumulates a table's order-independent checksum.
type tableSum struct {
	sum  [32]byte
	rows int64
}

func (s *tableSum) add(rowEncoding []byte) {
	h := sha256.Sum256(rowEncoding)
	var carry uint16
	for i := 31; i >= 0; i-- {
		v := uint16(s.sum[i]) + uint16(h[i]) + carry
		s.sum[i] = byte(v)
		carry = v >> 8
	}
	s.rows++
}

func (s *tableSum) hex() string { return hex.EncodeToString(s.sum[:]) }

// appendRow encodes a row of logical values.
func appendRow(b []byte, row []any) ([]byte, error) {
	for i, v := range row {
		switch x := v.(type) {
		case nil:
			b = append(b, tagNull)
		case int64:
			b = append(b, tagInt)
			b = binary.BigEndian.AppendUint64(b, uint64(x))
		case string:
			if len(x) > MaxFrame {
				return nil, fmt.Errorf("value %d is too large", i)
			}
			b = append(b, tagText)
			b = binary.BigEndian.AppendUint32(b, uint32(len(x)))
			b = append(b, x...)
		case []byte:
			if len(x) > MaxFrame {
				return nil, fmt.Errorf("value %d is too large", i)
			}
			b = append(b, tagBytes)
			b = binary.BigEndian.AppendUint32(b, uint32(len(x)))
			b = append(b, x...)
		case float64:
			b = append(b, tagReal)
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(x))
		default:
			return nil, fmt.Errorf("value %d has type %T, which backups do not know", i, v)
		}
	}
	return b, nil
}

// decodeRow decodes a row of the given columns; it checks each value against
// its column's type (null is allowed; the target's constraints decide).
func decodeRow(p []byte, cols []store.Column, row []any) error {
	for i, c := range cols {
		if len(p) < 1 {
			return errors.New("row ends early")
		}
		tag := p[0]
		p = p[1:]
		var want byte
		switch c.Type {
		case store.ColumnInteger:
			want = tagInt
		case store.ColumnText:
			want = tagText
		case store.ColumnBytes:
			want = tagBytes
		case store.ColumnReal:
			want = tagReal
		}
		if tag != tagNull && tag != want {
			return fmt.Errorf("column %s: value of tag %d in a %s column", c.Name, tag, c.Type)
		}
		switch tag {
		case tagNull:
			row[i] = nil
		case tagInt, tagReal:
			if len(p) < 8 {
				return errors.New("row ends early")
			}
			u := binary.BigEndian.Uint64(p)
			p = p[8:]
			if tag == tagInt {
				row[i] = int64(u)
			} else {
				row[i] = math.Float64frombits(u)
			}
		case tagText, tagBytes:
			if len(p) < 4 {
				return errors.New("row ends early")
			}
			n := binary.BigEndian.Uint32(p)
			p = p[4:]
			if uint64(len(p)) < uint64(n) {
				return errors.New("row ends early")
			}
			v := p[:n]
			p = p[n:]
			if tag == tagText {
				if !utf8.Valid(v) {
					return fmt.Errorf("column %s: text is not UTF-8", c.Name)
				}
				row[i] = string(v)
			} else {
				row[i] = append([]byte(nil), v...)
			}
		}
	}
	if len(p) != 0 {
		return errors.New("row has extra bytes")
	}
	return nil
}

// frameWriter writes frames and hashes everything it writes.
type frameWriter struct {
	w   *bufio.Writer
	h   hash.Hash
	n   int64
	hdr [5]byte
}

func newFrameWriter(w io.Writer) *frameWriter {
	fw := &frameWriter{w: bufio.NewWriterSize(w, 256<<10), h: sha256.New()}
	return fw
}

func (fw *frameWriter) raw(p []byte) error {
	return fw.write(p, true)
}

func (fw *frameWriter) write(p []byte, hashed bool) error {
	if hashed {
		fw.h.Write(p)
	}
	fw.n += int64(len(p))
	_, err := fw.w.Write(p)
	return err
}

func (fw *frameWriter) frame(kind byte, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("a frame of %d bytes is over the limit of %d", len(payload), MaxFrame)
	}
	fw.hdr[0] = kind
	binary.BigEndian.PutUint32(fw.hdr[1:], uint32(len(payload)))
	if err := fw.write(fw.hdr[:], !unhashed(Format, kind)); err != nil {
		return err
	}
	if len(payload) >= fw.w.Size() {
		// Flushed first, the buffer is empty and bufio hands a large
		// payload on without copying it.
		if err := fw.w.Flush(); err != nil {
			return err
		}
	}
	return fw.write(payload, !unhashed(Format, kind))
}

// end writes the end frame (not hashed into itself) and flushes.
func (fw *frameWriter) end() error {
	sum := fw.h.Sum(nil)
	fw.hdr[0] = kindEnd
	binary.BigEndian.PutUint32(fw.hdr[1:], uint32(len(sum)))
	if _, err := fw.w.Write(fw.hdr[:]); err != nil {
		return err
	}
	if _, err := fw.w.Write(sum); err != nil {
		return err
	}
	fw.n += int64(len(fw.hdr) + len(sum))
	return fw.w.Flush()
}

// frameReader reads frames and hashes everything it reads.
type frameReader struct {
	r      *bufio.Reader
	h      hash.Hash
	n      int64 // bytes read and hashed
	buf    []byte
	hdr    [5]byte
	format int // the magic's
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 256<<10), h: sha256.New()}
}

// ErrFormat is wrapped by every error about an archive's contents (as opposed
// to decryption, which age reports, or the store).
var ErrFormat = errors.New("backup: not a valid archive")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// readErr reports a failed read of the plaintext: the archive ended early,
// or what it is read from failed (age finding a chunk that does not
// authenticate: the encrypted file was damaged or tampered with), which reads
// stopped by the read-ahead of decryption may meet before the bytes they
// look for.
func readErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatErr("the archive is truncated (%s: %v)", what, err)
	}
	return formatErr("the archive cannot be read (%s: %v)", what, err)
}

func (fr *frameReader) magic() error {
	b := make([]byte, len(magic)+1)
	if _, err := io.ReadFull(fr.r, b); err != nil {
		return readErr("reading the magic", err)
	}
	if string(b[:len(magic)]) != magic {
		return formatErr("it does not start with the Strongroom backup magic")
	}
	if !readableFormat(int(b[len(magic)])) {
		return formatErr("archive format %d, this binary reads formats 1 to %d", b[len(magic)], Format)
	}
	fr.format = int(b[len(magic)])
	fr.h.Write(b)
	fr.n += int64(len(b))
	return nil
}

// next reads one frame; the payload is valid until the next call. For the
// end frame it checks the hash of everything before it.
func (fr *frameReader) next() (byte, []byte, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return 0, nil, readErr("reading a frame header", err)
	}
	kind, n := fr.hdr[0], binary.BigEndian.Uint32(fr.hdr[1:])
	if n > MaxFrame {
		return 0, nil, formatErr("a frame of %d bytes is over the limit of %d", n, MaxFrame)
	}
	// Grow the buffer as bytes arrive rather than trusting the length: a
	// short hostile archive claiming a huge frame costs little.
	p := fr.buf[:0]
	for len(p) < int(n) {
		chunk := min(int(n)-len(p), 1<<20)
		p = slices.Grow(p, chunk)
		k, err := io.ReadFull(fr.r, p[len(p):len(p)+chunk])
		p = p[:len(p)+k]
		if err != nil {
			return 0, nil, readErr("reading a frame", err)
		}
	}
	fr.buf = p
	if kind == kindEnd {
		if n != sha256.Size || string(p) != string(fr.h.Sum(nil)) {
			return 0, nil, formatErr("the archive checksum does not match its contents")
		}
		var one [1]byte
		if k, _ := io.ReadFull(fr.r, one[:]); k != 0 {
			return 0, nil, formatErr("data after the end of the archive")
		}
		return kind, p, nil
	}
	if !unhashed(fr.format, kind) {
		fr.h.Write(fr.hdr[:])
		fr.h.Write(p)
	}
	fr.n += int64(len(fr.hdr) + len(p))
	return kind, p, nil
}
