package service

import (
	"context"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/store"
)

type memberKey struct {
	tenant strongroom.TenantID
	user   strongroom.UserID
}

// EnterOrg resolves the principal's membership in org and returns a principal
// carrying it. A principal who is not a member gets ENOTFOUND, exactly as for an
// organization that does not exist, and the attempt is audited as denied.
func (s *Service) EnterOrg(ctx context.Context, org strongroom.TenantID) (*strongroom.Principal, error) {
	p := strongroom.PrincipalFrom(ctx)
	if !p.Authenticated() {
		return nil, strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	if !ValidID(string(org)) {
		return nil, s.Authorize(ctx, access.OrgRead, access.Resource{Tenant: org})
	}
	term, err := s.activeTermination(ctx, org)
	if err != nil {
		return nil, err
	}
	if p.Kind == strongroom.PrincipalAPIKey {
		if term != nil && p.APIKey != nil && p.APIKey.TenantID == org {
			s.auditDenied(ctx, org, string(access.OrgRead), "organization terminated: its API keys no longer work")
			return nil, strongroom.Errorf(strongroom.EUNAUTHORIZED, "this API key no longer works")
		}
		return s.enterOrgWithKey(ctx, org)
	}
	key := memberKey{org, p.UserID}
	gen := s.members.generation() // before the lookup: see cache
	m, ok := s.members.get(key)
	if !ok {
		err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
			var err error
			m, err = tx.Member(ctx, p.UserID)
			return err
		})
		if err != nil && strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
			return nil, err
		}
		if m != nil {
			s.members.putAt(key, m, gen)
		}
	}
	if m == nil {
		return nil, s.Authorize(ctx, access.OrgRead, access.Resource{Tenant: org})
	}
	if term != nil && m.Role != strongroom.RoleAdmin {
		// Terminated: gone for everyone but its Admins (LIF-03).
		s.auditDenied(ctx, org, string(access.OrgRead), "organization terminated")
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "not found")
	}
	if err := s.checkOrgPolicy(ctx, org, p, m); err != nil {
		return nil, err
	}
	q := *p
	q.Membership = m
	q.OrgTerminated = term != nil
	return &q, nil
}

func (s *Service) forgetMember(org strongroom.TenantID, user strongroom.UserID) {
	s.members.del(memberKey{org, user})
}

// Organization returns the organization in ctx's principal membership.
func (s *Service) Organization(ctx context.Context, org strongroom.TenantID) (*strongroom.OrgMembership, error) {
	if err := s.Authorize(ctx, access.OrgRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	var o *strongroom.Organization
	err := s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		o, err = tx.Organization(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &strongroom.OrgMembership{Organization: *o, Role: strongroom.PrincipalFrom(ctx).Membership.Role}, nil
}

// Members lists an organization's members.
func (s *Service) Members(ctx context.Context, org strongroom.TenantID) ([]strongroom.Membership, error) {
	if err := s.Authorize(ctx, access.MembersRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	var out []strongroom.Membership
	err := s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		out, err = tx.Members(ctx)
		return err
	})
	return out, err
}

// Member returns one member with their client assignments.
func (s *Service) Member(ctx context.Context, org strongroom.TenantID, user strongroom.UserID) (*strongroom.Membership, error) {
	if err := s.Authorize(ctx, access.MembersRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if !ValidID(string(user)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "member not found")
	}
	var m *strongroom.Membership
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		m, err = tx.Member(ctx, user)
		return err
	})
	return m, err
}

// AddMember adds an existing account, found by e-mail, with a role. (Invitations
// of people without an account arrive with the identity work.)
func (s *Service) AddMember(ctx context.Context, org strongroom.TenantID, email string, role strongroom.Role) (*strongroom.Membership, error) {
	if err := s.Authorize(ctx, access.MembersWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	norm, err := NormalizeEmail("/email", email)
	if err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, validation("/role", "must be one of admin, editor, viewer")
	}
	if err := s.admits(ctx, org, norm); err != nil {
		return nil, err
	}
	var m *strongroom.Membership
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		u, err := tx.UserByEmail(ctx, norm)
		if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			return validation("/email", "no account has this e-mail address")
		}
		if err != nil {
			return err
		}
		m = &strongroom.Membership{UserID: u.ID, Role: role, CreatedAt: s.clock(), Email: u.Email}
		if err := tx.AddMember(ctx, m); err != nil {
			return err
		}
		return audit(ctx, tx, "member.add", "user", string(u.ID), map[string]string{"role": string(role)})
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// SetMemberRole changes a member's role. The last Admin cannot be demoted.
func (s *Service) SetMemberRole(ctx context.Context, org strongroom.TenantID, user strongroom.UserID, role strongroom.Role) (*strongroom.Membership, error) {
	if err := s.Authorize(ctx, access.MembersWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, validation("/role", "must be one of admin, editor, viewer")
	}
	if !ValidID(string(user)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "member not found")
	}
	var m *strongroom.Membership
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		cur, err := tx.Member(ctx, user)
		if err != nil {
			return err
		}
		if err := s.keepAnAdmin(ctx, tx, cur, role); err != nil {
			return err
		}
		if err := tx.SetMemberRole(ctx, user, role); err != nil {
			return err
		}
		cur.Role = role
		m = cur
		return audit(ctx, tx, "member.role_change", "user", string(user), map[string]string{"role": string(role)})
	})
	s.forgetMember(org, user)
	return m, err
}

// keepAnAdmin refuses a change that would leave the organization without Admin.
func (s *Service) keepAnAdmin(ctx context.Context, tx *store.Tx, cur *strongroom.Membership, newRole strongroom.Role) error {
	if cur.Role != strongroom.RoleAdmin || newRole == strongroom.RoleAdmin {
		return nil
	}
	n, err := tx.CountAdmins(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return strongroom.Errorf(strongroom.ECONFLICT, "an organization must keep at least one Admin")
	}
	return nil
}

// RemoveMember ends a membership. The last Admin cannot be removed.
func (s *Service) RemoveMember(ctx context.Context, org strongroom.TenantID, user strongroom.UserID) error {
	if err := s.Authorize(ctx, access.MembersWrite, access.Resource{Tenant: org}); err != nil {
		return err
	}
	if !ValidID(string(user)) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "member not found")
	}
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		cur, err := tx.Member(ctx, user)
		if err != nil {
			return err
		}
		if err := s.keepAnAdmin(ctx, tx, cur, ""); err != nil {
			return err
		}
		if err := tx.RemoveMember(ctx, user); err != nil {
			return err
		}
		return audit(ctx, tx, "member.remove", "user", string(user), nil)
	})
	s.forgetMember(org, user)
	return err
}

// SetMemberClients limits an Editor or Viewer to the given clients (empty: no
// limit). Admins always see everything, so assigning them is refused.
func (s *Service) SetMemberClients(ctx context.Context, org strongroom.TenantID, user strongroom.UserID, clients []strongroom.ClientID) (*strongroom.Membership, error) {
	if err := s.Authorize(ctx, access.MembersWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if !ValidID(string(user)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "member not found")
	}
	if len(clients) > 1000 {
		return nil, validation("/client_ids", "at most 1000 clients")
	}
	for i, c := range clients {
		if !ValidID(string(c)) {
			return nil, validation("/client_ids/"+itoa(i), "must be a client ID")
		}
	}
	var m *strongroom.Membership
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		cur, err := tx.Member(ctx, user)
		if err != nil {
			return err
		}
		if cur.Role == strongroom.RoleAdmin && len(clients) > 0 {
			return validation("/client_ids", "Admins see every client and cannot be limited")
		}
		if err := tx.SetClientAssignments(ctx, user, clients); err != nil {
			if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
				return validation("/client_ids", "every client must exist in this organization")
			}
			return err
		}
		if m, err = tx.Member(ctx, user); err != nil {
			return err
		}
		return audit(ctx, tx, "member.clients_set", "user", string(user), map[string]int{"clients": len(m.Clients)})
	})
	s.forgetMember(org, user)
	return m, err
}
