package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestPostgresReviewsRowLevelSecurity: an organization's access review
// campaigns, entries and policy acknowledgements are invisible to another
// organization and to the platform, the platform's policy changes and
// operator review are invisible to organizations, and the database refuses
// planting a row in another tenant.
func TestPostgresReviewsRowLevelSecurity(t *testing.T) {
	s, pdb := testkit.OpenPostgresStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	id := func() string { return uuid.Must(uuid.NewV7()).String() }
	org := strongroom.Organization{ID: strongroom.TenantID(id()), Name: "alpha", CreatedAt: now}
	other := strongroom.Organization{ID: strongroom.TenantID(id()), Name: "beta", CreatedAt: now}
	for _, o := range []strongroom.Organization{org, other} {
		if err := s.Write(ctx, store.TenantScope(o.ID), func(tx *store.Tx) error { return tx.CreateOrganization(ctx, &o) }); err != nil {
			t.Fatal(err)
		}
	}
	change := id()
	campaign := func(tenant strongroom.TenantID) {
		t.Helper()
		cid := id()
		if err := s.Write(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
			return tx.CreateReviewCampaign(ctx, &strongroom.ReviewCampaign{ID: cid, Period: "manual:" + cid, OpenedAt: now, DueAt: now},
				[]strongroom.ReviewEntry{{UserID: strongroom.UserID(id()), Email: "x@example.com", Role: "viewer", Rank: 2}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	campaign(org.ID)
	campaign(strongroom.PlatformTenant)
	if err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		return tx.CreatePolicyChange(ctx, &strongroom.PolicyChange{ID: change, Title: "t", Summary: "s", URL: "https://x.example", EffectiveAt: now, PublishedAt: now})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error { return tx.AckPolicyChange(ctx, change, "u", now) }); err != nil {
		t.Fatal(err)
	}

	app := openRaw(t, pdb.AppURL)
	count := func(tenant strongroom.TenantID, table string) int {
		var n int
		if err := inTx(t, app, tenant, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		}); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		return n
	}
	for table, want := range map[string][3]int{ // org, other, platform
		"review_campaigns": {1, 0, 1},
		"review_entries":   {1, 0, 1},
		"policy_changes":   {0, 0, 1},
		"policy_acks":      {1, 0, 0},
	} {
		for i, tenant := range []strongroom.TenantID{org.ID, other.ID, strongroom.PlatformTenant} {
			if n := count(tenant, table); n != want[i] {
				t.Errorf("%s seen from %s: %d rows, want %d", table, tenant, n, want[i])
			}
		}
	}
	for _, q := range []string{
		"INSERT INTO review_campaigns (tenant_id, id, period, opened_by, opened_at, due_at) VALUES ($1, 'planted', 'p', '', 0, 0)",
		"INSERT INTO policy_acks (tenant_id, change_id, acknowledged_by, acknowledged_at) VALUES ($1, 'planted', 'u', 0)",
	} {
		err := inTx(t, app, other.ID, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, q, string(org.ID))
			return err
		})
		if err == nil {
			t.Errorf("planted another tenant's row: %s", q)
		}
	}
	// A second campaign for the same period is a conflict, not a second row.
	for range 2 {
		err := s.Write(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error {
			return tx.CreateReviewCampaign(ctx, &strongroom.ReviewCampaign{ID: id(), Period: "2026-10-01", OpenedAt: now, DueAt: now}, nil)
		})
		if err != nil && strongroom.ErrorCode(err) != strongroom.ECONFLICT {
			t.Fatal(err)
		}
	}
	if n := count(org.ID, "review_campaigns"); n != 2 {
		t.Errorf("%d campaigns, want 2 (one manual, one for the period)", n)
	}
}
