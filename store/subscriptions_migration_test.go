package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// subscriptionsMigration is the version of 0018_subscriptions.sql.
func subscriptionsMigration(t *testing.T, e store.Engine) int {
	t.Helper()
	ms, err := store.Migrations(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "0018_subscriptions.sql" {
			return m.Version
		}
	}
	t.Fatal("no migration 0018_subscriptions.sql")
	return 0
}

// TestSubscriptionsMigration: migration 0018 moves the rows of the status and
// subprocessor subscriber tables into one table with their topic, keeping id,
// address, token hash (links already e-mailed keep working), confirmation and
// creation time, and drops the old tables. Both engines; on PostgreSQL the new
// table keeps row-level security.
func TestSubscriptionsMigration(t *testing.T) {
	ctx := context.Background()
	confirmed := time.Date(2026, 3, 1, 10, 0, 0, 123000, time.UTC)
	created := time.Date(2026, 2, 27, 9, 30, 0, 456000, time.UTC)
	// The same id and address in both tables: they were separate, the topic
	// keeps them apart.
	old := []struct {
		table string
		sub   strongroom.Subscriber
	}{
		{"status_subscribers", strongroom.Subscriber{ID: "s-1", Topic: strongroom.TopicStatus, Email: "a@example.com", TokenHash: bytes.Repeat([]byte{1}, 32), ConfirmedAt: &confirmed, CreatedAt: created}},
		{"status_subscribers", strongroom.Subscriber{ID: "s-2", Topic: strongroom.TopicStatus, Email: "b@example.com", TokenHash: bytes.Repeat([]byte{2}, 32), CreatedAt: created}},
		{"subprocessor_subscribers", strongroom.Subscriber{ID: "s-1", Topic: strongroom.TopicSubprocessors, Email: "a@example.com", TokenHash: bytes.Repeat([]byte{3}, 32), ConfirmedAt: &confirmed, CreatedAt: created}},
		{"subprocessor_subscribers", strongroom.Subscriber{ID: "s-3", Topic: strongroom.TopicSubprocessors, Email: "c@example.com", TokenHash: bytes.Repeat([]byte{4}, 32), CreatedAt: created}},
	}
	for _, engine := range []store.Engine{store.SQLite, store.Postgres} {
		t.Run(string(engine), func(t *testing.T) {
			before := subscriptionsMigration(t, engine) - 1
			var st *store.Store
			var raw *sql.DB
			var appURL string
			var err error
			if engine == store.SQLite {
				path := filepath.Join(t.TempDir(), "strongroom.db")
				st = openSQLite(t, path)
				if _, err := st.MigrateTo(ctx, before); err != nil {
					t.Fatal(err)
				}
				raw, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			} else {
				db := testkit.NewPostgresDBAt(t, before)
				appURL = db.AppURL
				if st, err = store.Open(ctx, store.Config{URL: db.OwnerURL}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				raw, err = sql.Open("pgx", db.OwnerURL)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { raw.Close() })
			for _, o := range old {
				var conf any
				if o.sub.ConfirmedAt != nil {
					conf = o.sub.ConfirmedAt.UnixMicro()
				}
				if _, err := raw.ExecContext(ctx, "INSERT INTO "+o.table+" (tenant_id, id, email, token_hash, confirmed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
					string(strongroom.PlatformTenant), o.sub.ID, o.sub.Email, o.sub.TokenHash, conf, o.sub.CreatedAt.UnixMicro()); err != nil {
					t.Fatalf("%s: %v", o.table, err)
				}
			}
			applied, err := st.Migrate(ctx)
			if err != nil {
				t.Fatalf("migrating: %v", err)
			}
			if len(applied) == 0 || applied[0] != before+1 {
				t.Fatalf("applied %v, want %d first", applied, before+1)
			}
			if engine == store.Postgres {
				// Read through the application role, under row-level security.
				st.Close()
				if st, err = store.Open(ctx, store.Config{URL: appURL}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
			}
			for _, o := range old {
				var got *strongroom.Subscriber
				if err := st.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
					var err error
					got, err = tx.SubscriptionByToken(ctx, o.sub.Topic, o.sub.TokenHash)
					return err
				}); err != nil {
					t.Fatalf("%s %s by token: %v", o.sub.Topic, o.sub.ID, err)
				}
				if d := cmp.Diff(o.sub, *got); d != "" {
					t.Errorf("%s %s after the migration (-want +got):\n%s", o.sub.Topic, o.sub.ID, d)
				}
			}
			for topic, want := range map[string][]string{strongroom.TopicStatus: {"s-1"}, strongroom.TopicSubprocessors: {"s-1"}} {
				var subs []strongroom.Subscriber
				var c, p int
				if err := st.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
					var err error
					if subs, err = tx.ConfirmedSubscriptions(ctx, topic); err != nil {
						return err
					}
					c, p, err = tx.SubscriptionCounts(ctx, topic)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, s := range subs {
					ids = append(ids, s.ID)
				}
				if !cmp.Equal(want, ids) || c != 1 || p != 1 {
					t.Errorf("%s: confirmed %v (%d), pending %d; want %v, 1 pending", topic, ids, c, p, want)
				}
			}
			// A status token does not open the subprocessor subscription.
			if err := st.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
				_, err := tx.SubscriptionByToken(ctx, strongroom.TopicSubprocessors, old[0].sub.TokenHash)
				return err
			}); strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
				t.Errorf("a status token read as a subprocessor subscription: %v", err)
			}
			for _, table := range []string{"status_subscribers", "subprocessor_subscribers"} {
				var n int
				if err := raw.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err == nil {
					t.Errorf("%s still exists after the migration", table)
				}
			}
			if engine == store.Postgres {
				app := openRaw(t, appURL)
				for tenant, want := range map[strongroom.TenantID]int{strongroom.PlatformTenant: 4, "some-organization": 0} {
					var n int
					if err := inTx(t, app, tenant, func(tx *sql.Tx) error {
						return tx.QueryRowContext(ctx, "SELECT count(*) FROM subscriptions").Scan(&n)
					}); err != nil {
						t.Fatal(err)
					}
					if n != want {
						t.Errorf("tenant %s sees %d subscriptions, want %d", tenant, n, want)
					}
				}
			}
		})
	}
}
