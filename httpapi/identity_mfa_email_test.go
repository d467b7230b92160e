package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
)

// The e-mail flows of the identity tests (helpers in identity_mfa_test.go).

// TestIdentityFlowVerifyAddress: sign-up e-mails a link whose token verifies
// the address once.
func TestIdentityFlowVerifyAddress(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "vera@verify.example", "Verify Org")
			me := testkit.MustStatus(t, env.do(t, a.Token, "GET", "/api/v1/me", nil), http.StatusOK).JSON(t)
			if me["user"].(map[string]any)["email_verified"] != false {
				t.Fatalf("a new address is verified: %v", me)
			}
			msg := env.mail(t, a.Email, "verify-address", 1)
			token := env.linkToken(t, msg, "/verify-email")
			seq := env.seq(t, mfaTPlatform)

			// The verification link is not a sign-in link.
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/auth/email/link", map[string]string{"token": token}),
				http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			seq = env.audited(t, mfaTPlatform, seq, "auth.signin.email_link failure: invalid, used or expired link")

			r := env.do(t, "", "POST", "/api/v1/auth/email/verify-address", map[string]string{"token": token})
			testkit.MustStatus(t, r, http.StatusNoContent)
			seq = env.audited(t, mfaTPlatform, seq, "user.email_verified success")
			me = testkit.MustStatus(t, env.do(t, a.Token, "GET", "/api/v1/me", nil), http.StatusOK).JSON(t)
			if me["user"].(map[string]any)["email_verified"] != true {
				t.Errorf("the address is not verified: %v", me)
			}

			// Once only; a verified address gets no new link.
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/auth/email/verify-address", map[string]string{"token": token}),
				http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			mfaTProblem(t, env.do(t, a.Token, "POST", "/api/v1/me/email/verification", nil), http.StatusConflict, strongroom.ECONFLICT)
			env.audited(t, mfaTPlatform, seq)
			env.mail(t, a.Email, "verify-address", 1)
		})
	}
}

// TestIdentityFlowEmailSignIn: passwordless sign-in by an e-mailed code or
// link opens an AAL1 session (an e-mailed code is not an MFA factor); codes
// are single use, expire after 10 minutes, die after five wrong attempts, and
// a new one replaces the old.
func TestIdentityFlowEmailSignIn(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "pat@pwless.example", "Passwordless Org")
			start := func(email string) testkit.Response {
				t.Helper()
				return testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/auth/email/start", map[string]string{"email": email}), http.StatusAccepted)
			}
			verify := func(code string) testkit.Response {
				t.Helper()
				return env.do(t, "", "POST", "/api/v1/auth/email/verify", map[string]string{"email": a.Email, "code": code})
			}
			refused := func(code string) {
				t.Helper()
				mfaTProblem(t, verify(code), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			}
			seq := env.seq(t, mfaTPlatform)

			// The same answer for an unknown address, which gets no mail.
			known, unknown := start(a.Email), start("nobody@pwless.example")
			if !bytes.Equal(known.Body, unknown.Body) {
				t.Errorf("answers differ: %s and %s", known.Body, unknown.Body)
			}
			if n := len(env.mails("nobody@pwless.example", "signin-code")); n != 0 {
				t.Errorf("%d messages to an unknown address", n)
			}
			msg := env.mail(t, a.Email, "signin-code", 1)
			code := mfaTCode(t, msg)
			seq = env.audited(t, mfaTPlatform, seq, "email.email_signin.sent success",
				"auth.signin.email.start failure: no such account")

			refused(mfaTOther(code))
			g := mfaTParseGrant(t, verify(code), http.StatusOK)
			env.checkGrant(t, g, 1, "email")
			if g.Body["user"].(map[string]any)["email_verified"] != true {
				t.Errorf("an e-mailed code did not verify the address: %v", g.Body)
			}
			seq = env.audited(t, mfaTPlatform, seq, "auth.signin.email failure: invalid code", "auth.signin.email success")
			// Used: the code, and the link of the same message, are spent.
			refused(code)
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/auth/email/link", map[string]string{"token": env.linkToken(t, msg, "/signin/email")}),
				http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			env.audited(t, mfaTPlatform, seq, "auth.signin.email failure: no code outstanding",
				"auth.signin.email_link failure: invalid, used or expired link")

			// Four wrong attempts leave the code alive; the fifth kills it.
			start(a.Email)
			code = mfaTCode(t, env.mail(t, a.Email, "signin-code", 2))
			for range 4 {
				refused(mfaTOther(code))
			}
			mfaTParseGrant(t, verify(code), http.StatusOK)
			start(a.Email)
			code = mfaTCode(t, env.mail(t, a.Email, "signin-code", 3))
			seq = env.seq(t, mfaTPlatform)
			for range 5 {
				refused(mfaTOther(code))
			}
			refused(code)
			want := slices.Repeat([]string{"auth.signin.email failure: invalid code"}, 4)
			want = append(want, "auth.signin.email failure: invalid code; challenge voided after too many attempts",
				"auth.signin.email failure: code expired or attempts exhausted")
			seq = env.audited(t, mfaTPlatform, seq, want...)

			// Expired after 10 minutes.
			start(a.Email)
			code = mfaTCode(t, env.mail(t, a.Email, "signin-code", 4))
			env.clock.Advance(11 * time.Minute)
			refused(code)
			env.audited(t, mfaTPlatform, seq, "email.email_signin.sent success",
				"auth.signin.email failure: code expired or attempts exhausted")

			// A second code replaces the first.
			start(a.Email)
			first := mfaTCode(t, env.mail(t, a.Email, "signin-code", 5))
			start(a.Email)
			second := mfaTCode(t, env.mail(t, a.Email, "signin-code", 6))
			if first != second {
				refused(first)
			}
			env.checkGrant(t, mfaTParseGrant(t, verify(second), http.StatusOK), 1, "email")

			// The magic link: a session once.
			start(a.Email)
			link := env.linkToken(t, env.mail(t, a.Email, "signin-code", 7), "/signin/email")
			seq = env.seq(t, mfaTPlatform)
			g = mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/email/link", map[string]string{"token": link}), http.StatusOK)
			env.checkGrant(t, g, 1, "email")
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/auth/email/link", map[string]string{"token": link}),
				http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			env.audited(t, mfaTPlatform, seq, "auth.signin.email success",
				"auth.signin.email_link failure: invalid, used or expired link")
			var meta map[string]any
			evs := env.events(t, mfaTPlatform, seq)
			if err := json.Unmarshal(evs[0].Metadata, &meta); err != nil || meta["aal"] != 1.0 ||
				!slices.Equal(mfaTStrings(meta["methods"]), []string{"email"}) || evs[0].ActorID != a.UserID {
				t.Errorf("sign-in event: actor %s, metadata %s", evs[0].ActorID, evs[0].Metadata)
			}
		})
	}
}

// TestIdentityFlowPasswordReset: a single-use, 30-minute link sets a new
// password and ends every session.
func TestIdentityFlowPasswordReset(t *testing.T) {
	const newPassword = "a brand new and long passphrase"
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "rita@reset.example", "Reset Org")
			other := mfaTParseGrant(t, env.signIn(t, a.Email, mfaTPassword), http.StatusOK)
			reset := func(email string) testkit.Response {
				t.Helper()
				return testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/auth/password/reset", map[string]string{"email": email}), http.StatusAccepted)
			}
			confirm := func(token, password string) testkit.Response {
				t.Helper()
				return env.do(t, "", "POST", "/api/v1/auth/password/reset/confirm", map[string]string{"token": token, "password": password})
			}

			known, unknown := reset(a.Email), reset("nobody@reset.example")
			if !bytes.Equal(known.Body, unknown.Body) {
				t.Errorf("answers differ: %s and %s", known.Body, unknown.Body)
			}
			if n := len(env.mails("nobody@reset.example", "password-reset")); n != 0 {
				t.Errorf("%d messages to an unknown address", n)
			}
			// Expired after 30 minutes (the sessions live on meanwhile).
			expired := env.linkToken(t, env.mail(t, a.Email, "password-reset", 1), "/reset-password")
			env.clock.Advance(31 * time.Minute)
			for _, tok := range []string{a.Token, other.Token} {
				testkit.MustStatus(t, env.do(t, tok, "GET", "/api/v1/me", nil), http.StatusOK)
			}
			mfaTProblem(t, confirm(expired, newPassword), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)

			reset(a.Email)
			token := env.linkToken(t, env.mail(t, a.Email, "password-reset", 2), "/reset-password")
			env.clock.Advance(29 * time.Minute)
			// A weak password is refused and leaves the link usable.
			p := mfaTProblem(t, confirm(token, "short"), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			if len(p.Errors) != 1 || p.Errors[0].Path != "/password" {
				t.Errorf("weak password errors: %+v", p.Errors)
			}
			seq := env.seq(t, mfaTPlatform)
			testkit.MustStatus(t, confirm(token, newPassword), http.StatusNoContent)
			env.audited(t, mfaTPlatform, seq, "user.password.reset success")
			if evs := env.events(t, mfaTPlatform, seq); string(evs[0].Metadata) != `{"sessions_ended":2}` {
				t.Errorf("reset metadata %s", evs[0].Metadata)
			}
			env.mail(t, a.Email, "password-changed", 1)

			for _, tok := range []string{a.Token, other.Token} {
				mfaTProblem(t, env.do(t, tok, "GET", "/api/v1/me", nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			}
			mfaTProblem(t, env.signIn(t, a.Email, mfaTPassword), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			env.checkGrant(t, mfaTParseGrant(t, env.signIn(t, a.Email, newPassword), http.StatusOK), 1, "password")
			// Single use.
			mfaTProblem(t, confirm(token, "yet another long passphrase"), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			env.checkGrant(t, mfaTParseGrant(t, env.signIn(t, a.Email, newPassword), http.StatusOK), 1, "password")
		})
	}
}
