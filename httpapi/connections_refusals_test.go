package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/oauthclient"
	"strongroom.dev/strongroom/service"
)

// start begins a flow as the fixture's Admin and returns the state and the
// authorization URL.
func (f *connFixture) start(t *testing.T, token string) (string, string) {
	t.Helper()
	r := testkit.MustStatus(t, call(t, f.srv, token, "POST", f.org("/connections"), map[string]string{"provider": idpName}), http.StatusCreated)
	authURL := r.JSON(t)["authorization_url"].(string)
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state"), authURL
}

func callback(query url.Values) string { return httpapi.ConnectionCallbackPath + "?" + query.Encode() }

// TestConnectionCallbackRefusals: a callback whose state is missing, forged,
// unknown, another organization's, expired or already used, or that carries
// the provider's refusal or a bad code, answers 400 and stores nothing; a user
// who lost the Admin role meanwhile gets 403.
func TestConnectionCallbackRefusals(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newConnFixture(t, e.Name)
			other := f.srv.Signup(t, "other@conn.example", "Other Org")
			random := func() string {
				b := make([]byte, 32)
				_, _ = rand.Read(b)
				return base64.RawURLEncoding.EncodeToString(b)
			}
			get := func(t *testing.T, path string) testkit.Response {
				t.Helper()
				return f.srv.Do(t, testkit.Request{Method: "GET", Path: path})
			}
			want := func(t *testing.T, r testkit.Response, status int, detail string) {
				t.Helper()
				if r.Status != status || !strings.Contains(string(r.Body), detail) {
					t.Fatalf("status %d %s, want %d with %q", r.Status, r.Body, status, detail)
				}
			}
			const unknown = "unknown or expired authorization request"

			t.Run("no state", func(t *testing.T) {
				want(t, get(t, callback(url.Values{"code": {"x"}})), http.StatusBadRequest, "no state")
			})
			t.Run("malformed state", func(t *testing.T) {
				for _, s := range []string{"garbage", f.admin.OrgID, f.admin.OrgID + ".", "not-a-uuid." + random(), f.admin.OrgID + ".short"} {
					want(t, get(t, callback(url.Values{"state": {s}, "code": {"x"}})), http.StatusBadRequest, unknown)
				}
			})
			t.Run("repeated state", func(t *testing.T) {
				state, _ := f.start(t, f.admin.Token)
				want(t, get(t, httpapi.ConnectionCallbackPath+"?state="+state+"&state="+state+"&code=x"), http.StatusBadRequest, "repeated")
			})
			t.Run("unknown state", func(t *testing.T) {
				want(t, get(t, callback(url.Values{"state": {f.admin.OrgID + "." + random()}, "code": {"x"}})), http.StatusBadRequest, unknown)
			})
			t.Run("state moved to another organization", func(t *testing.T) {
				state, authURL := f.start(t, f.admin.Token)
				back := f.idp.Authorize(t, authURL).Query()
				_, secret, _ := strings.Cut(state, ".")
				back.Set("state", other.OrgID+"."+secret)
				want(t, get(t, callback(back)), http.StatusBadRequest, unknown)
			})
			t.Run("expired", func(t *testing.T) {
				_, authURL := f.start(t, f.admin.Token)
				back := f.idp.Authorize(t, authURL)
				f.clock.Advance(service.ConnectionStateTTL + time.Second)
				want(t, get(t, back.RequestURI()), http.StatusBadRequest, unknown)
				// Taken at its callback: the late request cannot come back.
				want(t, get(t, back.RequestURI()), http.StatusBadRequest, unknown)
				evs := f.events(t, "connection.callback")
				if last := evs[len(evs)-1]; last.Result != strongroom.ResultFailure || last.Reason != "the authorization request expired" || last.ActorID != f.admin.UserID {
					t.Errorf("audited %+v, want a failure for the Admin: expired", last)
				}
			})
			t.Run("provider refused", func(t *testing.T) {
				state, authURL := f.start(t, f.admin.Token)
				want(t, get(t, callback(url.Values{"state": {state}, "error": {"access_denied"}})), http.StatusBadRequest, "access_denied")
				// The refusal used the state up.
				want(t, get(t, f.idp.Authorize(t, authURL).RequestURI()), http.StatusBadRequest, unknown)
			})
			t.Run("no code", func(t *testing.T) {
				state, _ := f.start(t, f.admin.Token)
				want(t, get(t, callback(url.Values{"state": {state}})), http.StatusBadRequest, "no authorization code")
			})
			t.Run("bad code", func(t *testing.T) {
				state, _ := f.start(t, f.admin.Token)
				want(t, get(t, callback(url.Values{"state": {state}, "code": {"forged-" + random()}})), http.StatusBadRequest, "refused the authorization code")
				evs := f.events(t, "connection.callback")
				if last := evs[len(evs)-1]; last.Result != strongroom.ResultFailure || !strings.Contains(last.Reason, "token endpoint answered 400") {
					t.Errorf("audited %+v, want the provider's refusal", last)
				}
			})
			t.Run("no longer an Admin", func(t *testing.T) {
				admin2 := f.srv.Signup(t, "admin2@conn.example", "Admin2's own")
				testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/members"), map[string]string{"email": admin2.Email, "role": "admin"}), http.StatusCreated)
				_, authURL := f.start(t, admin2.Token)
				testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "PATCH", f.org("/members/"+admin2.UserID), map[string]string{"role": "viewer"}), http.StatusOK)
				want(t, get(t, f.idp.Authorize(t, authURL).RequestURI()), http.StatusForbidden, "no longer connect")
			})
			if n := f.count(t, "connections"); n != 0 {
				t.Fatalf("%d connections stored by refused callbacks, want 0", n)
			}

			t.Run("only Admins start, in their own organization", func(t *testing.T) {
				body := map[string]string{"provider": idpName}
				for _, role := range []string{"viewer", "editor"} {
					u := f.srv.Signup(t, role+"@conn.example", role+"'s own")
					testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/members"), map[string]string{"email": u.Email, "role": role}), http.StatusCreated)
					testkit.MustStatus(t, call(t, f.srv, u.Token, "POST", f.org("/connections"), body), http.StatusForbidden)
					testkit.MustStatus(t, call(t, f.srv, u.Token, "GET", f.org("/connections"), nil), http.StatusForbidden)
				}
				testkit.MustStatus(t, call(t, f.srv, other.Token, "POST", f.org("/connections"), body), http.StatusNotFound)
				testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/connections"), map[string]string{"provider": "nope"}), http.StatusUnprocessableEntity)
				testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/connections"), map[string]string{"provider": idpName, "scopes": "all"}), http.StatusBadRequest)
			})

			t.Run("a browser gets a page", func(t *testing.T) {
				back := f.srv.StartConnect(t, f.idp, f.admin.Token, f.admin.OrgID, idpName)
				r := f.srv.Do(t, testkit.Request{Method: "GET", Path: back, Header: map[string]string{"Accept": "text/html,application/xhtml+xml"}})
				if r.Status != http.StatusCreated || r.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(r.Body), "<h1>Connected</h1>") {
					t.Fatalf("status %d %s: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
				}
				f.noSecrets(t, "the page", r.Body)
			})
			// Another organization's connection is out of reach.
			id := f.connect(t)
			for _, m := range []string{"GET", "DELETE"} {
				testkit.MustStatus(t, call(t, f.srv, other.Token, m, f.org("/connections/"+id), nil), http.StatusNotFound)
			}
			testkit.MustStatus(t, call(t, f.srv, other.Token, "GET", "/api/v1/orgs/"+other.OrgID+"/connections/"+id, nil), http.StatusNotFound)
		})
	}
}

// TestConnectionRefreshRefused: when the provider no longer honours the
// refresh token, the connection is marked failed (and audited), the token is
// refused, and a disconnect still deletes it. A provider that issued no
// refresh token leaves the connection expired.
func TestConnectionRefreshRefused(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			clock := &testClock{}
			var idp *testkit.OAuthServer
			srv := testkit.NewServerWithConfig(t, e.Open(t), testkit.ServerConfig{Service: func(base string, cfg *service.Config) {
				redirect := base + httpapi.ConnectionCallbackPath
				idp = testkit.NewOAuthServer(t, redirect)
				offline, online := idp.Provider(idpName), idp.Provider("norefresh")
				online.Scopes = []string{"openid"}
				online.ClientAuth = oauthclient.ClientSecretPost
				c, err := oauthclient.New([]oauthclient.Provider{offline, online}, oauthclient.Options{RedirectURL: redirect})
				if err != nil {
					t.Fatal(err)
				}
				cfg.Connections, cfg.Now = c, clock.Now
			}})
			admin := srv.Signup(t, "admin@refresh.example", "Refreshing Org")
			org := strongroom.TenantID(admin.OrgID)
			path := func(id string) string { return "/api/v1/orgs/" + admin.OrgID + "/connections/" + id }
			ctx := context.Background()

			id := srv.Connect(t, idp, admin.Token, admin.OrgID, idpName)["id"].(string)
			idp.Revoke(t, idp.Issued()[0].RefreshToken) // the user revoked the grant at the provider
			clock.Advance(10 * time.Minute)
			_, err := srv.Service.ConnectionToken(ctx, org, strongroom.ConnectionID(id))
			if strongroom.ErrorCode(err) != strongroom.ECONFLICT {
				t.Fatalf("ConnectionToken after the grant was revoked: %v, want a conflict", err)
			}
			if got := testkit.MustStatus(t, call(t, srv, admin.Token, "GET", path(id), nil), http.StatusOK).JSON(t)["status"]; got != "failed" {
				t.Errorf("status = %v, want failed", got)
			}
			testkit.MustStatus(t, call(t, srv, admin.Token, "POST", path(id)+"/refresh", nil), http.StatusConflict)
			if got := testkit.MustStatus(t, call(t, srv, admin.Token, "DELETE", path(id), nil), http.StatusOK).JSON(t)["revocation"]; got != "revoked" {
				t.Errorf("revocation = %v, want revoked (RFC 7009: an invalid token is not an error)", got)
			}
			testkit.MustStatus(t, call(t, srv, admin.Token, "GET", path(id), nil), http.StatusNotFound)

			// Without offline_access the provider issues no refresh token.
			conn := srv.Connect(t, idp, admin.Token, admin.OrgID, "norefresh")
			if conn["refreshable"] != false || conn["status"] != "active" {
				t.Fatalf("connection without a refresh token: %v", conn)
			}
			id = conn["id"].(string)
			if _, err := srv.Service.ConnectionToken(ctx, org, strongroom.ConnectionID(id)); err != nil {
				t.Fatalf("a fresh token: %v", err)
			}
			clock.Advance(10 * time.Minute)
			if got := testkit.MustStatus(t, call(t, srv, admin.Token, "GET", path(id), nil), http.StatusOK).JSON(t)["status"]; got != "expired" {
				t.Errorf("status = %v, want expired", got)
			}
			if _, err := srv.Service.ConnectionToken(ctx, org, strongroom.ConnectionID(id)); strongroom.ErrorCode(err) != strongroom.ECONFLICT {
				t.Errorf("ConnectionToken of an expired connection without refresh token: %v, want a conflict", err)
			}
			before := len(idp.Revocations())
			testkit.MustStatus(t, call(t, srv, admin.Token, "DELETE", path(id), nil), http.StatusOK)
			revs := idp.Revocations()[before:]
			if len(revs) != 1 || revs[0].Hint != "access_token" || revs[0].BasicAuth {
				t.Errorf("revocations = %+v, want the access token with client_secret_post", revs)
			}
		})
	}
}
