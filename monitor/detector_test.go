package monitor

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"strongroom.dev/strongroom"
)

// The detections over scripted events (LOG-04). The engine tests in
// monitor_test.go run the same through the store and the sealed log.

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const orgA strongroom.TenantID = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11"

// script numbers the events it makes, as the log would.
type script struct{ seq int64 }

func (s *script) failure(account, ip string, at time.Time) *strongroom.AuditEvent {
	s.seq++
	e := strongroom.NewAuditEvent(nil, strongroom.PlatformTenant, "auth.signin.password", "user", account, strongroom.ResultFailure)
	e.Seq, e.Time, e.IP, e.Reason = s.seq, at, ip, "bad credentials"
	return &e
}

func (s *script) read(principal string, records int, at time.Time) *strongroom.AuditEvent {
	s.seq++
	p := &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: strongroom.UserID(principal)}
	e := strongroom.NewAuditEvent(p, orgA, "record.list", "collection", "c1", strongroom.ResultSuccess)
	ids := make([]string, records)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%d", i)
	}
	e.Seq, e.Time = s.seq, at
	e.Metadata = mustJSON(map[string]any{"collection": "c", "records": ids, "filter_fields": []string{}})
	return &e
}

func newTestDetector(t *testing.T, th Thresholds) *Detector {
	t.Helper()
	d, err := NewDetector(th)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func kinds(hits []Hit) map[strongroom.AlertKind]int {
	out := map[strongroom.AlertKind]int{}
	for _, h := range hits {
		out[h.Kind]++
	}
	return out
}

func TestBruteForce(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		every    time.Duration
		want     bool
	}{
		{"ten within the window", 10, time.Minute, true},
		{"nine within the window", 9, time.Second, false},
		{"ten spread beyond the window", 10, 2 * time.Minute, false}, // 18 minutes > 15
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDetector(t, Thresholds{})
			var s script
			var hits []Hit
			for i := range tc.failures {
				// From a different network each time: brute force counts any.
				hits = append(hits, d.Observe(s.failure("u1", fmt.Sprintf("198.51.%d.7", i), t0.Add(time.Duration(i)*tc.every)))...)
			}
			got := kinds(hits)[strongroom.AlertBruteForce] > 0
			if got != tc.want {
				t.Fatalf("brute-force hit: %v, want %v (%+v)", got, tc.want, hits)
			}
			if !tc.want {
				return
			}
			h := hits[len(hits)-1]
			if h.Tenant != strongroom.PlatformTenant || h.Subject != "u1" || len(h.Seqs) != 10 || h.Seqs[0] != 1 || h.Seqs[9] != 10 {
				t.Errorf("hit %+v", h)
			}
		})
	}
	t.Run("an unknown address is not an account", func(t *testing.T) {
		d := newTestDetector(t, Thresholds{})
		var s script
		for i := range 30 {
			if k := kinds(d.Observe(s.failure("", "2001:db8::1", t0.Add(time.Duration(i)*time.Second)))); k[strongroom.AlertBruteForce] > 0 {
				t.Fatal("brute force against no account")
			}
		}
	})
}

func TestCredentialStuffing(t *testing.T) {
	tests := []struct {
		name string
		ip   func(i int) string
		want bool
	}{
		{"one /24", func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }, true},
		{"one IPv6 /64", func(i int) string { return fmt.Sprintf("2001:db8:0:1::%x", i+1) }, true},
		{"unrelated networks", func(i int) string { return fmt.Sprintf("10.%d.%d.1", i, i) }, false},
		{"IPv6 networks apart", func(i int) string { return fmt.Sprintf("2001:db8:0:%x::1", i+1) }, false},
		{"no address", func(int) string { return "" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDetector(t, Thresholds{})
			var s script
			var hits []Hit
			for i := range 20 {
				hits = append(hits, d.Observe(s.failure(fmt.Sprintf("acct%d", i), tc.ip(i), t0.Add(time.Duration(i)*time.Second)))...)
			}
			got := kinds(hits)
			if (got[strongroom.AlertCredentialStuffing] > 0) != tc.want {
				t.Fatalf("stuffing hits %d, want %v", got[strongroom.AlertCredentialStuffing], tc.want)
			}
			if got[strongroom.AlertBruteForce] > 0 {
				t.Error("one failure per account raised brute force")
			}
		})
	}
	t.Run("the same account again is one account", func(t *testing.T) {
		d := newTestDetector(t, Thresholds{BruteForceFailures: 1000})
		var s script
		for i := range 100 {
			if k := kinds(d.Observe(s.failure(fmt.Sprintf("acct%d", i%5), "203.0.113.9", t0.Add(time.Duration(i)*time.Second)))); k[strongroom.AlertCredentialStuffing] > 0 {
				t.Fatal("five accounts raised credential stuffing")
			}
		}
	})
}

// history gives principal an hour of perHour records read for each of hours
// hours before t0, in ten lists an hour.
func history(d *Detector, s *script, principal string, hours, perHour int) {
	for h := hours; h > 0; h-- {
		for i := range 10 {
			d.Observe(s.read(principal, perHour/10, t0.Add(-time.Duration(h)*time.Hour+time.Duration(i)*5*time.Minute)))
		}
	}
}

func TestMassRead(t *testing.T) {
	d := newTestDetector(t, Thresholds{})
	var s script
	history(d, &s, "steady", 24, 1000)
	history(d, &s, "burst", 24, 1000)
	var steady, burst []Hit
	for i := range 10 { // this hour: the steady one reads as usual, the other twenty times as much
		steady = append(steady, d.Observe(s.read("steady", 100, t0.Add(time.Duration(i)*5*time.Minute)))...)
		burst = append(burst, d.Observe(s.read("burst", 2000, t0.Add(time.Duration(i)*5*time.Minute)))...)
	}
	if len(steady) != 0 {
		t.Errorf("reading at the usual volume raised %+v", steady)
	}
	if kinds(burst)[strongroom.AlertMassRead] == 0 {
		t.Fatal("reading twenty times the usual volume raised nothing")
	}
	h := burst[0]
	if h.Tenant != orgA || h.Subject != "user:burst" || h.Severity != strongroom.SeverityHigh || len(h.Seqs) == 0 {
		t.Errorf("hit %+v", h)
	}
	mean := d.reads[PrincipalKey{orgA, "user:burst"}].base.Mean
	if mean < 800 || mean > 1000 {
		t.Errorf("learned mean %.1f per hour, want about 1000 (0.1 weight over 24 hours)", mean)
	}

	t.Run("a new principal is held to the floor", func(t *testing.T) {
		d := newTestDetector(t, Thresholds{})
		var s script
		for i := range 20 {
			if hits := d.Observe(s.read("newbie", 1, t0.Add(time.Duration(i)*time.Second))); len(hits) != 0 {
				t.Fatalf("read %d of a new principal raised %+v", i+1, hits)
			}
		}
		hits := d.Observe(s.read("newbie", 500, t0.Add(time.Minute)))
		if kinds(hits)[strongroom.AlertMassRead] != 1 {
			t.Errorf("520 records in an hour from a new principal (floor 500) raised %+v", hits)
		}
	})
	t.Run("failures and the platform log are not reads", func(t *testing.T) {
		d := newTestDetector(t, Thresholds{MassReadFloor: 1})
		var s script
		e := s.read("x", 50, t0)
		e.Result = strongroom.ResultDenied
		p := s.read("y", 50, t0)
		p.TenantID = strongroom.PlatformTenant
		a := s.read("z", 50, t0)
		a.ActorType, a.ActorID = strongroom.PrincipalAnonymous, ""
		for _, ev := range []*strongroom.AuditEvent{e, p, a} {
			if hits := d.Observe(ev); len(hits) != 0 {
				t.Errorf("%+v raised %+v", ev, hits)
			}
		}
	})
}

func TestThresholdsValidate(t *testing.T) {
	if err := DefaultThresholds().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, th := range map[string]Thresholds{
		"one failure":       {BruteForceFailures: 1},
		"negative accounts": {StuffingAccounts: -3},
		"tiny window":       {BruteForceWindow: time.Second},
		"huge window":       {MassReadWindow: 48 * time.Hour},
		"factor below one":  {MassReadFactor: 0.5},
		"negative floor":    {MassReadFloor: -1},
		"weight above one":  {BaselineAlpha: 1.5},
	} {
		if err := th.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := NewDetector(th); err == nil {
			t.Errorf("%s: a detector was made", name)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
