package testkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// OIDCProvider is a real OpenID Connect provider running in-process on
// 127.0.0.1, for "Sign in with ..." tests: zitadel/oidc's OpenID Provider
// (package op) over the in-memory storage of its example server, as
// OAuthServer, with discovery, a JWKS, RS256-signed ID tokens, the
// authorization-code flow with PKCE and nonce, single-use codes and the
// userinfo endpoint. Its issuer is its URL, http://127.0.0.1:port.
//
// Its login step approves at once, as the user last given to SetUser
// (DefaultOIDCUser until then), so a test drives "the browser" by following
// redirects with Authorize. The user's subject, e-mail, email_verified and
// name are what the test chose: the example storage's own test users are
// replaced by a user store of ours.
//
// It has two confidential clients (HTTP Basic or form-post client
// authentication), both allowed to redirect to the same URI: ClientID and
// OtherClientID, whose ID tokens are for another audience.
type OIDCProvider struct {
	Issuer            string
	ClientID          string
	ClientSecret      string
	OtherClientID     string
	OtherClientSecret string

	hc              *http.Client
	users           *oidcUsers
	claimsInIDToken atomic.Bool

	mu      sync.Mutex
	secrets []string // every code, verifier and token the token endpoint saw or issued
}

// OIDCUser is an account at an OIDCProvider.
type OIDCUser struct {
	Subject       string // the sub claim; also the login name
	Email         string
	EmailVerified bool
	GivenName     string // the name claim is "GivenName FamilyName"
	FamilyName    string
}

// DefaultOIDCUser is the user an OIDCProvider signs in as until SetUser.
func DefaultOIDCUser() OIDCUser {
	return OIDCUser{Subject: "248289761001", Email: "ada@example.test", EmailVerified: true,
		GivenName: "Ada", FamilyName: "Lovelace"}
}

// NewOIDCProvider starts an OpenID provider whose two clients may redirect
// to redirectURI. It stops when the test ends.
func NewOIDCProvider(t testing.TB, redirectURI string) *OIDCProvider {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	p := &OIDCProvider{Issuer: issuer, ClientID: "strongroom-oidc", ClientSecret: randomHex(t),
		OtherClientID: "strongroom-other", OtherClientSecret: randomHex(t), users: newOIDCUsers()}
	p.claimsInIDToken.Store(true)
	p.SetUser(DefaultOIDCUser())
	clients := map[string]*storage.Client{
		p.ClientID:      storage.WebClient(p.ClientID, p.ClientSecret, redirectURI),
		p.OtherClientID: storage.WebClient(p.OtherClientID, p.OtherClientSecret, redirectURI),
	}
	st := oidcStorage{Storage: storage.NewStorageWithClients(p.users, clients), claimsInIDToken: &p.claimsInIDToken}
	cfg := &op.Config{CodeMethodS256: true, AuthMethodPost: true}
	if _, err := rand.Read(cfg.CryptoKey[:]); err != nil {
		t.Fatal(err)
	}
	provider, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer), op.WithAllowInsecure(),
		op.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		ts.Close()
		t.Fatalf("starting the OpenID provider: %v", err)
	}
	mux := http.NewServeMux()
	// The login UI the example client sends the browser to: approve at once
	// as the current user.
	mux.Handle("/login/username", op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("authRequestID")
		if err := st.CheckUsernamePassword(p.users.currentLogin(), oidcPassword, id); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(provider)(r.Context(), id), http.StatusFound)
	}))
	mux.Handle("/", provider)
	ts.Config.Handler = p.recordTokens(mux)
	ts.Start()
	t.Cleanup(ts.Close)
	p.hc = &http.Client{CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != ts.Listener.Addr().String() {
			return http.ErrUseLastResponse // the redirect back to the client: stop there
		}
		return nil
	}}
	return p
}

func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// SetUser makes the login approve as u from now on. Tokens already issued
// keep their user, whose userinfo stays available.
func (p *OIDCProvider) SetUser(u OIDCUser) { p.users.set(u) }

// SetClaimsInIDToken chooses where the e-mail and profile claims go: in the
// ID token (true, the default, as Google does) or only at the userinfo
// endpoint (false, as some providers do when an access token is issued).
func (p *OIDCProvider) SetClaimsInIDToken(inIDToken bool) { p.claimsInIDToken.Store(inIDToken) }

// Authorize is the browser's part of the flow: it opens authURL, lets the
// provider log the current user in and approve, and returns the URL the
// provider redirects back to (the client's redirect URI with code and state,
// or with error and state), without opening it.
func (p *OIDCProvider) Authorize(t testing.TB, authURL string) *url.URL {
	t.Helper()
	resp, err := p.hc.Get(authURL)
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

// Secrets returns every authorization code, PKCE verifier, access and ID
// token the token endpoint has received or issued so far: what must never
// appear in an error message or a log.
func (p *OIDCProvider) Secrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.secrets...)
}

// recordTokens notes the secrets passing through the token endpoint.
func (p *OIDCProvider) recordTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/token" {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, body: &bytes.Buffer{}}
		next.ServeHTTP(rec, r)
		var issued struct {
			AccessToken string `json:"access_token"`
			IDToken     string `json:"id_token"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &issued)
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, v := range []string{form.Get("code"), form.Get("code_verifier"), issued.AccessToken, issued.IDToken} {
			if v != "" {
				p.secrets = append(p.secrets, v)
			}
		}
	})
}

const oidcPassword = "not-a-secret"

// oidcUsers is the provider's user store (the example storage's UserStore):
// every user set so far, by subject, and the one the login approves as.
type oidcUsers struct {
	mu      sync.Mutex
	current string
	byID    map[string]*storage.User
}

func newOIDCUsers() *oidcUsers { return &oidcUsers{byID: map[string]*storage.User{}} }

// set adds or replaces a user; the storage may still read the User it
// replaces, so a User is never modified once stored.
func (s *oidcUsers) set(u OIDCUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[u.Subject] = &storage.User{ID: u.Subject, Username: u.Subject, Password: oidcPassword,
		FirstName: u.GivenName, LastName: u.FamilyName, Email: u.Email, EmailVerified: u.EmailVerified,
		PreferredLanguage: language.English}
	s.current = u.Subject
}

func (s *oidcUsers) currentLogin() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

func (s *oidcUsers) GetUserByID(id string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

func (s *oidcUsers) GetUserByUsername(username string) *storage.User {
	return s.GetUserByID(username) // the login name is the subject
}

func (s *oidcUsers) ExampleClientID() string { return storage.ServiceUserID }

// oidcStorage is the example storage with one change: its clients assert the
// userinfo claims (e-mail, profile) in the ID token when claimsInIDToken is
// set, where the example's web client puts them only at the userinfo endpoint.
type oidcStorage struct {
	*storage.Storage
	claimsInIDToken *atomic.Bool
}

func (s oidcStorage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return claimsClient{Client: c, inIDToken: s.claimsInIDToken}, nil
}

type claimsClient struct {
	op.Client
	inIDToken *atomic.Bool
}

func (c claimsClient) IDTokenUserinfoClaimsAssertion() bool { return c.inIDToken.Load() }
