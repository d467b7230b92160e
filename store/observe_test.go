package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestObserveAuditWrites: a Write that appended audit events and committed is
// reported with its duration; one without events, or that failed, is not.
func TestObserveAuditWrites(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			ctx := context.Background()
			var mu sync.Mutex
			var seen []time.Duration
			st.ObserveAuditWrites(func(d time.Duration) {
				mu.Lock()
				seen = append(seen, d)
				mu.Unlock()
			})
			count := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(seen)
			}
			appendEvent := func(tx *store.Tx) error {
				ev := strongroom.NewAuditEvent(nil, strongroom.PlatformTenant, "test.observe", "", "", strongroom.ResultSuccess)
				return tx.AppendAudit(ctx, &ev)
			}
			platform := store.TenantScope(strongroom.PlatformTenant)
			if err := st.Write(ctx, platform, appendEvent); err != nil {
				t.Fatal(err)
			}
			if n := count(); n != 1 {
				t.Fatalf("after an audited write: %d observations", n)
			}
			if err := st.Write(ctx, platform, func(*store.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
			failed := errors.New("refused after appending")
			if err := st.Write(ctx, platform, func(tx *store.Tx) error {
				if err := appendEvent(tx); err != nil {
					return err
				}
				return failed
			}); !errors.Is(err, failed) {
				t.Fatalf("failing write: %v", err)
			}
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := st.Write(ctx, platform, appendEvent); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if n := count(); n != 17 {
				t.Errorf("%d observations, want 17 (the failed and the event-less writes are not reported)", n)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range seen {
				if d <= 0 {
					t.Errorf("observed duration %v", d)
				}
			}
		})
	}
}
