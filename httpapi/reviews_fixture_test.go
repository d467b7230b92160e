package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// templateUser returns the value that replaced {user} in a concrete path
// built from template, or "".
func templateUser(template, path string) string {
	tp, pp := strings.Split(template, "/"), strings.Split(path, "/")
	for i := range tp {
		if tp[i] == "{user}" && i < len(pp) {
			return pp[i]
		}
	}
	return ""
}

// newCampaign puts an open access review campaign into tenant, reviewing the
// given users as Viewers, as OpenAccessReview would, and returns its ID.
func (f *fixture) newCampaign(t *testing.T, tenant strongroom.TenantID, users ...string) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC()
	var entries []strongroom.ReviewEntry
	for _, u := range users {
		entries = append(entries, strongroom.ReviewEntry{UserID: strongroom.UserID(u), Email: u + "@fixture.example", Role: "viewer", Rank: 2})
	}
	err := f.srv.Store.Write(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
		return tx.CreateReviewCampaign(context.Background(), &strongroom.ReviewCampaign{ID: id, Period: "manual:" + id, OpenedAt: now,
			DueAt: now.Add(14 * 24 * time.Hour)}, entries)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newPolicyChange publishes a policy change directly in the platform's rows
// and returns its ID.
func (f *fixture) newPolicyChange(t *testing.T) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC()
	err := f.srv.Store.Write(context.Background(), store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		return tx.CreatePolicyChange(context.Background(), &strongroom.PolicyChange{ID: id, Title: "Policy v2", Summary: "Changes",
			URL: "https://example.com/policy", EffectiveAt: now, PublishedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}
