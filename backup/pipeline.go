package backup

import (
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// A stage hands the bytes written to it, in buffers of a fixed size, to a
// goroutine of its own that passes each buffer to a function: a step of a
// pipeline, so that reading the database, hashing, compressing, encrypting
// and the system calls that write the archive run on several cores at once
// instead of one after the other on one (docs/benchmarks.md). Memory is
// bounded: depth buffers of size bytes, recycled.
//
// Write copies into the current buffer and hands it over when it is full;
// Close hands over the last, partial one, waits for the goroutine and returns
// the first error of fn. Once fn failed, Write returns that error and the
// goroutine calls fn no more. Abort stops without handing over what is left.
// A stage is used from one goroutine (besides its own).
type stage struct {
	fn   func([]byte) error
	free chan []byte
	full chan []byte
	done chan struct{}
	cur  []byte
	firstError

	closed bool
}

// newStage starts a stage of depth buffers of size bytes that calls fn.
func newStage(size, depth int, fn func([]byte) error) *stage {
	s := &stage{fn: fn, free: make(chan []byte, depth), full: make(chan []byte, depth), done: make(chan struct{})}
	for range depth {
		s.free <- make([]byte, 0, size)
	}
	go s.run()
	return s
}

func (s *stage) run() {
	defer close(s.done)
	for b := range s.full {
		if s.failed() == nil {
			if err := s.fn(b); err != nil {
				s.fail(err)
			}
		}
		s.free <- b[:0]
	}
}

// firstError keeps the first error of a pipeline step, shared by its
// goroutines.
type firstError struct {
	mu  sync.Mutex
	err error
}

// failed returns the first error set, or nil.
func (f *firstError) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// fail sets err unless an error was set before.
func (f *firstError) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// errStageClosed is returned by a write to a stage that was closed.
var errStageClosed = errors.New("backup: write to a closed pipeline stage")

func (s *stage) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errStageClosed
	}
	if err := s.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		if s.cur == nil {
			s.cur = <-s.free
		}
		k := copy(s.cur[len(s.cur):cap(s.cur)], p)
		s.cur, p = s.cur[:len(s.cur)+k], p[k:]
		if len(s.cur) == cap(s.cur) {
			s.full <- s.cur
			s.cur = nil
		}
	}
	return n, nil
}

// Close hands over what is buffered, waits until fn has seen every byte and
// returns the first error.
func (s *stage) Close() error {
	if s.closed {
		return s.failed()
	}
	s.closed = true
	if len(s.cur) > 0 {
		s.full <- s.cur
	}
	s.cur = nil
	close(s.full)
	<-s.done
	return s.failed()
}

// Abort stops the stage without handing over what is buffered and waits for
// its goroutine; what was handed over may still have been passed to fn.
func (s *stage) Abort() {
	if s.closed {
		return
	}
	s.fail(errors.New("backup: pipeline stage aborted"))
	s.closed = true
	s.cur = nil
	close(s.full)
	<-s.done
}

// A tee writes each buffer to two writers at once: to the first from a
// goroutine of its own, to the second from the caller, and returns when both
// have it (p is not kept). Hashing a buffer then costs no time beside the
// system call writing it. Close ends the goroutine.
type tee struct {
	bg, fg io.Writer
	in     chan []byte
	out    chan error
}

func newTee(bg, fg io.Writer) *tee {
	t := &tee{bg: bg, fg: fg, in: make(chan []byte), out: make(chan error)}
	go func() {
		for p := range t.in {
			_, err := t.bg.Write(p)
			t.out <- err
		}
	}()
	return t
}

func (t *tee) Write(p []byte) (int, error) {
	t.in <- p
	_, ferr := t.fg.Write(p)
	if err := <-t.out; err != nil {
		return 0, err
	}
	if ferr != nil {
		return 0, ferr
	}
	return len(p), nil
}

// Close ends the tee's goroutine; it writes nothing.
func (t *tee) Close() error {
	close(t.in)
	return nil
}

// readAhead reads r from a goroutine of its own into depth buffers of size
// bytes, so that what r does (decrypting) overlaps what its reader does
// (decompressing). Close stops the goroutine (after its current read).
type readAhead struct {
	full chan chunk
	free chan []byte
	quit chan struct{}
	cur  chunk
	off  int
}

type chunk struct {
	b   []byte
	err error
}

func newReadAhead(r io.Reader, size, depth int) *readAhead {
	ra := &readAhead{full: make(chan chunk, depth), free: make(chan []byte, depth), quit: make(chan struct{})}
	for range depth {
		ra.free <- make([]byte, size)
	}
	go func() {
		defer close(ra.full)
		for {
			var b []byte
			select {
			case b = <-ra.free:
			case <-ra.quit:
				return
			}
			n, err := io.ReadFull(r, b[:cap(b)])
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			select {
			case ra.full <- chunk{b: b[:n], err: err}:
			case <-ra.quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.off == len(ra.cur.b) {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.cur.b != nil {
			ra.free <- ra.cur.b
		}
		c, ok := <-ra.full
		if !ok {
			return 0, errors.New("backup: read after the read-ahead was closed")
		}
		ra.cur, ra.off = c, 0
		if len(c.b) == 0 && c.err == nil {
			continue
		}
	}
	n := copy(p, ra.cur.b[ra.off:])
	ra.off += n
	return n, nil
}

// Close stops the goroutine.
func (ra *readAhead) Close() error {
	select {
	case <-ra.quit:
	default:
		close(ra.quit)
	}
	return nil
}

// A chunkCompressor compresses what is written to it with zstd on several
// cores. It cuts the stream into chunks of a fixed size, compresses each as
// an independent zstd frame (EncodeAll) on one of its worker goroutines and
// writes the frames to w in order from a goroutine of its own. Concatenated
// frames are one zstd stream to any decoder, so the archive format does not
// change. The streaming encoder it replaces keeps one block in flight, which
// left it the longest chain of the backup's pipeline (docs/benchmarks.md);
// the price is that no match reaches across a chunk's edge.
//
// Memory is bounded: depth chunks, each an input and an output buffer,
// recycled. Write copies into the current chunk and hands it over when it is
// full; Close hands over the last, partial one, waits until every frame is
// written and returns the first error (of w). Once w failed, Write returns
// that error and nothing more is compressed. Abort stops without handing over
// what is left. A chunkCompressor is used from one goroutine (besides its
// own).
type chunkCompressor struct {
	free  chan *zchunk
	work  chan *zchunk // to the workers, in any order
	order chan *zchunk // to the writer, in the order written
	done  chan struct{}
	cur   *zchunk
	firstError

	closed bool
}

type zchunk struct {
	in, out []byte
	ready   chan struct{} // a worker compressed in into out
}

// newChunkCompressor starts a chunkCompressor writing to w, with depth
// chunks of size bytes and workers goroutines compressing them with the
// encoder options opts.
func newChunkCompressor(w io.Writer, size, depth, workers int, opts ...zstd.EOption) (*chunkCompressor, error) {
	enc, err := zstd.NewWriter(nil, append(opts, zstd.WithEncoderConcurrency(workers))...)
	if err != nil {
		return nil, err
	}
	c := &chunkCompressor{free: make(chan *zchunk, depth), work: make(chan *zchunk, depth),
		order: make(chan *zchunk, depth), done: make(chan struct{})}
	for range depth {
		c.free <- &zchunk{in: make([]byte, 0, size), ready: make(chan struct{}, 1)}
	}
	for range workers {
		go func() {
			for z := range c.work {
				if c.failed() == nil {
					z.out = enc.EncodeAll(z.in, z.out[:0])
				}
				z.ready <- struct{}{}
			}
		}()
	}
	go func() {
		defer close(c.done)
		for z := range c.order {
			<-z.ready
			if c.failed() == nil {
				if _, err := w.Write(z.out); err != nil {
					c.fail(err)
				}
			}
			z.in = z.in[:0]
			c.free <- z
		}
	}()
	return c, nil
}

// handOver passes the current chunk to a worker and, in its turn, to the
// writer. Neither send blocks: both channels hold every chunk there is.
func (c *chunkCompressor) handOver() {
	c.order <- c.cur
	c.work <- c.cur
	c.cur = nil
}

func (c *chunkCompressor) Write(p []byte) (int, error) {
	if c.closed {
		return 0, errStageClosed
	}
	if err := c.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		if c.cur == nil {
			c.cur = <-c.free
		}
		in := c.cur.in
		k := copy(in[len(in):cap(in)], p)
		c.cur.in, p = in[:len(in)+k], p[k:]
		if len(c.cur.in) == cap(c.cur.in) {
			c.handOver()
		}
	}
	return n, nil
}

// Close compresses and writes what is buffered, waits until every frame is
// written and returns the first error.
func (c *chunkCompressor) Close() error {
	if c.closed {
		return c.failed()
	}
	c.closed = true
	if c.cur != nil && len(c.cur.in) > 0 {
		c.handOver()
	}
	c.stop()
	return c.failed()
}

// Abort stops without compressing what is buffered and waits for the
// goroutines; frames already handed over may still have been written.
func (c *chunkCompressor) Abort() {
	if c.closed {
		return
	}
	c.fail(errors.New("backup: compression aborted"))
	c.closed = true
	c.stop()
}

func (c *chunkCompressor) stop() {
	c.cur = nil
	close(c.work)
	close(c.order)
	<-c.done
}
