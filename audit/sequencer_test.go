package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestSealAndVerify: the sequencer seals every chain in seq order, signs
// checkpoints into the database and the folder, and verify passes.
func TestSealAndVerify(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			appendEvents(t, e.st, tenantA, 20)
			appendEvents(t, e.st, tenantB, 3)
			appendEvents(t, e.st, strongroom.PlatformTenant, 2)
			before := e.verify(t, e.folder)
			if r := report(before, tenantA); r.Unsealed != 20 || r.Sealed != 0 || !r.OK() {
				t.Fatalf("before sealing: %+v", r)
			}
			s := e.sequencer(t, "one", nil)
			sealAll(t, e, s)
			rs := e.verify(t, e.folder)
			if txt := problemText(rs); txt != "" {
				t.Fatalf("problems:\n%s", txt)
			}
			for tenant, n := range map[strongroom.TenantID]int64{tenantA: 20, tenantB: 3, strongroom.PlatformTenant: 2} {
				r := report(rs, tenant)
				if r.Events != n || r.Sealed != n || r.Unsealed != 0 || r.DBCheckpoints == 0 || r.FileCheckpoints == 0 {
					t.Errorf("%s: %+v", tenant, r)
				}
				if seqs := e.seqs(t, tenant); r.Head.Seq != seqs[len(seqs)-1] {
					t.Errorf("%s: head at %d, last event %d", tenant, r.Head.Seq, seqs[len(seqs)-1])
				}
			}
			// More events extend the chains; checkpoints are written only for
			// heads that moved.
			appendEvents(t, e.st, tenantA, 5)
			sealAll(t, e, s)
			rs = e.verify(t, e.folder)
			if r := report(rs, tenantA); !r.OK() || r.Sealed != 25 || r.DBCheckpoints != 2 {
				t.Errorf("after more events: %+v\n%s", r, problemText(rs))
			}
			if r := report(rs, tenantB); r.DBCheckpoints != 1 {
				t.Errorf("tenant B checkpointed again without new events: %+v", r)
			}
		})
	}
}

// TestConcurrentWriters: 32 writers append events to four chains while the
// sequencer runs; afterwards everything is sealed, in seq order, and verifies.
// On PostgreSQL transactions commit out of seq order, which the sequencer must
// wait out rather than seal past.
func TestConcurrentWriters(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			tenants := []strongroom.TenantID{tenantA, tenantB, strongroom.PlatformTenant, "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d33"}
			s := e.sequencer(t, "runner", nil)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Run(ctx); close(done) }()
			const writers, perWriter = 32, 25
			var wg sync.WaitGroup
			var mu sync.Mutex
			written := map[strongroom.TenantID]int64{}
			errs := make(chan error, writers)
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tenant := tenants[w%len(tenants)]
					for i := range perWriter {
						n := 1 + (w+i)%3 // one to three events per transaction
						err := e.st.Write(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
							for j := range n {
								ev := strongroom.NewAuditEvent(nil, tenant, "test.write", "writer", fmt.Sprintf("%d/%d/%d", w, i, j), strongroom.ResultSuccess)
								if err := tx.AppendAudit(context.Background(), &ev); err != nil {
									return err
								}
							}
							return nil
						})
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						written[tenant] += int64(n)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			testkit.WaitFor(t, 60*time.Second, func() bool {
				for _, r := range e.verify(t, nil) {
					if r.Unsealed > 0 {
						return false
					}
				}
				return true
			})
			cancel()
			<-done // Run's final checkpoint is written
			rs := e.verify(t, e.folder)
			if txt := problemText(rs); txt != "" {
				t.Fatalf("problems:\n%s", txt)
			}
			for _, tenant := range tenants {
				r := report(rs, tenant)
				if r.Events != written[tenant] || r.Sealed != written[tenant] || r.DBCheckpoints == 0 {
					t.Errorf("%s: %d events written, report %+v", tenant, written[tenant], r)
				}
			}
			if holder, _, err := e.st.LeaseHolder(context.Background(), audit.LeaseName); err != nil || holder != "" {
				t.Errorf("lease after Run ended: %q, %v", holder, err)
			}
		})
	}
}

// TestLease: of two sequencers on one store only the lease holder seals; the
// other takes over once the lease expires without renewal, and at once when it
// is released.
func TestLease(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			ctx := context.Background()
			clk := newClock()
			a, b := e.sequencer(t, "a", clk.Now), e.sequencer(t, "b", clk.Now)
			tick := func(s *audit.Sequencer, want bool) {
				t.Helper()
				held, err := s.Tick(ctx)
				if err != nil || held != want {
					t.Fatalf("%s.Tick = %v, %v; want held = %v", s.Holder(), held, err, want)
				}
			}
			unsealed := func() int64 {
				t.Helper()
				return report(e.verify(t, nil), tenantA).Unsealed
			}
			tick(a, true)
			tick(b, false)
			appendEvents(t, e.st, tenantA, 3)
			tick(b, false)
			if n := unsealed(); n != 3 {
				t.Fatalf("the sequencer without the lease sealed: %d unsealed", n)
			}
			testkit.WaitFor(t, 30*time.Second, func() bool { tick(a, true); return unsealed() == 0 })

			// a stops renewing (it is not ticked); within the lease b waits.
			appendEvents(t, e.st, tenantA, 2)
			clk.Add(10 * time.Second)
			tick(b, false)
			clk.Add(6 * time.Second) // past a's 15 s lease
			testkit.WaitFor(t, 30*time.Second, func() bool { tick(b, true); return unsealed() == 0 })
			// a comes back: its renewal fails, and it does not seal.
			appendEvents(t, e.st, tenantA, 1)
			tick(a, false)
			if n := unsealed(); n != 1 {
				t.Fatalf("the former holder sealed after losing the lease: %d unsealed", n)
			}
			// b releases on Stop; a takes over at once.
			if err := b.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			testkit.WaitFor(t, 30*time.Second, func() bool { tick(a, true); return unsealed() == 0 })
			if _, err := a.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			if txt := problemText(e.verify(t, e.folder)); txt != "" {
				t.Fatalf("problems:\n%s", txt)
			}
		})
	}
}

// TestSealsAreCompareAndSet: two sequencers that both think they hold the
// lease cannot fork a chain; the store refuses the second extension.
func TestSealsAreCompareAndSet(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			ctx := context.Background()
			appendEvents(t, e.st, tenantA, 2)
			ev := appendEvents(t, e.st, tenantA, 1)[0]
			seal := func(prev int64, seq int64) error {
				return e.st.Write(ctx, store.TenantScope(tenantA), func(tx *store.Tx) error {
					return tx.AppendAuditSeals(ctx, prev, []store.AuditSeal{{Seq: seq, Hash: make([]byte, 32)}})
				})
			}
			if err := seal(0, ev.Seq); err != nil {
				t.Fatal(err)
			}
			if err := seal(0, ev.Seq+100); strongroom.ErrorCode(err) != strongroom.ECONFLICT {
				t.Errorf("a second extension from the same seal: %v, want ECONFLICT", err)
			}
		})
	}
}

// TestHorizonWaitsForOpenTransactions: on PostgreSQL an event whose
// transaction is still open holds back the sealing of every later seq, even of
// committed events, until it commits; then both are sealed in seq order.
func TestHorizonWaitsForOpenTransactions(t *testing.T) {
	e := newEnv(t, "postgres")
	ctx := context.Background()
	s := e.sequencer(t, "one", nil)
	appendEvents(t, e.st, tenantA, 1)
	sealAll(t, e, s)

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
	slow := <-holding
	fast := appendEvents(t, e.st, tenantA, 1)[0]
	if fast.Seq <= slow {
		t.Fatalf("seqs %d then %d", slow, fast.Seq)
	}
	for range 5 {
		if _, err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r := report(e.verify(t, nil), tenantA)
	if r.Sealed != 1 || r.Unsealed != 1 || r.FirstUnsealedSeq != fast.Seq {
		t.Fatalf("with seq %d open, seq %d was sealed: %+v", slow, fast.Seq, r)
	}
	close(release)
	if err := <-writeDone; err != nil {
		t.Fatal(err)
	}
	sealAll(t, e, s)
	rs := e.verify(t, e.folder)
	if r := report(rs, tenantA); !r.OK() || r.Sealed != 3 {
		t.Fatalf("after commit: %+v\n%s", r, problemText(rs))
	}
}

// TestResumeCheckpointsVerifiedHeads: a sequencer that takes over checkpoints
// the heads its predecessor sealed but did not sign, after verifying them from
// the last checkpoint; a tampered chain gets no checkpoint.
func TestResumeCheckpointsVerifiedHeads(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	// Checkpoints only when asked (and on a sequencer's first round).
	rarely := func(c *audit.Config) { c.CheckpointInterval = time.Hour }
	first := e.sequencer(t, "first", nil, rarely)
	appendEvents(t, e.st, tenantA, 4)
	appendEvents(t, e.st, tenantB, 4)
	sealAll(t, e, first)
	appendEvents(t, e.st, tenantA, 2)
	appendEvents(t, e.st, tenantB, 2)
	testkit.WaitFor(t, 10*time.Second, func() bool {
		_, err := first.Tick(ctx)
		return err == nil && report(e.verify(t, nil), tenantA).Unsealed == 0 && report(e.verify(t, nil), tenantB).Unsealed == 0
	})
	// first dies here: its last heads are sealed but not checkpointed.
	if err := e.st.ReleaseLease(ctx, audit.LeaseName, first.Holder()); err != nil {
		t.Fatal(err)
	}
	e.dropProtection(t)
	b := e.seqs(t, tenantB)
	e.rawExec(t, fmt.Sprintf("UPDATE audit_events SET reason = 'edited' WHERE seq = %d", b[len(b)-1]))

	second := e.sequencer(t, "second", nil, rarely)
	if _, err := second.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	cps, err := second.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rs := e.verify(t, nil)
	if r := report(rs, tenantA); !r.OK() || r.DBCheckpoints != 2 || r.Head.Seq != e.seqs(t, tenantA)[5] {
		t.Errorf("tenant A was not checkpointed at its head: %+v (new checkpoints %d)", r, len(cps))
	}
	if r := report(rs, tenantB); r.DBCheckpoints != 1 || r.OK() {
		t.Errorf("tenant B's tampered chain was checkpointed: %+v", r)
	}
}
