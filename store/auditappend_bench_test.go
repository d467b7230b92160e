package store_test

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// BenchmarkAuditAppend measures durable audit appends on the embedded store
// with 64 concurrent writers (DESIGN target: ≥ 50,000 events/s), each
// acknowledged after the group commit that made it durable: "write" as one
// Store.Write each (an event beside a change), "alone" through
// Store.AppendAuditEvent (an event with no change, such as a record read),
// which shares one multi-row insert per batch.
func BenchmarkAuditAppend(b *testing.B) {
	b.Run("write", func(b *testing.B) {
		benchmarkAuditAppend(b, func(ctx context.Context, st *store.Store, e *strongroom.AuditEvent) error {
			return st.Write(ctx, store.TenantScope(e.TenantID), func(tx *store.Tx) error { return tx.AppendAudit(ctx, e) })
		})
	})
	b.Run("alone", func(b *testing.B) {
		benchmarkAuditAppend(b, func(ctx context.Context, st *store.Store, e *strongroom.AuditEvent) error {
			return st.AppendAuditEvent(ctx, store.TenantScope(e.TenantID), e)
		})
	})
}

func benchmarkAuditAppend(b *testing.B, appendEvent func(context.Context, *store.Store, *strongroom.AuditEvent) error) {
	st := testkit.OpenSQLiteStore(b)
	ctx := context.Background()
	const tenant = strongroom.TenantID("01900000-0000-7000-8000-00000000beef")
	b.SetParallelism(max(1, (64+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := strongroom.NewAuditEvent(&strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "01900000-0000-7000-8000-0000000000aa",
				IP: "192.0.2.1", DeviceType: "desktop", RequestID: "bench"}, tenant, "record.read", "record", "01900000-0000-7000-8000-0000000000bb", strongroom.ResultSuccess)
			if err := appendEvent(ctx, st, &e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// CPU time per event (the whole process: writers, the SQLite writer and
	// the runtime) depends less than events/s on what else the machine runs.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

// processCPU is the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
