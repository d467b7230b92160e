package envelope_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"io"
	"testing"
	"time"

	"strongroom.dev/strongroom/envelope"
)

// Run with
//
//	go test -run='^$' -bench=. ./envelope/
//
// BenchmarkStream and BenchmarkRawAESGCM process the same 16 MiB in the same
// 64 KiB pieces, through a stream and through a bare cipher.AEAD; the ratio of
// their MB/s is the cost of the stream's header, key derivation, framing and
// buffering (target: stream ≥ 0.8 × raw). BenchmarkStreamVsRaw runs the two
// in turns and reports that ratio directly, which is steadier on a shared
// machine than two benchmarks run a minute apart.

const streamBenchSize = 16 << 20

func BenchmarkSeal(b *testing.B) {
	k := testKey(b, 1, "bench")
	pt := detBytes("pt", 1<<10)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := envelope.Seal(k, testAD, pt, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := testKey(b, 1, "bench")
	pt := detBytes("pt", 1<<10)
	env, err := envelope.Seal(k, testAD, pt, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := envelope.Open(k, testAD, env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTerm(b *testing.B) {
	k := testIndexKey(b, "bench")
	parts := [][]byte{[]byte("customers"), []byte("email"), []byte("ada@example.com")}
	b.ReportAllocs()
	for b.Loop() {
		k.Term(parts...)
	}
}

// streamBench holds the inputs of the stream and raw benchmarks.
type streamBench struct {
	k      envelope.Key
	pt     []byte // 16 MiB
	src    []byte // pt as a stream
	aead   cipher.AEAD
	sealed [][]byte // pt's 64 KiB pieces sealed by aead
	out    []byte
	nonce  [12]byte // the raw AEAD's, always zero: throughput only
}

func newStreamBench(b *testing.B) *streamBench {
	b.Helper()
	sb := &streamBench{k: testKey(b, 1, "bench"), pt: detBytes("pt", streamBenchSize)}
	sb.src = sealStream(b, sb.k, testAD, sb.pt, "bench")
	block, err := aes.NewCipher(detBytes("raw key", 32))
	if err != nil {
		b.Fatal(err)
	}
	if sb.aead, err = cipher.NewGCM(block); err != nil {
		b.Fatal(err)
	}
	for p := sb.pt; len(p) > 0; p = p[envelope.SegmentSize:] {
		sb.sealed = append(sb.sealed, sb.aead.Seal(nil, sb.nonce[:], p[:envelope.SegmentSize], nil))
	}
	sb.out = make([]byte, 0, envelope.SegmentSize+16)
	return sb
}

func (sb *streamBench) streamWrite(b *testing.B) {
	w, err := envelope.NewWriter(io.Discard, sb.k, testAD, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(sb.pt); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func (sb *streamBench) streamRead(b *testing.B) {
	r, err := envelope.NewReader(bytes.NewReader(sb.src), sb.k, testAD)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		b.Fatal(err)
	}
}

func (sb *streamBench) rawSeal(*testing.B) {
	for p := sb.pt; len(p) > 0; p = p[envelope.SegmentSize:] {
		sb.out = sb.aead.Seal(sb.out[:0], sb.nonce[:], p[:envelope.SegmentSize], nil)
	}
}

func (sb *streamBench) rawOpen(b *testing.B) {
	for _, s := range sb.sealed {
		if _, err := sb.aead.Open(sb.out[:0], sb.nonce[:], s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStream(b *testing.B) {
	sb := newStreamBench(b)
	for _, bc := range []struct {
		name string
		op   func(*testing.B)
	}{{"Write", sb.streamWrite}, {"Read", sb.streamRead}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(streamBenchSize)
			b.ReportAllocs()
			for b.Loop() {
				bc.op(b)
			}
		})
	}
}

// BenchmarkRawAESGCM is the floor for BenchmarkStream: the same 64 KiB
// pieces sealed and opened with a bare cipher.AEAD, with no header, no key
// derivation, no framing and no I/O.
func BenchmarkRawAESGCM(b *testing.B) {
	sb := newStreamBench(b)
	for _, bc := range []struct {
		name string
		op   func(*testing.B)
	}{{"Seal", sb.rawSeal}, {"Open", sb.rawOpen}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(streamBenchSize)
			b.ReportAllocs()
			for b.Loop() {
				bc.op(b)
			}
		})
	}
}

// BenchmarkStreamVsRaw runs a stream and the raw AEAD over the same 16 MiB in
// turns and reports both speeds and the ratio stream/raw.
func BenchmarkStreamVsRaw(b *testing.B) {
	sb := newStreamBench(b)
	for _, bc := range []struct {
		name        string
		stream, raw func(*testing.B)
	}{{"Write", sb.streamWrite, sb.rawSeal}, {"Read", sb.streamRead, sb.rawOpen}} {
		b.Run(bc.name, func(b *testing.B) {
			var inStream, inRaw time.Duration
			n := 0
			for b.Loop() {
				first, second, t1, t2 := bc.stream, bc.raw, &inStream, &inRaw
				if n%2 == 1 { // alternate the order
					first, second, t1, t2 = bc.raw, bc.stream, &inRaw, &inStream
				}
				t0 := time.Now()
				first(b)
				mid := time.Now()
				second(b)
				*t1 += mid.Sub(t0)
				*t2 += time.Since(mid)
				n++
			}
			mbps := func(d time.Duration) float64 { return float64(n) * streamBenchSize / 1e6 / d.Seconds() }
			b.ReportMetric(mbps(inStream), "stream-MB/s")
			b.ReportMetric(mbps(inRaw), "raw-MB/s")
			b.ReportMetric(inRaw.Seconds()/inStream.Seconds(), "stream/raw")
		})
	}
}
