package audit_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// BenchmarkVerifyStore measures `audit verify` end to end on the embedded
// store: reading a sealed chain of 50,000 events in pages and recomputing it.
// auditlog.BenchmarkVerify measures the chain computation alone.
func BenchmarkVerifyStore(b *testing.B) {
	const n = 50_000
	st := testkit.OpenSQLiteStore(b)
	ctx := context.Background()
	for i := 0; i < n; i += 1000 {
		if err := st.Write(ctx, store.TenantScope(tenantA), func(tx *store.Tx) error {
			for range 1000 {
				e := strongroom.NewAuditEvent(&strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "u", IP: "198.51.100.7",
					DeviceType: "desktop", RequestID: "req"}, tenantA, "record.read", "record", "0190f3a2-0000-7000-8000-000000000001", strongroom.ResultSuccess)
				e.Metadata = []byte(`{"collection":"notes"}`)
				if err := tx.AppendAudit(ctx, &e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	key := newEnvKey(b)
	s, err := audit.NewSequencer(audit.Config{Store: st, Signer: key, BatchSize: 5000})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Tick(ctx); err != nil {
		b.Fatal(err)
	}
	cfg := audit.VerifyConfig{Store: st, PublicKey: key.Public().(ed25519.PublicKey)}
	b.ResetTimer()
	for b.Loop() {
		r, err := audit.VerifyChain(ctx, cfg, tenantA)
		if err != nil || !r.OK() || r.Sealed != n {
			b.Fatalf("%+v %v", r, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
