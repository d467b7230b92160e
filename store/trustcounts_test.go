package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestReviewProgressAndSubscriberCounts: the counts the console shows — a
// campaign's entries and decisions, the status subscriptions confirmed and
// pending — on both engines, each tenant counting only its own rows.
func TestReviewProgressAndSubscriberCounts(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Open(t)
			ctx := context.Background()
			now := time.Now().UTC()
			id := func() string { return uuid.Must(uuid.NewV7()).String() }
			orgs := []strongroom.TenantID{strongroom.TenantID(id()), strongroom.TenantID(id())}
			for _, o := range orgs {
				org := strongroom.Organization{ID: o, Name: "org " + string(o), CreatedAt: now}
				if err := s.Write(ctx, store.TenantScope(o), func(tx *store.Tx) error { return tx.CreateOrganization(ctx, &org) }); err != nil {
					t.Fatal(err)
				}
			}
			open := func(tenant strongroom.TenantID, users ...strongroom.UserID) string {
				t.Helper()
				cid := id()
				var es []strongroom.ReviewEntry
				for i, u := range users {
					es = append(es, strongroom.ReviewEntry{UserID: u, Email: string(u) + "@example.com", Role: "viewer", Rank: 2 + i})
				}
				if err := s.Write(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
					return tx.CreateReviewCampaign(ctx, &strongroom.ReviewCampaign{ID: cid, Period: "manual:" + cid, OpenedAt: now, DueAt: now}, es)
				}); err != nil {
					t.Fatal(err)
				}
				return cid
			}
			a := open(orgs[0], "u1", "u2", "u3")
			b := open(orgs[0], "u1")
			other := open(orgs[1], "u9", "u8")
			if err := s.Write(ctx, store.TenantScope(orgs[0]), func(tx *store.Tx) error {
				if err := tx.DecideReviewEntry(ctx, a, "u1", strongroom.ReviewKeep, "admin", now, ""); err != nil {
					return err
				}
				return tx.DecideReviewEntry(ctx, a, "u3", strongroom.ReviewRevoke, "admin", now, "left")
			}); err != nil {
				t.Fatal(err)
			}
			progress := func(tenant strongroom.TenantID) map[string]store.ReviewProgress {
				t.Helper()
				var p map[string]store.ReviewProgress
				if err := s.Read(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
					var err error
					p, err = tx.ReviewProgress(ctx)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return p
			}
			got := progress(orgs[0])
			if len(got) != 2 || got[a] != (store.ReviewProgress{Entries: 3, Decided: 2}) || got[b] != (store.ReviewProgress{Entries: 1}) {
				t.Errorf("progress of the first organization: %+v", got)
			}
			if got := progress(orgs[1]); len(got) != 1 || got[other] != (store.ReviewProgress{Entries: 2}) {
				t.Errorf("progress of the second organization: %+v", got)
			}

			counts := func() (int, int) {
				t.Helper()
				var c, p int
				if err := s.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
					var err error
					c, p, err = tx.SubscriptionCounts(ctx, strongroom.TopicStatus)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return c, p
			}
			if c, p := counts(); c != 0 || p != 0 {
				t.Errorf("no subscribers: %d confirmed, %d pending", c, p)
			}
			var subs []string
			for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
				sub := strongroom.Subscriber{ID: id(), Topic: strongroom.TopicStatus, Email: email, TokenHash: []byte(email), CreatedAt: now}
				subs = append(subs, sub.ID)
				if err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error { return tx.PutSubscription(ctx, &sub) }); err != nil {
					t.Fatal(err)
				}
			}
			// The same address subscribed to subprocessor changes, confirmed:
			// another topic, never counted with the status subscriptions.
			spSub := strongroom.Subscriber{ID: id(), Topic: strongroom.TopicSubprocessors, Email: "b@example.com", TokenHash: []byte("sp-b"), CreatedAt: now}
			if err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
				if err := tx.PutSubscription(ctx, &spSub); err != nil {
					return err
				}
				return tx.ConfirmSubscription(ctx, strongroom.TopicSubprocessors, spSub.ID, now)
			}); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
				return tx.ConfirmSubscription(ctx, strongroom.TopicStatus, subs[0], now)
			}); err != nil {
				t.Fatal(err)
			}
			if c, p := counts(); c != 1 || p != 2 {
				t.Errorf("subscribers: %d confirmed, %d pending; want 1 and 2", c, p)
			}
			// Organizations cannot count the platform's subscribers.
			if err := s.Read(ctx, store.TenantScope(orgs[0]), func(tx *store.Tx) error {
				_, _, err := tx.SubscriptionCounts(ctx, strongroom.TopicStatus)
				return err
			}); err == nil {
				t.Error("an organization-bound transaction counted the status subscribers")
			}
		})
	}
}
