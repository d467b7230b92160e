package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/store"
	"strongroom.dev/strongroom/useragent"
)

// Sessions (IAM-10..12): opaque 256-bit tokens stored only as SHA-256 hashes,
// with an absolute and an idle lifetime, the device, browser and address they
// were opened from, and the assurance level they reached. Ending one takes
// effect on its very next request: the cache entry goes with the row.

// touchEvery is how stale a session's last-seen time may get before a request
// records it: one write per session per minute, not one per request.
const touchEvery = time.Minute

// SessionOptions say how a new session is carried and how it was earned.
type SessionOptions struct {
	Methods []string // e.g. ["password"], ["password", "totp"], ["passkey"]
	AAL     int
	Cookie  bool // a browser session in the __Host- cookie
}

// newSession builds a session for user from the request in ctx. The caller
// stores it in its own transaction with the audit event.
func (s *Service) newSession(ctx context.Context, user strongroom.UserID, now time.Time, o SessionOptions) (string, *strongroom.Session, error) {
	token, hash, err := authn.NewToken(s.rand, authn.SessionTokenPrefix)
	if err != nil {
		return "", nil, err
	}
	id, err := s.newID()
	if err != nil {
		return "", nil, err
	}
	p := strongroom.PrincipalFrom(ctx)
	ua := useragent.Parse(p.UserAgent)
	browser := ua.Browser
	if browser != "" && ua.BrowserVersion != "" {
		browser += " " + ua.BrowserVersion
	}
	return token, &strongroom.Session{
		ID: strongroom.SessionID(id), UserID: user, TokenHash: hash,
		CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL), LastSeenAt: now,
		IP: p.IP, DeviceType: ua.DeviceType, UserAgent: p.UserAgent, OS: ua.OS, Browser: browser,
		AAL: max(o.AAL, 1), Methods: o.Methods, AuthTime: now, IdleTimeout: s.sessionIdle, Cookie: o.Cookie,
	}, nil
}

var errInvalidSession = strongroom.Errorf(strongroom.EUNAUTHORIZED, "invalid or expired session")

// Authenticate resolves a bearer token (a session token or an organization API
// key) to a principal, filling in the request fields of base. An unknown,
// malformed, expired, idle or revoked credential is EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, token string, base strongroom.Principal) (*strongroom.Principal, error) {
	switch {
	case authn.WellFormed(token, authn.SessionTokenPrefix):
		return s.authenticateSession(ctx, token, base)
	case authn.WellFormed(token, authn.APIKeyPrefix):
		return s.authenticateAPIKey(ctx, token, base)
	}
	return nil, errInvalidSession
}

func (s *Service) authenticateSession(ctx context.Context, token string, base strongroom.Principal) (*strongroom.Principal, error) {
	key := string(authn.HashToken(token))
	gen := s.sessions.generation() // before the lookup: see cache
	sess, ok := s.sessions.get(key)
	if !ok {
		err := s.store.Lookup(ctx, store.Scope{}, func(tx *store.Tx) error {
			var err error
			sess, err = tx.SessionByTokenHash(ctx, []byte(key))
			return err
		})
		if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			return nil, errInvalidSession
		}
		if err != nil {
			return nil, err
		}
		s.sessions.putAt(key, sess, gen)
	}
	now := s.clock()
	if !now.Before(sess.ExpiresAt) || (sess.IdleTimeout > 0 && now.Sub(sess.LastSeenAt) >= sess.IdleTimeout) {
		s.sessions.del(key)
		s.expireSession(ctx, sess)
		return nil, errInvalidSession
	}
	if ok, wait := s.guards.api.Allow("session:" + string(sess.ID)); !ok {
		s.obs.RateLimited("api")
		return nil, strongroom.RateLimited(wait, "too many requests for this session")
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery || sess.IP != base.IP {
		err := s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error {
			return tx.TouchSession(ctx, sess.ID, now, base.IP)
		})
		if err != nil {
			return nil, err
		}
		touched := *sess
		touched.LastSeenAt, touched.IP = now, base.IP
		s.sessions.putAt(key, &touched, gen)
	}
	p := base
	p.Kind, p.UserID, p.SessionID, p.Session = strongroom.PrincipalUser, sess.UserID, sess.ID, sess
	return &p, nil
}

// expireSession deletes a session past its lifetime and audits the end.
func (s *Service) expireSession(ctx context.Context, sess *strongroom.Session) {
	sys := &strongroom.Principal{Kind: strongroom.PrincipalSystem, RequestID: strongroom.PrincipalFrom(ctx).RequestID}
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.DeleteSession(ctx, sess.UserID, sess.ID); err != nil {
			return err
		}
		e := strongroom.NewAuditEvent(sys, strongroom.PlatformTenant, "session.expire", "session", string(sess.ID), strongroom.ResultSuccess)
		e.Reason = "lifetime reached"
		return tx.AppendAudit(ctx, &e)
	})
	if err != nil && strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
		s.log.Error("ending an expired session", "err", err, "request_id", sys.RequestID)
	}
}

// SignOut ends the principal's current session.
func (s *Service) SignOut(ctx context.Context) error {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser || p.SessionID == "" {
		return strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	return s.endSessions(ctx, p.UserID, p.SessionID, "", "session.end")
}

// endSessions ends one session of user (id set), or all but keep (id empty),
// audited as action in the platform log, and drops them from the cache before
// returning, so the next request of an ended session fails.
func (s *Service) endSessions(ctx context.Context, user strongroom.UserID, id, keep strongroom.SessionID, action string) error {
	var ended []strongroom.SessionID
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		ended = nil
		if id != "" {
			if err := tx.DeleteSession(ctx, user, id); err != nil {
				return err
			}
			ended = []strongroom.SessionID{id}
		} else {
			var err error
			if ended, err = tx.DeleteSessions(ctx, user, keep); err != nil {
				return err
			}
		}
		target := string(id)
		if id == "" {
			target = string(user)
		}
		return audit(ctx, tx, action, map[bool]string{true: "session", false: "user"}[id != ""], target,
			map[string]any{"sessions_ended": len(ended)})
	})
	s.sessions.delFunc(func(_ string, v *strongroom.Session) bool {
		return v.UserID == user && (v.ID == id || (id == "" && v.ID != keep))
	})
	return err
}

// SessionInfo is a session as its user sees it.
type SessionInfo struct {
	strongroom.Session
	Current bool
}

// MySessions lists the principal's sessions, the current one marked.
func (s *Service) MySessions(ctx context.Context) ([]SessionInfo, error) {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser {
		return nil, strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	return s.listSessions(ctx, p.UserID, p.SessionID)
}

func (s *Service) listSessions(ctx context.Context, user strongroom.UserID, current strongroom.SessionID) ([]SessionInfo, error) {
	var list []strongroom.Session
	err := s.store.Read(ctx, store.Scope{User: user}, func(tx *store.Tx) error {
		var err error
		list, err = tx.Sessions(ctx, user)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.clock()
	out := make([]SessionInfo, 0, len(list))
	for _, v := range list {
		if !now.Before(v.ExpiresAt) || (v.IdleTimeout > 0 && now.Sub(v.LastSeenAt) >= v.IdleTimeout) {
			continue // ended by its lifetime; deleted on its next use or by the sweeper
		}
		out = append(out, SessionInfo{Session: v, Current: v.ID == current})
	}
	return out, nil
}

// EndMySession ends one of the principal's sessions (IAM-11).
func (s *Service) EndMySession(ctx context.Context, id strongroom.SessionID) error {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser {
		return strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	if !ValidID(string(id)) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "session not found")
	}
	return s.endSessions(ctx, p.UserID, id, "", "session.end")
}

// EndMyOtherSessions signs the principal out everywhere else ("sign out
// everywhere" keeps the session that asked unless all is set).
func (s *Service) EndMyOtherSessions(ctx context.Context, all bool) error {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser {
		return strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	keep := p.SessionID
	if all {
		keep = ""
	}
	return s.endSessions(ctx, p.UserID, "", keep, "session.end_all")
}

// MemberSessions lists a member's sessions for an organization Admin.
func (s *Service) MemberSessions(ctx context.Context, org strongroom.TenantID, user strongroom.UserID) ([]SessionInfo, error) {
	if err := s.Authorize(ctx, access.MembersWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if err := s.requireMember(ctx, org, user); err != nil {
		return nil, err
	}
	return s.listSessions(ctx, user, strongroom.PrincipalFrom(ctx).SessionID)
}

// EndMemberSessions signs a member out everywhere (an organization Admin's
// remote sign-out), audited in the organization's log.
func (s *Service) EndMemberSessions(ctx context.Context, org strongroom.TenantID, user strongroom.UserID) (int, error) {
	if err := s.Authorize(ctx, access.MembersWrite, access.Resource{Tenant: org}); err != nil {
		return 0, err
	}
	var ended []strongroom.SessionID
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if _, err := tx.Member(ctx, user); err != nil {
			return err
		}
		var err error
		if ended, err = tx.DeleteSessions(ctx, user, ""); err != nil {
			return err
		}
		return audit(ctx, tx, "member.sessions.end", "user", string(user), map[string]any{"sessions_ended": len(ended)})
	})
	s.sessions.delFunc(func(_ string, v *strongroom.Session) bool { return v.UserID == user })
	return len(ended), err
}

func (s *Service) requireMember(ctx context.Context, org strongroom.TenantID, user strongroom.UserID) error {
	if !ValidID(string(user)) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "member not found")
	}
	return s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		_, err := tx.Member(ctx, user)
		return err
	})
}

// checkOrgPolicy applies an organization's sign-in settings to a session about
// to enter it: allowed methods, MFA required, e-mail verification on each
// sign-in, and the organization's own session lifetimes.
func (s *Service) checkOrgPolicy(ctx context.Context, org strongroom.TenantID, p *strongroom.Principal, m *strongroom.Membership) error {
	if p.Session == nil {
		return nil
	}
	set, err := s.orgSettings(ctx, org)
	if err != nil {
		return err
	}
	sess, now := p.Session, s.clock()
	deny := func(code, reason, msg string) error {
		s.auditDenied(ctx, org, "org.enter", reason)
		return strongroom.Errorf(code, "%s", msg)
	}
	// The organization's lifetimes, when stricter, become the session's own on
	// entry (so that a refusal cannot be retried away, and other requests of
	// the session obey them too); a session already past them ends.
	idle, expires := sess.IdleTimeout, sess.ExpiresAt
	if set.SessionIdleMinutes > 0 {
		if o := time.Duration(set.SessionIdleMinutes) * time.Minute; idle == 0 || o < idle {
			idle = o
		}
	}
	if set.SessionAbsoluteHours > 0 {
		if o := sess.CreatedAt.Add(time.Duration(set.SessionAbsoluteHours) * time.Hour); o.Before(expires) {
			expires = o
		}
	}
	if !now.Before(expires) || (idle > 0 && now.Sub(sess.LastSeenAt) >= idle) {
		s.sessions.delFunc(func(_ string, v *strongroom.Session) bool { return v.ID == sess.ID })
		s.expireSession(ctx, sess)
		return deny(strongroom.EUNAUTHORIZED, "organization session lifetime reached",
			"this organization's session lifetime has passed: sign in again")
	}
	if idle != sess.IdleTimeout || !expires.Equal(sess.ExpiresAt) {
		err := s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.ShortenSession(ctx, sess.ID, idle, expires) })
		s.sessions.delFunc(func(_ string, v *strongroom.Session) bool { return v.ID == sess.ID })
		if err != nil {
			return err
		}
	}
	if !set.AllowsMethod(sess.Methods) {
		return deny(strongroom.EFORBIDDEN, "sign-in method not allowed",
			"this organization does not allow the way this session signed in; allowed: "+strings.Join(set.SignInMethods, ", "))
	}
	if m.Email != "" && !domainAllowed(set, m.Email) {
		return deny(strongroom.EFORBIDDEN, "e-mail domain not allowed",
			"this organization only admits accounts at: "+strings.Join(set.AllowedEmailDomains, ", "))
	}
	if set.MFARequired && sess.AAL < 2 {
		n, err := s.confirmedFactors(ctx, p.UserID)
		if err != nil {
			return err
		}
		if n == 0 {
			return deny(strongroom.EMFAENROLL, "mfa enrolment required",
				"this organization requires multi-factor authentication: enrol an authenticator app or a passkey first")
		}
		return deny(strongroom.EMFAREQUIRED, "mfa required",
			"this organization requires multi-factor authentication: sign in again with your second factor")
	}
	if set.EmailVerifyEachSignIn && !slices.Contains(sess.Methods, strongroom.MethodEmail) {
		return deny(strongroom.EEMAILSTEP, "e-mail verification required",
			"this organization requires a code e-mailed to you at each sign-in: request one at /api/v1/auth/email/step")
	}
	return nil
}

// orgSettings returns an organization's settings (cached on the embedded engine).
func (s *Service) orgSettings(ctx context.Context, org strongroom.TenantID) (*strongroom.OrgSettings, error) {
	gen := s.settings.generation() // before the lookup: see cache
	if v, ok := s.settings.get(org); ok {
		return v, nil
	}
	var set *strongroom.OrgSettings
	err := s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		set, err = tx.OrgSettings(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.settings.putAt(org, set, gen)
	return set, nil
}

func (s *Service) confirmedFactors(ctx context.Context, user strongroom.UserID) (int, error) {
	fs, err := s.factors(ctx, user)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range fs {
		if f.ConfirmedAt != nil {
			n++
		}
	}
	return n, nil
}

func (s *Service) factors(ctx context.Context, user strongroom.UserID) ([]strongroom.MFAFactor, error) {
	var fs []strongroom.MFAFactor
	err := s.store.Read(ctx, store.Scope{User: user}, func(tx *store.Tx) error {
		var err error
		fs, err = tx.Factors(ctx, user)
		return err
	})
	return fs, err
}

// stepUpWindow is how recent an authentication must be for sensitive actions.
const stepUpWindow = 15 * time.Minute

// requireStepUp refuses a sensitive action (changing MFA, creating API keys,
// exports) unless the session authenticated within the step-up window.
func (s *Service) requireStepUp(ctx context.Context) error {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser || p.Session == nil {
		return strongroom.Errorf(strongroom.EFORBIDDEN, "this action needs a signed-in user")
	}
	if !p.AuthenticatedSince(s.clock().Add(-stepUpWindow)) {
		return strongroom.Errorf(strongroom.ESTEPUP,
			"this action needs a recent sign-in: confirm who you are at /api/v1/auth/step-up, then try again")
	}
	return nil
}

// SweepExpired deletes sessions past their lifetimes and challenges past their
// expiry (both are refused on use already; this keeps the tables small). It is
// idempotent, so every replica may run it.
func (s *Service) SweepExpired(ctx context.Context) (sessions, challenges int64, err error) {
	now := s.clock()
	err = s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		if sessions, err = tx.DeleteExpiredSessions(ctx, now); err != nil {
			return err
		}
		challenges, err = tx.DeleteExpiredChallenges(ctx, now)
		return err
	})
	return sessions, challenges, err
}

// RunSweeper runs SweepExpired every interval until ctx ends, reporting each
// run to the Observer as the job session_sweeper.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	runEvery(ctx, interval, func() {
		s.runJob(ctx, "session_sweeper", "sweeping expired sessions and challenges", func(ctx context.Context) ([]any, error) {
			n, c, err := s.SweepExpired(ctx)
			if err != nil || n+c == 0 {
				return nil, err
			}
			return []any{"sessions", n, "challenges", c}, nil
		})
	})
}
