package oidcauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/oidcauth"
)

// redirectBase is Strongroom's public URL in these tests. Nothing listens
// there: the provider's Authorize stops at the redirect back to it.
const redirectBase = "https://app.example.test"

const callbackPath = "/api/v1/auth/oidc/test/callback"

func newProvider(t *testing.T) *testkit.OIDCProvider {
	t.Helper()
	return testkit.NewOIDCProvider(t, redirectBase+callbackPath)
}

func config(idp *testkit.OIDCProvider) oidcauth.ProviderConfig {
	return oidcauth.ProviderConfig{Name: "test", DisplayName: "Test provider", Issuer: idp.Issuer,
		ClientID: idp.ClientID, ClientSecret: idp.ClientSecret}
}

func newRegistry(t *testing.T, hc *http.Client, opts []oidcauth.Option, cfgs ...oidcauth.ProviderConfig) *oidcauth.Registry {
	t.Helper()
	opts = append([]oidcauth.Option{oidcauth.WithTimeout(5 * time.Second)}, opts...)
	r, err := oidcauth.NewRegistry(t.Context(), cfgs, redirectBase, hc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// signIn starts a flow with provider "test" and lets the provider approve it;
// it returns the flow and the query of the callback, not yet finished.
func signIn(t *testing.T, r *oidcauth.Registry, idp *testkit.OIDCProvider) (oidcauth.Flow, url.Values) {
	t.Helper()
	authURL, flow, err := r.Start(t.Context(), "test")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	back := idp.Authorize(t, authURL)
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectBase+callbackPath {
		t.Fatalf("the provider redirected to %s, want the callback", got)
	}
	return flow, back.Query()
}

// clock is a settable clock: the real time plus an offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time            { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration)   { c.offset.Add(int64(d)) }
func (c *clock) option() []oidcauth.Option { return []oidcauth.Option{oidcauth.WithClock(c.Now)} }

// checkError checks that err is an *oidcauth.Error of kind want whose
// message holds none of the flow's secrets nor any code or token the
// provider's token endpoint saw or issued.
func checkError(t *testing.T, err, want error, idp *testkit.OIDCProvider, flow oidcauth.Flow) *oidcauth.Error {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	var oe *oidcauth.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %T is not an *oidcauth.Error", err)
	}
	msg := err.Error()
	secrets := []string{flow.State, flow.Nonce, flow.Verifier}
	if idp != nil {
		secrets = append(secrets, idp.Secrets()...)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error message %q holds a secret", msg)
		}
	}
	if len(msg) > 1000 {
		t.Errorf("error message is %d bytes long", len(msg))
	}
	return oe
}

func TestSignIn(t *testing.T) {
	idp := newProvider(t)
	r := newRegistry(t, nil, nil, config(idp))
	for _, tc := range []struct {
		name      string
		user      testkit.OIDCUser
		inIDToken bool
		want      oidcauth.Identity
	}{
		{"default user", testkit.DefaultOIDCUser(), true, oidcauth.Identity{Issuer: idp.Issuer, Subject: "248289761001",
			Email: "ada@example.test", EmailVerified: true, Name: "Ada Lovelace"}},
		{"unverified e-mail", testkit.OIDCUser{Subject: "u-2", Email: "grace@example.test", GivenName: "Grace"}, true,
			oidcauth.Identity{Issuer: idp.Issuer, Subject: "u-2", Email: "grace@example.test", Name: "Grace"}},
		{"claims from userinfo", testkit.OIDCUser{Subject: "u-3", Email: "alan@example.test", EmailVerified: true,
			GivenName: "Alan", FamilyName: "Turing"}, false,
			oidcauth.Identity{Issuer: idp.Issuer, Subject: "u-3", Email: "alan@example.test", EmailVerified: true, Name: "Alan Turing"}},
		{"no e-mail at all", testkit.OIDCUser{Subject: "u-4"}, false, oidcauth.Identity{Issuer: idp.Issuer, Subject: "u-4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp.SetUser(tc.user)
			idp.SetClaimsInIDToken(tc.inIDToken)
			flow, q := signIn(t, r, idp)
			got, err := r.Finish(t.Context(), "test", flow, q)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStart(t *testing.T) {
	idp := newProvider(t)
	var clk clock
	r := newRegistry(t, nil, clk.option(), config(idp))
	authURL, flow, err := r.Start(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"response_type": "code", "client_id": idp.ClientID, "redirect_uri": redirectBase + callbackPath,
		"scope": "openid email profile", "state": flow.State, "nonce": flow.Nonce, "code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("authorization URL: %s = %q, want %q", k, got, want)
		}
	}
	if q.Get("code_challenge") == "" || strings.Contains(authURL, flow.Verifier) {
		t.Errorf("authorization URL %s: want a code challenge and not the verifier", authURL)
	}
	for name, v := range map[string]string{"state": flow.State, "nonce": flow.Nonce, "verifier": flow.Verifier} {
		if len(v) != 43 { // 32 bytes, base64url without padding
			t.Errorf("%s %q is not 256 bits in base64url", name, v)
		}
	}
	if flow.State == flow.Nonce || flow.Nonce == flow.Verifier {
		t.Error("state, nonce and verifier are not independent")
	}
	if flow.Provider != "test" || time.Since(flow.CreatedAt) > time.Minute ||
		flow.ExpiresAt().Sub(flow.CreatedAt) != oidcauth.FlowLifetime {
		t.Errorf("flow %+v: wrong provider or times", flow)
	}
	if got, err := r.RedirectURL("test"); err != nil || got != redirectBase+callbackPath {
		t.Errorf("RedirectURL = %q, %v", got, err)
	}
	if diff := cmp.Diff([]oidcauth.ProviderInfo{{Name: "test", DisplayName: "Test provider"}}, r.Providers()); diff != "" {
		t.Errorf("Providers (-want +got):\n%s", diff)
	}
}

// TestFlowStorage: a Flow survives a JSON round trip, as the service stores
// it, and prints without its secrets.
func TestFlowStorage(t *testing.T) {
	idp := newProvider(t)
	r := newRegistry(t, nil, nil, config(idp))
	flow, q := signIn(t, r, idp)
	b, err := json.Marshal(flow)
	if err != nil {
		t.Fatal(err)
	}
	var back oidcauth.Flow
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.CreatedAt.Equal(flow.CreatedAt) || back.State != flow.State || back.Nonce != flow.Nonce ||
		back.Verifier != flow.Verifier || back.Provider != flow.Provider {
		t.Fatalf("round trip changed the flow: %s", b)
	}
	if _, err := r.Finish(t.Context(), "test", back, q); err != nil {
		t.Fatalf("Finish with the stored flow: %v", err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(verb, flow)
		for _, s := range []string{flow.State, flow.Nonce, flow.Verifier} {
			if strings.Contains(out, s) {
				t.Errorf("%s prints a secret: %s", verb, out)
			}
		}
	}
	cfg := config(idp)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, cfg); strings.Contains(out, cfg.ClientSecret) {
			t.Errorf("%s prints the client secret: %s", verb, out)
		}
	}
}

func TestFinishRefuses(t *testing.T) {
	idp := newProvider(t)
	var clk clock
	r := newRegistry(t, nil, clk.option(), config(idp))
	for _, tc := range []struct {
		name string
		// change alters the flow or the callback's query before Finish.
		change func(t *testing.T, flow *oidcauth.Flow, q url.Values)
		want   error
	}{
		{"state mismatch", func(_ *testing.T, _ *oidcauth.Flow, q url.Values) { q.Set("state", "forged-state") }, oidcauth.ErrStateMismatch},
		{"state missing", func(_ *testing.T, _ *oidcauth.Flow, q url.Values) { q.Del("state") }, oidcauth.ErrStateMismatch},
		{"state of another flow", func(t *testing.T, _ *oidcauth.Flow, q url.Values) {
			_, other, err := r.Start(t.Context(), "test")
			if err != nil {
				t.Fatal(err)
			}
			q.Set("state", other.State)
		}, oidcauth.ErrStateMismatch},
		{"empty flow", func(_ *testing.T, f *oidcauth.Flow, _ url.Values) { *f = oidcauth.Flow{} }, oidcauth.ErrStateMismatch},
		{"flow of another provider", func(_ *testing.T, f *oidcauth.Flow, _ url.Values) { f.Provider = "other" }, oidcauth.ErrStateMismatch},
		{"expired flow", func(t *testing.T, _ *oidcauth.Flow, _ url.Values) {
			clk.Advance(oidcauth.FlowLifetime + time.Second)
			t.Cleanup(func() { clk.Advance(-oidcauth.FlowLifetime - time.Second) })
		}, oidcauth.ErrExpired},
		{"flow from the future", func(_ *testing.T, f *oidcauth.Flow, _ url.Values) { f.CreatedAt = f.CreatedAt.Add(time.Hour) }, oidcauth.ErrExpired},
		{"nonce mismatch", func(_ *testing.T, f *oidcauth.Flow, _ url.Values) { f.Nonce = strings.Repeat("A", 43) }, oidcauth.ErrTokenInvalid},
		{"empty nonce", func(_ *testing.T, f *oidcauth.Flow, _ url.Values) { f.Nonce = "" }, oidcauth.ErrTokenInvalid},
		{"wrong PKCE verifier", func(_ *testing.T, f *oidcauth.Flow, _ url.Values) { f.Verifier = strings.Repeat("B", 43) }, oidcauth.ErrCodeRejected},
		{"forged code", func(_ *testing.T, _ *oidcauth.Flow, q url.Values) { q.Set("code", "forged-code") }, oidcauth.ErrCodeRejected},
		{"code missing", func(_ *testing.T, _ *oidcauth.Flow, q url.Values) { q.Del("code") }, oidcauth.ErrInvalidCallback},
		{"iss of another issuer", func(_ *testing.T, _ *oidcauth.Flow, q url.Values) { q.Set("iss", "https://evil.example") }, oidcauth.ErrInvalidCallback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flow, q := signIn(t, r, idp)
			tc.change(t, &flow, q)
			_, err := r.Finish(t.Context(), "test", flow, q)
			checkError(t, err, tc.want, idp, flow)
		})
	}
}

// TestReplayedCallback: the same callback (same code) a second time fails,
// even with the flow the service should have deleted.
func TestReplayedCallback(t *testing.T) {
	idp := newProvider(t)
	r := newRegistry(t, nil, nil, config(idp))
	flow, q := signIn(t, r, idp)
	if _, err := r.Finish(t.Context(), "test", flow, q); err != nil {
		t.Fatalf("first Finish: %v", err)
	}
	_, err := r.Finish(t.Context(), "test", flow, q)
	oe := checkError(t, err, oidcauth.ErrCodeRejected, idp, flow)
	if oe.Code != "invalid_grant" {
		t.Errorf("code %q, want invalid_grant", oe.Code)
	}
}

// swapClient rewrites the client credentials of token requests, so that the
// token endpoint answers another client than the registry's.
type swapClient struct{ fromID, toID, toSecret string }

func (s swapClient) RoundTrip(req *http.Request) (*http.Response, error) {
	if id, _, ok := req.BasicAuth(); ok && id == s.fromID {
		req = req.Clone(req.Context())
		req.SetBasicAuth(s.toID, s.toSecret)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestWrongAudience: an ID token issued to another client of the same
// provider is refused, even with the right nonce.
func TestWrongAudience(t *testing.T) {
	idp := newProvider(t)
	other := config(idp)
	other.ClientID, other.ClientSecret = idp.OtherClientID, idp.OtherClientSecret
	rOther := newRegistry(t, nil, nil, other)
	flow, q := signIn(t, rOther, idp) // a code for the other client

	r := newRegistry(t, &http.Client{Transport: swapClient{idp.ClientID, idp.OtherClientID, idp.OtherClientSecret}}, nil, config(idp))
	_, err := r.Finish(t.Context(), "test", flow, q)
	oe := checkError(t, err, oidcauth.ErrTokenInvalid, idp, flow)
	if !strings.Contains(oe.Error(), "audience") {
		t.Errorf("error %q does not say audience", oe)
	}
}

func TestProviderError(t *testing.T) {
	idp := newProvider(t)
	r := newRegistry(t, nil, nil, config(idp))

	t.Run("from the provider", func(t *testing.T) {
		authURL, flow, err := r.Start(t.Context(), "test")
		if err != nil {
			t.Fatal(err)
		}
		back := idp.Authorize(t, authURL+"&prompt=none") // no login possible: login_required
		_, err = r.Finish(t.Context(), "test", flow, back.Query())
		oe := checkError(t, err, oidcauth.ErrProviderError, idp, flow)
		if oe.Code != "login_required" {
			t.Errorf("code %q, want login_required", oe.Code)
		}
	})
	for _, tc := range []struct {
		name, code, desc string
		wantCode         string
		wantDesc         string
	}{
		{"access denied", "access_denied", "The user said no", "access_denied", "The user said no"},
		{"hostile text", "bad\"code\n", "line\r\nbreak \x00 <script>" + strings.Repeat("x", 500), "bad?code?",
			"line??break ? <script>" + strings.Repeat("x", 200-len("line\r\nbreak \x00 <script>"))},
		{"empty error", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, flow, err := r.Start(t.Context(), "test")
			if err != nil {
				t.Fatal(err)
			}
			q := url.Values{"state": {flow.State}, "error": {tc.code}}
			if tc.desc != "" {
				q.Set("error_description", tc.desc)
			}
			_, err = r.Finish(t.Context(), "test", flow, q)
			oe := checkError(t, err, oidcauth.ErrProviderError, idp, flow)
			if oe.Code != tc.wantCode || oe.Description != tc.wantDesc || oe.Provider != "test" {
				t.Errorf("got code %q description %q provider %q", oe.Code, oe.Description, oe.Provider)
			}
		})
	}
	t.Run("error with a forged state", func(t *testing.T) {
		_, flow, err := r.Start(t.Context(), "test")
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Finish(t.Context(), "test", flow, url.Values{"state": {"x"}, "error": {"access_denied"}})
		checkError(t, err, oidcauth.ErrStateMismatch, idp, flow)
	})
}

func TestUnknownProvider(t *testing.T) {
	idp := newProvider(t)
	r := newRegistry(t, nil, nil, config(idp))
	_, _, err := r.Start(t.Context(), "nope")
	checkError(t, err, oidcauth.ErrUnknownProvider, nil, oidcauth.Flow{})
	flow, q := signIn(t, r, idp)
	_, err = r.Finish(t.Context(), "nope", flow, q)
	checkError(t, err, oidcauth.ErrUnknownProvider, idp, flow)
	_, err = r.RedirectURL(strings.Repeat("n", 10000))
	checkError(t, err, oidcauth.ErrUnknownProvider, nil, oidcauth.Flow{})
}

// TestDiscoveryFailure: providers that are down, slow or broken fail with
// ErrUnavailable, are not asked again at once, and do not stop the registry
// from serving the others. NewRegistry itself makes no request.
func TestDiscoveryFailure(t *testing.T) {
	idp := newProvider(t)
	var hits atomic.Int32
	serve := func(h http.HandlerFunc) string {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			h(w, r)
		}))
		t.Cleanup(ts.Close)
		return ts.URL
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	slow := serve(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	broken := serve(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<html>not json") })
	notFound := serve(http.NotFound)
	var wrongIssuer string
	wrongIssuer = serve(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[2]s/a","token_endpoint":"%[2]s/t","jwks_uri":"%[2]s/k"}`,
			"https://evil.example", wrongIssuer)
	})
	huge := serve(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"issuer":"`)
		for range 2048 {
			fmt.Fprint(w, strings.Repeat("a", 1024))
		}
	})
	badAlg := serve(func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/a","token_endpoint":"%[1]s/t","jwks_uri":"%[1]s/k",`+
			`"id_token_signing_alg_values_supported":["HS256","none"]}`, base)
	})

	var clk clock
	cfgs := []oidcauth.ProviderConfig{config(idp)}
	for name, issuer := range map[string]string{"down": down, "slow": slow, "broken": broken, "not-found": notFound,
		"wrong-issuer": wrongIssuer, "huge": huge, "bad-alg": badAlg} {
		cfgs = append(cfgs, oidcauth.ProviderConfig{Name: name, Issuer: issuer, ClientID: "c", ClientSecret: "s"})
	}
	r, err := oidcauth.NewRegistry(t.Context(), cfgs, redirectBase, nil, oidcauth.WithTimeout(2*time.Second), oidcauth.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 0 {
		t.Fatalf("NewRegistry made %d requests", hits.Load())
	}
	if got := len(r.Providers()); got != len(cfgs) {
		t.Fatalf("%d providers listed, want %d", got, len(cfgs))
	}
	for _, c := range cfgs[1:] {
		t.Run(c.Name, func(t *testing.T) {
			start := time.Now()
			_, _, err := r.Start(t.Context(), c.Name)
			oe := checkError(t, err, oidcauth.ErrUnavailable, nil, oidcauth.Flow{})
			if oe.Provider != c.Name || time.Since(start) > 5*time.Second {
				t.Errorf("error %v after %v", err, time.Since(start))
			}
			t.Log(err)
		})
	}
	// The good provider works, also after the others failed.
	flow, q := signIn(t, r, idp)
	if _, err := r.Finish(t.Context(), "test", flow, q); err != nil {
		t.Fatalf("the working provider: %v", err)
	}
	// A failure is remembered for a while, then discovery is tried again.
	before := hits.Load()
	if _, _, err := r.Start(t.Context(), "broken"); !errors.Is(err, oidcauth.ErrUnavailable) || hits.Load() != before {
		t.Errorf("second Start: %v after %d new requests, want the remembered failure", err, hits.Load()-before)
	}
	clk.Advance(time.Minute)
	if _, _, err := r.Start(t.Context(), "broken"); !errors.Is(err, oidcauth.ErrUnavailable) || hits.Load() != before+1 {
		t.Errorf("Start a minute later: %v after %d new requests, want a new discovery", err, hits.Load()-before)
	}
	// A caller that gives up waiting gets its own error.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err = r.Start(ctx, "slow")
	if !errors.Is(err, oidcauth.ErrUnavailable) {
		t.Errorf("Start with a canceled context: %v", err)
	}
}

// TestConcurrentFirstUse: many sign-ins starting at once share one discovery.
func TestConcurrentFirstUse(t *testing.T) {
	idp := newProvider(t)
	r := newRegistry(t, nil, nil, config(idp))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, _, err := r.Start(t.Context(), "test"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestHostileCallback: malformed callbacks fail with a clear error and never
// panic or reach the provider with garbage that could be mistaken for a code.
func TestHostileCallback(t *testing.T) {
	idp := newProvider(t)
	r := newRegistry(t, nil, nil, config(idp))
	long := strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		name  string
		query func(flow oidcauth.Flow) url.Values
		want  error
	}{
		{"empty query", func(oidcauth.Flow) url.Values { return url.Values{} }, oidcauth.ErrStateMismatch},
		{"nil query", func(oidcauth.Flow) url.Values { return nil }, oidcauth.ErrStateMismatch},
		{"overlong state", func(oidcauth.Flow) url.Values { return url.Values{"state": {long}, "code": {"c"}} }, oidcauth.ErrInvalidCallback},
		{"overlong code", func(f oidcauth.Flow) url.Values { return url.Values{"state": {f.State}, "code": {long}} }, oidcauth.ErrInvalidCallback},
		{"overlong error", func(f oidcauth.Flow) url.Values { return url.Values{"state": {f.State}, "error": {long}} }, oidcauth.ErrInvalidCallback},
		{"repeated state", func(f oidcauth.Flow) url.Values { return url.Values{"state": {f.State, f.State}, "code": {"c"}} }, oidcauth.ErrInvalidCallback},
		{"repeated code", func(f oidcauth.Flow) url.Values { return url.Values{"state": {f.State}, "code": {"a", "b"}} }, oidcauth.ErrInvalidCallback},
		{"empty state list", func(oidcauth.Flow) url.Values { return url.Values{"state": {}} }, oidcauth.ErrInvalidCallback},
		{"state prefix", func(f oidcauth.Flow) url.Values { return url.Values{"state": {f.State[:42]}, "code": {"c"}} }, oidcauth.ErrStateMismatch},
		{"state not UTF-8", func(oidcauth.Flow) url.Values { return url.Values{"state": {"\xff\xfe\x00"}, "code": {"c"}} }, oidcauth.ErrStateMismatch},
		{"garbage code", func(f oidcauth.Flow) url.Values { return url.Values{"state": {f.State}, "code": {"\x00\xff'\";--<>"}} }, oidcauth.ErrCodeRejected},
		{"empty code", func(f oidcauth.Flow) url.Values { return url.Values{"state": {f.State}, "code": {""}} }, oidcauth.ErrInvalidCallback},
		{"garbage iss", func(f oidcauth.Flow) url.Values {
			return url.Values{"state": {f.State}, "code": {"c"}, "iss": {"\x00"}}
		}, oidcauth.ErrInvalidCallback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, flow, err := r.Start(t.Context(), "test")
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Finish(t.Context(), "test", flow, tc.query(flow))
			oe := checkError(t, err, tc.want, idp, flow)
			if strings.Contains(oe.Error(), "xxxxxxxxxx") {
				t.Errorf("the error repeats the input: %.200s", oe.Error())
			}
		})
	}
}

// FuzzFinish: no query makes Finish panic or return anything but an
// *oidcauth.Error. The provider is down, so nothing reaches the network
// beyond discovery.
func FuzzFinish(f *testing.F) {
	for _, s := range []string{"", "state=a&code=b", "error=access_denied&state=", "code=%00&state=%ff", "iss=x&iss=y",
		"state=" + strings.Repeat("a", 43) + "&code=c"} {
		f.Add(s)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	r, err := oidcauth.NewRegistry(context.Background(), []oidcauth.ProviderConfig{{Name: "test", Issuer: down, ClientID: "c"}},
		redirectBase, nil, oidcauth.WithTimeout(time.Second))
	if err != nil {
		f.Fatal(err)
	}
	flow := oidcauth.Flow{Provider: "test", State: strings.Repeat("a", 43), Nonce: "n", Verifier: "v", CreatedAt: time.Now()}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		_, err := r.Finish(context.Background(), "test", flow, q)
		var oe *oidcauth.Error
		if !errors.As(err, &oe) {
			t.Fatalf("Finish(%q) = %v, want an *oidcauth.Error", raw, err)
		}
	})
}

func TestRandomness(t *testing.T) {
	idp := newProvider(t)
	r := newRegistry(t, nil, []oidcauth.Option{oidcauth.WithRandom(strings.NewReader("too short"))}, config(idp))
	if _, _, err := r.Start(t.Context(), "test"); err == nil {
		t.Fatal("Start with exhausted randomness succeeded")
	}
}
