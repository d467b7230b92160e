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

// TestPostgresTrustRowLevelSecurity: the operators' rows (incidents,
// reports, subprocessors) belong to the platform tenant, and the database
// itself hides them from a transaction bound to an organization and refuses
// planting one there; an organization's notices are hidden from another.
func TestPostgresTrustRowLevelSecurity(t *testing.T) {
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
	incID, repID, spID := id(), id(), id()
	err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreateIncident(ctx, &strongroom.Incident{ID: incID, Title: "t", Kind: "security", Severity: "low", Phase: "identify",
			AwareAt: now, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.AddIncidentUpdate(ctx, incID, &strongroom.IncidentUpdate{Phase: "identify", Note: "n", At: now}); err != nil {
			return err
		}
		if err := tx.AddIncidentOrg(ctx, incID, org.ID); err != nil {
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
	if err := s.Write(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error {
		return tx.CreateNotice(ctx, &strongroom.IncidentNotice{ID: id(), IncidentID: incID, Kind: "breach", Title: "t", Contents: "{}", SentAt: now})
	}); err != nil {
		t.Fatal(err)
	}

	app := openRaw(t, pdb.AppURL)
	platformTables := []string{"incidents", "incident_updates", "incident_orgs", "vuln_reports", "vuln_attachments", "subprocessors", "subscriptions"}
	count := func(tenant strongroom.TenantID, table string) int {
		var n int
		if err := inTx(t, app, tenant, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		}); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		return n
	}
	for _, table := range platformTables {
		if n := count(strongroom.PlatformTenant, table); n != 1 {
			t.Errorf("%s: the platform sees %d rows, want 1", table, n)
		}
		if n := count(org.ID, table); n != 0 {
			t.Errorf("%s: an organization-bound transaction sees %d platform rows", table, n)
		}
	}
	if n := count(org.ID, "incident_notices"); n != 1 {
		t.Errorf("the organization sees %d of its notices, want 1", n)
	}
	for _, tenant := range []strongroom.TenantID{other.ID, strongroom.PlatformTenant} {
		if n := count(tenant, "incident_notices"); n != 0 {
			t.Errorf("%s sees %d of another organization's notices", tenant, n)
		}
	}
	// Planting a platform row from an organization's transaction is refused.
	err = inTx(t, app, org.ID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO subprocessors (tenant_id, id, name, purpose, location, certifications, data_categories, effective_at, created_at, updated_at) "+
			"VALUES ($1, 'planted', 'n', 'p', 'l', '[]', '[]', 0, 0, 0)", string(strongroom.PlatformTenant))
		return err
	})
	if err == nil {
		t.Error("an organization-bound transaction planted a platform row")
	}
	// And the store refuses operator rows outside the platform tenant.
	err = s.Read(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error {
		_, err := tx.Subprocessors(ctx)
		return err
	})
	if err == nil {
		t.Error("the store listed subprocessors in an organization-bound transaction")
	}
}
