package monitor

import (
	"slices"
	"testing"
	"time"

	"strongroom.dev/strongroom"
)

// FuzzObserve feeds the detector events with arbitrary actions, results,
// actors, addresses, targets, metadata and times: it must never panic, and
// every hit must be well formed — a subject, evidence in ascending order that
// names only events already seen, and a first time not after the last. Seeds
// are in testdata/fuzz/FuzzObserve.
func FuzzObserve(f *testing.F) {
	f.Add("record.list", "success", "user", "u1", "192.0.2.1", "collection", "c1", []byte(`{"records":["a","b"]}`), int64(0), uint8(3))
	f.Add("auth.signin.password", "failure", "anonymous", "", "203.0.113.7", "user", "u2", []byte(`{}`), int64(60), uint8(20))
	f.Add("audit.export", "success", "api_key", "k1", "2001:db8::1", "audit_log", "t", []byte(`{"events":-5}`), int64(-3600), uint8(2))
	f.Add("audit.read", "success", "user", "u3", "not an address", "", "", []byte(`{"returned":1e300}`), int64(1<<40), uint8(1))
	f.Fuzz(func(t *testing.T, action, result, actorType, actorID, ip, targetType, targetID string, meta []byte, secs int64, repeat uint8) {
		d, err := NewDetector(Thresholds{BruteForceFailures: 2, StuffingAccounts: 2, MassReadFloor: 1})
		if err != nil {
			t.Fatal(err)
		}
		tenants := []strongroom.TenantID{strongroom.PlatformTenant, "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11"}
		base := time.Unix(1_700_000_000, 0).UTC()
		for i := range int(repeat%40) + 1 {
			e := strongroom.AuditEvent{TenantID: tenants[i%2], Seq: int64(i + 1), Time: base.Add(time.Duration(secs%1e9) * time.Second * time.Duration(i%3)),
				ActorType: strongroom.PrincipalKind(actorType), ActorID: actorID, IP: ip, Action: action, TargetType: targetType,
				TargetID: targetID, Result: strongroom.AuditResult(result), Metadata: meta}
			for _, h := range d.Observe(&e) {
				if h.Subject == "" || len(h.Seqs) == 0 || !slices.IsSorted(h.Seqs) || h.Seqs[len(h.Seqs)-1] > e.Seq || h.Seqs[0] < 1 ||
					h.Last.Before(h.First) {
					t.Fatalf("malformed hit %+v after event %+v", h, e)
				}
			}
		}
	})
}
