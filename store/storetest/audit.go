package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

func testAudit(t *testing.T, s *store.Store) {
	ctx := t.Context()
	a := mkOrg(t, s, "Acme")
	b := mkOrg(t, s, "Globex")
	p := &strongroom.Principal{
		Kind:       strongroom.PrincipalUser,
		UserID:     strongroom.UserID(newID()),
		IP:         "198.51.100.23",
		DeviceType: "desktop",
		RequestID:  "req-1",
	}
	event := func(tenant strongroom.TenantID, i int, result strongroom.AuditResult) strongroom.AuditEvent {
		e := strongroom.NewAuditEvent(p, tenant, "record.create", "record", newID(), result)
		e.Time = at(i)
		e.Reason = fmt.Sprintf("reason %d", i)
		e.Metadata = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
		return e
	}
	appendAll := func(t *testing.T, tenant strongroom.TenantID, es []strongroom.AuditEvent) {
		t.Helper()
		mustWrite(t, s, store.TenantScope(tenant), func(tx *store.Tx) error {
			for i := range es {
				if err := tx.AppendAudit(ctx, &es[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	list := func(t *testing.T, tenant strongroom.TenantID, after int64, limit int) []strongroom.AuditEvent {
		t.Helper()
		return mustGet(t, s, store.TenantScope(tenant), func(ctx context.Context, tx *store.Tx) ([]strongroom.AuditEvent, error) {
			return tx.AuditEvents(ctx, after, limit)
		})
	}

	var written []strongroom.AuditEvent // a's events, in order
	t.Run("append assigns increasing seq", func(t *testing.T) {
		batch1 := []strongroom.AuditEvent{
			event(a.ID, 1, strongroom.ResultSuccess),
			event(a.ID, 2, strongroom.ResultFailure),
			event(a.ID, 3, strongroom.ResultDenied),
		}
		appendAll(t, a.ID, batch1)
		// Another tenant's events interleave in the same sequence space.
		appendAll(t, b.ID, []strongroom.AuditEvent{event(b.ID, 4, strongroom.ResultSuccess)})
		batch2 := []strongroom.AuditEvent{event(a.ID, 5, strongroom.ResultSuccess), event(a.ID, 6, strongroom.ResultSuccess)}
		appendAll(t, a.ID, batch2)
		written = append(append(written, batch1...), batch2...)
		for i := 1; i < len(written); i++ {
			if written[i].Seq <= written[i-1].Seq {
				t.Errorf("event %d has seq %d, not above the previous %d", i, written[i].Seq, written[i-1].Seq)
			}
		}
		if written[0].Seq <= 0 {
			t.Errorf("first seq = %d, want > 0", written[0].Seq)
		}
	})

	t.Run("read back", func(t *testing.T) {
		diff(t, "events", written, list(t, a.ID, 0, 0))
	})

	t.Run("read after seq with limit", func(t *testing.T) {
		tests := []struct {
			name  string
			after int64
			limit int
			want  []strongroom.AuditEvent
		}{
			{"first two", 0, 2, written[:2]},
			{"after the second", written[1].Seq, 2, written[2:4]},
			{"after the third, no limit", written[2].Seq, 0, written[3:]},
			{"after the last", written[len(written)-1].Seq, 10, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { diff(t, "events", tt.want, list(t, a.ID, tt.after, tt.limit)) })
		}
	})

	t.Run("defaults", func(t *testing.T) {
		c := mkOrg(t, s, "Initech")
		before := time.Now().Add(-time.Second)
		e := strongroom.NewAuditEvent(nil, c.ID, "session.end", "session", "s1", strongroom.ResultSuccess)
		appendAll(t, c.ID, []strongroom.AuditEvent{e})
		after := time.Now().Add(time.Second)
		got := list(t, c.ID, 0, 0)
		if len(got) != 1 {
			t.Fatalf("got %d events, want 1", len(got))
		}
		g := got[0]
		if g.Time.Before(before) || g.Time.After(after) {
			t.Errorf("a zero Time was stored as %v, want the store's clock (between %v and %v)", g.Time, before, after)
		}
		if g.ActorType != strongroom.PrincipalAnonymous {
			t.Errorf("ActorType = %q, want %q", g.ActorType, strongroom.PrincipalAnonymous)
		}
		if string(g.Metadata) != "{}" {
			t.Errorf("empty Metadata stored as %q, want {}", g.Metadata)
		}
	})

	t.Run("event of another tenant is refused", func(t *testing.T) {
		beforeA, beforeB := list(t, a.ID, 0, 0), list(t, b.ID, 0, 0)
		tests := []struct {
			name   string
			scope  store.Scope
			tenant strongroom.TenantID
		}{
			{"B's event bound to A", store.TenantScope(a.ID), b.ID},
			{"A's event bound to B", store.TenantScope(b.ID), a.ID},
			{"platform event bound to A", store.TenantScope(a.ID), strongroom.PlatformTenant},
			{"empty tenant bound to A", store.TenantScope(a.ID), ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := event(tt.tenant, 7, strongroom.ResultSuccess)
				err := s.Write(ctx, tt.scope, func(tx *store.Tx) error { return tx.AppendAudit(ctx, &e) })
				if err == nil {
					t.Fatal("AppendAudit succeeded")
				}
			})
		}
		diff(t, "A's events", beforeA, list(t, a.ID, 0, 0))
		diff(t, "B's events", beforeB, list(t, b.ID, 0, 0))
	})

	t.Run("platform tenant", func(t *testing.T) {
		e := event(strongroom.PlatformTenant, 8, strongroom.ResultSuccess)
		e.ActorType = strongroom.PrincipalOperator
		es := []strongroom.AuditEvent{e}
		appendAll(t, strongroom.PlatformTenant, es)
		diff(t, "platform events", es, list(t, strongroom.PlatformTenant, 0, 0))
	})
}
