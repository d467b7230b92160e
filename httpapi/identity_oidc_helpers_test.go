package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/oidcauth"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// Helpers of the OpenID Connect sign-in tests (identity_oidc_test.go).

const (
	oidcTProvider = "test"
	oidcTStart    = "/api/v1/auth/oidc/" + oidcTProvider + "/start"
	oidcTCallback = "/api/v1/auth/oidc/" + oidcTProvider + "/callback"
	oidcTPassword = "correct horse battery staple" // testkit.Server.Signup's
)

// oidcTEnv is a test server with one OpenID provider, "test", on one engine;
// the service's and the relying party's clock is the test's.
type oidcTEnv struct {
	srv   *testkit.Server
	st    *store.Store
	idp   *testkit.OIDCProvider
	clock *testClock
	logs  *oidcTLog
}

func oidcTNew(t *testing.T, e testkit.Engine) *oidcTEnv {
	t.Helper()
	env := &oidcTEnv{st: e.Open(t), clock: &testClock{}, logs: &oidcTLog{}}
	var regErr error
	env.srv = testkit.NewServerWithConfig(t, env.st, testkit.ServerConfig{
		Logger: slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Service: func(base string, cfg *service.Config) {
			cfg.Now = env.clock.Now
			env.idp = testkit.NewOIDCProvider(t, base+oidcTCallback)
			cfg.OIDC, regErr = oidcauth.NewRegistry(context.Background(), []oidcauth.ProviderConfig{{
				Name: oidcTProvider, DisplayName: "Test IdP", Issuer: env.idp.Issuer,
				ClientID: env.idp.ClientID, ClientSecret: env.idp.ClientSecret,
			}}, base, nil, oidcauth.WithClock(env.clock.Now))
		},
	})
	if regErr != nil {
		t.Fatal(regErr)
	}
	return env
}

// oidcTLog collects the server's logs.
type oidcTLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *oidcTLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *oidcTLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// oidcTBrowser is one browser: it keeps the cookies the server sets and sends
// them back, and follows no redirect by itself.
type oidcTBrowser struct {
	env     *oidcTEnv
	hc      *http.Client
	cookies map[string]string
}

func (env *oidcTEnv) browser() *oidcTBrowser {
	return &oidcTBrowser{env: env, cookies: map[string]string{},
		hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request to the server (path or absolute URL) with the
// browser's cookies, and keeps the cookies the answer sets or clears.
func (b *oidcTBrowser) do(t *testing.T, method, target string, body any) testkit.Response {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.env.srv.URL + target
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(oidcTJSON(t, body))
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for name, value := range b.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return testkit.Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

func oidcTJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oidcTCookie returns the cookie an answer sets, or nil.
func oidcTCookie(r testkit.Response, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// checkCookie checks the attributes every Strongroom browser cookie has.
func oidcTCheckCookie(t *testing.T, c *http.Cookie, name string) {
	t.Helper()
	if c == nil {
		t.Fatalf("no %s cookie set", name)
	}
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie %s: Secure=%v HttpOnly=%v SameSite=%v Path=%q Domain=%q, want Secure, HttpOnly, Lax, /, no domain",
			name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain)
	}
}

var oidcTSecretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`) // 256 bits, base64url

// start opens the start URL and returns the provider's authorization URL,
// after checking the redirect (code flow, PKCE S256, state, nonce) and the
// flow cookie.
func (b *oidcTBrowser) start(t *testing.T) *url.URL {
	t.Helper()
	r := b.do(t, "GET", oidcTStart, nil)
	if r.Status != http.StatusFound {
		t.Fatalf("start: status %d, want 302: %s", r.Status, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("start: Cache-Control %q", cc)
	}
	c := oidcTCookie(r, httpapi.OIDCFlowCookie)
	oidcTCheckCookie(t, c, httpapi.OIDCFlowCookie)
	auth, err := url.Parse(r.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(auth.String(), b.env.idp.Issuer+"/") {
		t.Fatalf("start redirects to %q, want the provider %s", r.Header.Get("Location"), b.env.idp.Issuer)
	}
	q := auth.Query()
	for k, want := range map[string]string{"response_type": "code", "client_id": b.env.idp.ClientID,
		"redirect_uri": b.env.srv.URL + oidcTCallback, "code_challenge_method": "S256"} {
		if got := q.Get(k); got != want {
			t.Errorf("authorization request %s=%q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"code_challenge", "state", "nonce"} {
		if v := q.Get(k); !oidcTSecretRE.MatchString(v) {
			t.Errorf("authorization request %s=%q, want 256 random bits in base64url", k, v)
		}
		if q.Get(k) == c.Value {
			t.Errorf("the flow cookie holds the %s", k)
		}
	}
	if q.Get("state") == q.Get("nonce") || q.Has("code_verifier") {
		t.Errorf("authorization request %v: state equals nonce or the verifier is sent", q)
	}
	if scopes := strings.Fields(q.Get("scope")); !slices.Contains(scopes, "openid") || !slices.Contains(scopes, "email") {
		t.Errorf("scopes %q, want openid and email", scopes)
	}
	return auth
}

// authorize runs the flow up to the provider's redirect back, and returns
// the callback URL the browser would open next.
func (b *oidcTBrowser) authorize(t *testing.T) *url.URL {
	t.Helper()
	back := b.env.idp.Authorize(t, b.start(t).String())
	if got := back.Scheme + "://" + back.Host + back.Path; got != b.env.srv.URL+oidcTCallback {
		t.Fatalf("the provider redirects to %s, want our callback", back)
	}
	return back
}

// signIn runs the whole flow and returns the callback's answer.
func (b *oidcTBrowser) signIn(t *testing.T) testkit.Response {
	t.Helper()
	return b.do(t, "GET", b.authorize(t).String(), nil)
}

// signedIn checks that a callback answered 303 to "/" with a session cookie,
// and returns the user the session belongs to.
func (b *oidcTBrowser) signedIn(t *testing.T, r testkit.Response) string {
	t.Helper()
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("callback: status %d to %q, want 303 to /: %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	oidcTCheckCookie(t, oidcTCookie(r, httpapi.SessionCookie), httpapi.SessionCookie)
	if c := oidcTCookie(r, httpapi.OIDCFlowCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("the callback does not clear the flow cookie: %v", c)
	}
	if _, ok := b.cookies[httpapi.OIDCFlowCookie]; ok {
		t.Error("the flow cookie is still set")
	}
	me := testkit.MustStatus(t, b.do(t, "GET", "/api/v1/me", nil), http.StatusOK).JSON(t)
	return me["user"].(map[string]any)["id"].(string)
}

// current returns the browser's current session as /api/v1/me/sessions
// shows it.
func (b *oidcTBrowser) current(t *testing.T) map[string]any {
	t.Helper()
	v := testkit.MustStatus(t, b.do(t, "GET", "/api/v1/me/sessions", nil), http.StatusOK).JSON(t)
	for _, s := range v["items"].([]any) {
		if s := s.(map[string]any); s["current"] == true {
			return s
		}
	}
	t.Fatalf("no current session in %s", oidcTJSON(t, v))
	return nil
}

// checkSession checks the browser's session: a browser session with methods
// and aal.
func (b *oidcTBrowser) checkSession(t *testing.T, aal int, methods ...string) {
	t.Helper()
	s := b.current(t)
	var got []string
	for _, m := range s["methods"].([]any) {
		got = append(got, m.(string))
	}
	if !slices.Equal(got, methods) || int(s["aal"].(float64)) != aal || s["browser_session"] != true {
		t.Errorf("session methods %v aal %v browser %v, want %v aal %d browser", got, s["aal"], s["browser_session"], methods, aal)
	}
}

// refused checks that r is a problem with status and code, and that it set
// no session.
func oidcTRefused(t *testing.T, r testkit.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d (%s): %s", r.Status, status, code, r.Body)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil || p.Type != httpapi.ProblemTypeBase+code {
		t.Errorf("problem %s, want code %s (%v)", r.Body, code, err)
	}
	if oidcTCookie(r, httpapi.SessionCookie) != nil {
		t.Error("a refused callback sets a session cookie")
	}
}

// events returns the platform's audit events after seq, oldest first.
func (env *oidcTEnv) events(t *testing.T, tenant strongroom.TenantID, after int64) []strongroom.AuditEvent {
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

func (env *oidcTEnv) seq(t *testing.T, tenant strongroom.TenantID) int64 {
	t.Helper()
	evs := env.events(t, tenant, 0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// oidcTEvent is an audit event as the tests compare it.
type oidcTEvent struct {
	Action, Result, Target, Reason string
	How                            string // user.federated_identity.link's metadata
}

// audited checks the tenant's events after seq, comparing each reason by its
// start, and returns the latest seq.
func (env *oidcTEnv) audited(t *testing.T, tenant strongroom.TenantID, after int64, want ...oidcTEvent) int64 {
	t.Helper()
	var got []oidcTEvent
	for i, e := range env.events(t, tenant, after) {
		ev := oidcTEvent{Action: e.Action, Result: string(e.Result), Target: e.TargetID, Reason: e.Reason}
		if e.Action == "user.federated_identity.link" {
			var m struct {
				Issuer, How string
			}
			_ = json.Unmarshal(e.Metadata, &m)
			ev.How = m.How
			if m.Issuer != env.idp.Issuer {
				t.Errorf("link event's issuer %q, want %q", m.Issuer, env.idp.Issuer)
			}
		}
		if i < len(want) && want[i].Reason != "" && strings.HasPrefix(ev.Reason, want[i].Reason) {
			ev.Reason = want[i].Reason
		}
		got = append(got, ev)
		after = e.Seq
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("audit events (-want +got):\n%s", d)
	}
	return after
}

const oidcTPlatform = strongroom.PlatformTenant

// federated returns the account a provider subject is linked to, or "".
func (env *oidcTEnv) federated(t *testing.T, subject string) string {
	t.Helper()
	var f *strongroom.FederatedIdentity
	err := env.st.Read(context.Background(), store.Scope{}, func(tx *store.Tx) error {
		var err error
		f, err = tx.FederatedIdentity(context.Background(), env.idp.Issuer, subject)
		return err
	})
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(f.UserID)
}

// account returns the ID of the account with an address, or "".
func (env *oidcTEnv) account(t *testing.T, email string) string {
	t.Helper()
	var u *strongroom.User
	err := env.st.Read(context.Background(), store.Scope{}, func(tx *store.Tx) error {
		var err error
		u, err = tx.UserByEmail(context.Background(), email)
		return err
	})
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(u.ID)
}

// verifyAddress confirms a signed-up account's address with the link
// e-mailed to it.
func (env *oidcTEnv) verifyAddress(t *testing.T, email string) {
	t.Helper()
	env.srv.Service.WaitMail()
	re := regexp.MustCompile(`[?&]token=(srl_[A-Za-z0-9_-]{43})`)
	for _, m := range env.srv.Outbox.List(0) {
		if m.To != email || m.Kind != "verify-address" {
			continue
		}
		tok := re.FindStringSubmatch(m.Text)
		if tok == nil {
			t.Fatalf("no link in the verification message: %q", m.Text)
		}
		r := env.srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/email/verify-address",
			Body: map[string]string{"token": tok[1]}})
		testkit.MustStatus(t, r, http.StatusNoContent)
		return
	}
	t.Fatalf("no verification message to %s", email)
}

// noSecrets fails if a code, verifier or token the provider saw or issued
// appears in the server's logs or the audit log.
func (env *oidcTEnv) noSecrets(t *testing.T) {
	t.Helper()
	logs := env.logs.String()
	audit := string(oidcTJSON(t, env.events(t, oidcTPlatform, 0)))
	for _, s := range env.idp.Secrets() {
		if strings.Contains(logs, s) || strings.Contains(audit, s) {
			t.Errorf("a provider secret (%.8s…) is in the logs or the audit log", s)
		}
	}
}

// oidcTBrowserSession signs in with the password for a browser session (the
// cookie's value).
func oidcTBrowserSession(t *testing.T, env *oidcTEnv, email string) string {
	t.Helper()
	r := env.srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/password",
		Body: map[string]any{"email": email, "password": oidcTPassword, "cookie": true}})
	testkit.MustStatus(t, r, http.StatusOK)
	c := oidcTCookie(r, httpapi.SessionCookie)
	if c == nil {
		t.Fatalf("no session cookie: %s", r.Body)
	}
	return c.Value
}

// oidcTCurrentSession returns the ID of the session a cookie carries.
func oidcTCurrentSession(t *testing.T, env *oidcTEnv, cookie string) string {
	t.Helper()
	r := testkit.MustStatus(t, env.srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/me/sessions",
		Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + cookie}}), http.StatusOK)
	var list struct {
		Items []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		if s.Current {
			return s.ID
		}
	}
	t.Fatal("no current session in the list")
	return ""
}
