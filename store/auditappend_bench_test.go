package store_test

import (
	"context"
	"runtime"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// BenchmarkAuditAppend measures durable audit appends on the embedded store
// with 64 concurrent writers (DESIGN target: ≥ 50,000 events/s), each append its
// own Store.Write, acknowledged after the group commit that made it durable.
func BenchmarkAuditAppend(b *testing.B) {
	st := testkit.OpenSQLiteStore(b)
	ctx := context.Background()
	const tenant = strongroom.TenantID("01900000-0000-7000-8000-00000000beef")
	b.SetParallelism(max(1, (64+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := strongroom.NewAuditEvent(&strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "01900000-0000-7000-8000-0000000000aa",
				IP: "192.0.2.1", DeviceType: "desktop", RequestID: "bench"}, tenant, "record.read", "record", "01900000-0000-7000-8000-0000000000bb", strongroom.ResultSuccess)
			if err := st.Write(ctx, store.TenantScope(tenant), func(tx *store.Tx) error { return tx.AppendAudit(ctx, &e) }); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
