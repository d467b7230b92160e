package store_test

import (
	"context"
	"runtime"
	"testing"
	"time"

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

// BenchmarkLookupAfterAppend measures, one goroutine at a time, what an audited
// read costs the store: a point read alone (lookup), a durable audit append
// alone (append: one group commit each), and both in turn (append+lookup). The
// last minus the second is a read that follows a commit: every commit makes
// the readers' page caches stale (SQLite drops a reader's cache when the WAL
// changed), so it costs more than a lookup alone. Count instructions rather
// than time on a shared machine (docs/benchmarks.md).
func BenchmarkLookupAfterAppend(b *testing.B) {
	for _, mode := range []string{"lookup", "append", "append+lookup"} {
		b.Run(mode, func(b *testing.B) {
			st := testkit.OpenSQLiteStore(b)
			ctx := context.Background()
			const org = strongroom.TenantID("01900000-0000-7000-8000-0000000000a1")
			if err := st.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
				return tx.CreateOrganization(ctx, &strongroom.Organization{ID: org, Name: "Org", CreatedAt: time.Now().UTC().Truncate(time.Microsecond)})
			}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if mode != "lookup" {
					e := strongroom.NewAuditEvent(nil, org, "record.read", "record", "01900000-0000-7000-8000-0000000000bb", strongroom.ResultSuccess)
					if err := st.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error { return tx.AppendAudit(ctx, &e) }); err != nil {
						b.Fatal(err)
					}
				}
				if mode != "append" {
					var o *strongroom.Organization
					if err := st.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) (err error) { o, err = tx.Organization(ctx); return err }); err != nil {
						b.Fatal(err)
					}
					if o.ID != org {
						b.Fatalf("looked up %s, want %s", o.ID, org)
					}
				}
			}
		})
	}
}
