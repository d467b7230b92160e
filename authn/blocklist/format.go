package blocklist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
)

// The file format of passwords.fc.gz, version 1: a gzip stream (RFC 1952, no
// file name, no modification time) of
//
//	"strongroom-blocklist v1 " COUNT " " BYTES "\n"
//	COUNT entries, each: PREFIX SUFFIX "\n"
//
// COUNT is the number of entries and BYTES the sum of their lengths, both in
// decimal. The entries are distinct, non-empty, in Normalize form, without a
// newline, at most MaxEntryBytes long, and sorted by bytes. PREFIX is one byte:
// how many leading bytes the entry shares with the previous one (0 for the
// first), at most 255; SUFFIX is the rest of the entry and never empty (an
// entry that is a prefix of the previous one would sort before it). Front
// coding makes the gzip file about 28% smaller than a plain sorted list.
//
// The format is never changed in place: a new encoding gets a new version in
// the header, and the decoder refuses versions it does not know.
const (
	magic    = "strongroom-blocklist v1"
	maxBytes = 64 << 20 // a sanity bound on BYTES, far above the real list
)

// MaxEntryBytes is the longest entry the format holds. The few longer lines in
// the source list are repetitions thousands of characters long, beyond any
// sensible maximum password length; the generator leaves them out.
const MaxEntryBytes = 1024

// Encode writes entries to w in the format of the embedded file. The entries
// must already be in Normalize form, non-empty, without a newline, at most 1,024
// bytes long, distinct and sorted by bytes; Encode returns an error otherwise.
// The output depends only on the entries (and the compress/flate version), so
// regenerating the file from the same source gives the same bytes.
func Encode(w io.Writer, entries []string) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := encodeRaw(zw, entries); err != nil {
		return err
	}
	return zw.Close()
}

// encodeRaw writes the uncompressed stream that Encode compresses.
func encodeRaw(w io.Writer, entries []string) error {
	size := 0
	for i, e := range entries {
		switch {
		case e == "":
			return fmt.Errorf("entry %d is empty", i)
		case len(e) > MaxEntryBytes:
			return fmt.Errorf("entry %d is %d bytes long, more than %d", i, len(e), MaxEntryBytes)
		case strings.Contains(e, "\n"):
			return fmt.Errorf("entry %d (%q) contains a newline", i, e)
		case Normalize(e) != e:
			return fmt.Errorf("entry %d (%q) is not normalized (%q)", i, e, Normalize(e))
		case i > 0 && entries[i-1] >= e:
			return fmt.Errorf("entry %d (%q) does not sort after entry %d (%q)", i, e, i-1, entries[i-1])
		}
		size += len(e)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s %d %d\n", magic, len(entries), size)
	prev := ""
	for _, e := range entries {
		p := commonPrefix(prev, e)
		bw.WriteByte(byte(p))
		bw.WriteString(e[p:])
		bw.WriteByte('\n')
		prev = e
	}
	return bw.Flush()
}

// commonPrefix returns how many leading bytes a and b share, at most 255.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b), 255)
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// decode reads a file written by Encode into a list, checking its structure
// (header, prefixes, order, lengths, gzip checksum). It does not check that the
// entries are normalized: the tests do that for the embedded file.
func decode(gz []byte) (*list, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("opening gzip stream: %w", err)
	}
	br := bufio.NewReaderSize(zr, 64<<10) // larger than any entry, for ReadSlice
	header, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	var count, size int
	if _, err := fmt.Sscanf(header, magic+" %d %d\n", &count, &size); err != nil {
		return nil, fmt.Errorf("parsing header %q: %w", header, err)
	}
	if count < 0 || size < count || size > maxBytes {
		return nil, fmt.Errorf("header %q: counts out of range", header)
	}
	var b strings.Builder
	b.Grow(size)
	off := make([]uint32, 1, count+1)
	prev := ""
	for i := range count {
		p, err := br.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("reading entry %d: %w", i, noEOF(err))
		}
		suffix, err := br.ReadSlice('\n')
		if err != nil {
			return nil, fmt.Errorf("reading entry %d: %w", i, noEOF(err))
		}
		suffix = suffix[:len(suffix)-1]
		n := int(p) + len(suffix)
		switch {
		case int(p) > len(prev):
			return nil, fmt.Errorf("entry %d shares %d bytes with a previous entry of %d", i, p, len(prev))
		case len(suffix) == 0:
			return nil, fmt.Errorf("entry %d has an empty suffix", i)
		case n > MaxEntryBytes || b.Len()+n > size:
			return nil, fmt.Errorf("entry %d is too long", i)
		}
		// The Builder has its full capacity, so writing never moves what prev
		// points into; and its bytes are never changed once written.
		start := b.Len()
		b.WriteString(prev[:p])
		b.Write(suffix)
		cur := b.String()[start:]
		if i > 0 && cur <= prev {
			return nil, fmt.Errorf("entry %d does not sort after entry %d", i, i-1)
		}
		off = append(off, uint32(b.Len()))
		prev = cur
	}
	if b.Len() != size {
		return nil, fmt.Errorf("entries hold %d bytes, the header says %d", b.Len(), size)
	}
	// Reading to the end makes the gzip reader verify its checksum.
	if _, err := br.ReadByte(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the last entry")
		}
		return nil, fmt.Errorf("reading the end: %w", err)
	}
	return &list{data: b.String(), off: off}, nil
}

// noEOF turns an early end of the stream into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// All returns the entries of the list in order (for review: see
// `go run ./internal/cmd/genblocklist -dump`).
func All() iter.Seq[string] {
	l := load()
	return func(yield func(string) bool) {
		for i := range l.len() {
			if !yield(l.entry(i)) {
				return
			}
		}
	}
}
