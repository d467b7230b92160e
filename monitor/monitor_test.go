package monitor_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/monitor"
	"strongroom.dev/strongroom/store"
)

// The monitor over the real store and the sealed audit log, on both engines
// (LOG-04): scripted attacks raise exactly one alert each with their evidence,
// what is not an attack raises none, and a restarted monitor raises nothing
// twice.

const orgA strongroom.TenantID = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11"

type env struct {
	st  *store.Store
	seq *audit.Sequencer
	mu  sync.Mutex
	new []*strongroom.Alert // alerts told to Notify
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := audit.NewSequencer(audit.Config{Store: st, Signer: key, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, seq: seq}
}

// add appends events (in one transaction per tenant run) and waits until the
// last is sealed; it returns their seqs.
func (e *env) add(t *testing.T, events ...strongroom.AuditEvent) []int64 {
	t.Helper()
	var seqs []int64
	for i := 0; i < len(events); {
		j := i
		for j < len(events) && events[j].TenantID == events[i].TenantID && j-i < 500 {
			j++
		}
		err := e.st.Write(t.Context(), store.TenantScope(events[i].TenantID), func(tx *store.Tx) error {
			seqs = seqs[:i]
			for k := i; k < j; k++ {
				ev := events[k]
				if err := tx.AppendAudit(t.Context(), &ev); err != nil {
					return err
				}
				seqs = append(seqs, ev.Seq)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		i = j
	}
	last := seqs[len(seqs)-1]
	testkit.WaitFor(t, 10*time.Second, func() bool {
		if _, err := e.seq.Tick(t.Context()); err != nil {
			t.Fatalf("sealing: %v", err)
		}
		p, err := e.st.SealedAuditEvents(t.Context(), last-1, 1)
		return err == nil && len(p.Events) == 1 && p.Events[0].Seq == last
	})
	return seqs
}

func (e *env) monitor(t *testing.T, holder string, th monitor.Thresholds) *monitor.Monitor {
	t.Helper()
	m, err := monitor.New(monitor.Config{Store: e.st, Thresholds: th, Logger: quietLog(), Holder: holder, BatchSize: 7,
		LeaseTTL: 600 * time.Millisecond, PollInterval: 20 * time.Millisecond,
		Notify: func(_ context.Context, a *strongroom.Alert) { e.mu.Lock(); e.new = append(e.new, a); e.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func step(t *testing.T, m *monitor.Monitor) {
	t.Helper()
	if _, err := m.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (e *env) alerts(t *testing.T, tenant strongroom.TenantID) []strongroom.Alert {
	t.Helper()
	var out []strongroom.Alert
	err := e.st.Read(t.Context(), store.TenantScope(tenant), func(tx *store.Tx) error {
		var err error
		out, err = tx.Alerts(t.Context(), store.AlertQuery{Limit: 100})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) notified() []*strongroom.Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.new)
}

func failure(account, ip string, at time.Time) strongroom.AuditEvent {
	e := strongroom.NewAuditEvent(nil, strongroom.PlatformTenant, "auth.signin.password", "user", account, strongroom.ResultFailure)
	e.Time, e.IP, e.Reason = at, ip, "bad credentials"
	return e
}

func list(principal string, records int, at time.Time) strongroom.AuditEvent {
	p := &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: strongroom.UserID(principal), IP: "192.0.2.10"}
	e := strongroom.NewAuditEvent(p, orgA, "record.list", "collection", "c1", strongroom.ResultSuccess)
	ids := make([]string, records)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%d", i)
	}
	e.Time = at
	e.Metadata, _ = json.Marshal(map[string]any{"collection": "c", "records": ids, "filter_fields": []string{}})
	return e
}

func TestBruteForceRaisesOneAlert(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.Open(t))
			now := time.Now().UTC().Truncate(time.Second)
			var evs []strongroom.AuditEvent
			for i := range 12 {
				evs = append(evs, failure("victim", fmt.Sprintf("198.51.100.%d", i), now.Add(time.Duration(i)*time.Second)))
			}
			evs = append(evs, failure("bystander", "198.51.100.1", now)) // one failure of another account
			seqs := e.add(t, evs...)
			step(t, e.monitor(t, "a", monitor.Thresholds{}))

			got := e.alerts(t, strongroom.PlatformTenant)
			if len(got) != 1 {
				t.Fatalf("%d alerts, want 1: %+v", len(got), got)
			}
			a := got[0]
			if a.Kind != strongroom.AlertBruteForce || a.Subject != "victim" || a.Count != 12 || a.Status != strongroom.AlertOpen {
				t.Errorf("alert %+v", a)
			}
			if !slices.Equal(a.Evidence, seqs[:12]) {
				t.Errorf("evidence %v, want the twelve failures %v", a.Evidence, seqs[:12])
			}
			if n := e.notified(); len(n) != 1 || n[0].ID != a.ID {
				t.Errorf("notified %+v, want the one alert", n)
			}

			// A restarted monitor (another holder, a fresh detector rebuilt by
			// replay) raises nothing again; further failures join the alert.
			step(t, e.monitor(t, "b", monitor.Thresholds{}))
			more := e.add(t, failure("victim", "198.51.100.99", now.Add(20*time.Second)))
			step(t, e.monitor(t, "c", monitor.Thresholds{}))
			got = e.alerts(t, strongroom.PlatformTenant)
			if len(got) != 1 || got[0].Count != 13 || got[0].Evidence[12] != more[0] {
				t.Errorf("after restarts and one more failure: %+v", got)
			}
			if n := e.notified(); len(n) != 1 {
				t.Errorf("notified %d times, want once", len(n))
			}
			cursor, err := e.st.AuditStreamCursor(t.Context(), monitor.Cursor)
			if err != nil || cursor < more[0] {
				t.Errorf("cursor %d (%v), want at least %d", cursor, err, more[0])
			}
		})
	}
}

func TestCredentialStuffingByNetwork(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.Open(t))
			now := time.Now().UTC().Truncate(time.Second)
			var spread, stuffed []strongroom.AuditEvent
			for i := range 25 {
				at := now.Add(time.Duration(i) * time.Second)
				spread = append(spread, failure(fmt.Sprintf("spread%d", i), fmt.Sprintf("10.%d.%d.1", i, i+1), at))
				stuffed = append(stuffed, failure(fmt.Sprintf("acct%d", i), fmt.Sprintf("203.0.113.%d", i+1), at))
			}
			e.add(t, spread...)
			step(t, e.monitor(t, "a", monitor.Thresholds{}))
			if got := e.alerts(t, strongroom.PlatformTenant); len(got) != 0 {
				t.Fatalf("failures across unrelated networks raised %+v", got)
			}
			seqs := e.add(t, stuffed...)
			step(t, e.monitor(t, "a", monitor.Thresholds{}))
			got := e.alerts(t, strongroom.PlatformTenant)
			if len(got) != 1 || got[0].Kind != strongroom.AlertCredentialStuffing || got[0].Subject != "203.0.113.0/24" ||
				got[0].Severity != strongroom.SeverityHigh {
				t.Fatalf("alerts %+v, want one credential-stuffing alert about 203.0.113.0/24", got)
			}
			if got[0].Count != 25 || got[0].Evidence[0] != seqs[0] {
				t.Errorf("count %d, evidence %v; want 25 from %d", got[0].Count, got[0].Evidence, seqs[0])
			}
		})
	}
}

func TestMassReadAgainstBaseline(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.Open(t))
			hour := time.Now().UTC().Truncate(time.Hour)
			var past []strongroom.AuditEvent
			// Six hours of 600 records an hour, for both (above the default
			// floor: the floor is raised so that their first hour, before
			// any baseline, is not an alert).
			th := monitor.Thresholds{MassReadFactor: 5, MassReadFloor: 1000}
			for h := 6; h > 0; h-- {
				for i := range 6 {
					at := hour.Add(-time.Duration(h)*time.Hour + time.Duration(i)*10*time.Minute)
					past = append(past, list("steady", 100, at), list("greedy", 100, at))
				}
			}
			e.add(t, past...)
			step(t, e.monitor(t, "a", th))
			if got := e.alerts(t, orgA); len(got) != 0 {
				t.Fatalf("the usual volume raised %+v", got)
			}
			// The baselines are stored: 600 an hour learned with weight 0.1
			// over five closed hours.
			var b store.Baseline
			err := e.st.Read(t.Context(), store.TenantScope(orgA), func(tx *store.Tx) error {
				var err error
				b, _, err = tx.MonitorBaseline(t.Context(), "user:greedy")
				return err
			})
			if err != nil || b.Mean < 200 || b.Hours != 5 {
				t.Fatalf("stored baseline %+v (%v)", b, err)
			}
			// This hour: steady reads as usual, greedy reads 20 times as much.
			var now []strongroom.AuditEvent
			for i := range 6 {
				at := hour.Add(time.Duration(i) * time.Second)
				now = append(now, list("steady", 100, at), list("greedy", 2000, at))
			}
			e.add(t, now...)
			step(t, e.monitor(t, "b", th))
			got := e.alerts(t, orgA)
			if len(got) != 1 || got[0].Kind != strongroom.AlertMassRead || got[0].Subject != "user:greedy" {
				t.Fatalf("alerts %+v, want one mass-read alert about user:greedy", got)
			}
			n := e.notified()
			if len(n) != 1 || n[0].TenantID != orgA {
				t.Errorf("notified %+v", n)
			}
		})
	}
}

// TestRunHoldsTheLease: Run judges the log as it grows, one replica at a
// time, and stops with its context.
func TestRunHoldsTheLease(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.Open(t))
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			for _, h := range []string{"r1", "r2"} {
				m := e.monitor(t, h, monitor.Thresholds{BruteForceFailures: 3})
				wg.Go(func() { m.Run(ctx) })
			}
			t.Cleanup(func() { cancel(); wg.Wait() })
			now := time.Now().UTC()
			e.add(t, failure("v", "192.0.2.1", now), failure("v", "192.0.2.1", now), failure("v", "192.0.2.1", now))
			testkit.WaitFor(t, 10*time.Second, func() bool { return len(e.alerts(t, strongroom.PlatformTenant)) == 1 })
			e.add(t, failure("v", "192.0.2.1", now.Add(time.Second)))
			testkit.WaitFor(t, 10*time.Second, func() bool {
				a := e.alerts(t, strongroom.PlatformTenant)
				return len(a) == 1 && a[0].Count == 4
			})
			if n := e.notified(); len(n) != 1 {
				t.Errorf("two replicas notified %d times, want once", len(n))
			}
			cancel()
			wg.Wait()
			if h, _, err := e.st.LeaseHolder(context.Background(), monitor.LeaseName); err != nil || h != "" {
				t.Errorf("lease held by %q after stopping (%v)", h, err)
			}
		})
	}
}
