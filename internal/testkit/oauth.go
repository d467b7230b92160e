package testkit

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/oauthclient"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// OAuthServer is a real OAuth 2.0 authorization server running in-process on
// 127.0.0.1: zitadel/oidc's OpenID Provider (package op) over the in-memory
// storage of its example server, which implements the authorization-code flow
// with PKCE, refresh tokens (rotated on every refresh), RFC 7009 revocation
// and the userinfo endpoint. Its login step approves at once as the example's
// test user, so a test drives "the browser" by following redirects with an
// http.Client (Authorize). It records what its revocation endpoint received.
type OAuthServer struct {
	URL          string
	ClientID     string
	ClientSecret string
	hc           *http.Client

	mu          sync.Mutex
	revocations []Revocation
	tokenCalls  int
	secrets     []string // every code, verifier and token the token endpoint saw or issued
	issued      []Issued
}

// Issued is one answer of the token endpoint.
type Issued struct {
	AccessToken, RefreshToken string
}

// Revocation is one request the revocation endpoint received.
type Revocation struct {
	Token, Hint string
	BasicAuth   bool // the client authenticated with HTTP Basic
	Status      int
}

// NewOAuthServer starts an authorization server with one confidential client
// (HTTP Basic client authentication) allowed to redirect to redirectURI.
func NewOAuthServer(t testing.TB, redirectURI string) *OAuthServer {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	s := &OAuthServer{URL: issuer, ClientID: "strongroom-test", ClientSecret: hex.EncodeToString(secret)}
	clients := map[string]*storage.Client{s.ClientID: storage.WebClient(s.ClientID, s.ClientSecret, redirectURI)}
	st := storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)
	cfg := &op.Config{CodeMethodS256: true, AuthMethodPost: true, GrantTypeRefreshToken: true}
	if _, err := rand.Read(cfg.CryptoKey[:]); err != nil {
		t.Fatal(err)
	}
	provider, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer), op.WithAllowInsecure(),
		op.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		ts.Close()
		t.Fatalf("starting the OAuth server: %v", err)
	}
	mux := http.NewServeMux()
	// The login UI the example client sends the browser to: approve at once.
	user := "test-user@127.0.0.1" // the example's user store names its user after the issuer's host
	mux.Handle("/login/username", op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("authRequestID")
		if err := st.CheckUsernamePassword(user, "verysecure", id); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(provider)(r.Context(), id), http.StatusFound)
	}))
	mux.Handle("/", provider)
	ts.Config.Handler = s.record(mux)
	ts.Start()
	t.Cleanup(ts.Close)
	s.hc = &http.Client{CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != ts.Listener.Addr().String() {
			return http.ErrUseLastResponse // the redirect back to the client: stop there
		}
		return nil
	}}
	return s
}

// record notes the requests of the token and revocation endpoints.
func (s *OAuthServer) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth/token":
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, body: &bytes.Buffer{}}
			next.ServeHTTP(rec, r)
			var issued struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
				IDToken      string `json:"id_token"`
			}
			_ = json.Unmarshal(rec.body.Bytes(), &issued)
			s.mu.Lock()
			s.tokenCalls++
			if issued.AccessToken != "" {
				s.issued = append(s.issued, Issued{AccessToken: issued.AccessToken, RefreshToken: issued.RefreshToken})
			}
			for _, v := range []string{form.Get("code_verifier"), form.Get("code"), issued.AccessToken, issued.RefreshToken, issued.IDToken} {
				if v != "" {
					s.secrets = append(s.secrets, v)
				}
			}
			s.mu.Unlock()
			return
		case "/revoke":
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			_, _, basic := r.BasicAuth()
			sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(sw, r)
			s.mu.Lock()
			s.revocations = append(s.revocations, Revocation{Token: form.Get("token"), Hint: form.Get("token_type_hint"),
				BasicAuth: basic, Status: sw.status})
			s.mu.Unlock()
			return
		}
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	body   *bytes.Buffer // when set, a copy of the body
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.body != nil {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Provider is the configuration that connects Strongroom to this server.
func (s *OAuthServer) Provider(name string) oauthclient.Provider {
	return oauthclient.Provider{
		Name:          name,
		DisplayName:   "Test provider " + name,
		AuthURL:       s.URL + "/authorize",
		TokenURL:      s.URL + "/oauth/token",
		RevocationURL: s.URL + "/revoke",
		ClientID:      s.ClientID,
		ClientSecret:  oauthclient.NewSecret(s.ClientSecret),
		ClientAuth:    oauthclient.ClientSecretBasic,
		Scopes:        []string{"openid", "offline_access"},
	}
}

// Authorize is the browser's part of the flow: it opens authURL, lets the
// server log the test user in and approve, and returns the URL the server
// redirects back to (the client's redirect URI with code and state), without
// opening it.
func (s *OAuthServer) Authorize(t testing.TB, authURL string) *url.URL {
	t.Helper()
	resp, err := s.hc.Get(authURL)
	if err != nil {
		t.Fatalf("authorizing: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	loc, err := resp.Location()
	if resp.StatusCode/100 != 3 || err != nil {
		t.Fatalf("authorizing: status %d, want a redirect back to the client: %s", resp.StatusCode, body)
	}
	return loc
}

// UserInfo calls the userinfo endpoint with an access token and returns the
// status: 200 while the token is valid.
func (s *OAuthServer) UserInfo(t testing.TB, accessToken string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Refresh uses a refresh token at the token endpoint directly and returns the
// status: 200 while the token is valid. It rotates the token when it works.
func (s *OAuthServer) Refresh(t testing.TB, refreshToken string) int {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.ClientID, s.ClientSecret)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("refreshing: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Revocations returns what the revocation endpoint has received so far.
func (s *OAuthServer) Revocations() []Revocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Revocation(nil), s.revocations...)
}

// Secrets returns every authorization code, PKCE verifier, access, refresh
// and ID token the token endpoint has received or issued so far: what must
// never be found at rest or in an answer.
func (s *OAuthServer) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// Issued returns the token endpoint's answers so far, oldest first.
func (s *OAuthServer) Issued() []Issued {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Issued(nil), s.issued...)
}

// Revoke revokes a token at the server directly, as a user would at the
// provider's console.
func (s *OAuthServer) Revoke(t testing.TB, token string) {
	t.Helper()
	form := url.Values{"token": {token}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.ClientID, s.ClientSecret)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("revoking: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoking: status %d", resp.StatusCode)
	}
}

// TokenCalls counts the requests to the token endpoint so far.
func (s *OAuthServer) TokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls
}

// NewServerWithProvider starts the HTTP stack on st with one connection
// provider, name, served by a new in-process OAuthServer whose client may
// redirect to the server's callback.
func NewServerWithProvider(t testing.TB, st *store.Store, name string, sc ServerConfig) (*Server, *OAuthServer) {
	t.Helper()
	var idp *OAuthServer
	inner := sc.Service
	sc.Service = func(base string, cfg *service.Config) {
		redirect := base + httpapi.ConnectionCallbackPath
		idp = NewOAuthServer(t, redirect)
		c, err := oauthclient.New([]oauthclient.Provider{idp.Provider(name)}, oauthclient.Options{RedirectURL: redirect})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Connections = c
		if inner != nil {
			inner(base, cfg)
		}
	}
	return NewServerWithConfig(t, st, sc), idp
}

// StartConnect runs a connection flow of org with provider as the Admin with
// token, up to the provider's redirect back, and returns that redirect's path
// and query (the callback request, not yet sent).
func (s *Server) StartConnect(t testing.TB, idp *OAuthServer, token, org, provider string) string {
	t.Helper()
	r := MustStatus(t, s.Do(t, Request{Method: http.MethodPost, Path: "/api/v1/orgs/" + org + "/connections", Token: token,
		Body: map[string]string{"provider": provider}}), http.StatusCreated)
	back := idp.Authorize(t, r.JSON(t)["authorization_url"].(string))
	return back.RequestURI()
}

// Connect runs a whole connection flow of org with provider as the Admin with
// token and returns the new connection as the callback answered it.
func (s *Server) Connect(t testing.TB, idp *OAuthServer, token, org, provider string) map[string]any {
	t.Helper()
	back := s.StartConnect(t, idp, token, org, provider)
	return MustStatus(t, s.Do(t, Request{Method: http.MethodGet, Path: back}), http.StatusCreated).JSON(t)
}
