package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// tenantData is one tenant of the isolation tests, with a row in every
// tenant-owned table.
type tenantData struct {
	Org        strongroom.Organization
	Admins     []strongroom.User
	Editor     strongroom.User // limited to Client
	Client     strongroom.Client
	Spare      strongroom.Client // owns no records
	Collection strongroom.Collection
	Record     strongroom.Record // owned by Client
	Open       strongroom.Record // no client
	Term       store.Term        // indexed for Record and Open
}

// seedTenant creates a tenant with the given number of admins, an editor limited
// to one client, a collection with two records and their terms, and audit events.
func seedTenant(t testing.TB, s *store.Store, name string, admins int) tenantData {
	t.Helper()
	ctx := t.Context()
	d := tenantData{Org: mkOrg(t, s, name)}
	for i := range admins {
		u := mkUser(t, s, name+"-admin-"+string(rune('a'+i))+"@example.com")
		addMember(t, s, d.Org.ID, u, strongroom.RoleAdmin)
		d.Admins = append(d.Admins, u)
	}
	d.Editor = mkUser(t, s, name+"-editor@example.com")
	addMember(t, s, d.Org.ID, d.Editor, strongroom.RoleEditor)
	d.Client = mkClient(t, s, d.Org.ID, name+" client")
	d.Spare = mkClient(t, s, d.Org.ID, name+" spare")
	mustWrite(t, s, store.TenantScope(d.Org.ID), func(tx *store.Tx) error {
		return tx.SetClientAssignments(ctx, d.Editor.ID, []strongroom.ClientID{d.Client.ID})
	})
	d.Collection = mkCollection(t, s, d.Org.ID, name+" records", "kind")
	d.Term = term("kind", name)
	d.Record = mkRecord(t, s, d.Org.ID, d.Collection.ID, &d.Client.ID, `{"tenant":"`+name+`","client":true}`, d.Term)
	d.Open = mkRecord(t, s, d.Org.ID, d.Collection.ID, nil, `{"tenant":"`+name+`"}`, d.Term)
	mustWrite(t, s, store.TenantScope(d.Org.ID), func(tx *store.Tx) error {
		e := strongroom.NewAuditEvent(nil, d.Org.ID, "org.create", "organization", string(d.Org.ID), strongroom.ResultSuccess)
		e.Time = at(0)
		return tx.AppendAudit(ctx, &e)
	})
	return d
}

// tenantSnapshot is everything a tenant-bound transaction can read of a tenant.
type tenantSnapshot struct {
	Org         *strongroom.Organization
	Members     []*strongroom.Membership // with client assignments
	Admins      int
	Clients     []strongroom.Client
	Collections []strongroom.Collection
	Records     [][]strongroom.Record // per collection
	ByTerm      []strongroom.Record   // records of d.Collection with d.Term
	Audit       []strongroom.AuditEvent
}

func snapshot(t testing.TB, s *store.Store, d tenantData) tenantSnapshot {
	t.Helper()
	var snap tenantSnapshot
	mustRead(t, s, store.TenantScope(d.Org.ID), func(tx *store.Tx) error {
		ctx := t.Context()
		var err error
		if snap.Org, err = tx.Organization(ctx); err != nil {
			return err
		}
		ms, err := tx.Members(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			full, err := tx.Member(ctx, m.UserID)
			if err != nil {
				return err
			}
			snap.Members = append(snap.Members, full)
		}
		if snap.Admins, err = tx.CountAdmins(ctx); err != nil {
			return err
		}
		if snap.Clients, err = tx.Clients(ctx, visAll); err != nil {
			return err
		}
		if snap.Collections, err = tx.Collections(ctx); err != nil {
			return err
		}
		for _, c := range snap.Collections {
			rs, err := tx.Records(ctx, store.RecordQuery{Collection: c.ID, Visibility: visAll})
			if err != nil {
				return err
			}
			snap.Records = append(snap.Records, rs)
		}
		if snap.ByTerm, err = tx.Records(ctx, store.RecordQuery{Collection: d.Collection.ID, Visibility: visAll, Terms: []store.Term{d.Term}}); err != nil {
			return err
		}
		snap.Audit, err = tx.AuditEvents(ctx, 0, 0)
		return err
	})
	return snap
}

// readCase is a read method run in a transaction bound to tenant B.
type readCase struct {
	name string
	code string // expected error code; "" for success
	want any    // expected result on success
	run  func(ctx context.Context, tx *store.Tx) (any, error)
}

func testTenantIsolation(t *testing.T, s *store.Store) {
	a := seedTenant(t, s, "alpha", 2)
	b := seedTenant(t, s, "beta", 1)
	before := snapshot(t, s, a)
	beforeB := snapshot(t, s, b)
	if len(before.Records) != 1 || len(before.Records[0]) != 2 || len(before.ByTerm) != 2 || len(before.Audit) == 0 {
		t.Fatalf("tenant A was not seeded as expected: %+v", before)
	}

	t.Run("reads bound to B do not see A", func(t *testing.T) {
		bOrgs := []strongroom.OrgMembership{{Organization: b.Org, Role: strongroom.RoleAdmin}}
		aColl := a.Collection.ID
		tests := []readCase{
			{"Organization is B's", "", beforeB.Org, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.Organization(ctx) }},
			{"UserOrganizations of B's admin", "", bOrgs, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.UserOrganizations(ctx) }},
			{"Member of A's admin", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.Member(ctx, a.Admins[0].ID) }},
			{"Member of A's editor", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.Member(ctx, a.Editor.ID) }},
			{"Members are B's", "", derefMembers(beforeB.Members), func(ctx context.Context, tx *store.Tx) (any, error) { return tx.Members(ctx) }},
			{"CountAdmins is B's", "", 1, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.CountAdmins(ctx) }},
			{"Client of A", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.Client(ctx, a.Client.ID) }},
			{"Clients are B's", "", beforeB.Clients, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.Clients(ctx, visAll) }},
			{"Clients limited to A's client", "", []strongroom.Client(nil), func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.Clients(ctx, visOf(a.Client.ID, a.Spare.ID))
			}},
			{"CollectionByName of A's", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.CollectionByName(ctx, a.Collection.Name)
			}},
			{"Collections are B's", "", beforeB.Collections, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.Collections(ctx) }},
			{"Record of A", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.Record(ctx, aColl, a.Record.ID, visAll)
			}},
			{"Record of A without client", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.Record(ctx, aColl, a.Open.ID, visNone)
			}},
			{"Record of A in B's collection", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.Record(ctx, b.Collection.ID, a.Record.ID, visAll)
			}},
			{"Records of A's collection", "", []strongroom.Record(nil), func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.Records(ctx, store.RecordQuery{Collection: aColl, Visibility: visAll})
			}},
			{"Records of A's collection by A's term", "", []strongroom.Record(nil), func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.Records(ctx, store.RecordQuery{Collection: aColl, Visibility: visAll, Terms: []store.Term{a.Term}})
			}},
			{"Records of A's collection limited to A's client", "", []strongroom.Record(nil), func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.Records(ctx, store.RecordQuery{Collection: aColl, Visibility: visOf(a.Client.ID)})
			}},
			{"Records of B's collection by A's term", "", []strongroom.Record(nil), func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.Records(ctx, store.RecordQuery{Collection: b.Collection.ID, Visibility: visAll, Terms: []store.Term{a.Term}})
			}},
			{"CountRecords of A's collection", "", int64(0), func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.CountRecords(ctx, aColl)
			}},
			{"AuditEvents are B's", "", beforeB.Audit, func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.AuditEvents(ctx, 0, 0)
			}},
			{"AuditEvents after 0 with a limit are B's", "", beforeB.Audit, func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.AuditEvents(ctx, 0, 1000)
			}},
		}
		scope := store.Scope{Tenant: b.Org.ID, User: b.Admins[0].ID}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := get(t, s, scope, tt.run)
				wantCode(t, err, tt.code)
				if tt.code == "" {
					diff(t, "result", tt.want, got)
				}
			})
		}
	})

	t.Run("writes bound to B change nothing of A", func(t *testing.T) {
		aRecordV2 := a.Record
		aRecordV2.Version, aRecordV2.Data, aRecordV2.UpdatedAt = 2, []byte(`{"stolen":true}`), at(30)
		aOpenV2 := a.Open
		aOpenV2.Version, aOpenV2.Data, aOpenV2.ClientID = 2, []byte(`{}`), &b.Client.ID
		inA := newRecord(a.Collection.ID, nil, `{"planted":true}`)
		withAClient := newRecord(b.Collection.ID, &a.Client.ID, `{"planted":true}`)
		anyError := []string{strongroom.EINTERNAL, strongroom.ENOTFOUND, strongroom.EPRECONDITION, strongroom.ECONFLICT}
		tests := []struct {
			name  string
			codes []string // acceptable error codes; "" allows success
			run   func(ctx context.Context, tx *store.Tx) error
		}{
			{"CreateOrganization with A's ID", anyError, func(ctx context.Context, tx *store.Tx) error {
				return tx.CreateOrganization(ctx, &strongroom.Organization{ID: a.Org.ID, Name: "taken over", CreatedAt: at(30)})
			}},
			{"SetMemberRole of A's editor", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.SetMemberRole(ctx, a.Editor.ID, strongroom.RoleAdmin)
			}},
			{"RemoveMember of A's admin", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.RemoveMember(ctx, a.Admins[0].ID)
			}},
			{"SetClientAssignments of A's editor", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.SetClientAssignments(ctx, a.Editor.ID, []strongroom.ClientID{a.Spare.ID})
			}},
			// Clearing may succeed (there is nothing of B's to clear), but must
			// leave A's assignments alone.
			{"SetClientAssignments of A's editor to nothing", []string{"", strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.SetClientAssignments(ctx, a.Editor.ID, nil)
			}},
			{"SetClientAssignments of B's editor to A's client", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.SetClientAssignments(ctx, b.Editor.ID, []strongroom.ClientID{a.Client.ID})
			}},
			{"RenameClient of A's client", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.RenameClient(ctx, a.Client.ID, "renamed by B")
			}},
			{"DeleteClient of A's client with records", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.DeleteClient(ctx, a.Client.ID)
			}},
			{"DeleteClient of A's spare client", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.DeleteClient(ctx, a.Spare.ID)
			}},
			{"DeleteCollection of A's", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.DeleteCollection(ctx, a.Collection.ID)
			}},
			{"CreateRecord in A's collection", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.CreateRecord(ctx, &inA, []store.Term{a.Term})
			}},
			{"CreateRecord owned by A's client", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.CreateRecord(ctx, &withAClient, nil)
			}},
			{"UpdateRecord of A's record", []string{strongroom.ENOTFOUND, strongroom.EPRECONDITION}, func(ctx context.Context, tx *store.Tx) error {
				return tx.UpdateRecord(ctx, &aRecordV2, []store.Term{term("kind", "stolen")})
			}},
			{"UpdateRecord of A's record to B's client", []string{strongroom.ENOTFOUND, strongroom.EPRECONDITION}, func(ctx context.Context, tx *store.Tx) error {
				return tx.UpdateRecord(ctx, &aOpenV2, nil)
			}},
			{"DeleteRecord of A's record", []string{strongroom.ENOTFOUND, strongroom.EPRECONDITION}, func(ctx context.Context, tx *store.Tx) error {
				return tx.DeleteRecord(ctx, a.Collection.ID, a.Record.ID, a.Record.Version)
			}},
			{"AppendAudit for A", anyError, func(ctx context.Context, tx *store.Tx) error {
				e := strongroom.NewAuditEvent(nil, a.Org.ID, "record.delete", "record", string(a.Record.ID), strongroom.ResultSuccess)
				return tx.AppendAudit(ctx, &e)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.Write(t.Context(), store.TenantScope(b.Org.ID), func(tx *store.Tx) error { return tt.run(t.Context(), tx) })
				if err == nil && !slices.Contains(tt.codes, "") {
					t.Fatal("write succeeded")
				}
				wantCode(t, err, tt.codes...)
				diff(t, "tenant A", before, snapshot(t, s, a))
				diff(t, "tenant B", beforeB, snapshot(t, s, b))
			})
		}
	})

	t.Run("same IDs in two tenants stay apart", func(t *testing.T) {
		ctx := t.Context()
		c := strongroom.Client{ID: a.Client.ID, Name: a.Client.Name, CreatedAt: at(40)}
		coll := strongroom.Collection{ID: a.Collection.ID, Name: a.Collection.Name, Schema: []byte(`{}`), CreatedAt: at(40)}
		r := newRecord(a.Collection.ID, &a.Client.ID, `{"tenant":"beta, same IDs"}`)
		r.ID = a.Record.ID
		mustWrite(t, s, store.TenantScope(b.Org.ID), func(tx *store.Tx) error {
			if err := tx.CreateClient(ctx, &c); err != nil {
				return err
			}
			if err := tx.CreateCollection(ctx, &coll); err != nil {
				return err
			}
			return tx.CreateRecord(ctx, &r, []store.Term{a.Term})
		})
		diff(t, "tenant A", before, snapshot(t, s, a))

		gotC, err := readClient(t, s, b.Org.ID, a.Client.ID)
		wantCode(t, err, "")
		diff(t, "B's client with A's ID", &c, gotC)
		gotR, err := readRecord(t, s, b.Org.ID, a.Collection.ID, a.Record.ID, visAll)
		wantCode(t, err, "")
		diff(t, "B's record with A's IDs", &r, gotR)

		// Changing B's copies leaves A's alone.
		r2 := r
		r2.Version, r2.Data = 2, []byte(`{"changed":true}`)
		mustWrite(t, s, store.TenantScope(b.Org.ID), func(tx *store.Tx) error {
			if err := tx.UpdateRecord(ctx, &r2, nil); err != nil {
				return err
			}
			if err := tx.DeleteRecord(ctx, r2.CollectionID, r2.ID, r2.Version); err != nil {
				return err
			}
			if err := tx.RenameClient(ctx, c.ID, "beta's own"); err != nil {
				return err
			}
			if err := tx.DeleteClient(ctx, c.ID); err != nil {
				return err
			}
			return tx.DeleteCollection(ctx, coll.ID)
		})
		diff(t, "tenant A after B changed its copies", before, snapshot(t, s, a))
	})
}

func derefMembers(ms []*strongroom.Membership) []strongroom.Membership {
	out := make([]strongroom.Membership, len(ms))
	for i, m := range ms {
		out[i] = *m // Members lists client assignments as Member does
	}
	return out
}

// testUnboundScope checks that every tenant-table method refuses to run in a
// transaction bound to no tenant, instead of running unscoped.
func testUnboundScope(t *testing.T, s *store.Store) {
	a := seedTenant(t, s, "alpha", 1)
	before := snapshot(t, s, a)
	rec := newRecord(a.Collection.ID, nil, `{}`)
	recV2 := a.Open
	recV2.Version = 2
	c := strongroom.Client{ID: strongroom.ClientID(newID()), Name: "unbound", CreatedAt: at(0)}
	coll := strongroom.Collection{ID: strongroom.CollectionID(newID()), Name: "unbound", Schema: []byte(`{}`), CreatedAt: at(0)}
	org := strongroom.Organization{ID: "", Name: "unbound", CreatedAt: at(0)}
	m := strongroom.Membership{UserID: a.Editor.ID, Role: strongroom.RoleAdmin, CreatedAt: at(0)}
	e := strongroom.NewAuditEvent(nil, "", "x", "", "", strongroom.ResultSuccess)
	eA := strongroom.NewAuditEvent(nil, a.Org.ID, "x", "", "", strongroom.ResultSuccess)
	// A's own key and invitation, which an unscoped query would find, and new
	// ones to create.
	key, newKey := newAPIKey(a.Admins[0].ID, "alpha", 0), newAPIKey(a.Admins[0].ID, "unbound", 0)
	inv, newInv := newInvitation(a.Admins[0].ID, "alpha@example.com", 0), newInvitation(a.Admins[0].ID, "unbound@example.com", 0)
	mkAPIKeys(t, s, a.Org.ID, &key)
	mkInvitations(t, s, a.Org.ID, &inv)

	type method struct {
		name  string
		write bool
		run   func(ctx context.Context, tx *store.Tx) error
	}
	ignore := func(_ any, err error) error { return err }
	methods := []method{
		{"CreateOrganization", true, func(ctx context.Context, tx *store.Tx) error { return tx.CreateOrganization(ctx, &org) }},
		{"Organization", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.Organization(ctx)) }},
		{"AddMember", true, func(ctx context.Context, tx *store.Tx) error { return tx.AddMember(ctx, &m) }},
		{"Member", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.Member(ctx, a.Editor.ID)) }},
		{"Members", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.Members(ctx)) }},
		{"SetMemberRole", true, func(ctx context.Context, tx *store.Tx) error {
			return tx.SetMemberRole(ctx, a.Editor.ID, strongroom.RoleAdmin)
		}},
		{"RemoveMember", true, func(ctx context.Context, tx *store.Tx) error { return tx.RemoveMember(ctx, a.Editor.ID) }},
		{"CountAdmins", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.CountAdmins(ctx)) }},
		{"SetClientAssignments", true, func(ctx context.Context, tx *store.Tx) error {
			return tx.SetClientAssignments(ctx, a.Editor.ID, nil)
		}},
		{"CreateClient", true, func(ctx context.Context, tx *store.Tx) error { return tx.CreateClient(ctx, &c) }},
		{"Client", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.Client(ctx, a.Client.ID)) }},
		{"Clients", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.Clients(ctx, visAll)) }},
		{"RenameClient", true, func(ctx context.Context, tx *store.Tx) error { return tx.RenameClient(ctx, a.Client.ID, "x") }},
		{"DeleteClient", true, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteClient(ctx, a.Spare.ID) }},
		{"CreateCollection", true, func(ctx context.Context, tx *store.Tx) error { return tx.CreateCollection(ctx, &coll) }},
		{"CollectionByName", false, func(ctx context.Context, tx *store.Tx) error {
			return ignore(tx.CollectionByName(ctx, a.Collection.Name))
		}},
		{"Collections", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.Collections(ctx)) }},
		{"DeleteCollection", true, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteCollection(ctx, a.Collection.ID) }},
		{"CreateRecord", true, func(ctx context.Context, tx *store.Tx) error { return tx.CreateRecord(ctx, &rec, nil) }},
		{"Record", false, func(ctx context.Context, tx *store.Tx) error {
			return ignore(tx.Record(ctx, a.Collection.ID, a.Open.ID, visAll))
		}},
		{"UpdateRecord", true, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateRecord(ctx, &recV2, nil) }},
		{"DeleteRecord", true, func(ctx context.Context, tx *store.Tx) error {
			return tx.DeleteRecord(ctx, a.Collection.ID, a.Open.ID, a.Open.Version)
		}},
		{"Records", false, func(ctx context.Context, tx *store.Tx) error {
			return ignore(tx.Records(ctx, store.RecordQuery{Collection: a.Collection.ID, Visibility: visAll}))
		}},
		{"CountRecords", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.CountRecords(ctx, a.Collection.ID)) }},
		{"AppendAudit, no tenant", true, func(ctx context.Context, tx *store.Tx) error { return tx.AppendAudit(ctx, &e) }},
		{"AppendAudit, tenant A", true, func(ctx context.Context, tx *store.Tx) error { return tx.AppendAudit(ctx, &eA) }},
		{"AuditEvents", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.AuditEvents(ctx, 0, 0)) }},
		{"OrgSettings", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.OrgSettings(ctx)) }},
		{"SetOrgSettings", true, func(ctx context.Context, tx *store.Tx) error {
			return tx.SetOrgSettings(ctx, &strongroom.OrgSettings{MFARequired: true}, at(0))
		}},
		{"CreateAPIKey", true, func(ctx context.Context, tx *store.Tx) error { return tx.CreateAPIKey(ctx, &newKey) }},
		{"APIKey", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.APIKey(ctx, key.ID)) }},
		{"APIKeyBySecretHash", false, func(ctx context.Context, tx *store.Tx) error {
			return ignore(tx.APIKeyBySecretHash(ctx, key.SecretHash))
		}},
		{"APIKeys", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.APIKeys(ctx)) }},
		{"RevokeAPIKey", true, func(ctx context.Context, tx *store.Tx) error { return tx.RevokeAPIKey(ctx, key.ID, at(0)) }},
		{"RotateAPIKey", true, func(ctx context.Context, tx *store.Tx) error { return tx.RotateAPIKey(ctx, key.ID, key.ID, at(0)) }},
		{"TouchAPIKey", true, func(ctx context.Context, tx *store.Tx) error { return tx.TouchAPIKey(ctx, key.ID, at(0)) }},
		{"CreateInvitation", true, func(ctx context.Context, tx *store.Tx) error { return tx.CreateInvitation(ctx, &newInv) }},
		{"Invitation", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.Invitation(ctx, inv.ID)) }},
		{"InvitationByTokenHash", false, func(ctx context.Context, tx *store.Tx) error {
			return ignore(tx.InvitationByTokenHash(ctx, inv.TokenHash))
		}},
		{"Invitations", false, func(ctx context.Context, tx *store.Tx) error { return ignore(tx.Invitations(ctx)) }},
		{"AcceptInvitation", true, func(ctx context.Context, tx *store.Tx) error {
			return tx.AcceptInvitation(ctx, inv.ID, a.Editor.ID, at(0))
		}},
		{"RevokeInvitation", true, func(ctx context.Context, tx *store.Tx) error { return tx.RevokeInvitation(ctx, inv.ID, at(0)) }},
	}
	scopes := []struct {
		name  string
		scope store.Scope
	}{
		{"no scope", store.Scope{}},
		{"user only", store.Scope{User: a.Admins[0].ID}},
	}
	errNotReached := errors.New("method returned no error")
	for _, sc := range scopes {
		for _, m := range methods {
			t.Run(sc.name+"/"+m.name, func(t *testing.T) {
				run := func(tx *store.Tx) error {
					if err := m.run(t.Context(), tx); err != nil {
						return err
					}
					return errNotReached
				}
				err := s.Write(t.Context(), sc.scope, run)
				if err == nil || errors.Is(err, errNotReached) {
					t.Errorf("in a write transaction: %v", err)
				}
				if !m.write {
					err := s.Read(t.Context(), sc.scope, run)
					if err == nil || errors.Is(err, errNotReached) {
						t.Errorf("in a read transaction: %v", err)
					}
				}
			})
		}
	}
	diff(t, "tenant A", before, snapshot(t, s, a))
	inA := store.TenantScope(a.Org.ID)
	diff(t, "A's API keys", []strongroom.APIKey{key}, mustGet(t, s, inA, func(ctx context.Context, tx *store.Tx) ([]strongroom.APIKey, error) {
		return tx.APIKeys(ctx)
	}))
	diff(t, "A's invitations", []strongroom.Invitation{inv}, mustGet(t, s, inA, func(ctx context.Context, tx *store.Tx) ([]strongroom.Invitation, error) {
		return tx.Invitations(ctx)
	}))
	diff(t, "A's settings", &strongroom.OrgSettings{}, mustGet(t, s, inA, func(ctx context.Context, tx *store.Tx) (*strongroom.OrgSettings, error) {
		return tx.OrgSettings(ctx)
	}))
}
