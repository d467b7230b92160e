package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// The connection tests run Strongroom against a real OAuth 2.0 authorization
// server in-process (testkit.OAuthServer: zitadel/oidc's OpenID Provider) on
// both engines, with the service's clock under the test's control.

const idpName = "testidp"

// testClock is the service's clock: real time plus what the test added, so
// that the provider (on real time) and Strongroom agree until a test moves on.
type testClock struct {
	mu  sync.Mutex
	add time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.add)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.add += d
	c.mu.Unlock()
}

// connFixture is an organization whose Admin can connect testidp, on an
// engine whose raw database the test can read behind the store's back.
type connFixture struct {
	srv   *testkit.Server
	idp   *testkit.OAuthServer
	st    *store.Store
	raw   *sql.DB
	dir   string // SQLite: the data folder
	clock *testClock
	admin testkit.Account
}

func newConnFixture(t *testing.T, engine string) *connFixture {
	t.Helper()
	f := &connFixture{clock: &testClock{}}
	f.st, f.raw, f.dir = testkit.OpenRaw(t, engine)
	f.srv, f.idp = testkit.NewServerWithProvider(t, f.st, idpName, testkit.ServerConfig{
		Service: func(_ string, cfg *service.Config) { cfg.Now = f.clock.Now },
	})
	f.admin = f.srv.Signup(t, "admin@conn.example", "Connected Org")
	return f
}

func (f *connFixture) org(suffix string) string { return "/api/v1/orgs/" + f.admin.OrgID + suffix }

func (f *connFixture) connect(t *testing.T) string {
	t.Helper()
	return f.srv.Connect(t, f.idp, f.admin.Token, f.admin.OrgID, idpName)["id"].(string)
}

// count returns the number of rows of a table for the organization, read
// behind the store's back.
func (f *connFixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.raw.QueryRow("SELECT count(*) FROM "+table+" WHERE tenant_id = $1", f.admin.OrgID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// atRest returns everything stored: every file of the SQLite data folder, or
// the PostgreSQL rows of the tables that could hold a secret.
func (f *connFixture) atRest(t *testing.T) []byte {
	t.Helper()
	return testkit.AtRest(t, f.raw, f.dir,
		"SELECT encode(tokens, 'escape') || provider || scopes FROM connections",
		"SELECT encode(verifier, 'escape') || encode(state_hash, 'escape') FROM oauth_states",
		"SELECT action || target_id || metadata || reason FROM audit_events")
}

// noSecrets fails if any code, verifier or token the provider saw or issued
// appears in b.
func (f *connFixture) noSecrets(t *testing.T, what string, b []byte) {
	t.Helper()
	secrets := f.idp.Secrets()
	if len(secrets) == 0 {
		t.Fatal("the provider recorded no secrets; the check would prove nothing")
	}
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s holds a secret of the OAuth flow (%.12s…)", what, s)
		}
	}
}

// events returns the organization's audit events with the action prefix.
func (f *connFixture) events(t *testing.T, prefix string) []strongroom.AuditEvent {
	t.Helper()
	var out []strongroom.AuditEvent
	err := f.st.Read(context.Background(), store.TenantScope(strongroom.TenantID(f.admin.OrgID)), func(tx *store.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), 0, 1000)
		for _, e := range evs {
			if strings.HasPrefix(e.Action, prefix) {
				out = append(out, e)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *connFixture) token(t *testing.T, id string) string {
	t.Helper()
	ctx := context.Background()
	tok, err := f.srv.Service.ConnectionToken(ctx, strongroom.TenantID(f.admin.OrgID), strongroom.ConnectionID(id))
	if err != nil {
		t.Fatalf("ConnectionToken: %v", err)
	}
	return tok.AccessToken
}

// TestConnectionLifecycle: connect with PKCE and state, tokens sealed at rest
// and never shown, automatic and forced refresh without racing, disconnect
// that revokes at the provider and deletes at once, each step audited.
func TestConnectionLifecycle(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newConnFixture(t, e.Name)
			providers := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/connection-providers"), nil), http.StatusOK)
			wantProviders := `{"items":[{"name":"testidp","display_name":"Test provider testidp","scopes":["openid","offline_access"],"revocable":true}]}`
			if got := strings.TrimSpace(string(providers.Body)); got != wantProviders {
				t.Errorf("providers = %s, want %s", got, wantProviders)
			}

			// Start: the authorization URL carries the state and an S256 challenge.
			start := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/connections"), map[string]string{"provider": idpName}), http.StatusCreated)
			authURL, err := url.Parse(start.JSON(t)["authorization_url"].(string))
			if err != nil {
				t.Fatal(err)
			}
			q := authURL.Query()
			state := q.Get("state")
			got := map[string]any{"endpoint": authURL.Scheme + "://" + authURL.Host + authURL.Path, "method": q.Get("code_challenge_method"),
				"challenge length": len(q.Get("code_challenge")), "redirect": q.Get("redirect_uri"), "scope": q.Get("scope"),
				"client": q.Get("client_id"), "response type": q.Get("response_type"), "state names the org": strings.HasPrefix(state, f.admin.OrgID+".")}
			want := map[string]any{"endpoint": f.idp.URL + "/authorize", "method": "S256", "challenge length": 43,
				"redirect": f.srv.URL + httpapi.ConnectionCallbackPath, "scope": "openid offline_access", "client": f.idp.ClientID,
				"response type": "code", "state names the org": true}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("authorization URL (-want +got):\n%s", d)
			}
			if n := f.count(t, "oauth_states"); n != 1 {
				t.Fatalf("%d pending requests stored, want 1", n)
			}
			var stored []byte
			if err := f.raw.QueryRow("SELECT state_hash FROM oauth_states").Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if h := sha256.Sum256([]byte(state)); !bytes.Equal(stored, h[:]) {
				t.Errorf("the stored state is not the SHA-256 of the state parameter")
			}
			if bytes.Contains(f.atRest(t), []byte(state)) {
				t.Errorf("the state parameter is stored in the clear")
			}

			// The browser step, then the callback.
			back := f.idp.Authorize(t, authURL.String())
			if back.Path != httpapi.ConnectionCallbackPath || back.Query().Get("state") != state || back.Query().Get("code") == "" {
				t.Fatalf("the provider redirected to %s", back.Redacted())
			}
			cb := testkit.MustStatus(t, f.srv.Do(t, testkit.Request{Method: "GET", Path: back.RequestURI()}), http.StatusCreated)
			conn := cb.JSON(t)
			id := conn["id"].(string)
			if cb.Header.Get("Location") != f.org("/connections/"+id) || cb.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("callback headers: Location %q, Cache-Control %q", cb.Header.Get("Location"), cb.Header.Get("Cache-Control"))
			}
			wantConn := map[string]any{"id": id, "provider": idpName, "status": "active", "scopes": []any{"openid", "offline_access"},
				"connected_by": f.admin.UserID, "refreshable": true}
			for k, v := range wantConn {
				if d := cmp.Diff(v, conn[k]); d != "" {
					t.Errorf("connection %s (-want +got):\n%s", k, d)
				}
			}
			if _, ok := conn["expires_at"].(string); !ok {
				t.Errorf("expires_at = %v, want a time", conn["expires_at"])
			}
			f.noSecrets(t, "the callback's answer", cb.Body)
			if n := f.count(t, "oauth_states"); n != 0 {
				t.Errorf("%d pending requests left after the callback, want 0", n)
			}

			// The same callback again: the state was single use.
			again := f.srv.Do(t, testkit.Request{Method: "GET", Path: back.RequestURI()})
			if again.Status != http.StatusBadRequest {
				t.Errorf("replayed callback: %d %s, want 400", again.Status, again.Body)
			}
			if n := f.count(t, "connections"); n != 1 {
				t.Errorf("%d connections after a replayed callback, want 1", n)
			}

			// Reading never shows tokens; other roles and organizations cannot.
			list := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/connections"), nil), http.StatusOK)
			one := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/connections/"+id), nil), http.StatusOK)
			if items := list.JSON(t)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
				t.Errorf("list = %s", list.Body)
			}
			f.noSecrets(t, "the list", list.Body)
			f.noSecrets(t, "the connection", one.Body)
			for _, k := range []string{"access_token", "refresh_token", "tokens"} {
				if bytes.Contains(list.Body, []byte(k)) || bytes.Contains(one.Body, []byte(k)) {
					t.Errorf("an answer names %q", k)
				}
			}

			// An access token for internal use, fresh: no call to the provider.
			calls := f.idp.TokenCalls()
			first := f.token(t, id)
			if f.idp.TokenCalls() != calls || f.idp.UserInfo(t, first) != http.StatusOK {
				t.Fatalf("a fresh token was refreshed, or does not work at the provider")
			}

			// Expired (the provider's access tokens last 5 minutes): refreshed
			// automatically with the refresh token, once for concurrent callers.
			f.clock.Advance(10 * time.Minute)
			var wg sync.WaitGroup
			got8 := make([]string, 8)
			for i := range got8 {
				wg.Go(func() { got8[i] = f.token(t, id) })
			}
			wg.Wait()
			second := got8[0]
			for _, tok := range got8 {
				if tok != second {
					t.Fatalf("concurrent callers got different tokens: the refreshes raced")
				}
			}
			if second == first || f.idp.TokenCalls() != calls+1 {
				t.Fatalf("refresh: new token %v, token endpoint calls %d, want one", second != first, f.idp.TokenCalls()-calls)
			}
			if f.idp.UserInfo(t, second) != http.StatusOK {
				t.Errorf("the refreshed access token does not work at the provider")
			}
			afterRefresh := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/connections/"+id), nil), http.StatusOK).JSON(t)
			if afterRefresh["expires_at"] == conn["expires_at"] {
				t.Errorf("expires_at did not move with the refresh")
			}

			// A forced refresh by the Admin.
			forced := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/connections/"+id+"/refresh"), nil), http.StatusOK)
			f.noSecrets(t, "the refresh's answer", forced.Body)
			third := f.token(t, id)
			if third == second || f.idp.TokenCalls() != calls+2 {
				t.Errorf("the forced refresh did not refresh")
			}
			f.noSecrets(t, "the data at rest", f.atRest(t))

			// Disconnect: revocation at the provider, refresh token first, and
			// the row deleted at once.
			dis := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "DELETE", f.org("/connections/"+id), nil), http.StatusOK)
			if got := strings.TrimSpace(string(dis.Body)); got != `{"id":"`+id+`","revocation":"revoked"}` {
				t.Errorf("disconnect = %s", got)
			}
			revs := f.idp.Revocations()
			if len(revs) != 2 || revs[0].Hint != "refresh_token" || revs[1].Hint != "access_token" || revs[1].Token != third {
				t.Fatalf("revocations = %+v, want the refresh token then the access token", revs)
			}
			for _, r := range revs {
				if !r.BasicAuth || r.Status != http.StatusOK {
					t.Errorf("revocation %+v: want HTTP Basic client authentication and 200", r)
				}
			}
			if s := f.idp.UserInfo(t, third); s == http.StatusOK {
				t.Errorf("the access token still works at the provider after disconnecting")
			}
			if s := f.idp.Refresh(t, revs[0].Token); s == http.StatusOK {
				t.Errorf("the refresh token still works at the provider after disconnecting")
			}
			if n := f.count(t, "connections"); n != 0 {
				t.Errorf("%d connection rows after disconnecting, want 0", n)
			}
			testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/connections/"+id), nil), http.StatusNotFound)
			f.noSecrets(t, "the data at rest", f.atRest(t))

			// Every step is audited, with the provider and never a token.
			var actions []string
			for _, ev := range f.events(t, "connection.") {
				actions = append(actions, ev.Action+"/"+string(ev.Result))
				b, _ := json.Marshal(ev)
				f.noSecrets(t, "an audit event", b)
				if !bytes.Contains(ev.Metadata, []byte(`"provider":"testidp"`)) {
					t.Errorf("%s event without the provider: %s", ev.Action, ev.Metadata)
				}
			}
			wantActions := []string{"connection.start/success", "connection.callback/success", "connection.refresh/success",
				"connection.refresh/success", "connection.disconnect/success"}
			if d := cmp.Diff(wantActions, actions); d != "" {
				t.Errorf("audited (-want +got):\n%s", d)
			}
			disconnect := f.events(t, "connection.disconnect")[0]
			if !bytes.Contains(disconnect.Metadata, []byte(`"revocation":{"result":"revoked"`)) {
				t.Errorf("the disconnect event does not record the revocation: %s", disconnect.Metadata)
			}
		})
	}
}

// TestConnectionTokensBound moves sealed tokens between connections and
// organizations behind the store's back: they must not open there (an error,
// never another connection's token), and disconnecting still deletes.
func TestConnectionTokensBound(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newConnFixture(t, e.Name)
			other := f.srv.Signup(t, "other@bound.example", "Other Org")
			a1, a2 := f.connect(t), f.connect(t)
			b1 := f.srv.Connect(t, f.idp, other.Token, other.OrgID, idpName)["id"].(string)
			for _, tc := range []struct{ name, from, to string }{{"cross-row", a2, a1}, {"cross-tenant", b1, a2}} {
				t.Run(tc.name, func(t *testing.T) {
					if _, err := f.raw.Exec("UPDATE connections SET tokens = (SELECT tokens FROM connections WHERE id = $1) WHERE id = $2", tc.from, tc.to); err != nil {
						t.Fatal(err)
					}
					tok, err := f.srv.Service.ConnectionToken(context.Background(), strongroom.TenantID(f.admin.OrgID), strongroom.ConnectionID(tc.to))
					if err == nil || tok != nil {
						t.Fatalf("moved tokens opened: %v", tok)
					}
					r := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/connections/"+tc.to+"/refresh"), nil), http.StatusInternalServerError)
					f.noSecrets(t, "the refusal", r.Body)
				})
			}
			d := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "DELETE", f.org("/connections/"+a1), nil), http.StatusOK)
			if got := d.JSON(t)["revocation"]; got != "skipped" {
				t.Errorf("revocation of unreadable tokens = %v, want skipped", got)
			}
			testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/connections/"+a1), nil), http.StatusNotFound)
		})
	}
}
