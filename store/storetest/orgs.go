package storetest

import (
	"context"
	"slices"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

func testOrganizations(t *testing.T, s *store.Store) {
	ctx := t.Context()
	ann := mkUser(t, s, "ann@example.com")
	bob := mkUser(t, s, "bob@example.com")
	carol := mkUser(t, s, "carol@example.com")
	acme := mkOrg(t, s, "Acme")
	globex := mkOrg(t, s, "Globex")
	initech := mkOrg(t, s, "Initech")
	addMember(t, s, acme.ID, ann, strongroom.RoleAdmin)
	addMember(t, s, acme.ID, bob, strongroom.RoleViewer)
	addMember(t, s, globex.ID, ann, strongroom.RoleEditor)
	addMember(t, s, initech.ID, bob, strongroom.RoleAdmin)

	t.Run("read back", func(t *testing.T) {
		for _, want := range []strongroom.Organization{acme, globex, initech} {
			got, err := get(t, s, store.TenantScope(want.ID), func(ctx context.Context, tx *store.Tx) (*strongroom.Organization, error) {
				return tx.Organization(ctx)
			})
			wantCode(t, err, "")
			diff(t, "organization", &want, got)
		}
	})

	t.Run("missing organization", func(t *testing.T) {
		_, err := get(t, s, store.TenantScope(strongroom.TenantID(newID())), func(ctx context.Context, tx *store.Tx) (*strongroom.Organization, error) {
			return tx.Organization(ctx)
		})
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("ID must be the bound tenant", func(t *testing.T) {
		o := strongroom.Organization{ID: strongroom.TenantID(newID()), Name: "Umbrella", CreatedAt: at(0)}
		err := s.Write(ctx, store.TenantScope(acme.ID), func(tx *store.Tx) error { return tx.CreateOrganization(ctx, &o) })
		if err == nil {
			t.Fatal("CreateOrganization for another tenant than the bound one succeeded")
		}
		_, err = get(t, s, store.TenantScope(o.ID), func(ctx context.Context, tx *store.Tx) (*strongroom.Organization, error) {
			return tx.Organization(ctx)
		})
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("duplicate ID", func(t *testing.T) {
		o := strongroom.Organization{ID: acme.ID, Name: "Acme again", CreatedAt: at(9)}
		err := s.Write(ctx, store.TenantScope(acme.ID), func(tx *store.Tx) error { return tx.CreateOrganization(ctx, &o) })
		if err == nil {
			t.Fatal("CreateOrganization with a taken ID succeeded")
		}
	})

	t.Run("user organizations", func(t *testing.T) {
		tests := []struct {
			name  string
			scope store.Scope
			want  []strongroom.OrgMembership
		}{
			{"ann", store.Scope{User: ann.ID}, []strongroom.OrgMembership{
				{Organization: acme, Role: strongroom.RoleAdmin},
				{Organization: globex, Role: strongroom.RoleEditor},
			}},
			{"bob", store.Scope{User: bob.ID}, []strongroom.OrgMembership{
				{Organization: acme, Role: strongroom.RoleViewer},
				{Organization: initech, Role: strongroom.RoleAdmin},
			}},
			{"carol, member of none", store.Scope{User: carol.ID}, nil},
			{"unknown user", store.Scope{User: strongroom.UserID(newID())}, nil},
			// A bound tenant the user is not a member of adds nothing.
			{"ann, bound to initech", store.Scope{Tenant: initech.ID, User: ann.ID}, []strongroom.OrgMembership{
				{Organization: acme, Role: strongroom.RoleAdmin},
				{Organization: globex, Role: strongroom.RoleEditor},
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := get(t, s, tt.scope, func(ctx context.Context, tx *store.Tx) ([]strongroom.OrgMembership, error) {
					return tx.UserOrganizations(ctx)
				})
				wantCode(t, err, "")
				diff(t, "organizations", tt.want, got)
			})
		}
	})

	t.Run("user organizations need a bound user", func(t *testing.T) {
		for _, scope := range []store.Scope{{}, store.TenantScope(acme.ID)} {
			if _, err := get(t, s, scope, func(ctx context.Context, tx *store.Tx) ([]strongroom.OrgMembership, error) {
				return tx.UserOrganizations(ctx)
			}); err == nil {
				t.Errorf("UserOrganizations with scope %+v succeeded", scope)
			}
		}
	})
}

func testMembers(t *testing.T, s *store.Store) {
	ctx := t.Context()
	org := mkOrg(t, s, "Acme")
	ann := mkUser(t, s, "ann@example.com")
	bob := mkUser(t, s, "bob@example.com")
	carol := mkUser(t, s, "carol@example.com")
	c1 := mkClient(t, s, org.ID, "Contoso")
	c2 := mkClient(t, s, org.ID, "Fabrikam")
	c3 := mkClient(t, s, org.ID, "Northwind")
	mAnn := addMember(t, s, org.ID, ann, strongroom.RoleAdmin)
	mBob := addMember(t, s, org.ID, bob, strongroom.RoleEditor)
	scope := store.TenantScope(org.ID)
	w := func(fn func(tx *store.Tx) error) error { return s.Write(ctx, scope, fn) }
	member := func(t *testing.T, u strongroom.UserID) *strongroom.Membership {
		t.Helper()
		m, err := readMember(t, s, org.ID, u)
		if err != nil {
			t.Fatalf("Member(%s): %v", u, err)
		}
		return m
	}
	countAdmins := func(t *testing.T) int {
		t.Helper()
		return mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) (int, error) { return tx.CountAdmins(ctx) })
	}
	sortedClients := func(ids ...strongroom.ClientID) []strongroom.ClientID {
		out := slices.Clone(ids)
		slices.Sort(out)
		return out
	}

	t.Run("add and read", func(t *testing.T) {
		want := mAnn
		want.TenantID = org.ID
		diff(t, "member", &want, member(t, ann.ID))
		if mBob.TenantID != org.ID {
			t.Errorf("AddMember set TenantID %q, want %q", mBob.TenantID, org.ID)
		}
	})

	t.Run("add errors", func(t *testing.T) {
		tests := []struct {
			name string
			m    strongroom.Membership
			code string
		}{
			{"duplicate", strongroom.Membership{UserID: bob.ID, Role: strongroom.RoleViewer, CreatedAt: at(9)}, strongroom.ECONFLICT},
			{"unknown user", strongroom.Membership{UserID: strongroom.UserID(newID()), Role: strongroom.RoleViewer, CreatedAt: at(9)}, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := w(func(tx *store.Tx) error { return tx.AddMember(ctx, &tt.m) })
				wantCode(t, err, tt.code)
			})
		}
		// The duplicate changed nothing.
		if got := member(t, bob.ID).Role; got != strongroom.RoleEditor {
			t.Errorf("role after duplicate AddMember = %q, want %q", got, strongroom.RoleEditor)
		}
		if _, err := readMember(t, s, org.ID, carol.ID); strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
			t.Errorf("Member(non-member) = %v, want ENOTFOUND", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		got := mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) ([]strongroom.Membership, error) {
			return tx.Members(ctx)
		})
		a, b := mAnn, mBob
		a.TenantID, b.TenantID = org.ID, org.ID
		diff(t, "members", []strongroom.Membership{a, b}, got)
	})

	t.Run("role change and admin count", func(t *testing.T) {
		if n := countAdmins(t); n != 1 {
			t.Fatalf("CountAdmins = %d, want 1", n)
		}
		steps := []struct {
			role   strongroom.Role
			admins int
		}{
			{strongroom.RoleAdmin, 2},
			{strongroom.RoleViewer, 1},
			{strongroom.RoleEditor, 1},
		}
		for _, st := range steps {
			if err := w(func(tx *store.Tx) error { return tx.SetMemberRole(ctx, bob.ID, st.role) }); err != nil {
				t.Fatalf("SetMemberRole(%s): %v", st.role, err)
			}
			if got := member(t, bob.ID).Role; got != st.role {
				t.Errorf("role = %q, want %q", got, st.role)
			}
			if n := countAdmins(t); n != st.admins {
				t.Errorf("after role %s: CountAdmins = %d, want %d", st.role, n, st.admins)
			}
		}
		err := w(func(tx *store.Tx) error { return tx.SetMemberRole(ctx, carol.ID, strongroom.RoleAdmin) })
		wantCode(t, err, strongroom.ENOTFOUND)
		if n := countAdmins(t); n != 1 {
			t.Errorf("CountAdmins after refused role change = %d, want 1", n)
		}
	})

	t.Run("client assignments", func(t *testing.T) {
		unknown := strongroom.ClientID(newID())
		tests := []struct {
			name    string
			user    strongroom.UserID
			clients []strongroom.ClientID
			code    string
			want    []strongroom.ClientID // bob's assignments afterwards
		}{
			{"assign two, with a repeat", bob.ID, []strongroom.ClientID{c2.ID, c1.ID, c2.ID}, "", sortedClients(c1.ID, c2.ID)},
			{"replace", bob.ID, []strongroom.ClientID{c3.ID}, "", []strongroom.ClientID{c3.ID}},
			{"unknown client changes nothing", bob.ID, []strongroom.ClientID{c1.ID, unknown}, strongroom.ENOTFOUND, []strongroom.ClientID{c3.ID}},
			{"not a member", carol.ID, []strongroom.ClientID{c1.ID}, strongroom.ENOTFOUND, []strongroom.ClientID{c3.ID}},
			{"clear", bob.ID, nil, "", nil},
			{"all three", bob.ID, []strongroom.ClientID{c1.ID, c2.ID, c3.ID}, "", sortedClients(c1.ID, c2.ID, c3.ID)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := w(func(tx *store.Tx) error { return tx.SetClientAssignments(ctx, tt.user, tt.clients) })
				wantCode(t, err, tt.code)
				diff(t, "assignments", tt.want, member(t, bob.ID).Clients)
			})
		}
		// Another member's assignments are separate.
		if got := member(t, ann.ID).Clients; len(got) != 0 {
			t.Errorf("ann's assignments = %v, want none", got)
		}
	})

	t.Run("deleting a client removes its assignments", func(t *testing.T) {
		mustWrite(t, s, scope, func(tx *store.Tx) error {
			return tx.SetClientAssignments(ctx, bob.ID, []strongroom.ClientID{c1.ID, c2.ID})
		})
		mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.DeleteClient(ctx, c2.ID) })
		diff(t, "assignments", []strongroom.ClientID{c1.ID}, member(t, bob.ID).Clients)
	})

	t.Run("remove", func(t *testing.T) {
		if err := w(func(tx *store.Tx) error { return tx.RemoveMember(ctx, bob.ID) }); err != nil {
			t.Fatalf("RemoveMember: %v", err)
		}
		_, err := readMember(t, s, org.ID, bob.ID)
		wantCode(t, err, strongroom.ENOTFOUND)
		got := mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) ([]strongroom.Membership, error) {
			return tx.Members(ctx)
		})
		a := mAnn
		a.TenantID = org.ID
		diff(t, "members after remove", []strongroom.Membership{a}, got)
		wantCode(t, w(func(tx *store.Tx) error { return tx.RemoveMember(ctx, bob.ID) }), strongroom.ENOTFOUND)
		wantCode(t, w(func(tx *store.Tx) error { return tx.RemoveMember(ctx, carol.ID) }), strongroom.ENOTFOUND)

		// The assignments went with the membership: a new membership starts
		// unrestricted.
		addMember(t, s, org.ID, bob, strongroom.RoleViewer)
		if got := member(t, bob.ID).Clients; len(got) != 0 {
			t.Errorf("assignments of a re-added member = %v, want none", got)
		}
	})
}
