package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestLookup: the single-statement read path sees what Read sees, stays bound to
// its tenant, refuses writes, and keeps working past the statement cache's bound.
func TestLookup(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			s := e.Open(t)
			now := time.Now().UTC().Truncate(time.Microsecond)
			orgs := []strongroom.TenantID{"01900000-0000-7000-8000-0000000000a1", "01900000-0000-7000-8000-0000000000b2"}
			for _, org := range orgs {
				if err := s.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
					return tx.CreateOrganization(ctx, &strongroom.Organization{ID: org, Name: "Org " + string(org[len(org)-2:]), CreatedAt: now})
				}); err != nil {
					t.Fatal(err)
				}
			}
			for _, org := range orgs {
				var viaRead, viaLookup *strongroom.Organization
				if err := s.Read(ctx, store.TenantScope(org), func(tx *store.Tx) (err error) { viaRead, err = tx.Organization(ctx); return }); err != nil {
					t.Fatal(err)
				}
				if err := s.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) (err error) { viaLookup, err = tx.Organization(ctx); return }); err != nil {
					t.Fatal(err)
				}
				if *viaRead != *viaLookup || viaLookup.ID != org {
					t.Errorf("lookup %+v, read %+v", viaLookup, viaRead)
				}
			}
			err := s.Lookup(ctx, store.TenantScope(orgs[0]), func(tx *store.Tx) error {
				return tx.CreateClient(ctx, &strongroom.Client{ID: "01900000-0000-7000-8000-0000000000c3", Name: "x", CreatedAt: now})
			})
			if err == nil {
				t.Error("a write in a lookup succeeded")
			}
			// Many query shapes (client lists of every length) exceed the cache.
			for n := 1; n <= 300; n++ {
				ids := make([]strongroom.ClientID, n)
				for i := range ids {
					ids[i] = strongroom.ClientID(fmt.Sprintf("c%d", i))
				}
				if err := s.Lookup(ctx, store.TenantScope(orgs[0]), func(tx *store.Tx) error {
					cs, err := tx.Clients(ctx, strongroom.Visibility{Clients: ids})
					if err == nil && len(cs) != 0 {
						err = fmt.Errorf("%d clients, want none", len(cs))
					}
					return err
				}); err != nil {
					t.Fatalf("%d-client lookup: %v", n, err)
				}
			}
		})
	}
}
