package envelope_test

import (
	"bytes"
	"io"
	"testing"

	"strongroom.dev/strongroom/envelope"
)

// fuzzKey is the key the fuzz tests open with; the committed seeds are sealed
// under it for testAD.
func fuzzKey(t testing.TB) envelope.Key { return testKey(t, 0x0a0b0c0d, "fuzz") }

type openSeed struct {
	name string
	env  []byte
}

func openSeeds(t testing.TB) []openSeed {
	k := fuzzKey(t)
	seal := func(pt string, nonceSeed string) []byte {
		env, err := envelope.Seal(k, testAD, []byte(pt), detReader(nonceSeed))
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	short := seal("a short secret", "n1")
	return []openSeed{
		{"genuine-empty", seal("", "n0")},
		{"genuine-short", short},
		{"genuine-longer", seal(string(detBytes("p", 200)), "n2")},
		{"truncated", short[:len(short)-1]},
		{"header-only", short[:5]},
		{"empty", []byte{}},
		{"version-2", append([]byte{2}, short[1:]...)},
		{"tag-flipped", append(bytes.Clone(short[:len(short)-1]), short[len(short)-1]^1)},
	}
}

// FuzzOpen: Open never panics; anything but a genuine envelope gives exactly
// ErrOpen and no plaintext; what opens is exactly what Seal produces.
func FuzzOpen(f *testing.F) {
	for _, s := range openSeeds(f) {
		f.Add(s.env)
	}
	k := fuzzKey(f)
	f.Fuzz(func(t *testing.T, env []byte) {
		id, idErr := envelope.KeyID(env)
		pt, err := envelope.Open(k, testAD, env)
		if err != nil {
			wantErrOpen(t, pt, err)
			return
		}
		if idErr != nil || id != k.ID() {
			t.Errorf("Open succeeded but KeyID = %d, %v", id, idErr)
		}
		again, err := envelope.Seal(k, testAD, pt, bytes.NewReader(env[5:17]))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, env) {
			t.Errorf("Open accepted %x, which Seal does not produce for its plaintext", env)
		}
		other := testAD
		other.Row += "x"
		if pt, err := envelope.Open(k, other, env); err != envelope.ErrOpen || pt != nil {
			t.Errorf("the envelope opens for another row")
		}
	})
}

type streamSeed struct {
	name     string
	src      []byte
	readSize uint16
}

func streamSeeds(t testing.TB) []streamSeed {
	k := fuzzKey(t)
	s100 := sealStream(t, k, testAD, detBytes("p", 100), "s100")
	return []streamSeed{
		{"genuine-empty", sealStream(t, k, testAD, nil, "s0"), 0},
		{"genuine-1", sealStream(t, k, testAD, []byte{'x'}, "s1"), 1},
		{"genuine-100-read-7", s100, 7},
		{"genuine-1000", sealStream(t, k, testAD, detBytes("p", 1000), "s1000"), 4096},
		{"header-only", s100[:37], 0},
		{"cut", s100[:len(s100)-1], 3},
		{"appended", append(bytes.Clone(s100), 0), 0},
		{"salt-flipped", append(append(bytes.Clone(s100[:10]), s100[10]^0x40), s100[11:]...), 0},
	}
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// FuzzStreamReader: the stream reader never panics on any input; anything but
// a genuine stream ends in exactly ErrOpen, having returned only a prefix of
// whole segments; what reads to the end is exactly what NewWriter produces.
func FuzzStreamReader(f *testing.F) {
	for _, s := range streamSeeds(f) {
		f.Add(s.src, s.readSize)
	}
	// No seeds of more than one segment: a fuzzer that carries 64 KiB inputs
	// spends its time minimizing them. FuzzStreamTamper covers those.
	k := fuzzKey(f)

	f.Fuzz(func(t *testing.T, src []byte, readSize uint16) {
		var in io.Reader = bytes.NewReader(src)
		if readSize > 0 {
			in = chunkReader{in, int(readSize)}
		}
		r, err := envelope.NewReader(in, k, testAD)
		if err != nil {
			wantErrOpen(t, nil, err)
			return
		}
		var got []byte
		if readSize == 0 {
			var out bytes.Buffer
			_, err = io.Copy(&out, r) // WriteTo
			got = out.Bytes()
		} else {
			buf := make([]byte, readSize)
			for {
				n, rerr := r.Read(buf)
				got = append(got, buf[:n]...)
				if rerr != nil {
					if rerr != io.EOF {
						err = rerr
					}
					break
				}
			}
		}
		if err != nil {
			if err != envelope.ErrOpen {
				t.Fatalf("err = %v, want ErrOpen", err)
			}
			if len(got)%envelope.SegmentSize != 0 {
				t.Fatalf("returned %d bytes before ErrOpen, not whole segments", len(got))
			}
			return
		}
		var again bytes.Buffer
		w, err := envelope.NewWriter(&again, k, testAD, bytes.NewReader(src[5:37]))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(got); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), src) {
			t.Errorf("the reader accepted a stream of %d bytes that NewWriter does not produce", len(src))
		}
	})
}

type tamperSeed struct {
	name     string
	pos      uint32
	xor      byte
	keep     uint32
	extra    uint8
	readSize uint16
}

// tamperSeeds are edits of tamperStream: a flipped byte, a cut, bytes
// appended, and the way to read.
func tamperSeeds() []tamperSeed {
	return []tamperSeed{
		{"untouched", 0, 0, 0, 0, 0},
		{"untouched-read-1000", 0, 0, 0, 0, 1000},
		{"flip-salt", 20, 0x01, 0, 0, 0},
		{"flip-segment-1", streamHeaderSize + segCT + 5, 0x80, 0, 0, 7},
		{"flip-last-byte", streamHeaderSize + 2*segCT + 1000 + 16 - 1, 0x01, 0, 0, 0},
		{"cut-at-boundary", 0, 0, streamHeaderSize + 2*segCT, 0, 0},
		{"cut-in-segment-2", 0, 0, streamHeaderSize + 2*segCT + 100, 0, 3},
		{"append-16", 0, 0, 0, 16, 0},
	}
}

// tamperStream is a genuine stream of three segments (64 KiB, 64 KiB and
// 1000 bytes) under the fuzz key, and its plaintext.
func tamperStream(t testing.TB) (src, pt []byte) {
	pt = detBytes("tamper", 2*envelope.SegmentSize+1000)
	return sealStream(t, fuzzKey(t), testAD, pt, "tamper"), pt
}

// FuzzStreamTamper edits a genuine stream of three segments — one byte
// changed, a cut, bytes appended — and reads it in pieces of any size. An
// unchanged stream opens; a changed one ends in exactly ErrOpen, and the
// reader returns only whole segments that come before the first change.
func FuzzStreamTamper(f *testing.F) {
	for _, s := range tamperSeeds() {
		f.Add(s.pos, s.xor, s.keep, s.extra, s.readSize)
	}
	k := fuzzKey(f)
	orig, pt := tamperStream(f)
	f.Fuzz(func(t *testing.T, pos uint32, xor byte, keep uint32, extra uint8, readSize uint16) {
		src := bytes.Clone(orig)
		src[int(pos%uint32(len(src)))] ^= xor
		if keep != 0 {
			src = src[:int(keep%uint32(len(src)+1))]
		}
		src = append(src, make([]byte, extra)...)

		var in io.Reader = bytes.NewReader(src)
		if readSize > 0 {
			in = chunkReader{in, int(readSize)}
		}
		var got []byte
		r, err := envelope.NewReader(in, k, testAD)
		if err == nil {
			if readSize == 0 {
				var out bytes.Buffer
				_, err = io.Copy(&out, r)
				got = out.Bytes()
			} else {
				got, err = io.ReadAll(onlyReader{chunkReader{r, int(readSize)}})
			}
		}
		// The first byte that differs from the genuine stream.
		first := 0
		for first < min(len(src), len(orig)) && src[first] == orig[first] {
			first++
		}
		if first == len(src) && len(src) == len(orig) {
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("the genuine stream does not open: %d bytes, %v", len(got), err)
			}
			return
		}
		if err != envelope.ErrOpen {
			t.Fatalf("stream changed at byte %d: err = %v, want ErrOpen", first, err)
		}
		allowed := max(0, first-streamHeaderSize) / segCT * envelope.SegmentSize
		if len(got)%envelope.SegmentSize != 0 || len(got) > allowed || !bytes.Equal(got, pt[:len(got)]) {
			t.Fatalf("stream changed at byte %d: returned %d bytes, want whole segments before it (at most %d)", first, len(got), allowed)
		}
	})
}
