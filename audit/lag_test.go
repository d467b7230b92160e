package audit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestSealLag: the sequencer reports its rounds to Observe, and how far
// sealing is behind: nothing on a replica without the lease, no lag once every
// event is sealed, and on PostgreSQL, while an open transaction holds the
// horizon back, the events behind it and how long they have waited.
func TestSealLag(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			ctx := context.Background()
			clk := newClock()
			var mu sync.Mutex
			runs := map[string]int{}
			s := e.sequencer(t, "one", clk.Now, func(c *audit.Config) {
				c.Observe = func(job string, d time.Duration, err error) {
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						job += " failed"
					}
					runs[job]++
				}
			})
			if l := s.Lag(); l != (audit.SealLag{}) {
				t.Fatalf("before the first round: %+v", l)
			}
			appendEvents(t, e.st, tenantA, 3)
			caughtUp := audit.SealLag{Holding: true}
			testkit.WaitFor(t, 30*time.Second, func() bool {
				if _, err := s.Tick(ctx); err != nil {
					t.Fatal(err)
				}
				return s.Lag() == caughtUp
			})
			other := e.sequencer(t, "other", clk.Now)
			if held, err := other.Tick(ctx); held || err != nil {
				t.Fatalf("other.Tick = %v, %v", held, err)
			}
			if l := other.Lag(); l != (audit.SealLag{}) {
				t.Errorf("a sequencer without the lease reports %+v", l)
			}
			mu.Lock()
			if runs[audit.JobSeal] == 0 || runs[audit.JobCheckpoint] != 1 || len(runs) != 2 {
				t.Errorf("rounds observed: %v", runs)
			}
			mu.Unlock()

			if engine == "postgres" {
				holding, release := make(chan int64), make(chan struct{})
				writeDone := make(chan error, 1)
				go func() {
					writeDone <- e.st.Write(ctx, store.TenantScope(tenantA), func(tx *store.Tx) error {
						ev := strongroom.NewAuditEvent(nil, tenantA, "slow.write", "", "", strongroom.ResultSuccess)
						if err := tx.AppendAudit(ctx, &ev); err != nil {
							return err
						}
						holding <- ev.Seq
						<-release
						return nil
					})
				}()
				<-holding
				appendEvents(t, e.st, tenantA, 1)
				for range 3 {
					if _, err := s.Tick(ctx); err != nil {
						t.Fatal(err)
					}
				}
				clk.Add(time.Minute)
				if l := s.Lag(); !l.Holding || l.Events < 2 || l.Age < time.Minute {
					t.Errorf("with a transaction open: %+v, want 2 events or more, a minute old or more", l)
				}
				close(release)
				if err := <-writeDone; err != nil {
					t.Fatal(err)
				}
				testkit.WaitFor(t, 30*time.Second, func() bool {
					if _, err := s.Tick(ctx); err != nil {
						t.Fatal(err)
					}
					return s.Lag() == caughtUp
				})
			}
			if err := s.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if l := s.Lag(); l != (audit.SealLag{}) {
				t.Errorf("after Stop: %+v", l)
			}
		})
	}
}
