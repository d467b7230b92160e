package store_test

import (
	"context"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// TestPostgresReviewsRowLevelSecurity: an organization's access review
// campaigns, entries and policy acknowledgements are invisible to another
// organization and to the platform, the platform's policy changes and
// operator review are invisible to organizations, and the database refuses
// planting a row in another tenant.
func TestPostgresReviewsRowLevelSecurity(t *testing.T) {
	env := newRLSEnv(t, "alpha", "beta")
	s, ctx, now, id := env.s, context.Background(), env.now, rlsID
	org, other := env.orgs[0], env.orgs[1]
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
	campaign(org)
	campaign(strongroom.PlatformTenant)
	if err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		return tx.CreatePolicyChange(ctx, &strongroom.PolicyChange{ID: change, Title: "t", Summary: "s", URL: "https://x.example", EffectiveAt: now, PublishedAt: now})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error { return tx.AckPolicyChange(ctx, change, "u", now) }); err != nil {
		t.Fatal(err)
	}

	count := func(tenant strongroom.TenantID, table string) int { return env.count(t, tenant, table) }
	for table, want := range map[string][3]int{ // org, other, platform
		"review_campaigns": {1, 0, 1},
		"review_entries":   {1, 0, 1},
		"policy_changes":   {0, 0, 1},
		"policy_acks":      {1, 0, 0},
	} {
		for i, tenant := range []strongroom.TenantID{org, other, strongroom.PlatformTenant} {
			if n := count(tenant, table); n != want[i] {
				t.Errorf("%s seen from %s: %d rows, want %d", table, tenant, n, want[i])
			}
		}
	}
	for _, q := range []string{
		"INSERT INTO review_campaigns (tenant_id, id, period, opened_by, opened_at, due_at) VALUES ($1, 'planted', 'p', '', 0, 0)",
		"INSERT INTO policy_acks (tenant_id, change_id, acknowledged_by, acknowledged_at) VALUES ($1, 'planted', 'u', 0)",
	} {
		if !env.refused(t, other, q, string(org)) {
			t.Errorf("planted another tenant's row: %s", q)
		}
	}
	// A second campaign for the same period is a conflict, not a second row.
	for range 2 {
		err := s.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
			return tx.CreateReviewCampaign(ctx, &strongroom.ReviewCampaign{ID: id(), Period: "2026-10-01", OpenedAt: now, DueAt: now}, nil)
		})
		if err != nil && strongroom.ErrorCode(err) != strongroom.ECONFLICT {
			t.Fatal(err)
		}
	}
	if n := count(org, "review_campaigns"); n != 2 {
		t.Errorf("%d campaigns, want 2 (one manual, one for the period)", n)
	}
}
