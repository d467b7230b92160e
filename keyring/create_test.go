package keyring_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/store"
)

// cutStorage fails the first data-key insert, leaving the storage as a crash
// between the two inserts of a tenant's first keys would.
type cutStorage struct {
	keyring.Storage
	cut bool
}

func (s *cutStorage) AddTenantKey(ctx context.Context, k store.WrappedKey) error {
	if k.Kind == store.KeyData && !s.cut {
		s.cut = true
		return errors.New("killed")
	}
	return s.Storage.AddTenantKey(ctx, k)
}

// TestFirstKeysCompleted: a tenant's first keys are two inserts (index, then
// data). Requests that read between them, and a process restarted after a
// crash between them, complete the keyring instead of failing for ever with
// "incomplete keyring" (found by cmd/strongroom's TestDurabilityKill9: 32
// concurrent first writes of a new organization answered 500).
func TestFirstKeysCompleted(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			kek := newKEK(t)

			crashed := keyring.New(kek, nil, &cutStorage{Storage: st}, keyring.Options{})
			if _, err := crashed.Keys(ctx, tenantA); err == nil {
				t.Fatal("first keys created although the data-key insert failed")
			}
			restarted := keyring.New(kek, nil, st, keyring.Options{})
			keys, err := restarted.Keys(ctx, tenantA)
			if err != nil {
				t.Fatalf("keys after a crash between the two inserts: %v", err)
			}
			if keys.Current.ID() != 1 {
				t.Errorf("data key version %d, want 1", keys.Current.ID())
			}

			// Concurrent first use, each request through its own keyring (as on
			// several replicas, and as in one process before the cache is filled).
			const n = 16
			got := make([]*keyring.TenantKeys, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					got[i], errs[i] = keyring.New(kek, nil, st, keyring.Options{}).Keys(ctx, tenantB)
				})
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("concurrent first use %d: %v", i, errs[i])
				}
				if !got[i].Current.Equal(got[0].Current) {
					t.Fatalf("concurrent first use %d got another data key", i)
				}
			}
		})
	}
}
