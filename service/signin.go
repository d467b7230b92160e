package service

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/authn/totp"
	"strongroom.dev/strongroom/store"
)

// Sign-in (IAM-02, IAM-04..07, IAM-10, IAM-13). A first factor (password,
// e-mailed code or link, OpenID Connect) either opens a session or, when the
// user has a second factor, answers a short-lived MFA challenge that a TOTP
// code, a WebAuthn assertion or a recovery code completes. Every attempt is
// audited in the platform log with its result, IP and device type.

// Challenge purposes (auth_challenges.purpose).
const (
	purposeMFA         = "mfa"          // the second step after a first factor
	purposeEmailSignIn = "email_signin" // passwordless code or link
	purposeEmailStep   = "email_step"   // the organization's e-mail step after sign-in
	purposeVerify      = "email_verify" // address verification after sign-up
	purposeReset       = "password_reset"
	purposeWebAuthn    = "webauthn" // a WebAuthn registration or sign-in ceremony
	purposeOIDC        = "oidc"     // an OpenID Connect sign-in in flight
)

const (
	mfaChallengeTTL = 10 * time.Minute
	maxAttempts     = 5
)

// SignInResult is either a session (Grant) or the MFA step still to take.
type SignInResult struct {
	Grant *SessionGrant
	MFA   *MFAChallenge
}

// MFAChallenge asks for a second factor. Challenge is a single-use secret for
// POST /api/v1/auth/mfa, valid until ExpiresAt for at most five attempts.
type MFAChallenge struct {
	Challenge string
	ExpiresAt time.Time
	Methods   []string // the factors the user has: totp, webauthn, recovery
}

// challengeState is what an MFA challenge remembers of the first factor.
type challengeState struct {
	Method string `json:"method"`
	Cookie bool   `json:"cookie,omitempty"`
}

// errBadCredentials is the one answer to every failed password sign-in, so that
// the response does not tell whether the account exists.
var errBadCredentials = strongroom.Errorf(strongroom.EUNAUTHORIZED, "invalid e-mail address or password")

// SignInPassword checks an e-mail and password (rate limited, locked out after
// repeated failures, the same answer and cost for an unknown address) and opens
// a session or answers an MFA challenge.
func (s *Service) SignInPassword(ctx context.Context, email, password string, cookie bool) (*SignInResult, error) {
	p := strongroom.PrincipalFrom(ctx)
	norm, normErr := NormalizeEmail("/email", email)
	if err := s.guards.admitAuth(p.IP, norm); err != nil {
		return nil, err
	}
	if normErr != nil || utf8.RuneCountInString(password) > s.policy.MaxLength*4 {
		if _, err := s.verifyPassword(ctx, "", password); err != nil { // same cost as a real attempt
			return nil, err
		}
		s.auditSignIn(ctx, "auth.signin.password", "", strongroom.ResultFailure, "malformed")
		return nil, errBadCredentials
	}
	user, err := s.userByEmail(ctx, norm)
	if err != nil {
		return nil, err
	}
	hash := ""
	if user != nil {
		hash = user.PasswordHash
	}
	// The failure is counted before the (slow) hash check, so that concurrent
	// guesses cannot all pass the lockout check; success clears it.
	wait := s.guards.failed(p.IP, norm)
	ok, err := s.verifyPassword(ctx, hash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		uid := strongroom.UserID("")
		if user != nil {
			uid = user.ID
		}
		reason := "bad credentials"
		if wait > 0 {
			reason = fmt.Sprintf("bad credentials; locked for %s", wait.Round(time.Second))
		}
		s.auditSignIn(ctx, "auth.signin.password", uid, strongroom.ResultFailure, reason)
		return nil, errBadCredentials
	}
	s.guards.succeeded(p.IP, norm)
	if s.hasher.NeedsRehash(user.PasswordHash) {
		rehash, err := s.hashPassword(ctx, password)
		if err != nil {
			return nil, err
		}
		err = s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.SetPasswordHash(ctx, user.ID, rehash) })
		if err != nil {
			return nil, err
		}
	}
	return s.afterFirstFactor(ctx, user, strongroom.MethodPassword, cookie)
}

// userByEmail returns the user with a normalized address, or nil.
func (s *Service) userByEmail(ctx context.Context, email string) (*strongroom.User, error) {
	var user *strongroom.User
	err := s.store.Lookup(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		user, err = tx.UserByEmail(ctx, email)
		return err
	})
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return nil, nil
	}
	return user, err
}

// afterFirstFactor opens a session, or, when the user has a confirmed second
// factor, stores an MFA challenge and answers it. The first factor's success is
// audited either way.
func (s *Service) afterFirstFactor(ctx context.Context, user *strongroom.User, method string, cookie bool) (*SignInResult, error) {
	fs, err := s.factors(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	var methods []string
	for _, f := range fs {
		if f.ConfirmedAt != nil && !slices.Contains(methods, f.Kind) {
			methods = append(methods, f.Kind)
		}
	}
	if len(methods) == 0 {
		g, err := s.openSession(ctx, user, SessionOptions{Methods: []string{method}, AAL: 1, Cookie: cookie}, "auth.signin."+method, "")
		if err != nil {
			return nil, err
		}
		return &SignInResult{Grant: g}, nil
	}
	var codes int
	err = s.store.Read(ctx, store.Scope{User: user.ID}, func(tx *store.Tx) error {
		var err error
		codes, err = tx.CountRecoveryCodes(ctx, user.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if codes > 0 {
		methods = append(methods, strongroom.MethodRecovery)
	}
	state, _ := json.Marshal(challengeState{Method: method, Cookie: cookie})
	now := s.clock()
	token, c, err := s.newChallenge(purposeMFA, &user.ID, user.Email, now, mfaChallengeTTL)
	if err != nil {
		return nil, err
	}
	c.Data = state
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreateChallenge(ctx, c); err != nil {
			return err
		}
		e := signInEvent(ctx, "auth.signin."+method, user.ID, strongroom.ResultSuccess, "first factor; second factor required")
		return tx.AppendAudit(ctx, &e)
	})
	if err != nil {
		return nil, err
	}
	s.observeSignIn("auth.signin."+method, signInMFARequired)
	return &SignInResult{MFA: &MFAChallenge{Challenge: token, ExpiresAt: c.ExpiresAt, Methods: methods}}, nil
}

// newChallenge builds a challenge whose bearer part is returned as token.
func (s *Service) newChallenge(purpose string, user *strongroom.UserID, email string, now time.Time, ttl time.Duration) (string, *strongroom.AuthChallenge, error) {
	prefix := authn.ChallengePrefix
	switch purpose {
	case purposeEmailSignIn, purposeVerify, purposeEmailStep:
		prefix = authn.LinkPrefix
	case purposeReset:
		prefix = authn.ResetPrefix
	}
	token, hash, err := authn.NewToken(s.rand, prefix)
	if err != nil {
		return "", nil, err
	}
	id, err := s.newID()
	if err != nil {
		return "", nil, err
	}
	return token, &strongroom.AuthChallenge{ID: id, Purpose: purpose, UserID: user, Email: email,
		TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(ttl)}, nil
}

// openSession stores a new session for user with the audit event of the
// sign-in that earned it, and returns the grant.
func (s *Service) openSession(ctx context.Context, user *strongroom.User, o SessionOptions, action, reason string) (*SessionGrant, error) {
	now := s.clock()
	token, sess, err := s.newSession(ctx, user.ID, now, o)
	if err != nil {
		return nil, err
	}
	var seq int64
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		e := signInEvent(ctx, action, user.ID, strongroom.ResultSuccess, reason)
		e.Metadata, _ = json.Marshal(map[string]any{"session": sess.ID, "aal": sess.AAL, "methods": sess.Methods})
		err := tx.AppendAudit(ctx, &e)
		seq = e.Seq
		return err
	})
	if err != nil {
		return nil, err
	}
	s.signedIn(strongroom.PrincipalFrom(ctx).IP)
	s.observeSignIn(action, signInSuccess)
	s.noticeNewDevice(ctx, user, sess, seq)
	return &SessionGrant{Token: token, ExpiresAt: sess.ExpiresAt, User: *user, Session: sess}, nil
}

// MFAInput is the answer to an MFA challenge: one of a TOTP code, a recovery
// code, or a WebAuthn assertion (the browser's JSON).
type MFAInput struct {
	Challenge    string
	Ceremony     string // the WebAuthn ceremony begun for this challenge
	Code         string
	RecoveryCode string
	WebAuthn     json.RawMessage
}

var errBadChallenge = strongroom.Errorf(strongroom.EUNAUTHORIZED, "the sign-in challenge is invalid, used or expired: sign in again")

// VerifyMFA completes a sign-in with a second factor: a session at AAL2.
func (s *Service) VerifyMFA(ctx context.Context, in MFAInput) (*SessionGrant, error) {
	p := strongroom.PrincipalFrom(ctx)
	if err := s.guards.admitAuth(p.IP, ""); err != nil {
		return nil, err
	}
	c, user, err := s.takeChallenge(ctx, purposeMFA, in.Challenge)
	if err != nil {
		return nil, err
	}
	if err := s.guards.admitAuth(p.IP, user.Email); err != nil {
		return nil, err
	}
	var st challengeState
	if err := json.Unmarshal(c.Data, &st); err != nil {
		return nil, fmt.Errorf("decoding challenge state: %w", err)
	}
	if err := secondFactorShape(in); err != nil {
		return nil, err // a malformed answer: no attempt counted
	}
	n, err := s.reserveAttempt(ctx, c)
	if err != nil {
		return nil, err
	}
	method, err := s.checkSecondFactor(ctx, user, in)
	switch {
	case errors.Is(err, errFactorRejected) || strongroom.ErrorCode(err) == strongroom.EUNAUTHORIZED:
		s.challengeFailed(ctx, c, user, "auth.mfa", err, n)
		return nil, strongroom.Errorf(strongroom.EUNAUTHORIZED, "the code is not valid")
	case err != nil:
		return nil, err // a server fault
	}
	if err := s.useChallenge(ctx, c); err != nil {
		return nil, errBadChallenge
	}
	s.guards.succeeded(p.IP, user.Email)
	return s.openSession(ctx, user, SessionOptions{Methods: []string{st.Method, method}, AAL: 2, Cookie: st.Cookie}, "auth.mfa", "")
}

// secondFactorShape refuses an answer that does not give exactly one of a
// TOTP code, a recovery code or a WebAuthn assertion.
func secondFactorShape(in MFAInput) error {
	given := 0
	for _, ok := range []bool{in.Code != "", in.RecoveryCode != "", len(in.WebAuthn) > 0} {
		if ok {
			given++
		}
	}
	if given != 1 {
		return validation("/code", "give exactly one of code, recovery_code or webauthn")
	}
	return nil
}

// checkSecondFactor verifies one second factor of user and returns its method.
func (s *Service) checkSecondFactor(ctx context.Context, user *strongroom.User, in MFAInput) (string, error) {
	if err := secondFactorShape(in); err != nil {
		return "", err
	}
	switch {
	case in.Code != "":
		return strongroom.MethodTOTP, s.checkTOTP(ctx, user.ID, in.Code)
	case in.RecoveryCode != "":
		return strongroom.MethodRecovery, s.useRecoveryCode(ctx, user.ID, in.RecoveryCode)
	default:
		return strongroom.MethodWebAuthn, s.checkWebAuthn(ctx, user, in.Ceremony, in.WebAuthn)
	}
}

// checkTOTP accepts a code of any of the user's confirmed TOTP factors once:
// the time step is recorded with a compare-and-set, so a replay (or a
// concurrent second use) fails.
func (s *Service) checkTOTP(ctx context.Context, user strongroom.UserID, code string) error {
	fs, err := s.factors(ctx, user)
	if err != nil {
		return err
	}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return err
	}
	now := s.clock()
	replayed := false
	for _, f := range fs {
		if f.Kind != strongroom.MethodTOTP || f.ConfirmedAt == nil {
			continue
		}
		secret, err := openSealed(keys, factorAD(&f), f.Secret)
		if err != nil {
			return fmt.Errorf("opening factor %s: %w", f.ID, err)
		}
		step, err := totp.Validate(string(secret), code, now, f.LastStep)
		if errors.Is(err, totp.ErrReplayed) {
			replayed = true
			continue
		}
		if err != nil {
			continue
		}
		var ok bool
		err = s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error {
			var err error
			ok, err = tx.UseTOTPFactor(ctx, user, f.ID, step, now)
			return err
		})
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		replayed = true
	}
	if replayed {
		return errReplay
	}
	return fmt.Errorf("%w: totp code invalid", errFactorRejected)
}

// useRecoveryCode spends one of the user's recovery codes.
func (s *Service) useRecoveryCode(ctx context.Context, user strongroom.UserID, code string) error {
	h, err := s.recoveryHash(ctx, user, code)
	if err != nil {
		return err
	}
	var ok bool
	err = s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		ok, err = tx.UseRecoveryCode(ctx, user, h)
		return err
	})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: recovery code invalid or used", errFactorRejected)
	}
	return nil
}

// takeChallenge finds a live challenge by its bearer token, with its user.
func (s *Service) takeChallenge(ctx context.Context, purpose, token string) (*strongroom.AuthChallenge, *strongroom.User, error) {
	prefix := authn.ChallengePrefix
	switch purpose {
	case purposeEmailSignIn, purposeVerify, purposeEmailStep:
		prefix = authn.LinkPrefix
	case purposeReset:
		prefix = authn.ResetPrefix
	}
	if !authn.WellFormed(token, prefix) {
		return nil, nil, errBadChallenge
	}
	var c *strongroom.AuthChallenge
	var user *strongroom.User
	err := s.store.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		if c, err = tx.ChallengeByToken(ctx, purpose, authn.HashToken(token)); err != nil {
			return err
		}
		if c.UserID != nil {
			user, err = tx.UserByID(ctx, *c.UserID)
		}
		return err
	})
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return nil, nil, errBadChallenge
	}
	if err != nil {
		return nil, nil, err
	}
	// Refused, not deleted: a concurrent request may have had its right
	// answer accepted already and be about to spend the challenge (see
	// reserveAttempt). The sweeper removes expired challenges.
	if !s.clock().Before(c.ExpiresAt) || c.Attempts >= maxAttempts {
		return nil, nil, errBadChallenge
	}
	return c, user, nil
}

// useChallenge deletes a challenge; an error means it was already used.
func (s *Service) useChallenge(ctx context.Context, c *strongroom.AuthChallenge) error {
	return s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.DeleteChallenge(ctx, c.ID) })
}

// reserveAttempt counts an attempt on a challenge before its answer is
// checked and returns the attempt's number, so that however many requests
// answer it at once, at most maxAttempts answers are ever checked. A
// challenge past the limit is refused, not deleted, here and in
// takeChallenge: deleting it could take it from under a concurrent attempt
// whose right answer was already accepted (a spent TOTP step or recovery
// code) and leave that sign-in with nothing. The sweeper removes it once
// expired.
func (s *Service) reserveAttempt(ctx context.Context, c *strongroom.AuthChallenge) (int, error) {
	var n int
	err := s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		n, err = tx.CountChallengeAttempt(ctx, c.ID)
		return err
	})
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return 0, errBadChallenge // spent by a concurrent request
	}
	if err != nil {
		return 0, fmt.Errorf("counting a challenge attempt: %w", err)
	}
	if n > maxAttempts {
		return 0, errBadChallenge
	}
	return n, nil
}

// challengeFailed records the failed attempt number n on a challenge (the
// last allowed one voids it): it feeds the lockout and audits the failure.
func (s *Service) challengeFailed(ctx context.Context, c *strongroom.AuthChallenge, user *strongroom.User, action string, cause error, n int) {
	p := strongroom.PrincipalFrom(ctx)
	uid, email := strongroom.UserID(""), c.Email
	if user != nil {
		uid, email = user.ID, user.Email
	}
	reason := "invalid code"
	switch {
	case errors.Is(cause, errReplay):
		reason = "code replayed"
	case errors.Is(cause, passkey.ErrSignCount):
		reason = passkeyReason(cause) // a possibly cloned authenticator: say so
	}
	if wait := s.guards.failed(p.IP, email); wait > 0 {
		reason += fmt.Sprintf("; locked for %s", wait.Round(time.Second))
	}
	if n >= maxAttempts {
		reason += "; challenge voided after too many attempts"
	}
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		e := signInEvent(ctx, action, uid, strongroom.ResultFailure, reason)
		return tx.AppendAudit(ctx, &e)
	})
	s.observeSignIn(action, signInFailure)
	if err != nil {
		s.log.Error("recording a failed challenge", "err", err, "request_id", p.RequestID)
	}
}

// errFactorRejected is in the chain of every second-factor answer that was
// checked and refused (as opposed to a malformed request or a server fault).
var errFactorRejected = errors.New("second factor rejected")

var errReplay = fmt.Errorf("%w: replayed", errFactorRejected)

func signInEvent(ctx context.Context, action string, user strongroom.UserID, result strongroom.AuditResult, reason string) strongroom.AuditEvent {
	p := strongroom.PrincipalFrom(ctx)
	e := strongroom.NewAuditEvent(p, strongroom.PlatformTenant, action, "user", string(user), result)
	e.ActorType, e.ActorID, e.Reason = strongroom.PrincipalUser, string(user), reason
	if user == "" || result != strongroom.ResultSuccess {
		// A failed attempt is not the account's own act: whoever tried is
		// anonymous, and the account is only the target.
		e.ActorType, e.ActorID = strongroom.PrincipalAnonymous, ""
	}
	return e
}

// auditSignIn records a sign-in attempt that changed nothing (a failure).
func (s *Service) auditSignIn(ctx context.Context, action string, user strongroom.UserID, result strongroom.AuditResult, reason string) {
	s.observeSignIn(action, signInFailure)
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		e := signInEvent(ctx, action, user, result, reason)
		return tx.AppendAudit(ctx, &e)
	})
	if err != nil {
		s.log.Error("auditing sign-in attempt", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
	}
}

// StepUpInput proves the signed-in user's identity again: their password, a
// TOTP code, or a WebAuthn assertion.
type StepUpInput struct {
	Password string
	Code     string
}

// StepUp refreshes the session's authentication time (and rotates its token)
// after the user proves who they are again, for sensitive actions.
func (s *Service) StepUp(ctx context.Context, in StepUpInput) (*SessionGrant, error) {
	p, user, err := s.sessionUser(ctx, true)
	if err != nil {
		return nil, err
	}
	var method string
	switch {
	case in.Password != "" && in.Code == "":
		method = strongroom.MethodPassword
		ok, verr := s.verifyPassword(ctx, user.PasswordHash, in.Password)
		if verr != nil {
			return nil, verr
		}
		if !ok {
			err = errors.New("bad password")
		}
	case in.Code != "" && in.Password == "":
		method = strongroom.MethodTOTP
		err = s.checkTOTP(ctx, user.ID, in.Code)
	default:
		return nil, validation("/password", "give exactly one of password or code")
	}
	if err != nil {
		s.guards.failed(p.IP, user.Email)
		s.auditSignIn(ctx, "auth.step_up", user.ID, strongroom.ResultFailure, "invalid "+method)
		// The session is still valid: 422, not the 401 clients read as "signed out".
		field := "/password"
		if method == strongroom.MethodTOTP {
			field = "/code"
		}
		return nil, validation(field, "does not match")
	}
	s.guards.succeeded(p.IP, user.Email)
	aal := p.Session.AAL
	methods := p.Session.Methods
	if method == strongroom.MethodTOTP {
		aal = 2
		methods = appendMissing(methods, method)
	}
	return s.upgradeSession(ctx, p.Session, aal, methods, "auth.step_up")
}

// upgradeSession rotates the session's token and records a new authentication
// (after MFA enrolment or step-up); the old token stops working at once.
func (s *Service) upgradeSession(ctx context.Context, sess *strongroom.Session, aal int, methods []string, action string) (*SessionGrant, error) {
	token, hash, err := authn.NewToken(s.rand, authn.SessionTokenPrefix)
	if err != nil {
		return nil, err
	}
	up := *sess
	up.TokenHash, up.AAL, up.Methods, up.AuthTime = hash, aal, methods, s.clock()
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.UpgradeSession(ctx, &up); err != nil {
			return err
		}
		e := signInEvent(ctx, action, sess.UserID, strongroom.ResultSuccess, "")
		e.Metadata, _ = json.Marshal(map[string]any{"session": sess.ID, "aal": aal, "methods": methods})
		return tx.AppendAudit(ctx, &e)
	})
	s.sessions.delFunc(func(_ string, v *strongroom.Session) bool { return v.ID == sess.ID })
	if err != nil {
		return nil, err
	}
	user, err := s.user(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	return &SessionGrant{Token: token, ExpiresAt: up.ExpiresAt, User: *user, Session: &up}, nil
}

func appendMissing(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(slices.Clip(list), v)
}

// sessionUser returns the principal of a signed-in session and its user; with
// admit, the request must also pass the authentication limits and lockout.
func (s *Service) sessionUser(ctx context.Context, admit bool) (*strongroom.Principal, *strongroom.User, error) {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser || p.Session == nil {
		return nil, nil, strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	user, err := s.user(ctx, p.UserID)
	if err != nil {
		return nil, nil, err
	}
	if admit {
		if err := s.guards.admitAuth(p.IP, user.Email); err != nil {
			return nil, nil, err
		}
	}
	return p, user, nil
}

// user loads a user by ID.
func (s *Service) user(ctx context.Context, id strongroom.UserID) (*strongroom.User, error) {
	var u *strongroom.User
	err := s.store.Lookup(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		u, err = tx.UserByID(ctx, id)
		return err
	})
	return u, err
}

// constantEqual compares two secrets in constant time.
func constantEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
