package backup

import (
	"bytes"
	"errors"
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
