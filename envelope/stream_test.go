package envelope_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"strongroom.dev/strongroom/envelope"
)

const seg = envelope.SegmentSize

// sealStream encrypts pt in one Write, with the salt from detReader(seed).
func sealStream(t testing.TB, k envelope.Key, ad envelope.AD, pt []byte, seed string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := envelope.NewWriter(&buf, k, ad, detReader("salt:"+seed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// openStream reads the whole stream with io.ReadAll, returning what was read
// before any error.
func openStream(src io.Reader, k envelope.Key, ad envelope.AD) ([]byte, error) {
	r, err := envelope.NewReader(src, k, ad)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func segments(n int) int { return max(1, (n+seg-1)/seg) }

// onlyReader hides every method but Read, so io.Copy uses its own buffer.
type onlyReader struct{ io.Reader }

func TestStreamRoundTrip(t *testing.T) {
	k := testKey(t, 5, "a")
	random := make([]byte, 1<<20)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	rnd := mrand.New(mrand.NewPCG(1, 2))
	randomSize := rnd.IntN(1 << 20)
	t.Logf("random size: %d", randomSize)

	sizes := []struct {
		name string
		pt   []byte
	}{
		{"empty", nil},
		{"1 byte", random[:1]},
		{"64Ki-1", random[:seg-1]},
		{"64Ki", random[:seg]},
		{"64Ki+1", random[:seg+1]},
		{"3x64Ki", random[:3*seg]},
		{"1 MiB random", random},
		{"random size", random[:randomSize]},
	}
	writes := []struct {
		name  string
		write func(w io.Writer, pt []byte) error
	}{
		{"one Write", func(w io.Writer, pt []byte) error { _, err := w.Write(pt); return err }},
		{"1-byte writes", func(w io.Writer, pt []byte) error {
			for i := range pt {
				if _, err := w.Write(pt[i : i+1]); err != nil {
					return err
				}
			}
			return nil
		}},
		{"random-size writes", func(w io.Writer, pt []byte) error {
			for len(pt) > 0 {
				n := min(len(pt), rnd.IntN(3*seg))
				if _, err := w.Write(pt[:n]); err != nil {
					return err
				}
				pt = pt[n:]
			}
			return nil
		}},
		{"io.Copy", func(w io.Writer, pt []byte) error {
			_, err := io.Copy(w, onlyReader{bytes.NewReader(pt)})
			return err
		}},
	}
	reads := []struct {
		name string
		read func(src []byte) ([]byte, error)
	}{
		{"io.ReadAll", func(src []byte) ([]byte, error) { return openStream(bytes.NewReader(src), k, testAD) }},
		{"io.Copy (WriteTo)", func(src []byte) ([]byte, error) {
			r, err := envelope.NewReader(bytes.NewReader(src), k, testAD)
			if err != nil {
				return nil, err
			}
			var out bytes.Buffer
			_, err = io.Copy(&out, r)
			return out.Bytes(), err
		}},
		{"source one byte at a time", func(src []byte) ([]byte, error) {
			return openStream(iotest.OneByteReader(bytes.NewReader(src)), k, testAD)
		}},
		{"source half at a time", func(src []byte) ([]byte, error) {
			return openStream(iotest.HalfReader(bytes.NewReader(src)), k, testAD)
		}},
		{"source returns EOF with data", func(src []byte) ([]byte, error) {
			return openStream(iotest.DataErrReader(bytes.NewReader(src)), k, testAD)
		}},
		{"plaintext read one byte at a time", func(src []byte) ([]byte, error) {
			r, err := envelope.NewReader(bytes.NewReader(src), k, testAD)
			if err != nil {
				return nil, err
			}
			return io.ReadAll(iotest.OneByteReader(r))
		}},
		{"bufio with PeekStreamKeyID", func(src []byte) ([]byte, error) {
			br := bufio.NewReaderSize(bytes.NewReader(src), 16)
			id, err := envelope.PeekStreamKeyID(br)
			if err != nil {
				return nil, err
			}
			if id != k.ID() {
				return nil, fmt.Errorf("key id %d, want %d", id, k.ID())
			}
			return openStream(br, k, testAD)
		}},
	}
	for _, size := range sizes {
		for _, wr := range writes {
			if wr.name == "1-byte writes" && len(size.pt) > 3*seg {
				continue // slow and no different from 3x64Ki
			}
			var buf bytes.Buffer
			w, err := envelope.NewWriter(&buf, k, testAD, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := wr.write(w, size.pt); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			src := buf.Bytes()
			t.Run(size.name+"/"+wr.name+"/length", func(t *testing.T) {
				want := streamHeaderSize + len(size.pt) + 16*segments(len(size.pt))
				if len(src) != want {
					t.Errorf("stream is %d bytes, want %d", len(src), want)
				}
			})
			for _, rd := range reads {
				t.Run(size.name+"/"+wr.name+"/"+rd.name, func(t *testing.T) {
					got, err := rd.read(src)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, size.pt) {
						t.Errorf("plaintext differs: got %d bytes, want %d", len(got), len(size.pt))
					}
				})
			}
		}
	}
}

// TestStreamTampering cuts, reorders, splices, extends and flips a stream
// of three segments (64 KiB, 64 KiB, 1000 bytes). Every case fails with
// ErrOpen, and the reader returns no more than the segments before the
// damaged one: never plaintext that was not authenticated.
func TestStreamTampering(t *testing.T) {
	k := testKey(t, 5, "a")
	pt := detBytes("pt", 2*seg+1000)
	src := sealStream(t, k, testAD, pt, "a")
	other := sealStream(t, k, testAD, pt, "b") // same key, place and plaintext; another salt
	const h = streamHeaderSize
	at := func(i int) int { return h + i*segCT } // offset of segment i
	segment := func(s []byte, i int) []byte { return s[at(i):min(len(s), at(i+1))] }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	flip := func(i int, bit byte) []byte { s := bytes.Clone(src); s[i] ^= bit; return s }

	type tc struct {
		name   string
		src    []byte
		ad     envelope.AD
		prefix int // plaintext bytes that may be returned before ErrOpen
	}
	cases := []tc{
		{"no segments", src[:h], testAD, 0},
		{"cut after segment 0", src[:at(1)], testAD, 0},
		{"cut after segment 1", src[:at(2)], testAD, seg},
		{"last byte cut", src[:len(src)-1], testAD, 2 * seg},
		{"last tag cut", src[:len(src)-16], testAD, 2 * seg},
		{"segments 0 and 1 swapped", cat(src[:h], segment(src, 1), segment(src, 0), segment(src, 2)), testAD, 0},
		{"segments 1 and 2 swapped", cat(src[:h], segment(src, 0), segment(src, 2), segment(src, 1)), testAD, seg},
		{"segment 0 repeated", cat(src[:h], segment(src, 0), segment(src, 0), segment(src, 1), segment(src, 2)), testAD, seg},
		{"segment 1 dropped", cat(src[:h], segment(src, 0), segment(src, 2)), testAD, seg},
		{"last segment dropped", cat(src[:h], segment(src, 0), segment(src, 1)), testAD, seg},
		{"extra segment appended", cat(src, segment(src, 0)), testAD, 2 * seg},
		{"last segment appended again", cat(src, segment(src, 2)), testAD, 2 * seg},
		{"one byte appended", cat(src, []byte{0}), testAD, 2 * seg},
		{"16 bytes appended", cat(src, make([]byte, 16)), testAD, 2 * seg},
		{"segment 1 from another stream", cat(src[:h], segment(src, 0), segment(other, 1), segment(src, 2)), testAD, seg},
		{"header from another stream", cat(other[:h], src[h:]), testAD, 0},
		{"other tenant", src, envelope.AD{Tenant: "t_other", Table: testAD.Table, Row: testAD.Row, Field: testAD.Field}, 0},
		{"other table", src, envelope.AD{Tenant: testAD.Tenant, Table: "files", Row: testAD.Row, Field: testAD.Field}, 0},
		{"other row", src, envelope.AD{Tenant: testAD.Tenant, Table: testAD.Table, Row: "r2", Field: testAD.Field}, 0},
		{"other field", src, envelope.AD{Tenant: testAD.Tenant, Table: testAD.Table, Row: testAD.Row, Field: "f2"}, 0},
	}
	for i := range 2 {
		for _, d := range []int{1, 2, 15, 16, 17, 1000, segCT - 1} {
			cases = append(cases, tc{fmt.Sprintf("cut %d bytes into segment %d", d, i), src[:at(i)+d], testAD, i * seg})
		}
	}
	for i := h; i < len(src); i += 1 + i%4093 { // about 50 positions per segment
		cases = append(cases, tc{fmt.Sprintf("byte %d flipped", i), flip(i, 0x10), testAD, (i - h) / segCT * seg})
	}
	for i := range 3 {
		for _, off := range []int{0, 1, len(segment(src, i)) - 17, len(segment(src, i)) - 16, len(segment(src, i)) - 1} {
			cases = append(cases, tc{fmt.Sprintf("segment %d byte %d flipped", i, off), flip(at(i)+off, 0x80), testAD, i * seg})
		}
	}
	for i := headerSizeWithoutSalt; i < h; i++ { // the salt; version and key id are in TestStreamHeader
		cases = append(cases, tc{fmt.Sprintf("header byte %d flipped", i), flip(i, 0x01), testAD, 0})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := envelope.NewReader(bytes.NewReader(c.src), k, c.ad)
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			got, err := io.ReadAll(r)
			if err != envelope.ErrOpen || !errors.Is(err, envelope.ErrOpen) {
				t.Fatalf("err = %v, want ErrOpen", err)
			}
			// bytes.Equal, not cmp.Diff: cmp walks 128 KiB byte by byte.
			if !bytes.Equal(got, pt[:c.prefix]) {
				t.Errorf("before the failure the reader returned %d bytes, want the first %d of the plaintext", len(got), c.prefix)
			}
			if n, err := r.Read(make([]byte, 10)); n != 0 || err != envelope.ErrOpen {
				t.Errorf("Read after the failure = %d, %v; want 0, ErrOpen", n, err)
			}
			var out bytes.Buffer
			if _, err := io.Copy(&out, r); err != envelope.ErrOpen {
				t.Errorf("WriteTo after the failure: err = %v, want ErrOpen", err)
			}
		})
	}
	// And the same failures through WriteTo.
	for _, c := range cases[:5] {
		r, err := envelope.NewReader(bytes.NewReader(c.src), k, c.ad)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := io.Copy(&out, r); err != envelope.ErrOpen || !bytes.Equal(out.Bytes(), pt[:c.prefix]) {
			t.Errorf("%s via WriteTo: %d bytes, err = %v; want %d bytes, ErrOpen", c.name, out.Len(), err, c.prefix)
		}
	}
}

const headerSizeWithoutSalt = 1 + 4

// TestStreamHeader: a header that is short, of another version or of another
// key id fails in NewReader, before any segment is read.
func TestStreamHeader(t *testing.T) {
	k := testKey(t, 5, "a")
	src := sealStream(t, k, testAD, []byte("hello"), "a")
	sameMaterialOtherID, err := envelope.NewKey(6, k.Material())
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(s []byte)) []byte { s := bytes.Clone(src); f(s); return s }
	cases := []struct {
		name string
		src  []byte
		k    envelope.Key
		ad   envelope.AD
	}{
		{"empty", nil, k, testAD},
		{"version 0", edit(func(s []byte) { s[0] = 0 }), k, testAD},
		{"version 2", edit(func(s []byte) { s[0] = 2 }), k, testAD},
		{"key id changed", edit(func(s []byte) { s[4] ^= 1 }), k, testAD},
		{"other key id", src, sameMaterialOtherID, testAD},
		{"zero key", src, envelope.Key{}, testAD},
		{"invalid AD", src, k, envelope.AD{Tenant: "t"}},
	}
	for n := 1; n < streamHeaderSize; n++ {
		cases = append(cases, struct {
			name string
			src  []byte
			k    envelope.Key
			ad   envelope.AD
		}{fmt.Sprintf("cut to %d bytes", n), src[:n], k, testAD})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := envelope.NewReader(bytes.NewReader(c.src), c.k, c.ad)
			if err != envelope.ErrOpen || r != nil {
				t.Errorf("NewReader = %v, %v; want nil, ErrOpen", r, err)
			}
		})
	}
}

func TestPeekStreamKeyID(t *testing.T) {
	k := testKey(t, 0x01020304, "a")
	src := sealStream(t, k, testAD, []byte("hello"), "a")
	for _, tc := range []struct {
		name    string
		r       io.Reader
		want    uint32
		wantErr error
	}{
		{"genuine", bytes.NewReader(src), 0x01020304, nil},
		{"header only", bytes.NewReader(src[:5]), 0x01020304, nil},
		{"empty", bytes.NewReader(nil), 0, envelope.ErrOpen},
		{"4 bytes", bytes.NewReader(src[:4]), 0, envelope.ErrOpen},
		{"version 2", bytes.NewReader(append([]byte{2}, src[1:]...)), 0, envelope.ErrOpen},
		{"I/O error", errReader{iotest.ErrTimeout}, 0, iotest.ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(tc.r)
			id, err := envelope.PeekStreamKeyID(br)
			if id != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("PeekStreamKeyID = %#x, %v; want %#x, %v", id, err, tc.want, tc.wantErr)
			}
			if tc.wantErr == envelope.ErrOpen && err != envelope.ErrOpen {
				t.Errorf("err = %v, want exactly ErrOpen", err)
			}
			if tc.name == "genuine" {
				got, err := openStream(br, k, testAD)
				if err != nil || string(got) != "hello" {
					t.Errorf("reading after the peek: %q, %v", got, err)
				}
			}
		})
	}
}

// TestStreamReaderIOError: a failing source is an I/O error, not ErrOpen.
func TestStreamReaderIOError(t *testing.T) {
	k := testKey(t, 5, "a")
	src := sealStream(t, k, testAD, detBytes("pt", 3*seg), "a")
	got, err := openStream(iotest.TimeoutReader(bytes.NewReader(src)), k, testAD)
	if !errors.Is(err, iotest.ErrTimeout) || errors.Is(err, envelope.ErrOpen) || len(got) != 0 {
		t.Errorf("got %d bytes, err = %v; want none, a wrapped iotest.ErrTimeout", len(got), err)
	}
	_, err = envelope.NewReader(errReader{iotest.ErrTimeout}, k, testAD)
	if !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("NewReader: err = %v, want a wrapped iotest.ErrTimeout", err)
	}
}

func TestStreamWriter(t *testing.T) {
	k := testKey(t, 5, "a")
	boom := errors.New("disk full")

	t.Run("refuses", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			w    io.Writer
			k    envelope.Key
			ad   envelope.AD
			r    io.Reader
		}{
			{"no row", io.Discard, k, envelope.AD{Table: "files"}, nil},
			{"zero key", io.Discard, envelope.Key{}, testAD, nil},
			{"salt reader runs dry", io.Discard, k, testAD, bytes.NewReader(make([]byte, 31))},
			{"header write fails", errWriter{boom}, k, testAD, nil},
		} {
			w, err := envelope.NewWriter(tc.w, tc.k, tc.ad, tc.r)
			if err == nil || w != nil {
				t.Errorf("%s: NewWriter = %v, %v; want an error", tc.name, w, err)
			}
		}
	})

	t.Run("last segment only on Close", func(t *testing.T) {
		var buf bytes.Buffer
		w, err := envelope.NewWriter(&buf, k, testAD, nil)
		if err != nil {
			t.Fatal(err)
		}
		if buf.Len() != streamHeaderSize {
			t.Errorf("after NewWriter: %d bytes, want the header", buf.Len())
		}
		if _, err := w.Write(make([]byte, seg)); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != streamHeaderSize {
			t.Errorf("after one full segment: %d bytes, want the header only", buf.Len())
		}
		if _, err := w.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != streamHeaderSize+segCT {
			t.Errorf("after one byte more: %d bytes, want header and one segment", buf.Len())
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != streamHeaderSize+segCT+17 {
			t.Errorf("after Close: %d bytes", buf.Len())
		}
		if err := w.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if n, err := w.Write([]byte("x")); n != 0 || err == nil {
			t.Errorf("Write after Close = %d, %v; want an error", n, err)
		}
		if buf.Len() != streamHeaderSize+segCT+17 {
			t.Error("the stream grew after Close")
		}
	})

	t.Run("write errors are sticky", func(t *testing.T) {
		lw := &limitWriter{n: streamHeaderSize + segCT, err: boom}
		w, err := envelope.NewWriter(lw, k, testAD, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := w.Write(make([]byte, 3*seg))
		if !errors.Is(err, boom) || n != seg {
			t.Errorf("Write = %d, %v; want %d, %v", n, err, seg, boom)
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, boom) {
			t.Errorf("next Write: %v, want %v", err, boom)
		}
		if err := w.Close(); !errors.Is(err, boom) {
			t.Errorf("Close: %v, want %v", err, boom)
		}
	})

	t.Run("short write", func(t *testing.T) {
		w, err := envelope.NewWriter(&shortWriter{}, k, testAD, nil)
		if err == nil {
			err = w.Close()
		}
		if !errors.Is(err, io.ErrShortWrite) {
			t.Errorf("err = %v, want io.ErrShortWrite", err)
		}
	})
}

// limitWriter accepts n bytes, then fails with err.
type limitWriter struct {
	n   int
	err error
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

// shortWriter writes one byte less than asked, without an error.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return max(0, len(p)-1), nil }

// TestStreamConstantMemory: 16 MiB through a writer and a reader allocate
// about one segment each, not the stream.
func TestStreamConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 32 MiB")
	}
	k := testKey(t, 5, "a")
	pt := detBytes("pt", 16<<20)
	src := sealStream(t, k, testAD, pt, "a")
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	const limit = 512 << 10
	if n := allocated(func() {
		w, err := envelope.NewWriter(io.Discard, k, testAD, nil)
		if err != nil {
			t.Fatal(err)
		}
		for p := pt; len(p) > 0; p = p[1<<20:] {
			if _, err := w.Write(p[:1<<20]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}); n > limit {
		t.Errorf("writing 16 MiB allocated %d bytes", n)
	}
	for _, how := range []string{"WriteTo", "Read"} {
		if n := allocated(func() {
			r, err := envelope.NewReader(bytes.NewReader(src), k, testAD)
			if err != nil {
				t.Fatal(err)
			}
			if how == "Read" {
				r = onlyReader{r}
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				t.Fatal(err)
			}
		}); n > limit {
			t.Errorf("reading 16 MiB (%s) allocated %d bytes", how, n)
		}
	}
}
