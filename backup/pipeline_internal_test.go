package backup

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
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

// compressible returns n bytes that zstd can shrink: runs of random words.
func compressible(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n)
	for len(b) < n {
		w := []byte{byte('a' + rng.IntN(26)), byte('a' + rng.IntN(26)), byte('a' + rng.IntN(26))}
		b = append(b, bytes.Repeat(w, 1+rng.IntN(40))...)
		b = append(b, byte(rng.Uint32()))
	}
	return b[:n]
}

// TestChunkCompressorRoundTrip writes pieces of uneven sizes through a
// chunkCompressor with small chunks and several workers, and checks that a
// standard zstd decoder reads the concatenated frames back to the same bytes
// in order, that there is one frame per chunk, and that the stream is
// smaller than its input.
func TestChunkCompressorRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, size := range []int{0, 1, 4096, 4096*7 + 3, 300_000} {
		want := compressible(rng, size)
		var z bytes.Buffer
		c, err := newChunkCompressor(&z, 4096, 4, 3, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false))
		if err != nil {
			t.Fatal(err)
		}
		for rest := want; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(10000))
			if n, err := c.Write(rest[:k]); err != nil || n != k {
				t.Fatalf("Write: %d, %v", n, err)
			}
			rest = rest[k:]
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if size > 1000 && z.Len() >= size {
			t.Errorf("%d bytes compressed to %d", size, z.Len())
		}
		frames := countFrames(t, z.Bytes())
		if wantFrames := (size + 4095) / 4096; frames != wantFrames {
			t.Errorf("%d bytes: %d frames, want %d (one per chunk)", size, frames, wantFrames)
		}
		d, err := zstd.NewReader(bytes.NewReader(z.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(d)
		d.Close()
		if err != nil {
			t.Fatalf("%d bytes: decoding: %v", size, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: decoded %d bytes, not the ones written in order", size, len(got))
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, errStageClosed) {
			t.Errorf("Write after Close: %v, want errStageClosed", err)
		}
	}
}

// countFrames counts the zstd frames of a stream, walking from frame to
// frame by their lengths.
func countFrames(t *testing.T, b []byte) int {
	t.Helper()
	n := 0
	for len(b) > 0 {
		b = b[frameSize(t, b):]
		n++
	}
	return n
}

// frameSize is the length of the zstd frame at the start of b: the header
// and its blocks, each block header naming its size and whether it is last.
func frameSize(t *testing.T, b []byte) int {
	t.Helper()
	var h zstd.Header
	if err := h.Decode(b); err != nil {
		t.Fatal(err)
	}
	off := h.HeaderSize
	for {
		if off+3 > len(b) {
			t.Fatalf("a block header past the stream's end")
		}
		bh := uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16
		last, typ, size := bh&1 == 1, (bh>>1)&3, int(bh>>3)
		off += 3
		if typ == 1 { // RLE: one byte stands for size bytes
			size = 1
		}
		off += size
		if last {
			return off
		}
	}
}

// TestChunkCompressorFailure checks that an error of the writer comes back
// from a later Write and from Close, that nothing blocks, and that Abort
// after a few chunks returns.
func TestChunkCompressorFailure(t *testing.T) {
	boom := errors.New("disk full")
	c, err := newChunkCompressor(failWriter{boom}, 64, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for range 1000 {
		if _, werr = c.Write(make([]byte, 50)); werr != nil {
			break
		}
	}
	if !errors.Is(werr, boom) {
		t.Errorf("Write after the failure: %v, want %v", werr, boom)
	}
	if err := c.Close(); !errors.Is(err, boom) {
		t.Errorf("Close: %v, want %v", err, boom)
	}

	var out bytes.Buffer
	c, err = newChunkCompressor(&out, 64, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, 200)); err != nil {
		t.Fatal(err)
	}
	c.Abort()
	if err := c.Close(); err == nil {
		t.Error("Close after Abort returned nil")
	}
	c.Abort() // a second Abort is harmless
}
