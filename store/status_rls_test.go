package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestPostgresStatusRowLevelSecurity: the status page's rows belong to the
// platform tenant; the database hides them from an organization-bound
// transaction and refuses planting one there.
func TestPostgresStatusRowLevelSecurity(t *testing.T) {
	env := newRLSEnv(t, "alpha")
	s, ctx, now, id := env.s, context.Background(), env.now, rlsID
	org := env.orgs[0]
	err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.RecordStatus(ctx, strongroom.StatusComponent{Component: "api", State: "operational", Detail: "d", CheckedAt: now}, 20000); err != nil {
			return err
		}
		if err := tx.CreateMaintenance(ctx, &strongroom.StatusMaintenance{ID: id(), Title: "t", Body: "b", Components: []string{"api"},
			StartsAt: now, EndsAt: now.Add(time.Hour), CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateStatusUpdate(ctx, &strongroom.StatusUpdate{ID: id(), Title: "t", Body: "b", State: "resolved", Components: []string{}, CreatedAt: now}); err != nil {
			return err
		}
		return tx.PutSubscription(ctx, &strongroom.Subscriber{ID: id(), Topic: strongroom.TopicStatus, Email: "a@example.com", TokenHash: []byte(id()), CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"status_components", "status_days", "status_maintenance", "status_updates", "subscriptions"} {
		for tenant, want := range map[strongroom.TenantID]int{strongroom.PlatformTenant: 1, org: 0} {
			if n := env.count(t, tenant, table); n != want {
				t.Errorf("%s: tenant %s sees %d rows, want %d", table, tenant, n, want)
			}
		}
	}
	if !env.refused(t, org, "INSERT INTO status_updates (tenant_id, id, title, body, state, components, created_at) VALUES ($1, 'planted', 't', 'b', 'resolved', '[]', 0)",
		string(strongroom.PlatformTenant)) {
		t.Error("an organization-bound transaction planted a status update")
	}
	err = s.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		_, err := tx.StatusComponents(ctx)
		return err
	})
	if err == nil {
		t.Error("the store listed status rows in an organization-bound transaction")
	}
}

// TestStatusDayCounters: results are counted per component and day, a
// component keeps "since" while its state holds, and pruning drops old days.
// Both engines.
func TestStatusDayCounters(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Open(t)
			ctx := context.Background()
			t0 := time.Date(2026, 11, 20, 23, 59, 0, 0, time.UTC)
			rec := func(state string, at time.Time, day int64) {
				t.Helper()
				if err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
					return tx.RecordStatus(ctx, strongroom.StatusComponent{Component: "email", State: state, Detail: "d", CheckedAt: at}, day)
				}); err != nil {
					t.Fatal(err)
				}
			}
			rec("operational", t0, 100)
			rec("operational", t0.Add(time.Minute), 101)
			rec("outage", t0.Add(2*time.Minute), 101)
			rec("not_monitored", t0.Add(3*time.Minute), 101) // stored as current, not counted
			rec("outage", t0.Add(4*time.Minute), 101)
			var comps []strongroom.StatusComponent
			var days []strongroom.StatusDay
			read := func() {
				t.Helper()
				if err := s.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
					var err error
					if comps, err = tx.StatusComponents(ctx); err != nil {
						return err
					}
					days, err = tx.StatusDays(ctx, 0)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			read()
			if len(comps) != 1 || comps[0].State != "outage" || !comps[0].Since.Equal(t0.Add(4*time.Minute)) {
				t.Errorf("current %+v", comps)
			}
			if len(days) != 2 || days[0].Day != 100 || days[0].Operational != 1 || days[1].Operational != 1 || days[1].Outage != 2 {
				t.Errorf("days %+v", days)
			}
			rec("outage", t0.Add(5*time.Minute), 101)
			read()
			if !comps[0].Since.Equal(t0.Add(4 * time.Minute)) {
				t.Errorf("since moved while the state held: %+v", comps[0])
			}
			if err := s.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error { return tx.PruneStatusDays(ctx, 101) }); err != nil {
				t.Fatal(err)
			}
			read()
			if len(days) != 1 || days[0].Day != 101 || days[0].Outage != 3 {
				t.Errorf("after pruning %+v", days)
			}
		})
	}
}

// TestUpdateMaintenance: a window's text, components and times are replaced
// (its creation time kept); a cancelled window is a conflict, an unknown one
// not found, and an organization-bound transaction cannot reach it. Both
// engines.
func TestUpdateMaintenance(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Open(t)
			ctx := context.Background()
			t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			platform := store.TenantScope(strongroom.PlatformTenant)
			m := strongroom.StatusMaintenance{ID: uuid.Must(uuid.NewV7()).String(), Title: "Upgrade", Body: "Planned.", Components: []string{"api"},
				StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour), CreatedAt: t0}
			if err := s.Write(ctx, platform, func(tx *store.Tx) error { return tx.CreateMaintenance(ctx, &m) }); err != nil {
				t.Fatal(err)
			}
			edited := m
			edited.Title, edited.Body, edited.Components = "Upgrade, moved", "Later.", []string{"storage", "email"}
			edited.StartsAt, edited.EndsAt = t0.Add(3*time.Hour), t0.Add(5*time.Hour+time.Microsecond)
			edited.CreatedAt = t0.Add(time.Minute) // not written
			if err := s.Write(ctx, platform, func(tx *store.Tx) error { return tx.UpdateMaintenance(ctx, &edited) }); err != nil {
				t.Fatal(err)
			}
			var got *strongroom.StatusMaintenance
			read := func() {
				t.Helper()
				if err := s.Read(ctx, platform, func(tx *store.Tx) error {
					var err error
					got, err = tx.Maintenance(ctx, m.ID)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			read()
			want := edited
			want.CreatedAt = t0
			if diff := cmp.Diff(want, *got); diff != "" {
				t.Errorf("after the update (-want +got):\n%s", diff)
			}

			missing := edited
			missing.ID = uuid.Must(uuid.NewV7()).String()
			err := s.Write(ctx, platform, func(tx *store.Tx) error { return tx.UpdateMaintenance(ctx, &missing) })
			if strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
				t.Errorf("unknown window: %v", err)
			}
			org := strongroom.TenantID(uuid.Must(uuid.NewV7()).String())
			err = s.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error { return tx.UpdateMaintenance(ctx, &m) })
			if err == nil {
				t.Error("an organization-bound transaction updated a maintenance window")
			}

			if err := s.Write(ctx, platform, func(tx *store.Tx) error { return tx.CancelMaintenance(ctx, m.ID, t0.Add(time.Minute)) }); err != nil {
				t.Fatal(err)
			}
			err = s.Write(ctx, platform, func(tx *store.Tx) error { return tx.UpdateMaintenance(ctx, &m) })
			if strongroom.ErrorCode(err) != strongroom.ECONFLICT {
				t.Errorf("cancelled window: %v", err)
			}
			read()
			if got.Title != edited.Title || got.CancelledAt == nil {
				t.Errorf("a refused update changed the window: %+v", got)
			}
		})
	}
}
