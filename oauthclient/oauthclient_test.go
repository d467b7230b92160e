package oauthclient

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func validProvider() Provider {
	return Provider{Name: "github", DisplayName: "GitHub", AuthURL: "https://github.example/login/oauth/authorize",
		TokenURL: "https://github.example/login/oauth/access_token", RevocationURL: "https://github.example/revoke",
		ClientID: "strongroom", ClientSecret: NewSecret("s3cret"), ClientAuth: ClientSecretBasic, Scopes: []string{"repo:read", "user"}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Provider)
		want   string // "" for valid
	}{
		{"valid", func(p *Provider) {}, ""},
		{"loopback http", func(p *Provider) { p.TokenURL = "http://127.0.0.1:8081/token"; p.AuthURL = "http://localhost/a" }, ""},
		{"no revocation endpoint", func(p *Provider) { p.RevocationURL = "" }, ""},
		{"extra auth params", func(p *Provider) { p.AuthParams = map[string]string{"access_type": "offline"} }, ""},
		{"name with capitals", func(p *Provider) { p.Name = "GitHub" }, "lower-case"},
		{"name ending with a dash", func(p *Provider) { p.Name = "git-" }, "lower-case"},
		{"no display name", func(p *Provider) { p.DisplayName = " " }, "display_name"},
		{"plain http", func(p *Provider) { p.AuthURL = "http://github.example/a" }, "auth_url: must use https"},
		{"relative", func(p *Provider) { p.TokenURL = "/token" }, "token_url: must be an absolute URL"},
		{"fragment", func(p *Provider) { p.RevocationURL = "https://github.example/r#x" }, "revocation_url: must not hold"},
		{"user info", func(p *Provider) { p.TokenURL = "https://u:p@github.example/t" }, "token_url: must not hold"},
		{"no token URL", func(p *Provider) { p.TokenURL = "" }, "token_url"},
		{"no client ID", func(p *Provider) { p.ClientID = "" }, "client_id"},
		{"no secret", func(p *Provider) { p.ClientSecret = Secret{} }, "client secret"},
		{"unknown client auth", func(p *Provider) { p.ClientAuth = "private_key_jwt" }, "client_auth"},
		{"no scopes", func(p *Provider) { p.Scopes = nil }, "at least one scope"},
		{"scope with a space", func(p *Provider) { p.Scopes = []string{"a b"} }, "without spaces"},
		{"scope twice", func(p *Provider) { p.Scopes = []string{"a", "a"} }, "listed twice"},
		{"reserved param", func(p *Provider) { p.AuthParams = map[string]string{"state": "x"} }, `may not set "state"`},
		{"PKCE param", func(p *Provider) { p.AuthParams = map[string]string{"code_challenge_method": "plain"} }, "may not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validProvider()
			tt.change(&p)
			err := p.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	p := validProvider()
	j, _ := json.Marshal(p)
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprintf("%x %q %s", p.ClientSecret, p.ClientSecret, p.ClientSecret), string(j)} {
		if strings.Contains(s, "s3cret") || strings.Contains(s, fmt.Sprintf("%x", "s3cret")) {
			t.Errorf("the secret shows: %s", s)
		}
	}
	if p.ClientSecret.Reveal() != "s3cret" {
		t.Error("Reveal does not return the secret")
	}
}

func TestNew(t *testing.T) {
	p := validProvider()
	p.ClientAuth = ""
	c, err := New([]Provider{p}, Options{RedirectURL: "https://strongroom.example/api/v1/connections/callback"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.byName["github"].ClientAuth; got != ClientSecretBasic {
		t.Errorf("default client auth = %q", got)
	}
	if d := cmp.Diff([]Info{{Name: "github", DisplayName: "GitHub", Scopes: []string{"repo:read", "user"}, Revocable: true}}, c.Providers()); d != "" {
		t.Errorf("Providers (-want +got):\n%s", d)
	}
	for name, tc := range map[string]struct {
		ps       []Provider
		redirect string
		want     string
	}{
		"duplicate":      {[]Provider{validProvider(), validProvider()}, "https://s.example/cb", "configured twice"},
		"http redirect":  {nil, "http://s.example/cb", "redirect URL"},
		"no redirect":    {nil, "", "redirect URL"},
		"invalid member": {[]Provider{{Name: "x"}}, "https://s.example/cb", "display_name"},
	} {
		if _, err := New(tc.ps, Options{RedirectURL: tc.redirect}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want %q", name, err, tc.want)
		}
	}
}

func TestAuthCodeURL(t *testing.T) {
	p := validProvider()
	p.AuthURL += "?tenant=common" // providers may carry parameters of their own
	p.AuthParams = map[string]string{"prompt": "consent", "access_type": "offline"}
	c, err := New([]Provider{p}, Options{RedirectURL: "https://strongroom.example/cb"})
	if err != nil {
		t.Fatal(err)
	}
	verifier := strings.Repeat("v", 43)
	raw, err := c.AuthCodeURL("github", "org.state", verifier)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	sum := sha256.Sum256([]byte(verifier))
	want := url.Values{"tenant": {"common"}, "response_type": {"code"}, "client_id": {"strongroom"},
		"redirect_uri": {"https://strongroom.example/cb"}, "scope": {"repo:read user"}, "state": {"org.state"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"prompt": {"consent"}, "access_type": {"offline"}}
	if d := cmp.Diff(want, u.Query()); d != "" {
		t.Errorf("authorization URL parameters (-want +got):\n%s", d)
	}
	if _, err := c.AuthCodeURL("nope", "s", verifier); err == nil {
		t.Error("AuthCodeURL of an unknown provider succeeded")
	}
}

// standIn is a provider's token and revocation endpoints, recording requests.
type standIn struct {
	*httptest.Server
	last *http.Request
	form url.Values
}

func newStandIn(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *standIn {
	s := &standIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.last, s.form = r, r.PostForm
		handle(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func clientFor(t *testing.T, s *standIn, change func(p *Provider)) *Client {
	t.Helper()
	p := validProvider()
	p.TokenURL, p.RevocationURL = s.URL+"/token", s.URL+"/revoke"
	if change != nil {
		change(&p)
	}
	c, err := New([]Provider{p}, Options{RedirectURL: "https://strongroom.example/cb"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRevoke(t *testing.T) {
	status, body := http.StatusOK, ""
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	ctx := context.Background()

	basic := clientFor(t, s, func(p *Provider) { p.ClientID, p.ClientSecret = "a:b", NewSecret("p@ss w/rd") })
	if err := basic.Revoke(ctx, "github", "tok1", "refresh_token"); err != nil {
		t.Fatal(err)
	}
	user, pass, ok := s.last.BasicAuth()
	got := map[string]string{"user": user, "pass": pass, "token": s.form.Get("token"), "hint": s.form.Get("token_type_hint"),
		"form secret": s.form.Get("client_secret"), "content type": s.last.Header.Get("Content-Type")}
	want := map[string]string{"user": "a%3Ab", "pass": "p%40ss+w%2Frd", "token": "tok1", "hint": "refresh_token",
		"form secret": "", "content type": "application/x-www-form-urlencoded"}
	if d := cmp.Diff(want, got); !ok || d != "" {
		t.Errorf("client_secret_basic revocation (-want +got):\n%s", d)
	}

	post := clientFor(t, s, func(p *Provider) { p.ClientAuth = ClientSecretPost })
	if err := post.Revoke(ctx, "github", "tok2", "access_token"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.last.BasicAuth(); ok || s.form.Get("client_id") != "strongroom" || s.form.Get("client_secret") != "s3cret" {
		t.Errorf("client_secret_post revocation sent basic=%v form=%v", ok, s.form)
	}

	status, body = http.StatusBadRequest, `{"error":"unsupported_token_type","error_description":"no"}`
	err := basic.Revoke(ctx, "github", "tok3", "access_token")
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != "unsupported_token_type" || pe.Status != 400 || pe.Endpoint != "revocation" {
		t.Errorf("refusal: %v", err)
	}
	status, body = http.StatusServiceUnavailable, "<html>down</html>"
	if err := basic.Revoke(ctx, "github", "tok4", ""); !Refused(err, "http_503") {
		t.Errorf("non-JSON failure: %v", err)
	}
	moved := clientFor(t, s, func(p *Provider) { p.RevocationURL = s.URL + "/moved" })
	if err := moved.Revoke(ctx, "github", "tok5", ""); !Refused(err, "http_302") {
		t.Errorf("a redirecting revocation endpoint: %v, want a refusal without following it", err)
	}
	none := clientFor(t, s, func(p *Provider) { p.RevocationURL = "" })
	if err := none.Revoke(ctx, "github", "tok6", ""); !errors.Is(err, ErrNoRevocation) {
		t.Errorf("no endpoint: %v", err)
	}
}

func TestTokenEndpoint(t *testing.T) {
	var answer func(w http.ResponseWriter)
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) { answer(w) })
	c := clientFor(t, s, nil)
	ctx := context.Background()

	// A form-encoded answer with comma-separated scopes (as some providers send).
	answer = func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = w.Write([]byte("access_token=at1&token_type=bearer&scope=repo%2Cuser&expires_in=3600&refresh_token=rt1"))
	}
	tok, err := c.Exchange(ctx, "github", "code1", "verifier1")
	if err != nil {
		t.Fatal(err)
	}
	if s.form.Get("code_verifier") != "verifier1" || s.form.Get("grant_type") != "authorization_code" || s.form.Get("redirect_uri") != "https://strongroom.example/cb" {
		t.Errorf("exchange request form: %v", s.form)
	}
	if tok.AccessToken != "at1" || tok.RefreshToken != "rt1" || tok.TokenType != "Bearer" || tok.ExpiresIn < 3590*time.Second || tok.ExpiresIn > 3600*time.Second {
		t.Errorf("token = %+v", tok)
	}
	if d := cmp.Diff([]string{"repo", "user"}, tok.Scopes); d != "" {
		t.Errorf("scopes (-want +got):\n%s", d)
	}

	// A refresh without a new refresh token keeps the old one.
	answer = func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at2","token_type":"Bearer","expires_in":60}`))
	}
	tok, err = c.Refresh(ctx, "github", "rt1")
	if err != nil {
		t.Fatal(err)
	}
	if s.form.Get("grant_type") != "refresh_token" || s.form.Get("refresh_token") != "rt1" || tok.RefreshToken != "rt1" || tok.ExpiresIn != time.Minute || tok.Scopes != nil {
		t.Errorf("refresh: form %v, token %+v", s.form, tok)
	}

	answer = func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"revoked"}`))
	}
	if _, err := c.Refresh(ctx, "github", "rt1"); !Refused(err, "invalid_grant") {
		t.Errorf("refused refresh: %v", err)
	}
	s.Close()
	if _, err := c.Exchange(ctx, "github", "code", "v"); err == nil || Refused(err, "") {
		t.Errorf("unreachable provider: %v, want an error that is not a refusal", err)
	}
}
