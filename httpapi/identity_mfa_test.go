package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// End-to-end tests of the identity flows over HTTP on both engines: address
// verification, passwordless e-mail sign-in, password reset, TOTP, recovery
// codes, WebAuthn and passkeys, the organizations' MFA and e-mail policies and
// the operators' MFA requirement. Each step asserts the status, the body, the
// side effect and the audit events it left. The service's clock is the test's
// (testClock), so expiry is tested without waiting; e-mail is read from the
// test server's outbox. The helpers (prefixed mfaT) and the MFA tests are
// here; identity_mfa_email_test.go and identity_mfa_webauthn_test.go hold the
// rest.

const mfaTPassword = "correct horse battery staple" // testkit.Server.Signup's

// mfaTEnv is a test server on one engine with the service's clock under the
// test's control and, when asked, passkeys for origin http://localhost:<port>.
type mfaTEnv struct {
	srv    *testkit.Server
	st     *store.Store
	clock  *testClock
	origin string
	obs    *observed // what the service reports for metrics
}

func mfaTNew(t *testing.T, e testkit.Engine, passkeys bool) *mfaTEnv {
	t.Helper()
	env := &mfaTEnv{st: e.Open(t), clock: &testClock{}, obs: newObserved()}
	var pkErr error
	env.srv = testkit.NewServerWithConfig(t, env.st, testkit.ServerConfig{Service: func(u string, cfg *service.Config) {
		cfg.Now = env.clock.Now
		cfg.Observer = env.obs
		if !passkeys {
			return
		}
		parsed, err := url.Parse(u)
		if err != nil {
			pkErr = err
			return
		}
		// WebAuthn needs the origin on the RP ID; the server does not check Host.
		env.origin = "http://localhost:" + parsed.Port()
		cfg.Passkeys, pkErr = passkey.New(passkey.Config{RPID: "localhost", RPDisplayName: "Strongroom",
			Origins: []string{env.origin}, Now: env.clock.Now})
	}})
	if pkErr != nil {
		t.Fatal(pkErr)
	}
	return env
}

func (env *mfaTEnv) do(t *testing.T, token, method, path string, body any) testkit.Response {
	t.Helper()
	return call(t, env.srv, token, method, path, body)
}

// mails waits for the e-mail in flight and returns the messages of kind sent
// to addr, newest first.
func (env *mfaTEnv) mails(to, kind string) []mail.OutboxMessage {
	env.srv.Service.WaitMail()
	var out []mail.OutboxMessage
	for _, m := range env.srv.Outbox.List(0) {
		if m.To == to && m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// mail returns the newest message of kind to addr, failing unless exactly n
// such messages were sent.
func (env *mfaTEnv) mail(t *testing.T, to, kind string, n int) mail.OutboxMessage {
	t.Helper()
	ms := env.mails(to, kind)
	if len(ms) != n {
		t.Fatalf("%d %q messages to %s, want %d", len(ms), kind, to, n)
	}
	return ms[0]
}

var mfaTCodeRE = regexp.MustCompile(`code is (\d{6})\b`)

// mfaTCode is the one-time code of a message.
func mfaTCode(t *testing.T, m mail.OutboxMessage) string {
	t.Helper()
	c := mfaTCodeRE.FindStringSubmatch(m.Text)
	if c == nil {
		t.Fatalf("no code in the %s message: %q", m.Kind, m.Text)
	}
	return c[1]
}

// mfaTOther is a well-formed code that is not code.
func mfaTOther(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// linkToken is the token of the link to the console's path in a message.
func (env *mfaTEnv) linkToken(t *testing.T, m mail.OutboxMessage, path string) string {
	t.Helper()
	for _, f := range strings.Fields(m.Text) {
		u, err := url.Parse(f)
		if err != nil || !strings.HasPrefix(f, env.srv.URL+path+"?") {
			continue
		}
		if tok := u.Query().Get("token"); tok != "" {
			return tok
		}
	}
	t.Fatalf("no %s link in the %s message: %q", path, m.Kind, m.Text)
	return ""
}

// seq is the sequence number of a tenant's latest audit event.
func (env *mfaTEnv) seq(t *testing.T, tenant strongroom.TenantID) int64 {
	t.Helper()
	evs := env.events(t, tenant, 0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// events returns a tenant's audit events after seq, oldest first.
func (env *mfaTEnv) events(t *testing.T, tenant strongroom.TenantID, after int64) []strongroom.AuditEvent {
	t.Helper()
	var out []strongroom.AuditEvent
	for {
		var page []strongroom.AuditEvent
		err := env.st.Read(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
			var err error
			page, err = tx.AuditEvents(context.Background(), after, 1000)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

// audited checks the tenant's events after seq, each as "action result" with
// ": reason" when it has one, and returns the latest seq.
func (env *mfaTEnv) audited(t *testing.T, tenant strongroom.TenantID, after int64, want ...string) int64 {
	t.Helper()
	evs := env.events(t, tenant, after)
	var got []string
	for _, e := range evs {
		s := e.Action + " " + string(e.Result)
		if e.Reason != "" {
			s += ": " + e.Reason
		}
		got = append(got, s)
		after = e.Seq
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("audit events (-want +got):\n%s", d)
	}
	return after
}

const mfaTPlatform = strongroom.PlatformTenant

// mfaTProblem checks that r is a problem with status and error code.
func mfaTProblem(t *testing.T, r testkit.Response, status int, code string) httpapi.Problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d (%s): %s", r.Status, status, code, r.Body)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("not a problem (%v): %s", err, r.Body)
	}
	if p.Type != httpapi.ProblemTypeBase+code {
		t.Errorf("problem type %q, want code %q", p.Type, code)
	}
	return p
}

// mfaTGrant is a session answer: the token and what the session proved.
type mfaTGrant struct {
	Token   string
	AAL     int
	Methods []string
	Body    map[string]any
}

func mfaTParseGrant(t *testing.T, r testkit.Response, status int) mfaTGrant {
	t.Helper()
	v := testkit.MustStatus(t, r, status).JSON(t)
	tok, _ := v["token"].(string)
	sess, _ := v["session"].(map[string]any)
	if tok == "" || sess == nil || v["mfa_required"] != nil {
		t.Fatalf("not a session grant: %s", r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("a grant with Cache-Control %q", cc)
	}
	g := mfaTGrant{Token: tok, AAL: int(sess["aal"].(float64)), Body: v}
	for _, m := range sess["methods"].([]any) {
		g.Methods = append(g.Methods, m.(string))
	}
	return g
}

// checkGrant checks a grant's assurance level and methods, and that its token
// works.
func (env *mfaTEnv) checkGrant(t *testing.T, g mfaTGrant, aal int, methods ...string) {
	t.Helper()
	if g.AAL != aal || !slices.Equal(g.Methods, methods) {
		t.Errorf("session aal %d methods %v, want aal %d methods %v", g.AAL, g.Methods, aal, methods)
	}
	testkit.MustStatus(t, env.do(t, g.Token, "GET", "/api/v1/me", nil), http.StatusOK)
}

// signIn signs in with a password and returns the body: a session or an MFA
// challenge.
func (env *mfaTEnv) signIn(t *testing.T, email, password string) testkit.Response {
	t.Helper()
	return env.do(t, "", "POST", "/api/v1/auth/password", map[string]string{"email": email, "password": password})
}

// challenge signs in with the password and returns the MFA challenge.
func (env *mfaTEnv) challenge(t *testing.T, email string, methods ...string) string {
	t.Helper()
	v := testkit.MustStatus(t, env.signIn(t, email, mfaTPassword), http.StatusOK).JSON(t)
	ch, _ := v["challenge"].(string)
	if v["mfa_required"] != true || ch == "" || v["token"] != nil || v["expires_at"] == nil {
		t.Fatalf("no MFA challenge: %v", v)
	}
	if d := cmp.Diff(methods, mfaTStrings(v["methods"])); d != "" {
		t.Errorf("challenge methods (-want +got):\n%s", d)
	}
	return ch
}

func mfaTStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// totp moves the clock to the next 30-second step, as a person waiting for a
// new code does, and returns the code for secret.
func (env *mfaTEnv) totp(t *testing.T, secret string) string {
	t.Helper()
	env.clock.Advance(30 * time.Second)
	code, err := otptotp.GenerateCodeCustom(secret, env.clock.Now(),
		otptotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// mfaTTOTP is a confirmed authenticator app.
type mfaTTOTP struct {
	Factor, Secret string
	Recovery       []string
	Grant          mfaTGrant // the session, rotated and at AAL2
}

// enrolTOTP enrols and confirms an authenticator app with a session token
// that signed in recently.
func (env *mfaTEnv) enrolTOTP(t *testing.T, token string) mfaTTOTP {
	t.Helper()
	v := testkit.MustStatus(t, env.do(t, token, "POST", "/api/v1/me/mfa/totp", map[string]string{}), http.StatusCreated).JSON(t)
	f := mfaTTOTP{Factor: v["id"].(string), Secret: v["secret"].(string)}
	r := env.do(t, token, "POST", "/api/v1/me/mfa/totp/"+f.Factor+"/confirm", map[string]string{"code": env.totp(t, f.Secret)})
	f.Grant = mfaTParseGrant(t, r, http.StatusOK)
	if codes, ok := f.Grant.Body["recovery_codes"].([]any); ok {
		f.Recovery = mfaTStrings(codes)
	}
	return f
}

// myMFA returns the kinds of the user's factors and the recovery codes left.
func (env *mfaTEnv) myMFA(t *testing.T, token string) ([]string, int) {
	t.Helper()
	v := testkit.MustStatus(t, env.do(t, token, "GET", "/api/v1/me/mfa", nil), http.StatusOK).JSON(t)
	kinds := []string{}
	for _, f := range v["factors"].([]any) {
		kinds = append(kinds, f.(map[string]any)["kind"].(string))
	}
	return kinds, int(v["recovery_codes_left"].(float64))
}

func (env *mfaTEnv) orgPath(org string) string { return "/api/v1/orgs/" + org }

// TestIdentityFlowTOTP: enrolling an authenticator app needs a recent sign-in
// and rotates the session to AAL2; then every first factor asks for the second;
// codes and recovery codes are single use; challenges expire and die after
// five wrong answers; removing the factor ends the MFA step.
func TestIdentityFlowTOTP(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "tom@totp.example", "TOTP Org")
			mfa := func(body map[string]string) testkit.Response {
				t.Helper()
				return env.do(t, "", "POST", "/api/v1/auth/mfa", body)
			}
			refused := func(body map[string]string) {
				t.Helper()
				mfaTProblem(t, mfa(body), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			}

			// Changing MFA needs a sign-in in the last 15 minutes.
			env.clock.Advance(16 * time.Minute)
			mfaTProblem(t, env.do(t, a.Token, "POST", "/api/v1/me/mfa/totp", map[string]string{}), http.StatusForbidden, strongroom.ESTEPUP)
			seq := env.seq(t, mfaTPlatform)
			mfaTProblem(t, env.do(t, a.Token, "POST", "/api/v1/auth/step-up", map[string]string{"password": "not my password at all"}),
				http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			up := mfaTParseGrant(t, env.do(t, a.Token, "POST", "/api/v1/auth/step-up", map[string]string{"password": mfaTPassword}), http.StatusOK)
			env.checkGrant(t, up, 1, "password")
			mfaTProblem(t, env.do(t, a.Token, "GET", "/api/v1/me", nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			seq = env.audited(t, mfaTPlatform, seq, "auth.step_up failure: invalid password", "auth.step_up success")

			v := testkit.MustStatus(t, env.do(t, up.Token, "POST", "/api/v1/me/mfa/totp", map[string]string{"name": "Phone"}), http.StatusCreated).JSON(t)
			factor, secret := v["id"].(string), v["secret"].(string)
			uri, _ := url.Parse(v["otpauth_uri"].(string))
			png, _ := base64.StdEncoding.DecodeString(v["qr_png"].(string))
			if uri == nil || uri.Scheme != "otpauth" || uri.Query().Get("secret") != secret || uri.Query().Get("issuer") != "Strongroom" ||
				!bytes.HasPrefix(png, []byte("\x89PNG")) || v["name"] != "Phone" {
				t.Errorf("enrolment: %v", v)
			}
			// Unconfirmed, it is no factor yet.
			if kinds, left := env.myMFA(t, up.Token); len(kinds) != 0 || left != 0 {
				t.Errorf("before confirmation: factors %v, %d recovery codes", kinds, left)
			}
			stale := mfaTParseGrant(t, env.signIn(t, a.Email, mfaTPassword), http.StatusOK) // AAL1, kept for later
			seq = env.audited(t, mfaTPlatform, seq, "mfa.totp.enrol_start success", "auth.signin.password success")

			code := env.totp(t, secret)
			p := mfaTProblem(t, env.do(t, up.Token, "POST", "/api/v1/me/mfa/totp/"+factor+"/confirm", map[string]string{"code": mfaTOther(code)}),
				http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			if len(p.Errors) != 1 || p.Errors[0].Path != "/code" {
				t.Errorf("confirm errors: %+v", p.Errors)
			}
			conf := mfaTParseGrant(t, env.do(t, up.Token, "POST", "/api/v1/me/mfa/totp/"+factor+"/confirm", map[string]string{"code": code}), http.StatusOK)
			env.checkGrant(t, conf, 2, "password", "totp")
			mfaTProblem(t, env.do(t, up.Token, "GET", "/api/v1/me", nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			recovery := mfaTStrings(conf.Body["recovery_codes"])
			fj := conf.Body["factor"].(map[string]any)
			if len(recovery) != 10 || len(slices.Compact(slices.Sorted(slices.Values(recovery)))) != 10 ||
				!regexp.MustCompile(`^[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}$`).MatchString(recovery[0]) ||
				fj["id"] != factor || fj["kind"] != "totp" {
				t.Errorf("confirmation: %v", conf.Body)
			}
			env.audited(t, mfaTPlatform, seq, "mfa.totp.confirm failure: invalid code", "mfa.totp.confirm success",
				"session.upgrade success")
			if kinds, left := env.myMFA(t, conf.Token); !slices.Equal(kinds, []string{"totp"}) || left != 10 {
				t.Errorf("after confirmation: factors %v, %d recovery codes", kinds, left)
			}
			// Confirmed once: the factor cannot be confirmed again.
			mfaTProblem(t, env.do(t, conf.Token, "POST", "/api/v1/me/mfa/totp/"+factor+"/confirm", map[string]string{"code": env.totp(t, secret)}),
				http.StatusNotFound, strongroom.ENOTFOUND)
			// A session that never proved the factor (opened before it) cannot
			// change MFA, even after a step-up with the password: whoever holds
			// it and the password could otherwise remove the factor, or take
			// recovery codes or a factor of their own. A step-up with the app
			// lifts it to AAL2.
			stale = mfaTParseGrant(t, env.do(t, stale.Token, "POST", "/api/v1/auth/step-up", map[string]string{"password": mfaTPassword}), http.StatusOK)
			env.checkGrant(t, stale, 1, "password")
			for _, r := range []testkit.Response{
				env.do(t, stale.Token, "DELETE", "/api/v1/me/mfa/factors/"+factor, nil),
				env.do(t, stale.Token, "POST", "/api/v1/me/mfa/recovery-codes", nil),
				env.do(t, stale.Token, "POST", "/api/v1/me/mfa/totp", map[string]string{"name": "Attacker"}),
			} {
				mfaTProblem(t, r, http.StatusForbidden, strongroom.EMFAREQUIRED)
			}
			if kinds, left := env.myMFA(t, conf.Token); !slices.Equal(kinds, []string{"totp"}) || left != 10 {
				t.Errorf("after refused changes: factors %v, %d recovery codes", kinds, left)
			}
			stale = mfaTParseGrant(t, env.do(t, stale.Token, "POST", "/api/v1/auth/step-up", map[string]string{"code": env.totp(t, secret)}), http.StatusOK)
			env.checkGrant(t, stale, 2, "password", "totp")
			testkit.MustStatus(t, env.do(t, stale.Token, "POST", "/api/v1/me/mfa/totp", map[string]string{"name": "Spare"}), http.StatusCreated)

			// Every first factor now asks for the second; an e-mailed code too.
			ch := env.challenge(t, a.Email, "totp", "recovery")
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/auth/email/start", map[string]string{"email": a.Email}), http.StatusAccepted)
			ev := testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/auth/email/verify",
				map[string]string{"email": a.Email, "code": mfaTCode(t, env.mail(t, a.Email, "signin-code", 1))}), http.StatusOK).JSON(t)
			if ev["mfa_required"] != true || ev["token"] != nil {
				t.Errorf("an e-mailed code skipped the second factor: %v", ev)
			}
			seq = env.seq(t, mfaTPlatform)
			code = env.totp(t, secret)
			env.checkGrant(t, mfaTParseGrant(t, mfa(map[string]string{"challenge": ch, "code": code}), http.StatusOK), 2, "password", "totp")
			refused(map[string]string{"challenge": ch, "code": env.totp(t, secret)}) // the challenge is spent
			// A replayed code, on a new challenge, is refused and counted.
			ch = env.challenge(t, a.Email, "totp", "recovery")
			refused(map[string]string{"challenge": ch, "code": code})
			seq = env.audited(t, mfaTPlatform, seq, "auth.mfa success", "auth.signin.password success: first factor; second factor required",
				"auth.mfa failure: code replayed")
			// Four wrong answers leave it alive (three here, after the replay);
			// the fifth voids it, so a right code then fails.
			for range 3 {
				refused(map[string]string{"challenge": ch, "code": "123456x"})
			}
			code = env.totp(t, secret)
			refused(map[string]string{"challenge": ch, "code": mfaTOther(code)})
			refused(map[string]string{"challenge": ch, "code": code})
			want := slices.Repeat([]string{"auth.mfa failure: invalid code"}, 3)
			env.audited(t, mfaTPlatform, seq, append(want, "auth.mfa failure: invalid code; challenge voided after too many attempts")...)
			ch = env.challenge(t, a.Email, "totp", "recovery")
			for range 4 {
				refused(map[string]string{"challenge": ch, "code": mfaTOther(code)})
			}
			env.checkGrant(t, mfaTParseGrant(t, mfa(map[string]string{"challenge": ch, "code": code}), http.StatusOK), 2, "password", "totp")
			// Expired after 10 minutes.
			ch = env.challenge(t, a.Email, "totp", "recovery")
			env.clock.Advance(10 * time.Minute)
			refused(map[string]string{"challenge": ch, "code": env.totp(t, secret)})

			// A recovery code works once, in any case and without dashes.
			ch = env.challenge(t, a.Email, "totp", "recovery")
			rec := mfaTParseGrant(t, mfa(map[string]string{"challenge": ch, "recovery_code": recovery[0]}), http.StatusOK)
			env.checkGrant(t, rec, 2, "password", "recovery")
			ch = env.challenge(t, a.Email, "totp", "recovery")
			refused(map[string]string{"challenge": ch, "recovery_code": recovery[0]})
			ch = env.challenge(t, a.Email, "totp", "recovery")
			mfaTParseGrant(t, mfa(map[string]string{"challenge": ch,
				"recovery_code": strings.ToUpper(strings.ReplaceAll(recovery[1], "-", ""))}), http.StatusOK)
			if _, left := env.myMFA(t, rec.Token); left != 8 {
				t.Errorf("%d recovery codes left, want 8", left)
			}
			// Both code kinds at once are a malformed answer: 422, no attempt counted.
			ch = env.challenge(t, a.Email, "totp", "recovery")
			mfaTProblem(t, mfa(map[string]string{"challenge": ch, "recovery_code": recovery[2], "code": env.totp(t, secret)}),
				http.StatusUnprocessableEntity, strongroom.EVALIDATION)

			// New recovery codes (after a step-up with the app) void the old ones.
			env.clock.Advance(16 * time.Minute)
			mfaTProblem(t, env.do(t, rec.Token, "POST", "/api/v1/me/mfa/recovery-codes", nil), http.StatusForbidden, strongroom.ESTEPUP)
			up = mfaTParseGrant(t, env.do(t, rec.Token, "POST", "/api/v1/auth/step-up", map[string]string{"code": env.totp(t, secret)}), http.StatusOK)
			env.checkGrant(t, up, 2, "password", "recovery", "totp")
			seq = env.seq(t, mfaTPlatform)
			rv := testkit.MustStatus(t, env.do(t, up.Token, "POST", "/api/v1/me/mfa/recovery-codes", nil), http.StatusOK)
			fresh := mfaTStrings(rv.JSON(t)["recovery_codes"])
			if len(fresh) != 10 || slices.Contains(fresh, recovery[3]) || rv.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("new recovery codes: %s", rv.Body)
			}
			env.audited(t, mfaTPlatform, seq, "mfa.recovery_codes.regenerate success")
			ch = env.challenge(t, a.Email, "totp", "recovery")
			refused(map[string]string{"challenge": ch, "recovery_code": recovery[3]})
			mfaTParseGrant(t, mfa(map[string]string{"challenge": ch, "recovery_code": fresh[0]}), http.StatusOK)
			if _, left := env.myMFA(t, up.Token); left != 9 {
				t.Errorf("%d recovery codes left, want 9", left)
			}

			// Removing the factor: sign-in needs no second factor again, and the
			// recovery codes are void.
			mfaTProblem(t, env.do(t, up.Token, "DELETE", "/api/v1/me/mfa/factors/00000000-0000-7000-8000-000000000000", nil),
				http.StatusNotFound, strongroom.ENOTFOUND)
			// (An enrolment left unconfirmed is no factor: it does not keep the
			// recovery codes alive.)
			testkit.MustStatus(t, env.do(t, up.Token, "POST", "/api/v1/me/mfa/totp", map[string]string{"name": "Tablet"}), http.StatusCreated)
			seq = env.seq(t, mfaTPlatform)
			testkit.MustStatus(t, env.do(t, up.Token, "DELETE", "/api/v1/me/mfa/factors/"+factor, nil), http.StatusNoContent)
			env.audited(t, mfaTPlatform, seq, "mfa.factor.delete success")
			if evs := env.events(t, mfaTPlatform, seq); string(evs[0].Metadata) != `{"factors_left":0}` || evs[0].TargetID != factor {
				t.Errorf("factor removal event: target %s, metadata %s", evs[0].TargetID, evs[0].Metadata)
			}
			if kinds, left := env.myMFA(t, up.Token); len(kinds) != 0 || left != 0 {
				t.Errorf("after removal: factors %v, %d recovery codes", kinds, left)
			}
			env.checkGrant(t, mfaTParseGrant(t, env.signIn(t, a.Email, mfaTPassword), http.StatusOK), 1, "password")
		})
	}
}

// TestIdentityFlowOrgPolicy: an organization that requires MFA turns away
// members without it until they enrol; one that requires an e-mail step turns
// sessions away until they add one.
func TestIdentityFlowOrgPolicy(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			admin := env.srv.Signup(t, "ada@policy.example", "Policy Org")
			member := env.srv.Signup(t, "max@policy.example", "Max Org")
			org := strongroom.TenantID(admin.OrgID)
			testkit.MustStatus(t, env.do(t, admin.Token, "POST", env.orgPath(admin.OrgID)+"/members",
				map[string]string{"email": member.Email, "role": "editor"}), http.StatusCreated)
			before := mfaTParseGrant(t, env.signIn(t, member.Email, mfaTPassword), http.StatusOK) // an AAL1 session kept for later
			adminTOTP := env.enrolTOTP(t, admin.Token)

			put := func(token string, body map[string]any) testkit.Response {
				t.Helper()
				return env.do(t, token, "PUT", env.orgPath(admin.OrgID)+"/settings", body)
			}
			seq := env.seq(t, org)
			r := testkit.MustStatus(t, put(adminTOTP.Grant.Token, map[string]any{"mfa_required": true}), http.StatusOK)
			want := `{"mfa_required":true,"email_verify_each_sign_in":false,"sign_in_methods":[],"allowed_email_domains":[],"session_idle_minutes":0,"session_absolute_hours":0,` +
				`"default_retention":null,"audit_retention_days":0}`
			if got := strings.TrimSpace(string(r.Body)); got != want {
				t.Errorf("settings %s, want %s", got, want)
			}
			seq = env.audited(t, org, seq, "org.settings.update success")
			enter := func(token string) testkit.Response {
				t.Helper()
				return env.do(t, token, "GET", env.orgPath(admin.OrgID), nil)
			}

			// Without a factor: enrol first. The member's own organization does
			// not mind.
			mfaTProblem(t, enter(member.Token), http.StatusForbidden, strongroom.EMFAENROLL)
			seq = env.audited(t, org, seq, "access.denied denied: mfa enrolment required")
			testkit.MustStatus(t, env.do(t, member.Token, "GET", env.orgPath(member.OrgID), nil), http.StatusOK)
			f := env.enrolTOTP(t, member.Token)
			env.checkGrant(t, f.Grant, 2, "password", "totp")
			testkit.MustStatus(t, enter(f.Grant.Token), http.StatusOK)
			// A session from before the enrolment is still AAL1: sign in again.
			mfaTProblem(t, enter(before.Token), http.StatusForbidden, strongroom.EMFAREQUIRED)
			env.audited(t, org, seq, "access.denied denied: mfa required")
			ch := env.challenge(t, member.Email, "totp", "recovery")
			g := mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/mfa", map[string]string{"challenge": ch, "code": env.totp(t, f.Secret)}), http.StatusOK)
			testkit.MustStatus(t, enter(g.Token), http.StatusOK)

			// The e-mail step on each sign-in.
			testkit.MustStatus(t, put(adminTOTP.Grant.Token, map[string]any{"email_verify_each_sign_in": true}), http.StatusOK)
			seq = env.seq(t, org)
			mfaTProblem(t, enter(f.Grant.Token), http.StatusForbidden, strongroom.EEMAILSTEP)
			seq = env.audited(t, org, seq, "access.denied denied: e-mail verification required")
			testkit.MustStatus(t, env.do(t, f.Grant.Token, "POST", "/api/v1/auth/email/step", nil), http.StatusAccepted)
			code := mfaTCode(t, env.mail(t, member.Email, "signin-step-code", 1))
			pseq := env.seq(t, mfaTPlatform)
			step := func(token, code string) testkit.Response {
				t.Helper()
				return env.do(t, token, "POST", "/api/v1/auth/email/step/verify", map[string]string{"code": code})
			}
			mfaTProblem(t, step(f.Grant.Token, mfaTOther(code)), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			sg := mfaTParseGrant(t, step(f.Grant.Token, code), http.StatusOK)
			env.checkGrant(t, sg, 2, "password", "totp", "email") // still AAL2, not more
			env.audited(t, mfaTPlatform, pseq, "auth.email_step failure: invalid code", "auth.email_step success")
			mfaTProblem(t, enter(f.Grant.Token), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			testkit.MustStatus(t, enter(sg.Token), http.StatusOK)
			mfaTProblem(t, step(sg.Token, code), http.StatusUnprocessableEntity, strongroom.EVALIDATION) // single use
			env.audited(t, org, seq)
			// A sign-in by e-mailed code (then the app) has taken the step already.
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/auth/email/start", map[string]string{"email": member.Email}), http.StatusAccepted)
			v := testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/auth/email/verify", map[string]string{"email": member.Email,
				"code": mfaTCode(t, env.mail(t, member.Email, "signin-code", 1))}), http.StatusOK).JSON(t)
			g = mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/mfa", map[string]string{"challenge": v["challenge"].(string),
				"code": env.totp(t, f.Secret)}), http.StatusOK)
			env.checkGrant(t, g, 2, "email", "totp")
			testkit.MustStatus(t, enter(g.Token), http.StatusOK)
		})
	}
}

// TestIdentityFlowConcurrentUse: a code, a challenge or a recovery code sent
// by several requests at once opens one session.
func TestIdentityFlowConcurrentUse(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "cora@race.example", "Race Org")
			// race posts each body at once and returns how many were answered 200.
			race := func(path string, bodies ...any) int {
				t.Helper()
				statuses := make(chan int, len(bodies))
				for _, b := range bodies {
					go func() {
						enc, _ := json.Marshal(b)
						resp, err := http.Post(env.srv.URL+path, "application/json", bytes.NewReader(enc))
						if err != nil {
							statuses <- 0
							return
						}
						resp.Body.Close()
						statuses <- resp.StatusCode
					}()
				}
				ok := 0
				for range bodies {
					switch s := <-statuses; s {
					case http.StatusOK:
						ok++
					case http.StatusUnauthorized:
					default:
						t.Errorf("status %d", s)
					}
				}
				return ok
			}
			const n = 6

			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/auth/email/start", map[string]string{"email": a.Email}), http.StatusAccepted)
			code := mfaTCode(t, env.mail(t, a.Email, "signin-code", 1))
			body := map[string]string{"email": a.Email, "code": code}
			if ok := race("/api/v1/auth/email/verify", slices.Repeat([]any{body}, n)...); ok != 1 {
				t.Errorf("one e-mailed code opened %d sessions", ok)
			}

			f := env.enrolTOTP(t, a.Token)
			ch := env.challenge(t, a.Email, "totp", "recovery")
			body = map[string]string{"challenge": ch, "code": env.totp(t, f.Secret)}
			if ok := race("/api/v1/auth/mfa", slices.Repeat([]any{body}, n)...); ok != 1 {
				t.Errorf("one challenge and code opened %d sessions", ok)
			}
			// One TOTP code on several challenges.
			code = env.totp(t, f.Secret)
			var bodies []any
			for range n {
				bodies = append(bodies, map[string]string{"challenge": env.challenge(t, a.Email, "totp", "recovery"), "code": code})
			}
			if ok := race("/api/v1/auth/mfa", bodies...); ok != 1 {
				t.Errorf("one TOTP code opened %d sessions", ok)
			}
			// One recovery code on several challenges.
			bodies = nil
			for range n {
				bodies = append(bodies, map[string]string{"challenge": env.challenge(t, a.Email, "totp", "recovery"), "recovery_code": f.Recovery[0]})
			}
			if ok := race("/api/v1/auth/mfa", bodies...); ok != 1 {
				t.Errorf("one recovery code opened %d sessions", ok)
			}
			if _, left := env.myMFA(t, f.Grant.Token); left != 9 {
				t.Errorf("%d recovery codes left, want 9", left)
			}
		})
	}
}
