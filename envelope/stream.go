package envelope

import (
	"bufio"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"golang.org/x/crypto/hkdf"
)

// Sizes of the parts of a version-1 stream.
const (
	// SegmentSize is the plaintext size of every segment of a stream but the
	// last.
	SegmentSize = 64 << 10

	saltSize         = 32
	streamHeaderSize = headerSize + saltSize // version ‖ key id ‖ salt
	segmentCTSize    = SegmentSize + tagSize // a full segment, sealed
)

var errWriterClosed = errors.New("envelope: write to a closed stream")

// NewWriter writes the header of a new stream to w and returns a writer that
// encrypts what is written to it under k for the place ad, in segments of
// [SegmentSize] bytes, using memory for one segment whatever the size of the
// stream. The per-stream salt is read from r, or from crypto/rand if r is nil.
//
// Close must be called: it writes the last segment, without which the stream
// does not open. Close does not close w. After an error from w every call
// returns that error.
func NewWriter(w io.Writer, k Key, ad AD, r io.Reader) (io.WriteCloser, error) {
	if k.s == nil {
		return nil, errZeroKey
	}
	if !ad.valid() {
		return nil, errAD
	}
	var header [streamHeaderSize]byte
	header[0] = Version1
	binary.BigEndian.PutUint32(header[1:headerSize], k.id)
	if err := readRandom(r, header[headerSize:]); err != nil {
		return nil, fmt.Errorf("envelope: reading stream salt: %w", err)
	}
	aead, err := streamAEAD(k, ad, header[:])
	if err != nil {
		return nil, err
	}
	if err := writeFull(w, header[:]); err != nil {
		return nil, fmt.Errorf("envelope: writing stream header: %w", err)
	}
	return &streamWriter{w: w, aead: aead, buf: make([]byte, 0, segmentCTSize)}, nil
}

// NewReader reads the header of a stream written by [NewWriter] from src and
// returns a reader of its plaintext, which must have been sealed under k for
// the place ad. A header that is short, of another version or of another key
// id gives [ErrOpen] at once.
//
// The reader returns each segment's plaintext only after the segment's tag
// has been verified, so what it returns is always authentic; but a stream can
// be cut short or corrupted further on, so a caller must not act on the
// plaintext until Read has returned io.EOF. Any authentication failure
// (a changed, missing, reordered or extra segment) is [ErrOpen] from Read,
// and every later Read returns it too. Errors reading src other than an early
// end are returned wrapped.
func NewReader(src io.Reader, k Key, ad AD) (io.Reader, error) {
	if k.s == nil || !ad.valid() {
		return nil, ErrOpen
	}
	var header [streamHeaderSize]byte
	if _, err := io.ReadFull(src, header[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrOpen
		}
		return nil, fmt.Errorf("envelope: reading stream header: %w", err)
	}
	if header[0] != Version1 || binary.BigEndian.Uint32(header[1:headerSize]) != k.id {
		return nil, ErrOpen
	}
	aead, err := streamAEAD(k, ad, header[:])
	if err != nil {
		return nil, err
	}
	return &streamReader{src: src, aead: aead, buf: make([]byte, segmentCTSize+1)}, nil
}

// PeekStreamKeyID returns the key id in the header of the stream that r is
// about to read, without consuming it, so the caller can fetch that key from
// the keyring and then pass the same r to [NewReader]:
//
//	br := bufio.NewReader(f)
//	id, err := envelope.PeekStreamKeyID(br)
//	// ... k := the tenant's data key with that id
//	pr, err := envelope.NewReader(br, k, ad)
//
// It returns [ErrOpen] if the stream is too short or of another version.
func PeekStreamKeyID(r *bufio.Reader) (uint32, error) {
	b, err := r.Peek(headerSize)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, ErrOpen
		}
		return 0, fmt.Errorf("envelope: reading stream header: %w", err)
	}
	if b[0] != Version1 {
		return 0, ErrOpen
	}
	return binary.BigEndian.Uint32(b[1:headerSize]), nil
}

// streamAEAD returns AES-256-GCM under the stream's subkey, derived from k,
// the header's salt, and the binding of the version, key id and place.
func streamAEAD(k Key, ad AD, header []byte) (cipher.AEAD, error) {
	var buf [128]byte
	info := appendBinding(buf[:0], streamLabel, k.id, ad)
	var sub [KeySize]byte
	defer clear(sub[:])
	if _, err := io.ReadFull(hkdf.New(sha256.New, k.s.material[:], header[headerSize:], info), sub[:]); err != nil {
		return nil, fmt.Errorf("envelope: deriving stream key: %w", err)
	}
	return newAEAD(sub[:])
}

// segmentNonce sets n to segment i's nonce: i as 11 bytes big-endian, then 1
// for the last segment or 0.
func segmentNonce(n *[nonceSize]byte, i uint64, last bool) []byte {
	*n = [nonceSize]byte{}
	binary.BigEndian.PutUint64(n[3:11], i)
	if last {
		n[11] = 1
	}
	return n[:]
}

type streamWriter struct {
	w      io.Writer
	aead   cipher.AEAD
	next   uint64 // index of the next segment
	nonce  [nonceSize]byte
	buf    []byte // plaintext of the segment being filled; cap segmentCTSize
	err    error  // sticky: the first error from w
	closed bool
}

func (sw *streamWriter) Write(p []byte) (int, error) {
	if sw.closed {
		return 0, errWriterClosed
	}
	if sw.err != nil {
		return 0, sw.err
	}
	n := 0
	for len(p) > 0 {
		// A full segment is written only once more plaintext arrives: until
		// then it might be the last.
		if len(sw.buf) == SegmentSize {
			if err := sw.seal(sw.buf, false); err != nil {
				return n, err
			}
		}
		if len(sw.buf) == 0 && len(p) > SegmentSize {
			// More follows this segment: seal it straight from p.
			if err := sw.seal(p[:SegmentSize], false); err != nil {
				return n, err
			}
			p, n = p[SegmentSize:], n+SegmentSize
			continue
		}
		c := copy(sw.buf[len(sw.buf):SegmentSize], p)
		sw.buf = sw.buf[:len(sw.buf)+c]
		p, n = p[c:], n+c
	}
	return n, nil
}

// Close writes the last segment. Closing again does nothing and returns the
// result of the first Close.
func (sw *streamWriter) Close() error {
	if sw.closed {
		return sw.err
	}
	sw.closed = true
	if sw.err != nil {
		return sw.err
	}
	return sw.seal(sw.buf, true)
}

// seal encrypts plaintext, which is either sw.buf or not in it at all, as the
// next segment into sw.buf's storage, writes it, and empties sw.buf.
func (sw *streamWriter) seal(plaintext []byte, last bool) error {
	if sw.next == math.MaxUint64 {
		sw.err = errors.New("envelope: stream too long")
		return sw.err
	}
	ct := sw.aead.Seal(sw.buf[:0], segmentNonce(&sw.nonce, sw.next, last), plaintext, nil)
	sw.next++
	sw.buf = sw.buf[:0]
	if err := writeFull(sw.w, ct); err != nil {
		sw.err = fmt.Errorf("envelope: writing stream: %w", err)
		return sw.err
	}
	return nil
}

type streamReader struct {
	src   io.Reader
	aead  cipher.AEAD
	next  uint64 // index of the next segment
	nonce [nonceSize]byte
	// buf holds a sealed segment and one byte more, read ahead to learn
	// whether this segment is the last; segments are opened in place.
	buf   []byte
	carry bool   // buf[segmentCTSize] is the first byte of the next segment
	pt    []byte // verified plaintext not yet returned, inside buf
	done  bool   // the last segment has been verified
	err   error  // sticky
}

func (sr *streamReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(sr.pt) == 0 {
		if err := sr.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, sr.pt)
	sr.pt = sr.pt[n:]
	return n, nil
}

// WriteTo writes the plaintext to w straight from the reader's buffer, so
// io.Copy from a stream copies nothing twice.
func (sr *streamReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(sr.pt) > 0 {
			n, err := w.Write(sr.pt)
			total += int64(n)
			sr.pt = sr.pt[n:]
			if err != nil {
				return total, err
			}
			if len(sr.pt) > 0 {
				return total, io.ErrShortWrite
			}
		}
		if err := sr.fill(); err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
	}
}

// fill reads and opens the next segment once the previous plaintext has
// been consumed. It returns io.EOF after the last segment.
func (sr *streamReader) fill() error {
	if sr.err != nil {
		return sr.err
	}
	if sr.done {
		return io.EOF
	}
	sr.err = sr.openNext()
	return sr.err
}

func (sr *streamReader) openNext() error {
	have := 0
	if sr.carry {
		sr.buf[0], have = sr.buf[segmentCTSize], 1
	}
	n, err := io.ReadFull(sr.src, sr.buf[have:])
	n += have
	last := false
	switch {
	case err == nil:
		sr.carry = true
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		last, sr.carry = true, false
	default:
		return fmt.Errorf("envelope: reading stream: %w", err)
	}
	ct := sr.buf[:min(n, segmentCTSize)]
	// Only an empty stream has an empty last segment.
	if len(ct) < tagSize || last && len(ct) == tagSize && sr.next > 0 || sr.next == math.MaxUint64 {
		return ErrOpen
	}
	pt, err := sr.aead.Open(ct[:0], segmentNonce(&sr.nonce, sr.next, last), ct, nil)
	if err != nil {
		return ErrOpen
	}
	sr.next++
	sr.pt, sr.done = pt, last
	return nil
}

// writeFull writes all of b to w.
func writeFull(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}
