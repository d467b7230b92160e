package storetest

import (
	"context"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

func testClients(t *testing.T, s *store.Store) {
	ctx := t.Context()
	org := mkOrg(t, s, "Acme")
	scope := store.TenantScope(org.ID)
	northwind := mkClient(t, s, org.ID, "Northwind")
	contoso := mkClient(t, s, org.ID, "Contoso")
	fabrikam := mkClient(t, s, org.ID, "Fabrikam")
	w := func(fn func(tx *store.Tx) error) error { return s.Write(ctx, scope, fn) }
	list := func(t *testing.T, vis strongroom.Visibility) []strongroom.Client {
		t.Helper()
		return mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) ([]strongroom.Client, error) {
			return tx.Clients(ctx, vis)
		})
	}

	t.Run("create sets the tenant", func(t *testing.T) {
		if northwind.TenantID != org.ID {
			t.Errorf("CreateClient set TenantID %q, want %q", northwind.TenantID, org.ID)
		}
	})

	t.Run("read", func(t *testing.T) {
		tests := []struct {
			name string
			id   strongroom.ClientID
			want *strongroom.Client
			code string
		}{
			{"northwind", northwind.ID, &northwind, ""},
			{"contoso", contoso.ID, &contoso, ""},
			{"unknown", strongroom.ClientID(newID()), nil, strongroom.ENOTFOUND},
			{"empty ID", "", nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := readClient(t, s, org.ID, tt.id)
				wantCode(t, err, tt.code)
				diff(t, "client", tt.want, got)
			})
		}
	})

	t.Run("duplicate name", func(t *testing.T) {
		dup := strongroom.Client{ID: strongroom.ClientID(newID()), Name: "Contoso", CreatedAt: at(9)}
		wantCode(t, w(func(tx *store.Tx) error { return tx.CreateClient(ctx, &dup) }), strongroom.ECONFLICT)
		_, err := readClient(t, s, org.ID, dup.ID)
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("list with visibility", func(t *testing.T) {
		tests := []struct {
			name string
			vis  strongroom.Visibility
			want []strongroom.Client
		}{
			{"all, by name", strongroom.Visibility{All: true}, []strongroom.Client{contoso, fabrikam, northwind}},
			{"two assigned", strongroom.Visibility{Clients: []strongroom.ClientID{northwind.ID, contoso.ID}}, []strongroom.Client{contoso, northwind}},
			{"one assigned", strongroom.Visibility{Clients: []strongroom.ClientID{fabrikam.ID}}, []strongroom.Client{fabrikam}},
			{"none assigned", strongroom.Visibility{}, nil},
			{"unknown assigned", strongroom.Visibility{Clients: []strongroom.ClientID{strongroom.ClientID(newID())}}, nil},
			{"All wins over a list", strongroom.Visibility{All: true, Clients: []strongroom.ClientID{fabrikam.ID}}, []strongroom.Client{contoso, fabrikam, northwind}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { diff(t, "clients", tt.want, list(t, tt.vis)) })
		}
	})

	t.Run("rename", func(t *testing.T) {
		tests := []struct {
			name    string
			id      strongroom.ClientID
			newName string
			code    string
		}{
			{"to a free name", fabrikam.ID, "Fabrikam Ltd", ""},
			{"to its own name", fabrikam.ID, "Fabrikam Ltd", ""},
			{"to a taken name", fabrikam.ID, "Contoso", strongroom.ECONFLICT},
			{"unknown client", strongroom.ClientID(newID()), "Ghost", strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, w(func(tx *store.Tx) error { return tx.RenameClient(ctx, tt.id, tt.newName) }), tt.code)
			})
		}
		want := fabrikam
		want.Name = "Fabrikam Ltd"
		got, err := readClient(t, s, org.ID, fabrikam.ID)
		wantCode(t, err, "")
		diff(t, "renamed client", &want, got)
		got, _ = readClient(t, s, org.ID, contoso.ID)
		diff(t, "other client", &contoso, got)
		fabrikam = want
	})

	t.Run("delete", func(t *testing.T) {
		coll := mkCollection(t, s, org.ID, "invoices")
		r := mkRecord(t, s, org.ID, coll.ID, &northwind.ID, `{"n":1}`)

		// Refused while the client owns a record.
		wantCode(t, w(func(tx *store.Tx) error { return tx.DeleteClient(ctx, northwind.ID) }), strongroom.ECONFLICT)
		got, err := readClient(t, s, org.ID, northwind.ID)
		wantCode(t, err, "")
		diff(t, "client after refused delete", &northwind, got)

		mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.DeleteRecord(ctx, coll.ID, r.ID, r.Version) })
		wantCode(t, w(func(tx *store.Tx) error { return tx.DeleteClient(ctx, northwind.ID) }), "")
		_, err = readClient(t, s, org.ID, northwind.ID)
		wantCode(t, err, strongroom.ENOTFOUND)
		diff(t, "clients after delete", []strongroom.Client{contoso, fabrikam}, list(t, strongroom.Visibility{All: true}))

		wantCode(t, w(func(tx *store.Tx) error { return tx.DeleteClient(ctx, northwind.ID) }), strongroom.ENOTFOUND)
		wantCode(t, w(func(tx *store.Tx) error { return tx.DeleteClient(ctx, strongroom.ClientID(newID())) }), strongroom.ENOTFOUND)

		// The name is free again.
		mkClient(t, s, org.ID, "Northwind")
	})
}

func testCollections(t *testing.T, s *store.Store) {
	ctx := t.Context()
	org := mkOrg(t, s, "Acme")
	scope := store.TenantScope(org.ID)
	w := func(fn func(tx *store.Tx) error) error { return s.Write(ctx, scope, fn) }
	invoices := strongroom.Collection{
		ID:         strongroom.CollectionID(newID()),
		Name:       "invoices",
		Schema:     []byte(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"total":{"type":"number"}}}`),
		Searchable: []string{"customer.name", "status"},
		CreatedAt:  at(3),
	}
	mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.CreateCollection(ctx, &invoices) })
	contacts := mkCollection(t, s, org.ID, "contacts", "email")
	bare := mkCollection(t, s, org.ID, "bare")
	byName := func(name string) (*strongroom.Collection, error) {
		return get(t, s, scope, func(ctx context.Context, tx *store.Tx) (*strongroom.Collection, error) {
			return tx.CollectionByName(ctx, name)
		})
	}
	list := func(t *testing.T) []strongroom.Collection {
		t.Helper()
		return mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) ([]strongroom.Collection, error) {
			return tx.Collections(ctx)
		})
	}

	t.Run("create sets the tenant", func(t *testing.T) {
		if invoices.TenantID != org.ID {
			t.Errorf("CreateCollection set TenantID %q, want %q", invoices.TenantID, org.ID)
		}
	})

	t.Run("by name", func(t *testing.T) {
		tests := []struct {
			name string
			want *strongroom.Collection
			code string
		}{
			{"invoices", &invoices, ""},
			{"contacts", &contacts, ""},
			{"bare", &bare, ""},
			{"Invoices", nil, strongroom.ENOTFOUND}, // names are case-sensitive
			{"unknown", nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := byName(tt.name)
				wantCode(t, err, tt.code)
				diff(t, "collection", tt.want, got)
			})
		}
	})

	t.Run("duplicate name", func(t *testing.T) {
		dup := strongroom.Collection{ID: strongroom.CollectionID(newID()), Name: "invoices", Schema: []byte(`{}`), CreatedAt: at(9)}
		wantCode(t, w(func(tx *store.Tx) error { return tx.CreateCollection(ctx, &dup) }), strongroom.ECONFLICT)
		got, _ := byName("invoices")
		diff(t, "collection after duplicate", &invoices, got)
	})

	t.Run("list by name", func(t *testing.T) {
		diff(t, "collections", []strongroom.Collection{bare, contacts, invoices}, list(t))
	})

	t.Run("delete cascades records", func(t *testing.T) {
		tm := term("email", "ann@example.com")
		r1 := mkRecord(t, s, org.ID, contacts.ID, nil, `{"email":"ann@example.com"}`, tm)
		r2 := mkRecord(t, s, org.ID, contacts.ID, nil, `{"email":"bob@example.com"}`)
		kept := mkRecord(t, s, org.ID, invoices.ID, nil, `{"total":12.5}`)

		wantCode(t, w(func(tx *store.Tx) error { return tx.DeleteCollection(ctx, contacts.ID) }), "")
		_, err := byName("contacts")
		wantCode(t, err, strongroom.ENOTFOUND)
		for _, r := range []strongroom.Record{r1, r2} {
			_, err := readRecord(t, s, org.ID, contacts.ID, r.ID, strongroom.Visibility{All: true})
			wantCode(t, err, strongroom.ENOTFOUND)
		}
		n := mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) (int64, error) { return tx.CountRecords(ctx, contacts.ID) })
		if n != 0 {
			t.Errorf("CountRecords of a deleted collection = %d, want 0", n)
		}
		got := listRecords(t, s, org.ID, store.RecordQuery{Collection: contacts.ID, Visibility: strongroom.Visibility{All: true}, Terms: []store.Term{tm}})
		diff(t, "records by term of a deleted collection", []strongroom.Record(nil), got)

		// Other collections keep their records.
		gotKept, err := readRecord(t, s, org.ID, invoices.ID, kept.ID, strongroom.Visibility{All: true})
		wantCode(t, err, "")
		diff(t, "record of another collection", &kept, gotKept)
		diff(t, "collections after delete", []strongroom.Collection{bare, invoices}, list(t))

		// Deleting again, or an unknown collection, is not found.
		wantCode(t, w(func(tx *store.Tx) error { return tx.DeleteCollection(ctx, contacts.ID) }), strongroom.ENOTFOUND)
		wantCode(t, w(func(tx *store.Tx) error { return tx.DeleteCollection(ctx, strongroom.CollectionID(newID())) }), strongroom.ENOTFOUND)

		// The name is free again, and the new collection starts empty, even
		// for a term the old one had.
		again := mkCollection(t, s, org.ID, "contacts", "email")
		got = listRecords(t, s, org.ID, store.RecordQuery{Collection: again.ID, Visibility: strongroom.Visibility{All: true}})
		diff(t, "records of a re-created collection", []strongroom.Record(nil), got)
	})
}
