package storetest

import (
	"context"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

var (
	visAll  = strongroom.Visibility{All: true}
	visNone = strongroom.Visibility{} // assigned to no client: sees only records without one
)

func visOf(ids ...strongroom.ClientID) strongroom.Visibility {
	return strongroom.Visibility{Clients: ids}
}

func testRecords(t *testing.T, s *store.Store) {
	ctx := t.Context()
	org := mkOrg(t, s, "Acme")
	scope := store.TenantScope(org.ID)
	ca := mkClient(t, s, org.ID, "Contoso")
	cb := mkClient(t, s, org.ID, "Fabrikam")
	coll := mkCollection(t, s, org.ID, "tickets", "status")
	other := mkCollection(t, s, org.ID, "notes")
	w := func(fn func(tx *store.Tx) error) error { return s.Write(ctx, scope, fn) }

	ofA := mkRecord(t, s, org.ID, coll.ID, &ca.ID, `{"status":"open","n":1}`, term("status", "open"))
	open := mkRecord(t, s, org.ID, coll.ID, nil, `{"status":"closed","n":2}`, term("status", "closed"))

	t.Run("create sets the tenant", func(t *testing.T) {
		if ofA.TenantID != org.ID {
			t.Errorf("CreateRecord set TenantID %q, want %q", ofA.TenantID, org.ID)
		}
	})

	t.Run("get with visibility", func(t *testing.T) {
		tests := []struct {
			name string
			rec  strongroom.Record
			vis  strongroom.Visibility
			code string
		}{
			{"client record, all", ofA, visAll, ""},
			{"client record, its client", ofA, visOf(ca.ID), ""},
			{"client record, its client among others", ofA, visOf(cb.ID, ca.ID), ""},
			{"client record, another client", ofA, visOf(cb.ID), strongroom.ENOTFOUND},
			{"client record, no client", ofA, visNone, strongroom.ENOTFOUND},
			{"client record, unknown client", ofA, visOf(strongroom.ClientID(newID())), strongroom.ENOTFOUND},
			{"no-client record, all", open, visAll, ""},
			{"no-client record, a client", open, visOf(ca.ID), ""},
			{"no-client record, another client", open, visOf(cb.ID), ""},
			{"no-client record, no client", open, visNone, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := readRecord(t, s, org.ID, coll.ID, tt.rec.ID, tt.vis)
				wantCode(t, err, tt.code)
				if tt.code == "" {
					diff(t, "record", &tt.rec, got)
				} else if got != nil {
					t.Errorf("invisible record returned: %+v", got)
				}
			})
		}
	})

	t.Run("get missing", func(t *testing.T) {
		tests := []struct {
			name string
			coll strongroom.CollectionID
			id   strongroom.RecordID
		}{
			{"unknown ID", coll.ID, strongroom.RecordID(newID())},
			{"wrong collection", other.ID, ofA.ID},
			{"unknown collection", strongroom.CollectionID(newID()), ofA.ID},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := readRecord(t, s, org.ID, tt.coll, tt.id, visAll)
				wantCode(t, err, strongroom.ENOTFOUND)
			})
		}
	})

	t.Run("create errors", func(t *testing.T) {
		unknownClient := strongroom.ClientID(newID())
		dupID := newRecord(coll.ID, nil, `{"dup":true}`)
		dupID.ID = ofA.ID
		tests := []struct {
			name  string
			rec   strongroom.Record
			codes []string
		}{
			{"unknown client", newRecord(coll.ID, &unknownClient, `{}`), []string{strongroom.ENOTFOUND}},
			{"unknown collection", newRecord(strongroom.CollectionID(newID()), nil, `{}`), []string{strongroom.ENOTFOUND}},
			{"taken ID", dupID, []string{strongroom.ECONFLICT, strongroom.EINTERNAL}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := w(func(tx *store.Tx) error { return tx.CreateRecord(ctx, &tt.rec, []store.Term{term("status", "x")}) })
				if err == nil {
					t.Fatal("CreateRecord succeeded")
				}
				wantCode(t, err, tt.codes...)
			})
		}
		got, _ := readRecord(t, s, org.ID, coll.ID, ofA.ID, visAll)
		diff(t, "record after refused duplicate", &ofA, got)
		byX := listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: visAll, Terms: []store.Term{term("status", "x")}})
		diff(t, "terms of refused creates", []strongroom.Record(nil), byX)
	})

	t.Run("update", func(t *testing.T) {
		r := mkRecord(t, s, org.ID, coll.ID, &ca.ID, `{"status":"open","v":1}`, term("status", "open"))
		byStatus := func(status string) []strongroom.RecordID {
			var ids []strongroom.RecordID
			for _, x := range listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: visAll, Terms: []store.Term{term("status", status)}}) {
				if x.ID == r.ID {
					ids = append(ids, x.ID)
				}
			}
			return ids
		}

		v2 := r
		v2.Version, v2.Data, v2.ClientID, v2.UpdatedAt = 2, []byte(`{"status":"pending","v":2}`), &cb.ID, at(10)
		wantCode(t, w(func(tx *store.Tx) error { return tx.UpdateRecord(ctx, &v2, []store.Term{term("status", "pending")}) }), "")
		got, err := readRecord(t, s, org.ID, coll.ID, r.ID, visAll)
		wantCode(t, err, "")
		diff(t, "updated record", &v2, got)
		// The terms were replaced, and the new client governs visibility.
		diff(t, "old term", []strongroom.RecordID(nil), byStatus("open"))
		diff(t, "new term", []strongroom.RecordID{r.ID}, byStatus("pending"))
		_, err = readRecord(t, s, org.ID, coll.ID, r.ID, visOf(ca.ID))
		wantCode(t, err, strongroom.ENOTFOUND)

		// A stale version is refused and changes nothing.
		stale := v2
		stale.Data, stale.UpdatedAt = []byte(`{"status":"stale"}`), at(11) // Version 2 expects version 1 stored
		wantCode(t, w(func(tx *store.Tx) error { return tx.UpdateRecord(ctx, &stale, []store.Term{term("status", "stale")}) }), strongroom.EPRECONDITION)
		skipped := v2
		skipped.Version = 4 // expects version 3
		wantCode(t, w(func(tx *store.Tx) error { return tx.UpdateRecord(ctx, &skipped, nil) }), strongroom.EPRECONDITION)
		got, _ = readRecord(t, s, org.ID, coll.ID, r.ID, visAll)
		diff(t, "record after stale updates", &v2, got)
		diff(t, "term after stale updates", []strongroom.RecordID{r.ID}, byStatus("pending"))
		diff(t, "term of a stale update", []strongroom.RecordID(nil), byStatus("stale"))

		// An unknown client is not found and changes nothing.
		bad := v2
		bad.Version, bad.ClientID = 3, ptr(strongroom.ClientID(newID()))
		wantCode(t, w(func(tx *store.Tx) error { return tx.UpdateRecord(ctx, &bad, nil) }), strongroom.ENOTFOUND)
		got, _ = readRecord(t, s, org.ID, coll.ID, r.ID, visAll)
		diff(t, "record after unknown client", &v2, got)

		// Moving to no client makes it visible to everyone; no terms removes them.
		v3 := v2
		v3.Version, v3.ClientID, v3.Data, v3.UpdatedAt = 3, nil, []byte(`{"v":3}`), at(12)
		wantCode(t, w(func(tx *store.Tx) error { return tx.UpdateRecord(ctx, &v3, nil) }), "")
		got, err = readRecord(t, s, org.ID, coll.ID, r.ID, visNone)
		wantCode(t, err, "")
		diff(t, "record without client", &v3, got)
		diff(t, "terms after update without terms", []strongroom.RecordID(nil), byStatus("pending"))

		// A missing record cannot be updated.
		ghost := newRecord(coll.ID, nil, `{}`)
		ghost.Version = 2
		err = w(func(tx *store.Tx) error { return tx.UpdateRecord(ctx, &ghost, nil) })
		wantCode(t, err, strongroom.ENOTFOUND, strongroom.EPRECONDITION)
		_, err = readRecord(t, s, org.ID, coll.ID, ghost.ID, visAll)
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("delete", func(t *testing.T) {
		r := mkRecord(t, s, org.ID, coll.ID, &ca.ID, `{"status":"doomed"}`, term("status", "doomed"))
		del := func(coll strongroom.CollectionID, id strongroom.RecordID, version int64) error {
			return w(func(tx *store.Tx) error { return tx.DeleteRecord(ctx, coll, id, version) })
		}
		wantCode(t, del(coll.ID, r.ID, 2), strongroom.EPRECONDITION)
		wantCode(t, del(coll.ID, r.ID, 0), strongroom.EPRECONDITION)
		wantCode(t, del(other.ID, r.ID, 1), strongroom.ENOTFOUND, strongroom.EPRECONDITION)
		got, err := readRecord(t, s, org.ID, coll.ID, r.ID, visAll)
		wantCode(t, err, "")
		diff(t, "record after refused deletes", &r, got)

		wantCode(t, del(coll.ID, r.ID, 1), "")
		_, err = readRecord(t, s, org.ID, coll.ID, r.ID, visAll)
		wantCode(t, err, strongroom.ENOTFOUND)
		byTerm := listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: visAll, Terms: []store.Term{term("status", "doomed")}})
		diff(t, "terms of a deleted record", []strongroom.Record(nil), byTerm)
		wantCode(t, del(coll.ID, r.ID, 1), strongroom.ENOTFOUND, strongroom.EPRECONDITION)

		// The others are still there.
		for _, keep := range []strongroom.Record{ofA, open} {
			got, err := readRecord(t, s, org.ID, coll.ID, keep.ID, visAll)
			wantCode(t, err, "")
			diff(t, "kept record", &keep, got)
		}
	})

	t.Run("count", func(t *testing.T) {
		c := mkCollection(t, s, org.ID, "counted")
		for _, cl := range []*strongroom.ClientID{&ca.ID, &cb.ID, nil, nil} {
			mkRecord(t, s, org.ID, c.ID, cl, `{}`)
		}
		n := mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) (int64, error) { return tx.CountRecords(ctx, c.ID) })
		if n != 4 {
			t.Errorf("CountRecords = %d, want 4 (all clients)", n)
		}
		n = mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) (int64, error) {
			return tx.CountRecords(ctx, strongroom.CollectionID(newID()))
		})
		if n != 0 {
			t.Errorf("CountRecords of an unknown collection = %d, want 0", n)
		}
	})
}
