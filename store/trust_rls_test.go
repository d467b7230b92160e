package store_test

import (
	"context"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// TestPostgresTrustRowLevelSecurity: the operators' rows (incidents,
// reports, subprocessors) belong to the platform tenant, and the database
// itself hides them from a transaction bound to an organization and refuses
// planting one there; an organization's notices are hidden from another.
func TestPostgresTrustRowLevelSecurity(t *testing.T) {
	env := newRLSEnv(t, "alpha", "beta")
	s, ctx, now, id := env.s, context.Background(), env.now, rlsID
	org, other := env.orgs[0], env.orgs[1]
	incID, repID, spID := id(), id(), id()
	err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreateIncident(ctx, &strongroom.Incident{ID: incID, Title: "t", Kind: "security", Severity: "low", Phase: "identify",
			AwareAt: now, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.AddIncidentUpdate(ctx, incID, &strongroom.IncidentUpdate{Phase: "identify", Note: "n", At: now}); err != nil {
			return err
		}
		if err := tx.AddIncidentOrg(ctx, incID, org); err != nil {
			return err
		}
		if err := tx.CreateVulnReport(ctx, &strongroom.VulnReport{ID: repID, TokenHash: []byte(repID), Title: "t", Status: "new", Sealed: []byte{1},
			ReceivedAt: now, AckDue: now}, []strongroom.VulnAttachment{{ReportID: repID, Name: "a", ContentType: "text/plain", Size: 1, Sealed: []byte{1}}}); err != nil {
			return err
		}
		if err := tx.CreateSubprocessor(ctx, &strongroom.Subprocessor{ID: spID, Name: "s", Purpose: "p", Location: "l", Certifications: []string{},
			DataCategories: []string{"x"}, EffectiveAt: now, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.PutSubscription(ctx, &strongroom.Subscriber{ID: id(), Topic: strongroom.TopicSubprocessors, Email: "a@example.com", TokenHash: []byte(id()), CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		return tx.CreateNotice(ctx, &strongroom.IncidentNotice{ID: id(), IncidentID: incID, Kind: "breach", Title: "t", Contents: "{}", SentAt: now})
	}); err != nil {
		t.Fatal(err)
	}

	platformTables := []string{"incidents", "incident_updates", "incident_orgs", "vuln_reports", "vuln_attachments", "subprocessors", "subscriptions"}
	count := func(tenant strongroom.TenantID, table string) int { return env.count(t, tenant, table) }
	for _, table := range platformTables {
		if n := count(strongroom.PlatformTenant, table); n != 1 {
			t.Errorf("%s: the platform sees %d rows, want 1", table, n)
		}
		if n := count(org, table); n != 0 {
			t.Errorf("%s: an organization-bound transaction sees %d platform rows", table, n)
		}
	}
	if n := count(org, "incident_notices"); n != 1 {
		t.Errorf("the organization sees %d of its notices, want 1", n)
	}
	for _, tenant := range []strongroom.TenantID{other, strongroom.PlatformTenant} {
		if n := count(tenant, "incident_notices"); n != 0 {
			t.Errorf("%s sees %d of another organization's notices", tenant, n)
		}
	}
	// Planting a platform row from an organization's transaction is refused.
	if !env.refused(t, org, "INSERT INTO subprocessors (tenant_id, id, name, purpose, location, certifications, data_categories, effective_at, created_at, updated_at) "+
		"VALUES ($1, 'planted', 'n', 'p', 'l', '[]', '[]', 0, 0, 0)", string(strongroom.PlatformTenant)) {
		t.Error("an organization-bound transaction planted a platform row")
	}
	// And the store refuses operator rows outside the platform tenant.
	err = s.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		_, err := tx.Subprocessors(ctx)
		return err
	})
	if err == nil {
		t.Error("the store listed subprocessors in an organization-bound transaction")
	}
}
