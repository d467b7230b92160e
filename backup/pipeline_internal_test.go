package backup

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// TestStageKeepsOrder writes pieces of uneven sizes, some larger than a
// buffer, and checks fn saw every byte in order in buffers no larger than
// the stage's.
func TestStageKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 1<<20+12345)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	var got bytes.Buffer
	calls := 0
	s := newStage(4096, 3, func(p []byte) error {
		if len(p) == 0 || len(p) > 4096 {
			t.Errorf("fn got a buffer of %d bytes", len(p))
		}
		calls++
		got.Write(p)
		return nil
	})
	for rest := want; len(rest) > 0; {
		k := min(len(rest), 1+rng.IntN(9000))
		n, err := s.Write(rest[:k])
		if err != nil || n != k {
			t.Fatalf("Write: %d, %v", n, err)
		}
		rest = rest[k:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("fn saw %d bytes, not the %d written in order", got.Len(), len(want))
	}
	if wantCalls := (len(want) + 4095) / 4096; calls != wantCalls {
		t.Errorf("fn called %d times, want %d (full buffers and one partial)", calls, wantCalls)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, errStageClosed) {
		t.Errorf("Write after Close: %v, want errStageClosed", err)
	}
}

// TestStageFailure checks that fn's first error stops the calls, comes back
// from a later Write and from Close, and that nothing blocks.
func TestStageFailure(t *testing.T) {
	boom := errors.New("disk full")
	calls := 0
	s := newStage(16, 2, func(p []byte) error {
		calls++
		if calls == 2 {
			return boom
		}
		return nil
	})
	var werr error
	for range 100 {
		if _, werr = s.Write(make([]byte, 10)); werr != nil {
			break
		}
	}
	if !errors.Is(werr, boom) {
		t.Errorf("Write after the failure: %v, want %v", werr, boom)
	}
	if err := s.Close(); !errors.Is(err, boom) {
		t.Errorf("Close: %v, want %v", err, boom)
	}
	if calls != 2 {
		t.Errorf("fn called %d times, want 2 (none after it failed)", calls)
	}
}

// TestStageAbort checks that Abort hands over nothing buffered and returns
// once the goroutine is done, and that Close after it reports the abort.
func TestStageAbort(t *testing.T) {
	var got int
	s := newStage(8, 2, func(p []byte) error { got += len(p); return nil })
	if _, err := s.Write(make([]byte, 20)); err != nil {
		t.Fatal(err)
	}
	s.Abort()
	if got > 16 {
		t.Errorf("fn saw %d bytes, more than the two full buffers", got)
	}
	if err := s.Close(); err == nil {
		t.Error("Close after Abort returned nil")
	}
	s.Abort() // a second Abort is harmless
}

// TestTee checks that both writers get every buffer whole and in order, and
// that an error of either comes back.
func TestTee(t *testing.T) {
	var a, b bytes.Buffer
	tw := newTee(&a, &b)
	for i := range 50 {
		p := bytes.Repeat([]byte{byte(i)}, 1+i*37)
		if n, err := tw.Write(p); err != nil || n != len(p) {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	tw.Close()
	if a.Len() == 0 || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("the writers got %d and %d bytes, not the same", a.Len(), b.Len())
	}
	boom := errors.New("no space")
	for _, c := range []struct {
		name   string
		bg, fg io.Writer
	}{{"background", failWriter{boom}, io.Discard}, {"foreground", io.Discard, failWriter{boom}}} {
		tw := newTee(c.bg, c.fg)
		if _, err := tw.Write([]byte("x")); !errors.Is(err, boom) {
			t.Errorf("%s writer failing: Write returned %v, want %v", c.name, err, boom)
		}
		tw.Close()
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// TestReadAhead reads through the read-ahead with reads of uneven sizes and
// compares; an error of the source after some bytes comes after those bytes.
func TestReadAhead(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	want := make([]byte, 100_003)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	ra := newReadAhead(bytes.NewReader(want), 4096, 3)
	var got []byte
	for {
		p := make([]byte, 1+rng.IntN(10000))
		n, err := ra.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ra.Close()
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d of the source", len(got), len(want))
	}

	boom := errors.New("authentication failed")
	ra = newReadAhead(io.MultiReader(bytes.NewReader(want[:5000]), errReader{boom}), 4096, 2)
	b, err := io.ReadAll(ra)
	if !errors.Is(err, boom) || !bytes.Equal(b, want[:5000]) {
		t.Errorf("source failing after 5000 bytes: read %d bytes and %v", len(b), err)
	}
	ra.Close()

	// Closing before the end stops the goroutine, which a blocked source
	// would otherwise keep.
	ra = newReadAhead(bytes.NewReader(want), 16, 2)
	if _, err := ra.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	ra.Close()
	ra.Close()
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
