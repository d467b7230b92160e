package service

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// SignupInput is a new account with its first organization.
type SignupInput struct {
	Email        string
	Password     string
	Organization string
}

// SessionGrant is a new session: the token is shown to the client once.
type SessionGrant struct {
	Token     string
	ExpiresAt time.Time
	User      strongroom.User
	Org       *strongroom.OrgMembership // set by Signup
	Session   *strongroom.Session
}

// NormalizeEmail validates an e-mail address and returns its normalized form
// (lower case, no display name), or a validation error at path.
func NormalizeEmail(path, email string) (string, error) {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(email) || len(email) > 254 || !strings.Contains(a.Address, "@") {
		return "", validation(path, "must be a plain e-mail address such as name@example.com")
	}
	return strings.ToLower(a.Address), nil
}

func validName(path, name string, max int) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || name == "" || utf8.RuneCountInString(name) > max || strings.ContainsFunc(name, isControl) {
		return "", validation(path, "must be 1 to %d characters of text without control characters", max)
	}
	return name, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// validation returns an EVALIDATION error for one field.
func validation(path, format string, args ...any) error {
	e := strongroom.Errorf(strongroom.EVALIDATION, "the request is not valid")
	e.Fields = []strongroom.FieldError{{Path: path, Message: fmt.Sprintf(format, args...)}}
	return e
}

// Signup creates a user, an organization with the user as Admin, and a session,
// and e-mails a link to verify the address.
func (s *Service) Signup(ctx context.Context, in SignupInput, cookie bool) (*SessionGrant, error) {
	if err := s.guards.admitAuth(strongroom.PrincipalFrom(ctx).IP, ""); err != nil {
		return nil, err
	}
	email, err := NormalizeEmail("/email", in.Email)
	if err != nil {
		return nil, err
	}
	orgName, err := validName("/organization", in.Organization, 100)
	if err != nil {
		return nil, err
	}
	if err := s.policy.Check(in.Password, email, orgName); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	uid, err := s.newID()
	if err != nil {
		return nil, err
	}
	oid, err := s.newID()
	if err != nil {
		return nil, err
	}
	now := s.clock()
	user := strongroom.User{ID: strongroom.UserID(uid), Email: email, PasswordHash: hash, CreatedAt: now}
	org := strongroom.Organization{ID: strongroom.TenantID(oid), Name: orgName, CreatedAt: now}
	token, sess, err := s.newSession(ctx, user.ID, now, SessionOptions{Methods: []string{strongroom.MethodPassword}, AAL: 1, Cookie: cookie})
	if err != nil {
		return nil, err
	}
	p := strongroom.PrincipalFrom(ctx)
	actor := *p
	actor.Kind, actor.UserID, actor.SessionID = strongroom.PrincipalUser, user.ID, sess.ID
	actx := strongroom.WithPrincipal(ctx, &actor)
	err = s.store.Write(ctx, store.Scope{Tenant: org.ID, User: user.ID}, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, &user); err != nil {
			return err
		}
		if err := tx.CreateOrganization(ctx, &org); err != nil {
			return err
		}
		if err := tx.AddMember(ctx, &strongroom.Membership{UserID: user.ID, Role: strongroom.RoleAdmin, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		if err := audit(actx, tx, "user.signup", "user", string(user.ID), nil); err != nil {
			return err
		}
		return audit(actx, tx, "org.create", "organization", string(org.ID), nil)
	})
	if err != nil {
		return nil, err
	}
	if err := s.sendVerification(ctx, &user); err != nil {
		s.log.Error("sending the verification e-mail", "err", err, "request_id", p.RequestID)
	}
	return &SessionGrant{Token: token, ExpiresAt: sess.ExpiresAt, User: user, Session: sess,
		Org: &strongroom.OrgMembership{Organization: org, Role: strongroom.RoleAdmin}}, nil
}

// Me is the signed-in user with their organizations.
type Me struct {
	User          strongroom.User
	Organizations []strongroom.OrgMembership
}

// Me returns the principal's account and organizations.
func (s *Service) Me(ctx context.Context) (*Me, error) {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser {
		return nil, strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	var me Me
	err := s.store.Read(ctx, store.Scope{User: p.UserID}, func(tx *store.Tx) error {
		u, err := tx.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		me.User = *u
		me.Organizations, err = tx.UserOrganizations(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &me, nil
}
