package service

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/store"
)

// Invitations: an Admin invites an address with a role and client
// assignments; the e-mailed link works once, until it expires (7 days).
// Accepting creates the account (the link proved the address) or, for an
// existing account, needs that account signed in.

// InvitationTTL is how long an invitation can be accepted.
const InvitationTTL = 7 * 24 * time.Hour

// InvitationInput describes an invitation.
type InvitationInput struct {
	Email   string
	Role    strongroom.Role
	Clients []strongroom.ClientID
}

// Invite creates an invitation and e-mails its link.
func (s *Service) Invite(ctx context.Context, org strongroom.TenantID, in InvitationInput) (*strongroom.Invitation, error) {
	if err := s.Authorize(ctx, access.InvitationsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	email, err := NormalizeEmail("/email", in.Email)
	if err != nil {
		return nil, err
	}
	if !in.Role.Valid() {
		return nil, validation("/role", "must be one of admin, editor, viewer")
	}
	if in.Role == strongroom.RoleAdmin && len(in.Clients) > 0 {
		return nil, validation("/client_ids", "Admins cannot be limited to clients")
	}
	for i, c := range in.Clients {
		if !ValidID(string(c)) {
			return nil, validation(fmt.Sprintf("/client_ids/%d", i), "must be a client ID")
		}
	}
	set, err := s.orgSettings(ctx, org)
	if err != nil {
		return nil, err
	}
	if !domainAllowed(set, email) {
		return nil, validation("/email", "this organization only admits addresses at: %s", strings.Join(set.AllowedEmailDomains, ", "))
	}
	token, hash, err := authn.NewToken(s.rand, authn.InvitationPrefix)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	now := s.clock()
	inv := strongroom.Invitation{ID: strongroom.InvitationID(id), Email: email, Role: in.Role, Clients: in.Clients,
		TokenHash: hash, InvitedBy: strongroom.PrincipalFrom(ctx).UserID, CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	var orgName string
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		o, err := tx.Organization(ctx)
		if err != nil {
			return err
		}
		orgName = o.Name
		for _, c := range in.Clients {
			if _, err := tx.Client(ctx, c); err != nil {
				return err
			}
		}
		if err := tx.CreateInvitation(ctx, &inv); err != nil {
			return err
		}
		return audit(ctx, tx, "invitation.create", "invitation", id, map[string]any{"role": in.Role, "clients": len(in.Clients)})
	})
	if err != nil {
		return nil, err
	}
	link := s.link("/invitations/accept", url.Values{"token": {token}})
	s.deliver(mail.Message{To: email, Kind: "invitation", Subject: "You are invited to an organization on Strongroom",
		Text: fmt.Sprintf("You are invited to join %q on Strongroom as %s.\n\nOpen this link to accept:\n%s\n\n"+
			"The link works once, until %s.\n", orgName, in.Role, link, inv.ExpiresAt.Format(time.RFC1123))})
	return &inv, nil
}

// admits refuses an address outside the organization's allowed e-mail
// domains, which limit members as well as invitations.
func (s *Service) admits(ctx context.Context, org strongroom.TenantID, email string) error {
	set, err := s.orgSettings(ctx, org)
	if err != nil {
		return err
	}
	if !domainAllowed(set, email) {
		return validation("/email", "this organization only admits addresses at: %s", strings.Join(set.AllowedEmailDomains, ", "))
	}
	return nil
}

func domainAllowed(set *strongroom.OrgSettings, email string) bool {
	if len(set.AllowedEmailDomains) == 0 {
		return true
	}
	_, domain, _ := strings.Cut(email, "@")
	return slices.Contains(set.AllowedEmailDomains, domain)
}

// Invitations lists the organization's invitations.
func (s *Service) Invitations(ctx context.Context, org strongroom.TenantID) ([]strongroom.Invitation, error) {
	if err := s.Authorize(ctx, access.InvitationsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	var list []strongroom.Invitation
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		list, err = tx.Invitations(ctx)
		return err
	})
	return list, err
}

// RevokeInvitation withdraws an open invitation.
func (s *Service) RevokeInvitation(ctx context.Context, org strongroom.TenantID, id strongroom.InvitationID) error {
	if err := s.Authorize(ctx, access.InvitationsWrite, access.Resource{Tenant: org}); err != nil {
		return err
	}
	if !ValidID(string(id)) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "invitation not found")
	}
	return s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.RevokeInvitation(ctx, id, s.clock()); err != nil {
			return err
		}
		return audit(ctx, tx, "invitation.revoke", "invitation", string(id), nil)
	})
}

// AcceptInput accepts an invitation. Password is needed only to create a new
// account; a signed-in principal accepts for its own account.
type AcceptInput struct {
	Token    string
	Password string
}

// Accepted is the outcome: the membership, and a session when the account was
// created.
type Accepted struct {
	Membership strongroom.Membership
	Grant      *SessionGrant
}

var errBadInvitation = strongroom.Errorf(strongroom.ENOTFOUND, "the invitation is invalid, used, revoked or expired")

// AcceptInvitation spends an invitation: it adds the signed-in user (whose
// address must be the invited one) or a new account to the organization.
func (s *Service) AcceptInvitation(ctx context.Context, in AcceptInput, cookie bool) (*Accepted, error) {
	p := strongroom.PrincipalFrom(ctx)
	if err := s.guards.admitAuth(p.IP, ""); err != nil {
		return nil, err
	}
	if !authn.WellFormed(in.Token, authn.InvitationPrefix) {
		return nil, errBadInvitation
	}
	hash := authn.HashToken(in.Token)
	var org strongroom.TenantID
	var inv *strongroom.Invitation
	err := s.store.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		org, err = tx.TokenTenant(ctx, "invitation", hash)
		return err
	})
	if err == nil {
		err = s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
			var err error
			inv, err = tx.InvitationByTokenHash(ctx, hash)
			return err
		})
	}
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return nil, errBadInvitation
	}
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if inv.AcceptedAt != nil || inv.RevokedAt != nil || !now.Before(inv.ExpiresAt) {
		return nil, errBadInvitation
	}
	// The allowed domains may have narrowed since the invitation was sent.
	if err := s.admits(ctx, org, inv.Email); err != nil {
		if strongroom.ErrorCode(err) == strongroom.EVALIDATION {
			return nil, strongroom.Errorf(strongroom.EFORBIDDEN, "this organization no longer admits addresses at this domain")
		}
		return nil, err
	}
	var user *strongroom.User
	created := false
	switch {
	case p.Kind == strongroom.PrincipalAPIKey:
		return nil, strongroom.Errorf(strongroom.EFORBIDDEN, "an API key cannot accept an invitation: open the link in a browser")
	case p.Kind == strongroom.PrincipalUser:
		if user, err = s.user(ctx, p.UserID); err != nil {
			return nil, err
		}
		if user.Email != inv.Email {
			return nil, strongroom.Errorf(strongroom.EFORBIDDEN, "this invitation is for another e-mail address: sign in with that account")
		}
	default:
		existing, err := s.userByEmail(ctx, inv.Email)
		if err != nil {
			return nil, err
		}
		if existing != nil {
			return nil, strongroom.Errorf(strongroom.EUNAUTHORIZED, "an account with this address exists: sign in, then accept the invitation")
		}
		if err := s.policy.Check(in.Password, inv.Email, ""); err != nil {
			return nil, err
		}
		hash, err := s.hashPassword(ctx, in.Password)
		if err != nil {
			return nil, err
		}
		id, err := s.newID()
		if err != nil {
			return nil, err
		}
		user = &strongroom.User{ID: strongroom.UserID(id), Email: inv.Email, PasswordHash: hash, EmailVerifiedAt: &now, CreatedAt: now}
		created = true
	}
	actor := *p
	actor.Kind, actor.UserID = strongroom.PrincipalUser, user.ID
	actx := strongroom.WithPrincipal(ctx, &actor)
	m := strongroom.Membership{TenantID: org, UserID: user.ID, Role: inv.Role, CreatedAt: now, Email: user.Email}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if created {
			if err := tx.CreateUser(ctx, user); err != nil {
				return err
			}
		}
		if err := tx.AcceptInvitation(ctx, inv.ID, user.ID, now); err != nil {
			return errBadInvitation
		}
		if err := tx.AddMember(ctx, &m); err != nil {
			return err
		}
		if len(inv.Clients) > 0 {
			if err := tx.SetClientAssignments(ctx, user.ID, inv.Clients); err != nil {
				return err
			}
			m.Clients = inv.Clients
		}
		return audit(actx, tx, "invitation.accept", "invitation", string(inv.ID),
			map[string]any{"role": inv.Role, "account_created": created})
	})
	if err != nil {
		return nil, err
	}
	s.forgetMember(org, user.ID)
	out := &Accepted{Membership: m}
	if created {
		g, err := s.openSession(actx, user, SessionOptions{Methods: []string{strongroom.MethodPassword}, AAL: 1, Cookie: cookie}, "auth.signin.password", "account created by invitation")
		if err != nil {
			return nil, err
		}
		out.Grant = g
	}
	return out, nil
}
