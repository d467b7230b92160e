package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/oidcauth"
)

// End-to-end tests of "Sign in with an OpenID Connect provider" over HTTP on
// both engines, against a real OpenID provider (testkit.NewOIDCProvider). The
// test plays the browser: it follows the redirects itself and carries the
// cookies by hand, since the __Host- cookies are Secure and the test server
// speaks plain HTTP (a cookie jar would not send them back). Each step checks
// the status, the redirect, the cookies, the account it reached and the audit
// events it left.

// TestOIDCSignIn: a first sign-in with a verified e-mail creates the account
// and a browser session signed in with "oidc"; the account is keyed on the
// provider's (issuer, subject), so a changed e-mail signs into it again, and
// an address the provider did not verify makes no account.
func TestOIDCSignIn(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := oidcTNew(t, e)
			v := testkit.MustStatus(t, env.srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/auth/oidc/providers"}), http.StatusOK).JSON(t)
			want := []any{map[string]any{"name": "test", "display_name": "Test IdP", "start_url": oidcTStart}}
			if d := cmp.Diff(want, v["items"]); d != "" {
				t.Errorf("providers (-want +got):\n%s", d)
			}

			ada := testkit.DefaultOIDCUser()
			env.idp.SetUser(ada)
			b := env.browser()
			seq := env.seq(t, oidcTPlatform)
			uid := b.signedIn(t, b.signIn(t))
			b.checkSession(t, 1, "oidc")
			if got := env.account(t, ada.Email); got != uid {
				t.Errorf("the new account of %s is %q, the session's %q", ada.Email, got, uid)
			}
			if got := env.federated(t, ada.Subject); got != uid {
				t.Errorf("subject %s is linked to %q, want %q", ada.Subject, got, uid)
			}
			env.audited(t, oidcTPlatform, seq,
				oidcTEvent{Action: "user.signup", Result: "success", Target: uid},
				oidcTEvent{Action: "user.federated_identity.link", Result: "success", Target: uid, How: "new account"},
				oidcTEvent{Action: "auth.signin.oidc", Result: "success", Target: uid})
			// An OIDC account has no password.
			r := env.srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/password",
				Body: map[string]string{"email": ada.Email, "password": oidcTPassword}})
			oidcTRefused(t, r, http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			seq = env.seq(t, oidcTPlatform)

			// The provider changes the user's address: same subject, same account.
			moved := ada
			moved.Email = "ada.lovelace@elsewhere.test"
			env.idp.SetUser(moved)
			b2 := env.browser()
			if got := b2.signedIn(t, b2.signIn(t)); got != uid {
				t.Errorf("after an e-mail change the subject signs into %q, want %q", got, uid)
			}
			if env.account(t, moved.Email) != "" {
				t.Error("an account was made for the new address")
			}
			seq = env.audited(t, oidcTPlatform, seq, oidcTEvent{Action: "auth.signin.oidc", Result: "success", Target: uid})

			// Another subject with an address the provider did not verify: no
			// account is made.
			env.idp.SetUser(testkit.OIDCUser{Subject: "unverified-1", Email: "eve@example.test", EmailVerified: false})
			b3 := env.browser()
			oidcTRefused(t, b3.signIn(t), http.StatusForbidden, strongroom.EFORBIDDEN)
			if env.account(t, "eve@example.test") != "" || env.federated(t, "unverified-1") != "" {
				t.Error("an unverified address made an account")
			}
			env.audited(t, oidcTPlatform, seq, oidcTEvent{Action: "auth.signin.oidc", Result: "failure",
				Reason: "the provider did not confirm an e-mail address"})

			// Claims only at the userinfo endpoint work the same.
			env.idp.SetClaimsInIDToken(false)
			env.idp.SetUser(moved)
			b4 := env.browser()
			if got := b4.signedIn(t, b4.signIn(t)); got != uid {
				t.Errorf("with claims at userinfo: account %q, want %q", got, uid)
			}
			env.noSecrets(t)
		})
	}
}

// TestOIDCLinking: an existing account is linked through an address the
// provider verified only when the account's own address is confirmed too;
// a signed-in user links any provider account to themselves after a recent
// sign-in.
func TestOIDCLinking(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := oidcTNew(t, e)

			// An account whose address was never confirmed (possibly made by
			// someone else, waiting for its owner: pre-account takeover) is
			// not linked through the provider's verified address.
			bob := env.srv.Signup(t, "bob@link.example", "Bob Org")
			env.idp.SetUser(testkit.OIDCUser{Subject: "bob-sub", Email: bob.Email, EmailVerified: true})
			seq := env.seq(t, oidcTPlatform)
			oidcTRefused(t, env.browser().signIn(t), http.StatusForbidden, strongroom.EFORBIDDEN)
			if env.federated(t, "bob-sub") != "" {
				t.Error("linked to an account whose address is unconfirmed")
			}
			env.audited(t, oidcTPlatform, seq, oidcTEvent{Action: "auth.signin.oidc", Result: "failure", Target: bob.UserID,
				Reason: "an account with this e-mail address exists but its address was never confirmed"})

			// The address confirmed, the verified address links.
			env.verifyAddress(t, bob.Email)
			seq = env.seq(t, oidcTPlatform)
			b := env.browser()
			if got := b.signedIn(t, b.signIn(t)); got != bob.UserID {
				t.Errorf("verified e-mail signs into %q, want bob's %q", got, bob.UserID)
			}
			b.checkSession(t, 1, "oidc")
			env.audited(t, oidcTPlatform, seq,
				oidcTEvent{Action: "user.federated_identity.link", Result: "success", Target: bob.UserID, How: "verified e-mail"},
				oidcTEvent{Action: "auth.signin.oidc", Result: "success", Target: bob.UserID})
			// The password still works.
			testkit.MustStatus(t, env.srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/password",
				Body: map[string]string{"email": bob.Email, "password": oidcTPassword}}), http.StatusOK)
			seq = env.seq(t, oidcTPlatform)

			// Another subject with bob's address, unverified: refused, nothing linked.
			env.idp.SetUser(testkit.OIDCUser{Subject: "mallory-sub", Email: bob.Email, EmailVerified: false})
			oidcTRefused(t, env.browser().signIn(t), http.StatusForbidden, strongroom.EFORBIDDEN)
			if env.federated(t, "mallory-sub") != "" {
				t.Error("an unverified address linked an account")
			}
			env.audited(t, oidcTPlatform, seq, oidcTEvent{Action: "auth.signin.oidc", Result: "failure",
				Reason: "the provider did not confirm an e-mail address"})

			// A signed-in user links a provider account with no verified
			// address (nor the same one) to themselves.
			carol := env.srv.Signup(t, "carol@link.example", "Carol Org")
			cb := env.browser()
			cb.cookies[httpapi.SessionCookie] = oidcTBrowserSession(t, env, carol.Email)
			oldSession := oidcTCurrentSession(t, env, cb.cookies[httpapi.SessionCookie])
			env.idp.SetUser(testkit.OIDCUser{Subject: "carol-work", Email: "c.other@corp.example", EmailVerified: false})
			seq = env.seq(t, oidcTPlatform)
			if got := cb.signedIn(t, cb.signIn(t)); got != carol.UserID {
				t.Errorf("a signed-in link signs into %q, want carol's %q", got, carol.UserID)
			}
			if got := env.federated(t, "carol-work"); got != carol.UserID {
				t.Errorf("carol-work linked to %q, want %q", got, carol.UserID)
			}
			env.audited(t, oidcTPlatform, seq,
				oidcTEvent{Action: "user.federated_identity.link", Result: "success", Target: carol.UserID, How: "signed-in user"},
				oidcTEvent{Action: "auth.signin.oidc", Result: "success", Target: carol.UserID},
				// The session whose cookie the new one replaced is ended, not left running.
				oidcTEvent{Action: "session.end", Result: "success", Target: oldSession})
			// From now on, the provider account alone signs carol in.
			fresh := env.browser()
			if got := fresh.signedIn(t, fresh.signIn(t)); got != carol.UserID {
				t.Errorf("the linked account signs into %q, want %q", got, carol.UserID)
			}

			// A session that signed in long ago (a stolen cookie, say) links
			// nothing until it steps up.
			dave := env.srv.Signup(t, "dave@link.example", "Dave Org")
			db := env.browser()
			db.cookies[httpapi.SessionCookie] = oidcTBrowserSession(t, env, dave.Email)
			seq = env.seq(t, oidcTPlatform)
			env.clock.Advance(16 * time.Minute)
			env.idp.SetUser(testkit.OIDCUser{Subject: "dave-work", Email: "d@corp.example", EmailVerified: false})
			oidcTRefused(t, db.signIn(t), http.StatusForbidden, strongroom.ESTEPUP)
			if env.federated(t, "dave-work") != "" {
				t.Error("an old session linked a provider account")
			}
			env.audited(t, oidcTPlatform, seq, oidcTEvent{Action: "auth.signin.oidc", Result: "failure", Target: dave.UserID,
				Reason: "this action needs a recent sign-in"})
		})
	}
}

// TestOIDCRefusals: a callback is accepted only in the browser that started
// the flow, once, with the flow's state, within the flow's lifetime; every
// refusal is audited and opens no session.
func TestOIDCRefusals(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := oidcTNew(t, e)
			failed := func(reason string) oidcTEvent {
				return oidcTEvent{Action: "auth.signin.oidc", Result: "failure", Reason: reason}
			}
			const noFlow = "no live sign-in for this browser"
			seq := env.seq(t, oidcTPlatform)

			// Login CSRF: an attacker's callback URL carried to another
			// browser finds no flow there...
			attacker := env.browser()
			back := attacker.authorize(t)
			victim := env.browser()
			oidcTRefused(t, victim.do(t, "GET", back.String(), nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			seq = env.audited(t, oidcTPlatform, seq, failed(noFlow))
			// ... nor in a browser with a flow of its own (whose state differs).
			victim.start(t)
			oidcTRefused(t, victim.do(t, "GET", back.String(), nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			env.audited(t, oidcTPlatform, seq, failed("oidcauth: provider test: state mismatch"))
			if _, ok := victim.cookies[httpapi.OIDCFlowCookie]; ok {
				t.Error("a refused callback leaves the flow cookie")
			}
			if env.account(t, testkit.DefaultOIDCUser().Email) != "" {
				t.Error("a refused callback made an account")
			}

			// A replayed callback: same cookie, same code.
			b := env.browser()
			back = b.authorize(t)
			flow := b.cookies[httpapi.OIDCFlowCookie]
			b.signedIn(t, b.do(t, "GET", back.String(), nil))
			seq = env.seq(t, oidcTPlatform)
			replay := env.browser()
			replay.cookies[httpapi.OIDCFlowCookie] = flow
			oidcTRefused(t, replay.do(t, "GET", back.String(), nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			seq = env.audited(t, oidcTPlatform, seq, failed(noFlow))

			// A state that is not the flow's.
			b = env.browser()
			back = b.authorize(t)
			q := back.Query()
			q.Set("state", strings.Repeat("A", 43))
			back.RawQuery = q.Encode()
			oidcTRefused(t, b.do(t, "GET", back.String(), nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			seq = env.audited(t, oidcTPlatform, seq, failed("oidcauth: provider test: state mismatch"))

			// The user refuses at the provider.
			b = env.browser()
			auth := b.start(t)
			deny := url.Values{"error": {"access_denied"}, "error_description": {"the user said no"}, "state": {auth.Query().Get("state")}}
			oidcTRefused(t, b.do(t, "GET", oidcTCallback+"?"+deny.Encode(), nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			seq = env.audited(t, oidcTPlatform, seq, failed("oidcauth: provider test: provider returned an error (access_denied"))

			// An unknown provider: not found, at the start and at the callback,
			// where the browser's flow is left alone.
			oidcTRefused(t, b.do(t, "GET", "/api/v1/auth/oidc/nope/start", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			if _, ok := b.cookies[httpapi.OIDCFlowCookie]; ok {
				t.Error("an unknown provider's start sets a flow cookie")
			}
			back = b.authorize(t)
			flow = b.cookies[httpapi.OIDCFlowCookie]
			wrong := strings.Replace(back.String(), oidcTCallback, "/api/v1/auth/oidc/nope/callback", 1)
			oidcTRefused(t, b.do(t, "GET", wrong, nil), http.StatusNotFound, strongroom.ENOTFOUND)
			env.audited(t, oidcTPlatform, seq, failed("unknown provider"))
			b.cookies[httpapi.OIDCFlowCookie] = flow // the browser's cookie was cleared; the flow itself is unspent
			b.signedIn(t, b.do(t, "GET", back.String(), nil))
			seq = env.seq(t, oidcTPlatform)

			// A flow older than its lifetime.
			b = env.browser()
			back = b.authorize(t)
			env.clock.Advance(oidcauth.FlowLifetime + time.Minute)
			oidcTRefused(t, b.do(t, "GET", back.String(), nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			env.audited(t, oidcTPlatform, seq, failed(noFlow))
			env.noSecrets(t)
		})
	}
}

// TestOIDCWithTOTP: a user with an authenticator app who signs in with the
// provider is sent to the console's MFA page with a challenge, which a TOTP
// code completes into a browser session at AAL2.
func TestOIDCWithTOTP(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := oidcTNew(t, e)
			b := env.browser()
			uid := b.signedIn(t, b.signIn(t))

			// Enrol an authenticator app with the browser session.
			v := testkit.MustStatus(t, b.do(t, "POST", "/api/v1/me/mfa/totp", map[string]string{}), http.StatusCreated).JSON(t)
			factor, secret := v["id"].(string), v["secret"].(string)
			code := func() string {
				t.Helper()
				env.clock.Advance(30 * time.Second) // the next code, as a person would wait for it
				c, err := otptotp.GenerateCodeCustom(secret, env.clock.Now(),
					otptotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			testkit.MustStatus(t, b.do(t, "POST", "/api/v1/me/mfa/totp/"+factor+"/confirm", map[string]string{"code": code()}), http.StatusOK)
			b.checkSession(t, 2, "oidc", "totp")

			seq := env.seq(t, oidcTPlatform)
			nb := env.browser()
			r := nb.signIn(t)
			loc := r.Header.Get("Location")
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin/mfa#challenge=") {
				t.Fatalf("callback: status %d to %q, want 303 to /signin/mfa#challenge=…", r.Status, loc)
			}
			if oidcTCookie(r, httpapi.SessionCookie) != nil {
				t.Error("a session cookie before the second factor")
			}
			challenge, err := url.QueryUnescape(strings.TrimPrefix(loc, "/signin/mfa#challenge="))
			if err != nil {
				t.Fatal(err)
			}
			seq = env.audited(t, oidcTPlatform, seq, oidcTEvent{Action: "auth.signin.oidc", Result: "success", Target: uid,
				Reason: "first factor; second factor required"})
			testkit.MustStatus(t, nb.do(t, "GET", "/api/v1/me", nil), http.StatusUnauthorized)

			// A wrong code, then the right one.
			bad := "000000"
			if c := code(); c == bad {
				bad = "000001"
			}
			oidcTRefused(t, nb.do(t, "POST", "/api/v1/auth/mfa", map[string]string{"challenge": challenge, "code": bad}),
				http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			r = testkit.MustStatus(t, nb.do(t, "POST", "/api/v1/auth/mfa", map[string]string{"challenge": challenge, "code": code()}), http.StatusOK)
			oidcTCheckCookie(t, oidcTCookie(r, httpapi.SessionCookie), httpapi.SessionCookie)
			if body := r.JSON(t); body["token"] != nil {
				t.Error("a browser session's token is in the body")
			}
			nb.checkSession(t, 2, "oidc", "totp")
			env.audited(t, oidcTPlatform, seq,
				oidcTEvent{Action: "auth.mfa", Result: "failure", Target: uid, Reason: "invalid code"},
				oidcTEvent{Action: "auth.mfa", Result: "success", Target: uid})
			// The challenge is spent.
			oidcTRefused(t, nb.do(t, "POST", "/api/v1/auth/mfa", map[string]string{"challenge": challenge, "code": code()}),
				http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		})
	}
}

// TestOIDCSignInMethods: an organization that allows only "oidc" admits an
// OIDC session and refuses a password session.
func TestOIDCSignInMethods(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := oidcTNew(t, e)
			admin := env.srv.Signup(t, "admin@only-oidc.example", "Only OIDC")
			env.verifyAddress(t, admin.Email)
			orgPath := "/api/v1/orgs/" + admin.OrgID
			// A password-session Admin cannot shut itself out (422); the
			// setting is made as an OIDC-signed-in Admin would.
			testkit.MustStatus(t, env.srv.Do(t, testkit.Request{Method: "PUT", Path: orgPath + "/settings", Token: admin.Token,
				Body: map[string]any{"sign_in_methods": []string{"oidc"}}}), http.StatusUnprocessableEntity)
			env.srv.SetOrgSettings(t, strongroom.TenantID(admin.OrgID), strongroom.OrgSettings{SignInMethods: []string{"oidc"}})

			org := strongroom.TenantID(admin.OrgID)
			seq := env.seq(t, org)
			r := env.srv.Do(t, testkit.Request{Method: "GET", Path: orgPath, Token: admin.Token})
			oidcTRefused(t, r, http.StatusForbidden, strongroom.EFORBIDDEN)
			env.audited(t, org, seq, oidcTEvent{Action: "access.denied", Result: "denied", Target: admin.OrgID,
				Reason: "sign-in method not allowed"})

			env.idp.SetUser(testkit.OIDCUser{Subject: "admin-sub", Email: admin.Email, EmailVerified: true})
			b := env.browser()
			if got := b.signedIn(t, b.signIn(t)); got != admin.UserID {
				t.Fatalf("signed into %q, want the admin %q", got, admin.UserID)
			}
			v := testkit.MustStatus(t, b.do(t, "GET", orgPath, nil), http.StatusOK).JSON(t)
			if v["id"] != admin.OrgID {
				t.Errorf("organization %v", v)
			}
		})
	}
}
