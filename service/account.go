package service

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn"
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

// Signup creates a user, an organization with the user as Admin, and a session.
func (s *Service) Signup(ctx context.Context, in SignupInput) (*SessionGrant, error) {
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
	hash, err := s.hasher.Hash(in.Password)
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
	token, sess, err := s.newSession(ctx, user.ID, now)
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
	return &SessionGrant{Token: token, ExpiresAt: sess.ExpiresAt, User: user,
		Org: &strongroom.OrgMembership{Organization: org, Role: strongroom.RoleAdmin}}, nil
}

func (s *Service) newSession(ctx context.Context, user strongroom.UserID, now time.Time) (string, *strongroom.Session, error) {
	token, hash, err := authn.NewToken(s.rand, authn.SessionTokenPrefix)
	if err != nil {
		return "", nil, err
	}
	id, err := s.newID()
	if err != nil {
		return "", nil, err
	}
	p := strongroom.PrincipalFrom(ctx)
	return token, &strongroom.Session{
		ID: strongroom.SessionID(id), UserID: user, TokenHash: hash,
		CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL), LastSeenAt: now,
		IP: p.IP, DeviceType: p.DeviceType, UserAgent: p.UserAgent,
	}, nil
}

// errBadCredentials is the one answer to every failed password sign-in, so that
// the response does not tell whether the account exists.
var errBadCredentials = strongroom.Errorf(strongroom.EUNAUTHORIZED, "invalid e-mail address or password")

// SignInPassword checks an e-mail and password and opens a session. Every
// attempt is audited in the platform log with its result, IP and device type.
func (s *Service) SignInPassword(ctx context.Context, email, password string) (*SessionGrant, error) {
	norm, err := NormalizeEmail("/email", email)
	if err != nil || utf8.RuneCountInString(password) > s.policy.MaxLength*4 {
		_ = s.hasher.Verify("", password) // same cost as a real attempt
		s.auditSignIn(ctx, "", strongroom.ResultFailure, "malformed")
		return nil, errBadCredentials
	}
	var user *strongroom.User
	err = s.store.Lookup(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		user, err = tx.UserByEmail(ctx, norm)
		return err
	})
	if err != nil && strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
		return nil, err
	}
	hash := ""
	if user != nil {
		hash = user.PasswordHash
	}
	if err := s.hasher.Verify(hash, password); err != nil {
		uid := strongroom.UserID("")
		if user != nil {
			uid = user.ID
		}
		s.auditSignIn(ctx, uid, strongroom.ResultFailure, "bad credentials")
		return nil, errBadCredentials
	}
	now := s.clock()
	token, sess, err := s.newSession(ctx, user.ID, now)
	if err != nil {
		return nil, err
	}
	var rehash string
	if s.hasher.NeedsRehash(user.PasswordHash) {
		if rehash, err = s.hasher.Hash(password); err != nil {
			return nil, err
		}
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if rehash != "" {
			if err := tx.SetPasswordHash(ctx, user.ID, rehash); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		e := signInEvent(ctx, user.ID, strongroom.ResultSuccess, "")
		return tx.AppendAudit(ctx, &e)
	})
	if err != nil {
		return nil, err
	}
	return &SessionGrant{Token: token, ExpiresAt: sess.ExpiresAt, User: *user}, nil
}

func signInEvent(ctx context.Context, user strongroom.UserID, result strongroom.AuditResult, reason string) strongroom.AuditEvent {
	p := strongroom.PrincipalFrom(ctx)
	e := strongroom.NewAuditEvent(p, strongroom.PlatformTenant, "auth.signin.password", "user", string(user), result)
	e.ActorType, e.ActorID, e.Reason = strongroom.PrincipalUser, string(user), reason
	if user == "" {
		e.ActorType = strongroom.PrincipalAnonymous
	}
	return e
}

func (s *Service) auditSignIn(ctx context.Context, user strongroom.UserID, result strongroom.AuditResult, reason string) {
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		e := signInEvent(ctx, user, result, reason)
		return tx.AppendAudit(ctx, &e)
	})
	if err != nil {
		s.log.Error("auditing sign-in attempt", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
	}
}

// Authenticate resolves a bearer session token to a principal, filling in the
// request fields of base. An unknown, malformed or expired token is EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, token string, base strongroom.Principal) (*strongroom.Principal, error) {
	unauth := strongroom.Errorf(strongroom.EUNAUTHORIZED, "invalid or expired session")
	if !authn.WellFormed(token, authn.SessionTokenPrefix) {
		return nil, unauth
	}
	key := string(authn.HashToken(token))
	sess, ok := s.sessions.get(key)
	if !ok {
		err := s.store.Lookup(ctx, store.Scope{}, func(tx *store.Tx) error {
			var err error
			sess, err = tx.SessionByTokenHash(ctx, []byte(key))
			return err
		})
		if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			return nil, unauth
		}
		if err != nil {
			return nil, err
		}
		s.sessions.put(key, sess)
	}
	if !s.now().Before(sess.ExpiresAt) {
		s.sessions.del(key)
		return nil, unauth
	}
	p := base
	p.Kind, p.UserID, p.SessionID = strongroom.PrincipalUser, sess.UserID, sess.ID
	return &p, nil
}

// SignOut ends the principal's current session.
func (s *Service) SignOut(ctx context.Context) error {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser || p.SessionID == "" {
		return strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.DeleteSession(ctx, p.UserID, p.SessionID); err != nil {
			return err
		}
		return audit(ctx, tx, "session.end", "session", string(p.SessionID), nil)
	})
	s.sessions.delFunc(func(_ string, v *strongroom.Session) bool { return v.ID == p.SessionID })
	return err
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
