package storetest

import (
	"fmt"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

func testRecordLists(t *testing.T, s *store.Store) {
	org := mkOrg(t, s, "Acme")
	ca := mkClient(t, s, org.ID, "Contoso")
	cb := mkClient(t, s, org.ID, "Fabrikam")

	t.Run("cursor pagination", func(t *testing.T) {
		coll := mkCollection(t, s, org.ID, "paged")
		var all []strongroom.Record
		for i := range 25 {
			all = append(all, mkRecord(t, s, org.ID, coll.ID, nil, fmt.Sprintf(`{"i":%d}`, i)))
		}
		all = sortedByID(all...)
		// Records of another collection never show up.
		noise := mkCollection(t, s, org.ID, "noise")
		mkRecord(t, s, org.ID, noise.ID, nil, `{}`)

		const limit = 10
		var got []strongroom.Record
		var sizes []int
		after := strongroom.RecordID("")
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("pagination does not end")
			}
			recs := listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: visAll, After: after, Limit: limit})
			if len(recs) == 0 {
				break
			}
			sizes = append(sizes, len(recs))
			got = append(got, recs...)
			after = recs[len(recs)-1].ID
			if len(recs) < limit {
				break
			}
		}
		diff(t, "page sizes", []int{10, 10, 5}, sizes)
		diff(t, "records over all pages", all, got)
		seen := map[strongroom.RecordID]bool{}
		for _, r := range got {
			if seen[r.ID] {
				t.Errorf("record %s on two pages", r.ID)
			}
			seen[r.ID] = true
		}
		// After the last record: nothing. No limit: all of them.
		diff(t, "page after the last", []strongroom.Record(nil),
			listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: visAll, After: all[24].ID, Limit: limit}))
		diff(t, "no limit", all, listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: visAll}))
		diff(t, "limit 1 after the first", all[1:2],
			listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: visAll, After: all[0].ID, Limit: 1}))
	})

	t.Run("term filters", func(t *testing.T) {
		coll := mkCollection(t, s, org.ID, "tickets", "status", "owner")
		r1 := mkRecord(t, s, org.ID, coll.ID, nil, `{"status":"open","owner":"ann"}`, term("status", "open"), term("owner", "ann"))
		r2 := mkRecord(t, s, org.ID, coll.ID, nil, `{"status":"open","owner":"bob"}`, term("status", "open"), term("owner", "bob"))
		r3 := mkRecord(t, s, org.ID, coll.ID, nil, `{"status":"closed","owner":"ann"}`, term("status", "closed"), term("owner", "ann"))
		r4 := mkRecord(t, s, org.ID, coll.ID, nil, `{}`)
		// The same term in another collection does not match.
		elsewhere := mkCollection(t, s, org.ID, "elsewhere", "status")
		mkRecord(t, s, org.ID, elsewhere.ID, nil, `{"status":"open"}`, term("status", "open"))

		tests := []struct {
			name  string
			terms []store.Term
			want  []strongroom.Record
		}{
			{"no terms", nil, sortedByID(r1, r2, r3, r4)},
			{"one term", []store.Term{term("status", "open")}, sortedByID(r1, r2)},
			{"one term, other field", []store.Term{term("owner", "ann")}, sortedByID(r1, r3)},
			{"two terms", []store.Term{term("status", "open"), term("owner", "ann")}, sortedByID(r1)},
			{"two terms, reversed", []store.Term{term("owner", "bob"), term("status", "open")}, sortedByID(r2)},
			{"two terms, no record has both", []store.Term{term("status", "closed"), term("owner", "bob")}, nil},
			{"unknown value", []store.Term{term("status", "archived")}, nil},
			{"term under another field", []store.Term{{Field: "owner", Term: term("status", "open").Term}}, nil},
			{"same term twice", []store.Term{term("status", "closed"), term("status", "closed")}, sortedByID(r3)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: visAll, Terms: tt.terms})
				diff(t, "records", tt.want, got)
			})
		}

		t.Run("paginated", func(t *testing.T) {
			q := store.RecordQuery{Collection: coll.ID, Visibility: visAll, Terms: []store.Term{term("owner", "ann")}, Limit: 1}
			want := sortedByID(r1, r3)
			first := listRecords(t, s, org.ID, q)
			diff(t, "first page", want[:1], first)
			q.After = first[0].ID
			diff(t, "second page", want[1:], listRecords(t, s, org.ID, q))
		})
	})

	t.Run("restricted visibility", func(t *testing.T) {
		coll := mkCollection(t, s, org.ID, "mixed", "kind")
		a1 := mkRecord(t, s, org.ID, coll.ID, &ca.ID, `{"kind":"x"}`, term("kind", "x"))
		b1 := mkRecord(t, s, org.ID, coll.ID, &cb.ID, `{"kind":"x"}`, term("kind", "x"))
		n1 := mkRecord(t, s, org.ID, coll.ID, nil, `{"kind":"x"}`, term("kind", "x"))
		a2 := mkRecord(t, s, org.ID, coll.ID, &ca.ID, `{"kind":"y"}`, term("kind", "y"))

		tests := []struct {
			name  string
			vis   strongroom.Visibility
			terms []store.Term
			want  []strongroom.Record
		}{
			{"all", visAll, nil, sortedByID(a1, b1, n1, a2)},
			{"client A", visOf(ca.ID), nil, sortedByID(a1, n1, a2)},
			{"client B", visOf(cb.ID), nil, sortedByID(b1, n1)},
			{"both clients", visOf(ca.ID, cb.ID), nil, sortedByID(a1, b1, n1, a2)},
			{"no client", visNone, nil, sortedByID(n1)},
			{"unknown client", visOf(strongroom.ClientID(newID())), nil, sortedByID(n1)},
			{"client B with a term", visOf(cb.ID), []store.Term{term("kind", "x")}, sortedByID(b1, n1)},
			{"client A with a term", visOf(ca.ID), []store.Term{term("kind", "y")}, sortedByID(a2)},
			{"client B with a term only A has", visOf(cb.ID), []store.Term{term("kind", "y")}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: tt.vis, Terms: tt.terms})
				diff(t, "records", tt.want, got)
			})
		}

		t.Run("paginated", func(t *testing.T) {
			var got []strongroom.Record
			q := store.RecordQuery{Collection: coll.ID, Visibility: visOf(cb.ID), Limit: 1}
			for range 5 {
				page := listRecords(t, s, org.ID, q)
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				q.After = page[len(page)-1].ID
			}
			diff(t, "records over pages", sortedByID(b1, n1), got)
		})
	})
}
