package backup

import (
	"errors"
	"sync"
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

	mu  sync.Mutex
	err error

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

func (s *stage) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *stage) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
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
