package service

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/ratelimit"
	"strongroom.dev/strongroom/store"
)

// E-mail (IAM-04): address verification at sign-up, passwordless sign-in by a
// one-time code or a magic link, the organization's e-mail step on each
// sign-in, password reset, and notices of sign-ins from new devices. Codes and
// links are single use, expire (10 minutes; resets 30), allow at most five
// attempts, and are stored only as hashes. An e-mailed code is not an MFA
// factor under NIST SP 800-63B-4: sessions it opens are AAL1.

const (
	emailCodeTTL  = 10 * time.Minute
	resetTTL      = 30 * time.Minute
	verifyTTL     = 24 * time.Hour
	emailCodeSize = 6
)

// deliver hands a message to the mailer in the background, so that the
// response does not wait for (or reveal through its timing) the delivery.
func (s *Service) deliver(m mail.Message) {
	if s.mailer == nil {
		s.log.Warn("no e-mail sender configured; message dropped", "kind", m.Kind)
		return
	}
	s.mailWG.Add(1)
	go func() {
		defer s.mailWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		for attempt := range 3 {
			if err = s.mailer.Send(ctx, m); err == nil {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(1<<attempt) * time.Second):
			}
		}
		s.log.Error("delivering e-mail", "kind", m.Kind, "err", err)
	}()
}

// WaitMail waits until the e-mail handed to the mailer has been delivered or
// given up (for shutdown and tests).
func (s *Service) WaitMail() { s.mailWG.Wait() }

// link builds an absolute URL of the console.
func (s *Service) link(path string, q url.Values) string {
	return strings.TrimSuffix(s.baseURL, "/") + path + "?" + q.Encode()
}

// newCode returns a random decimal code of emailCodeSize digits.
func (s *Service) newCode() (string, error) {
	r := s.rand
	if r == nil {
		r = rand.Reader
	}
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	return fmt.Sprintf("%06d", binary.BigEndian.Uint64(b[:])%1_000_000), nil
}

// codeHash is the stored form of an e-mailed code: a keyed hash bound to its
// challenge, so a database reader cannot test the million codes offline.
func (s *Service) codeHash(ctx context.Context, challenge, code string) ([]byte, error) {
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return nil, err
	}
	return keys.Index.Term([]byte("email-code"), []byte(challenge), []byte(code)), nil
}

// sendCode creates a challenge of purpose with a code and a link for an
// address (replacing earlier ones), and e-mails them.
func (s *Service) sendCode(ctx context.Context, purpose string, user *strongroom.User, ttl time.Duration, msg func(code, link string) mail.Message) error {
	if ok, wait := s.guards.email.Allow(purpose + "|" + user.Email); !ok {
		s.obs.RateLimited("email")
		return strongroom.RateLimited(wait, "too many messages were sent to this address: wait before asking again")
	}
	token, c, err := s.newChallenge(purpose, &user.ID, user.Email, s.clock(), ttl)
	if err != nil {
		return err
	}
	code := ""
	if purpose != purposeVerify && purpose != purposeReset {
		if code, err = s.newCode(); err != nil {
			return err
		}
		if c.CodeHash, err = s.codeHash(ctx, c.ID, code); err != nil {
			return err
		}
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.DeleteChallenges(ctx, purpose, user.Email); err != nil {
			return err
		}
		if err := tx.CreateChallenge(ctx, c); err != nil {
			return err
		}
		return audit(ctx, tx, "email."+purpose+".sent", "user", string(user.ID), nil)
	})
	if err != nil {
		return err
	}
	path := map[string]string{purposeEmailSignIn: "/signin/email", purposeEmailStep: "/signin/email-step",
		purposeVerify: "/verify-email", purposeReset: "/reset-password"}[purpose]
	s.deliver(msg(code, s.link(path, url.Values{"token": {token}})))
	return nil
}

// accountFor is the start of every "e-mail me" request: the address is
// checked, the request admitted by the rate limits and lockout, and the
// account found. An unknown address gives no account and no error (the
// answer must not tell), and the attempt is audited as action.
func (s *Service) accountFor(ctx context.Context, email, action string) (*strongroom.User, error) {
	norm, err := NormalizeEmail("/email", email)
	if err != nil {
		return nil, err
	}
	if err := s.guards.admitAuth(strongroom.PrincipalFrom(ctx).IP, norm); err != nil {
		return nil, err
	}
	user, err := s.userByEmail(ctx, norm)
	if err != nil {
		return nil, err
	}
	if user == nil {
		s.auditSignIn(ctx, action, "", strongroom.ResultFailure, "no such account")
	}
	return user, nil
}

// StartEmailSignIn e-mails a one-time code and a magic link to an account's
// address. The answer is the same whether or not the account exists.
func (s *Service) StartEmailSignIn(ctx context.Context, email string) error {
	user, err := s.accountFor(ctx, email, "auth.signin.email.start")
	if user == nil || err != nil {
		return err
	}
	err = s.sendCode(ctx, purposeEmailSignIn, user, emailCodeTTL, func(code, link string) mail.Message {
		return mail.Message{To: user.Email, Kind: "signin-code", Subject: "Your Strongroom sign-in code",
			Text: fmt.Sprintf("Your sign-in code is %s\n\nOr open this link to sign in:\n%s\n\n"+
				"The code and link work once, for 10 minutes. If you did not ask to sign in, ignore this message; "+
				"someone may have typed your address by mistake.\n", code, link)}
	})
	if strongroom.ErrorCode(err) == strongroom.ERATELIMIT {
		return nil // the same answer as for any address
	}
	return err
}

var errBadCode = strongroom.Errorf(strongroom.EUNAUTHORIZED, "the code is not valid or has expired")

// VerifyEmailCode signs in with an e-mailed code.
func (s *Service) VerifyEmailCode(ctx context.Context, email, code string, cookie bool) (*SignInResult, error) {
	p := strongroom.PrincipalFrom(ctx)
	norm, err := NormalizeEmail("/email", email)
	if err != nil {
		return nil, errBadCode
	}
	if err := s.guards.admitAuth(p.IP, norm); err != nil {
		return nil, err
	}
	user, err := s.checkEmailCode(ctx, purposeEmailSignIn, norm, code, "auth.signin.email")
	if err != nil {
		return nil, err
	}
	return s.afterEmailProof(ctx, user, cookie)
}

// checkEmailCode verifies a code of the newest challenge of purpose for an
// address and spends it.
func (s *Service) checkEmailCode(ctx context.Context, purpose, email, code, action string) (*strongroom.User, error) {
	var c *strongroom.AuthChallenge
	err := s.store.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		c, err = tx.LatestChallenge(ctx, purpose, email)
		return err
	})
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		s.guards.failed(strongroom.PrincipalFrom(ctx).IP, email)
		s.auditSignIn(ctx, action, "", strongroom.ResultFailure, "no code outstanding")
		return nil, errBadCode
	}
	if err != nil {
		return nil, err
	}
	user, err := s.user(ctx, *c.UserID)
	if err != nil {
		return nil, err
	}
	if !s.clock().Before(c.ExpiresAt) || c.Attempts >= maxAttempts { // refused, not deleted: see reserveAttempt
		s.auditSignIn(ctx, action, user.ID, strongroom.ResultFailure, "code expired or attempts exhausted")
		return nil, errBadCode
	}
	n, err := s.reserveAttempt(ctx, c)
	if errors.Is(err, errBadChallenge) {
		s.auditSignIn(ctx, action, user.ID, strongroom.ResultFailure, "code expired or attempts exhausted")
		return nil, errBadCode
	}
	if err != nil {
		return nil, err
	}
	want, err := s.codeHash(ctx, c.ID, strings.TrimSpace(code))
	if err != nil {
		return nil, err
	}
	if len(code) > 16 || !constantEqual(want, c.CodeHash) {
		s.challengeFailed(ctx, c, user, action, nil, n)
		return nil, errBadCode
	}
	if err := s.useChallenge(ctx, c); err != nil {
		return nil, errBadCode // spent by a concurrent request
	}
	s.guards.succeeded(strongroom.PrincipalFrom(ctx).IP, email)
	return user, nil
}

// afterEmailProof: the address is proven (and verified if it was not), then
// the sign-in continues like any first factor.
func (s *Service) afterEmailProof(ctx context.Context, user *strongroom.User, cookie bool) (*SignInResult, error) {
	if user.EmailVerifiedAt == nil {
		now := s.clock()
		err := s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.SetEmailVerified(ctx, user.ID, now) })
		if err != nil {
			return nil, err
		}
		user.EmailVerifiedAt = &now
	}
	return s.afterFirstFactor(ctx, user, strongroom.MethodEmail, cookie)
}

// SignInEmailLink signs in with the token of an e-mailed magic link.
func (s *Service) SignInEmailLink(ctx context.Context, token string, cookie bool) (*SignInResult, error) {
	if err := s.guards.admitAuth(strongroom.PrincipalFrom(ctx).IP, ""); err != nil {
		return nil, err
	}
	c, user, err := s.takeChallenge(ctx, purposeEmailSignIn, token)
	if err != nil {
		s.auditSignIn(ctx, "auth.signin.email_link", "", strongroom.ResultFailure, "invalid, used or expired link")
		return nil, err
	}
	if err := s.useChallenge(ctx, c); err != nil {
		return nil, errBadChallenge
	}
	return s.afterEmailProof(ctx, user, cookie)
}

// sendVerification e-mails an address-verification link to a new account.
func (s *Service) sendVerification(ctx context.Context, user *strongroom.User) error {
	return s.sendCode(ctx, purposeVerify, user, verifyTTL, func(_, link string) mail.Message {
		return mail.Message{To: user.Email, Kind: "verify-address", Subject: "Confirm your e-mail address for Strongroom",
			Text: "Welcome to Strongroom. Open this link to confirm your e-mail address:\n" + link +
				"\n\nThe link works once, for 24 hours. If you did not create an account, ignore this message.\n"}
	})
}

// ResendVerification sends a new verification link to the signed-in user.
func (s *Service) ResendVerification(ctx context.Context) error {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser {
		return strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	user, err := s.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	if user.EmailVerifiedAt != nil {
		return strongroom.Errorf(strongroom.ECONFLICT, "the address is already verified")
	}
	return s.sendVerification(ctx, user)
}

// VerifyAddress confirms an account's e-mail address with the link's token.
func (s *Service) VerifyAddress(ctx context.Context, token string) error {
	if err := s.guards.admitAuth(strongroom.PrincipalFrom(ctx).IP, ""); err != nil {
		return err
	}
	c, user, err := s.takeChallenge(ctx, purposeVerify, token)
	if err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.DeleteChallenge(ctx, c.ID); err != nil {
			return errBadChallenge
		}
		if err := tx.SetEmailVerified(ctx, user.ID, now); err != nil {
			return err
		}
		return audit(ctx, tx, "user.email_verified", "user", string(user.ID), nil)
	})
}

// StartEmailStep e-mails the signed-in user a code for an organization that
// requires e-mail verification on every sign-in.
func (s *Service) StartEmailStep(ctx context.Context) error {
	_, user, err := s.sessionUser(ctx, false)
	if err != nil {
		return err
	}
	return s.sendCode(ctx, purposeEmailStep, user, emailCodeTTL, func(code, _ string) mail.Message {
		return mail.Message{To: user.Email, Kind: "signin-step-code", Subject: "Your Strongroom verification code",
			Text: fmt.Sprintf("Your verification code is %s\n\nIt works once, for 10 minutes. "+
				"If you are not signing in right now, change your password: someone else knows it.\n", code)}
	})
}

// VerifyEmailStep adds the e-mail step to the current session (its token is
// rotated). The assurance level does not change: an e-mailed code is not an
// MFA factor.
func (s *Service) VerifyEmailStep(ctx context.Context, code string) (*SessionGrant, error) {
	p, user, err := s.sessionUser(ctx, true)
	if err != nil {
		return nil, err
	}
	if _, err := s.checkEmailCode(ctx, purposeEmailStep, user.Email, code, "auth.email_step"); err != nil {
		if err == errBadCode {
			// The session is still valid: not a 401, which clients read as
			// "signed out".
			return nil, validation("/code", "is not valid or has expired")
		}
		return nil, err
	}
	return s.upgradeSession(ctx, p.Session, p.Session.AAL, appendMissing(p.Session.Methods, strongroom.MethodEmail), "auth.email_step")
}

// StartPasswordReset e-mails a single-use reset link (30 minutes). The answer
// is the same whether or not the account exists.
func (s *Service) StartPasswordReset(ctx context.Context, email string) error {
	user, err := s.accountFor(ctx, email, "auth.password_reset.start")
	if user == nil || err != nil {
		return err
	}
	err = s.sendCode(ctx, purposeReset, user, resetTTL, func(_, link string) mail.Message {
		return mail.Message{To: user.Email, Kind: "password-reset", Subject: "Reset your Strongroom password",
			Text: "Open this link to choose a new password:\n" + link + "\n\nThe link works once, for 30 minutes, " +
				"and signs you out everywhere. If you did not ask for it, ignore this message: your password is unchanged.\n"}
	})
	if strongroom.ErrorCode(err) == strongroom.ERATELIMIT {
		return nil
	}
	return err
}

// ResetPassword sets a new password with a reset link's token and ends every
// session of the account.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	if err := s.guards.admitAuth(strongroom.PrincipalFrom(ctx).IP, ""); err != nil {
		return err
	}
	c, user, err := s.takeChallenge(ctx, purposeReset, token)
	if err != nil {
		return err
	}
	if err := s.policy.Check(password, user.Email, ""); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	now := s.clock()
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.DeleteChallenge(ctx, c.ID); err != nil {
			return errBadChallenge
		}
		if err := tx.ChangePassword(ctx, user.ID, hash, now); err != nil {
			return err
		}
		ended, err := tx.DeleteSessions(ctx, user.ID, "")
		if err != nil {
			return err
		}
		return audit(ctx, tx, "user.password.reset", "user", string(user.ID), map[string]any{"sessions_ended": len(ended)})
	})
	s.sessions.delFunc(func(_ string, v *strongroom.Session) bool { return v.UserID == user.ID })
	if err == nil {
		s.deliver(mail.Message{To: user.Email, Kind: "password-changed", Subject: "Your Strongroom password was changed",
			Text: "Your password was reset and every session was signed out. If this was not you, reset it again now and contact your administrator.\n"})
	}
	return err
}

// ChangePassword sets a new password after checking the current one, and ends
// every other session of the account.
func (s *Service) ChangePassword(ctx context.Context, current, next string) error {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser {
		return strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	user, err := s.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := s.guards.admitAuth(p.IP, user.Email); err != nil {
		return err
	}
	ok, err := s.verifyPassword(ctx, user.PasswordHash, current)
	if err != nil {
		return err
	}
	if user.HasPassword() && !ok {
		s.guards.failed(p.IP, user.Email)
		s.auditSignIn(ctx, "user.password.change", user.ID, strongroom.ResultFailure, "current password wrong")
		return validation("/current_password", "does not match your current password")
	}
	if !user.HasPassword() {
		if err := s.requireStepUp(ctx); err != nil {
			return err
		}
	}
	if err := s.policy.Check(next, user.Email, ""); err != nil {
		return relocate(err, "/password", "/new_password")
	}
	hash, err := s.hashPassword(ctx, next)
	if err != nil {
		return err
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.ChangePassword(ctx, user.ID, hash, s.clock()); err != nil {
			return err
		}
		ended, err := tx.DeleteSessions(ctx, user.ID, p.SessionID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, "user.password.change", "user", string(user.ID), map[string]any{"sessions_ended": len(ended)})
	})
	s.sessions.delFunc(func(_ string, v *strongroom.Session) bool { return v.UserID == user.ID && v.ID != p.SessionID })
	return err
}

// relocate renames a field path in a validation error.
func relocate(err error, from, to string) error {
	e, ok := err.(*strongroom.Error)
	if !ok {
		return err
	}
	c := *e
	c.Fields = slices.Clone(e.Fields)
	for i := range c.Fields {
		if c.Fields[i].Path == from {
			c.Fields[i].Path = to
		}
	}
	return &c
}

// noticeNewDevice e-mails the user when a session opens from a device type,
// browser and network none of their other live sessions used, and records it
// as a low-severity alert (LOG-04) with the sign-in's event (seq) as evidence.
func (s *Service) noticeNewDevice(ctx context.Context, user *strongroom.User, sess *strongroom.Session, seq int64) {
	list, err := s.listSessions(ctx, user.ID, sess.ID)
	if err != nil {
		s.log.Error("checking for a new device", "err", err)
		return
	}
	known := false
	for _, o := range list {
		if o.ID != sess.ID && o.DeviceType == sess.DeviceType && o.Browser == sess.Browser && sameNetwork(o.IP, sess.IP) {
			known = true
			break
		}
	}
	if known || len(list) <= 1 {
		return // the first session of an account is not news
	}
	what := strings.TrimSpace(fmt.Sprintf("%s on %s (%s)", defaultString(sess.Browser, "an unknown browser"),
		defaultString(sess.OS, "an unknown system"), sess.DeviceType))
	s.deliver(mail.Message{To: user.Email, Kind: "new-device", Subject: "New sign-in to your Strongroom account",
		Text: fmt.Sprintf("Your account was signed in from a new device or network:\n\n  %s\n  from %s\n  at %s\n\n"+
			"If this was you, there is nothing to do. If not, sign out that session under Sessions and change your password.\n",
			what, sess.IP, sess.CreatedAt.Format(time.RFC1123))})
	s.recordNewDevice(ctx, user, sess, seq, what)
}

func sameNetwork(a, b string) bool {
	na, nb := ratelimit.Network(a), ratelimit.Network(b)
	return na == nb && na != ratelimit.Invalid
}

func defaultString(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}
