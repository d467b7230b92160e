package storetest

import (
	"context"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// Alerts of the security monitor (LOG-04) are tenant-owned: one open alert per
// (kind, subject) gathers evidence within its window, recording the same
// events again changes nothing, and status moves open → acknowledged →
// resolved.

func appendEvents(t testing.TB, s *store.Store, org strongroom.TenantID, n int) []int64 {
	t.Helper()
	var seqs []int64
	mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error {
		for i := range n {
			e := strongroom.NewAuditEvent(nil, org, "record.read", "record", newID(), strongroom.ResultSuccess)
			e.Time = at(i)
			if err := tx.AppendAudit(t.Context(), &e); err != nil {
				return err
			}
			seqs = append(seqs, e.Seq)
		}
		return nil
	})
	return seqs
}

func recordHit(t testing.TB, s *store.Store, org strongroom.TenantID, hit store.AlertHit) (*strongroom.Alert, bool) {
	t.Helper()
	var a *strongroom.Alert
	var isNew bool
	mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		a, isNew, err = tx.RecordAlert(t.Context(), newID(), hit)
		return err
	})
	return a, isNew
}

func testAlerts(t *testing.T, s *store.Store) {
	org, other := mkOrg(t, s, "Acme"), mkOrg(t, s, "Other")
	seqs := appendEvents(t, s, org.ID, 8)
	hit := func(subject string, from, to int) store.AlertHit {
		return store.AlertHit{Kind: strongroom.AlertMassRead, Severity: strongroom.SeverityMedium, Subject: subject,
			Summary: "reads", Seqs: seqs[from:to], First: at(from), Last: at(to - 1), Window: 10 * time.Minute}
	}

	t.Run("one open alert per kind and subject gathers evidence, once", func(t *testing.T) {
		a, isNew := recordHit(t, s, org.ID, hit("user:a", 0, 3))
		if !isNew || a.Count != 3 || a.Status != strongroom.AlertOpen {
			t.Fatalf("first hit: new %v, %+v", isNew, a)
		}
		b, isNew := recordHit(t, s, org.ID, hit("user:a", 1, 5)) // overlaps: 1 and 2 were counted
		if isNew || b.ID != a.ID || b.Count != 5 {
			t.Fatalf("second hit: new %v, count %d, id %s (first %s)", isNew, b.Count, b.ID, a.ID)
		}
		again, isNew := recordHit(t, s, org.ID, hit("user:a", 0, 5)) // a replay after a restart
		if isNew || again.Count != 5 {
			t.Errorf("replayed hit: new %v, count %d, want 5", isNew, again.Count)
		}
		got := mustGet(t, s, store.TenantScope(org.ID), func(ctx context.Context, tx *store.Tx) (*strongroom.Alert, error) { return tx.Alert(ctx, a.ID) })
		diff(t, "evidence", seqs[:5], got.Evidence)
		if !got.FirstSeen.Equal(at(0)) || !got.LastSeen.Equal(at(4)) {
			t.Errorf("seen %v..%v, want %v..%v", got.FirstSeen, got.LastSeen, at(0), at(4))
		}
		// Another subject, and the same subject after the window: new alerts.
		if _, isNew := recordHit(t, s, org.ID, hit("user:b", 0, 1)); !isNew {
			t.Error("another subject joined the first alert")
		}
		late := hit("user:a", 7, 8)
		late.First, late.Last = at(30), at(30)
		if c, isNew := recordHit(t, s, org.ID, late); !isNew || c.ID == a.ID {
			t.Error("a hit long after the window joined the old alert")
		}
	})

	t.Run("bad hits are refused", func(t *testing.T) {
		for name, h := range map[string]store.AlertHit{
			"no evidence":  {Kind: strongroom.AlertMassRead, Severity: strongroom.SeverityLow, Subject: "x", Summary: "s"},
			"no subject":   {Kind: strongroom.AlertMassRead, Severity: strongroom.SeverityLow, Summary: "s", Seqs: []int64{1}},
			"unsorted":     {Kind: strongroom.AlertMassRead, Severity: strongroom.SeverityLow, Subject: "x", Seqs: []int64{2, 1}},
			"unknown kind": {Kind: "phishing", Severity: strongroom.SeverityLow, Subject: "x", Seqs: []int64{1}},
			"bad severity": {Kind: strongroom.AlertMassRead, Severity: "dire", Subject: "x", Seqs: []int64{1}},
		} {
			err := s.Write(t.Context(), store.TenantScope(org.ID), func(tx *store.Tx) error {
				_, _, err := tx.RecordAlert(t.Context(), newID(), h)
				return err
			})
			if err == nil {
				t.Errorf("%s: recorded", name)
			}
		}
	})

	t.Run("status moves forward only", func(t *testing.T) {
		a, _ := recordHit(t, s, org.ID, hit("user:status", 0, 1))
		set := func(st strongroom.AlertStatus) (*strongroom.Alert, error) {
			var got *strongroom.Alert
			err := s.Write(t.Context(), store.TenantScope(org.ID), func(tx *store.Tx) error {
				var err error
				got, err = tx.SetAlertStatus(t.Context(), a.ID, st, "u1", at(9))
				return err
			})
			return got, err
		}
		if got, err := set(strongroom.AlertAcknowledged); err != nil || got.StatusBy != "u1" || got.StatusAt == nil {
			t.Fatalf("acknowledge: %+v, %v", got, err)
		}
		_, err := set(strongroom.AlertAcknowledged)
		wantCode(t, err, strongroom.EINVALID)
		if _, err := set(strongroom.AlertResolved); err != nil {
			t.Fatal(err)
		}
		_, err = set(strongroom.AlertResolved)
		wantCode(t, err, strongroom.EINVALID)
		// A resolved alert gathers nothing more: the next hit opens a new one.
		if b, isNew := recordHit(t, s, org.ID, hit("user:status", 1, 2)); !isNew || b.ID == a.ID {
			t.Error("a hit joined a resolved alert")
		}
	})

	t.Run("list filters and pages, newest first", func(t *testing.T) {
		all := mustGet(t, s, store.TenantScope(org.ID), func(ctx context.Context, tx *store.Tx) ([]strongroom.Alert, error) {
			return tx.Alerts(ctx, store.AlertQuery{Limit: 100})
		})
		if len(all) != 5 {
			t.Fatalf("%d alerts, want 5", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Errorf("not newest first: %s after %s", all[i].ID, all[i-1].ID)
			}
		}
		page := mustGet(t, s, store.TenantScope(org.ID), func(ctx context.Context, tx *store.Tx) ([]strongroom.Alert, error) {
			return tx.Alerts(ctx, store.AlertQuery{Limit: 2, Before: all[1].ID})
		})
		diff(t, "page after the second", []string{all[2].ID, all[3].ID}, []string{page[0].ID, page[1].ID})
		resolved := mustGet(t, s, store.TenantScope(org.ID), func(ctx context.Context, tx *store.Tx) ([]strongroom.Alert, error) {
			return tx.Alerts(ctx, store.AlertQuery{Status: strongroom.AlertResolved, Kind: strongroom.AlertMassRead, Limit: 10})
		})
		if len(resolved) != 1 || resolved[0].Subject != "user:status" {
			t.Errorf("resolved: %+v", resolved)
		}
		none := mustGet(t, s, store.TenantScope(org.ID), func(ctx context.Context, tx *store.Tx) ([]strongroom.Alert, error) {
			return tx.Alerts(ctx, store.AlertQuery{Kind: strongroom.AlertBruteForce, Limit: 10})
		})
		if len(none) != 0 {
			t.Errorf("brute-force alerts: %+v", none)
		}
	})

	t.Run("alerts and their evidence stay in their tenant", func(t *testing.T) {
		a, _ := recordHit(t, s, org.ID, hit("user:iso", 0, 2))
		_, err := get(t, s, store.TenantScope(other.ID), func(ctx context.Context, tx *store.Tx) (*strongroom.Alert, error) { return tx.Alert(ctx, a.ID) })
		wantCode(t, err, strongroom.ENOTFOUND)
		err = s.Write(t.Context(), store.TenantScope(other.ID), func(tx *store.Tx) error {
			_, err := tx.SetAlertStatus(t.Context(), a.ID, strongroom.AlertResolved, "u", at(1))
			return err
		})
		wantCode(t, err, strongroom.ENOTFOUND)
		list := mustGet(t, s, store.TenantScope(other.ID), func(ctx context.Context, tx *store.Tx) ([]strongroom.Alert, error) {
			return tx.Alerts(ctx, store.AlertQuery{Limit: 10})
		})
		if len(list) != 0 {
			t.Errorf("the other tenant lists %d alerts", len(list))
		}
		evs := mustGet(t, s, store.TenantScope(other.ID), func(ctx context.Context, tx *store.Tx) ([]strongroom.AuditEvent, error) {
			return tx.AuditEventsBySeq(ctx, seqs[:3])
		})
		if len(evs) != 0 {
			t.Errorf("the other tenant reads %d of the first tenant's events by seq", len(evs))
		}
		own := mustGet(t, s, store.TenantScope(org.ID), func(ctx context.Context, tx *store.Tx) ([]strongroom.AuditEvent, error) {
			return tx.AuditEventsBySeq(ctx, []int64{seqs[4], seqs[1], 1 << 40})
		})
		if len(own) != 2 || own[0].Seq != seqs[1] || own[1].Seq != seqs[4] {
			t.Errorf("events by seq: %+v", own)
		}
	})

	t.Run("baselines move forward only", func(t *testing.T) {
		save := func(b store.Baseline) {
			mustWrite(t, s, store.TenantScope(org.ID), func(tx *store.Tx) error { return tx.SaveMonitorBaseline(t.Context(), "user:a", b) })
		}
		load := func(tenant strongroom.TenantID) (store.Baseline, bool) {
			var b store.Baseline
			var ok bool
			mustRead(t, s, store.TenantScope(tenant), func(tx *store.Tx) error {
				var err error
				b, ok, err = tx.MonitorBaseline(t.Context(), "user:a")
				return err
			})
			return b, ok
		}
		if _, ok := load(org.ID); ok {
			t.Fatal("a baseline before any was saved")
		}
		save(store.Baseline{OpenHour: at(120), Mean: 12.5, Hours: 3})
		save(store.Baseline{OpenHour: at(60), Mean: 99, Hours: 2}) // late: ignored
		b, ok := load(org.ID)
		diff(t, "baseline", store.Baseline{OpenHour: at(120), Mean: 12.5, Hours: 3}, b)
		if !ok {
			t.Error("not found")
		}
		if _, ok := load(other.ID); ok {
			t.Error("the other tenant sees the baseline")
		}
	})
}
