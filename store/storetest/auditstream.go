package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// testAuditStream covers what the audit streamer reads and writes: sealed
// events in global seq order across tenants, and the cursor per sink.
func testAuditStream(t *testing.T, s *store.Store) {
	ctx := t.Context()
	a := mkOrg(t, s, "Acme")
	b := mkOrg(t, s, "Globex")
	c := mkOrg(t, s, "Initech")

	// add appends one event of tenant and returns it as stored.
	add := func(t *testing.T, tenant strongroom.TenantID, i int) strongroom.AuditEvent {
		t.Helper()
		e := strongroom.NewAuditEvent(nil, tenant, "record.create", "record", newID(), strongroom.ResultSuccess)
		e.Time = at(i)
		e.Reason = fmt.Sprintf("event %d", i)
		e.Metadata = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
		mustWrite(t, s, store.TenantScope(tenant), func(tx *store.Tx) error { return tx.AppendAudit(ctx, &e) })
		return e
	}
	// seal appends seals of events (one tenant's, in order) after prevSeq.
	seal := func(t *testing.T, prevSeq int64, events ...strongroom.AuditEvent) {
		t.Helper()
		seals := make([]store.AuditSeal, len(events))
		for i, e := range events {
			seals[i] = store.AuditSeal{Seq: e.Seq, Hash: hash(fmt.Sprint(e.Seq))}
		}
		mustWrite(t, s, store.TenantScope(events[0].TenantID), func(tx *store.Tx) error {
			return tx.AppendAuditSeals(ctx, prevSeq, seals)
		})
	}
	sealed := func(es ...strongroom.AuditEvent) []store.SealedAuditEvent {
		out := make([]store.SealedAuditEvent, len(es))
		for i, e := range es {
			out[i] = store.SealedAuditEvent{AuditEvent: e, Hash: hash(fmt.Sprint(e.Seq))}
		}
		return out
	}
	page := func(t *testing.T, after int64, limit int) store.SealedAuditPage {
		t.Helper()
		p, err := s.SealedAuditEvents(ctx, after, limit)
		if err != nil {
			t.Fatalf("SealedAuditEvents(%d, %d): %v", after, limit, err)
		}
		return p
	}

	// The tenants' events interleave in the one sequence: a1 b1 a2 b2 a3.
	a1, b1, a2, b2, a3 := add(t, a.ID, 1), add(t, b.ID, 2), add(t, a.ID, 3), add(t, b.ID, 4), add(t, a.ID, 5)

	t.Run("nothing sealed: an empty page", func(t *testing.T) {
		diff(t, "page", store.SealedAuditPage{Through: 0}, page(t, 0, 100))
	})

	t.Run("stops before the first event still to be sealed", func(t *testing.T) {
		seal(t, 0, a1, a2)
		// b1 lies between a1 and a2 and is not sealed yet: a2 must wait for it.
		diff(t, "page", store.SealedAuditPage{Events: sealed(a1), Through: a1.Seq}, page(t, 0, 100))
		diff(t, "page after a1", store.SealedAuditPage{Through: a1.Seq}, page(t, a1.Seq, 100))
	})

	t.Run("every tenant in seq order", func(t *testing.T) {
		seal(t, 0, b1, b2)
		diff(t, "page", store.SealedAuditPage{Events: sealed(a1, b1, a2, b2), Through: b2.Seq}, page(t, 0, 100))
	})

	t.Run("pages by limit", func(t *testing.T) {
		p := page(t, 0, 3)
		diff(t, "first page", store.SealedAuditPage{Events: sealed(a1, b1, a2), Through: a2.Seq}, p)
		diff(t, "second page", store.SealedAuditPage{Events: sealed(b2), Through: b2.Seq}, page(t, p.Through, 3))
		diff(t, "third page", store.SealedAuditPage{Through: b2.Seq}, page(t, b2.Seq, 3))
	})

	t.Run("an event that never will be sealed is reported, not waited for", func(t *testing.T) {
		// c1 has no seal but c2 after it does: c1 can never join the chain.
		c1, c2 := add(t, c.ID, 6), add(t, c.ID, 7)
		seal(t, a2.Seq, a3)
		seal(t, 0, c2)
		want := store.SealedAuditPage{
			Events:     sealed(a3, c2),
			Unsealable: []store.AuditRef{{Tenant: c.ID, Seq: c1.Seq}},
			Through:    c2.Seq,
		}
		diff(t, "page", want, page(t, b2.Seq, 100))
		// A page of nothing but such an event still moves past it.
		diff(t, "page of one", store.SealedAuditPage{Events: sealed(a3), Through: a3.Seq}, page(t, b2.Seq, 1))
		diff(t, "page of the unsealable event", store.SealedAuditPage{Unsealable: want.Unsealable, Through: c1.Seq}, page(t, a3.Seq, 1))
	})

	t.Run("the platform's chain is streamed too", func(t *testing.T) {
		p1 := add(t, strongroom.PlatformTenant, 8)
		before := page(t, 0, 100)
		seal(t, 0, p1)
		got := page(t, before.Through, 100)
		diff(t, "page", store.SealedAuditPage{Events: sealed(p1), Through: p1.Seq}, got)
	})

	t.Run("cursor per sink, forward only", func(t *testing.T) {
		cursor := func(sink string) int64 {
			t.Helper()
			n, err := s.AuditStreamCursor(ctx, sink)
			if err != nil {
				t.Fatalf("AuditStreamCursor(%s): %v", sink, err)
			}
			return n
		}
		advance := func(sink string, seq int64) {
			t.Helper()
			if err := s.AdvanceAuditStreamCursor(ctx, sink, seq, at(9)); err != nil {
				t.Fatalf("AdvanceAuditStreamCursor(%s, %d): %v", sink, seq, err)
			}
		}
		if n := cursor("webhook:https://siem.example.com/in"); n != 0 {
			t.Errorf("a new sink's cursor = %d, want 0", n)
		}
		steps := []struct {
			sink string
			seq  int64
			want int64
		}{
			{"webhook:https://siem.example.com/in", 5, 5},
			{"webhook:https://siem.example.com/in", 9, 9},
			{"webhook:https://siem.example.com/in", 3, 9}, // a late streamer does not move it back
			{"webhook:https://siem.example.com/in", 9, 9},
			{"file:/var/log/strongroom/audit.jsonl", 4, 4},
		}
		for _, st := range steps {
			advance(st.sink, st.seq)
			if got := cursor(st.sink); got != st.want {
				t.Errorf("after advancing %s to %d: cursor = %d, want %d", st.sink, st.seq, got, st.want)
			}
		}
		if got := cursor("webhook:https://siem.example.com/in"); got != 9 {
			t.Errorf("another sink's progress moved the webhook's cursor to %d", got)
		}
		for _, bad := range []struct {
			sink string
			seq  int64
		}{{"", 1}, {"file:x", -1}} {
			if err := s.AdvanceAuditStreamCursor(ctx, bad.sink, bad.seq, at(9)); err == nil {
				t.Errorf("AdvanceAuditStreamCursor(%q, %d) succeeded", bad.sink, bad.seq)
			}
		}
	})
}
