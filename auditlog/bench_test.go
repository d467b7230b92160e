package auditlog_test

import (
	"testing"

	"strongroom.dev/strongroom/auditlog"
)

// BenchmarkVerify measures chain verification: recomputing each event's seal
// from its canonical encoding and comparing it with the stored one. One op is
// one event; the target is at least 1,000,000 events/s (docs/benchmarks.md).
func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	events, seals := sealedChain(tenantA, n)
	links := linksOf(events, seals)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		v := auditlog.NewVerifier(auditlog.Start(tenantA), nil)
		for i := 0; i < n && done < b.N; i++ {
			v.Add(links[i])
			done++
		}
		if r := v.Finish(); len(r.Problems) > 0 {
			b.Fatal(r.Problems[0])
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkHash is the cost of sealing one event.
func BenchmarkHash(b *testing.B) {
	e := sampleEvent(tenantA, 7)
	var c auditlog.Chainer
	h := auditlog.Start(tenantA)
	b.ReportAllocs()
	for b.Loop() {
		h.Seq = 0
		h, _ = c.Next(h, &e)
	}
}
