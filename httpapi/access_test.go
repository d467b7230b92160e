package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/oidcauth"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

const password = "correct horse battery staple"

// TestEveryRouteDeclaresPermission is security invariant 2: a route without a
// declared, known permission fails the build.
func TestEveryRouteDeclaresPermission(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	routes := srv.API.Routes()
	if len(routes) < 20 {
		t.Fatalf("route table has %d routes; expected the whole API", len(routes))
	}
	for _, rt := range routes {
		if rt.Perm == "" || !access.Known(rt.Perm) {
			t.Errorf("%s %s: permission %q is not declared", rt.Method, rt.Path, rt.Perm)
		}
		if rt.InOrg() && (rt.Perm == access.Public || rt.Perm == access.Authenticated) {
			t.Errorf("%s %s: an organization route needs an organization permission, not %q", rt.Method, rt.Path, rt.Perm)
		}
	}
}

// fixture is one organization (A) with a member of each role, an outsider who
// belongs only to organization B, and data to act on.
type fixture struct {
	srv                   *testkit.Server
	idp                   *testkit.OAuthServer // the third-party provider "testidp" A can connect
	admin, editor, viewer testkit.Account
	outsider              testkit.Account
	collection            string
	serial                int

	passkeys *testkit.Authenticator // the browser of every passkey the fixture registers
	oidc     *testkit.OIDCProvider  // the OpenID Connect sign-in provider fixtureOIDC
	cookie   string                 // a Cookie header for the next send (an OpenID Connect flow)
	// Made when a route first needs them (most tests do not):
	mfa      *testkit.Account // an account with an authenticator app and a passkey
	recovery []string         // mfa's unused recovery codes
	inviter  *testkit.Account // the Admin of organization C, which invites the actors
}

// The relying party of the fixture's passkeys (the software authenticator
// plays the browser, so the test server's own address does not matter), and
// the name of its OpenID Connect provider.
const (
	fixtureRPID   = "localhost"
	fixtureOrigin = "https://localhost"
	fixtureOIDC   = "testoidc"
)

func call(t *testing.T, srv *testkit.Server, token, method, path string, body any) testkit.Response {
	t.Helper()
	if up, ok := body.(fileUpload); ok {
		return srv.Do(t, testkit.Request{Method: method, Path: path, Token: token, Body: up.data,
			ContentType: "application/octet-stream", Header: map[string]string{"Content-Disposition": up.disposition()}})
	}
	return srv.Do(t, testkit.Request{Method: method, Path: path, Token: token, Body: body})
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	pk, err := passkey.New(passkey.Config{RPID: fixtureRPID, RPDisplayName: "Strongroom", Origins: []string{fixtureOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{collection: "contacts", passkeys: testkit.NewAuthenticator(fixtureOrigin, fixtureRPID)}
	f.srv, f.idp = testkit.NewServerWithProvider(t, st, "testidp", testkit.ServerConfig{
		Service: func(base string, cfg *service.Config) {
			cfg.Passkeys = pk
			// A terminated organization is due for purging at once (the
			// purge runs only when a test calls it: see newCertificateToken).
			cfg.Lifecycle.TerminationWindow = time.Nanosecond
			f.oidc = testkit.NewOIDCProvider(t, base+"/api/v1/auth/oidc/"+fixtureOIDC+"/callback")
			reg, err := oidcauth.NewRegistry(context.Background(), []oidcauth.ProviderConfig{{Name: fixtureOIDC,
				Issuer: f.oidc.Issuer, ClientID: f.oidc.ClientID, ClientSecret: f.oidc.ClientSecret}}, base, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg.OIDC = reg
		},
	})
	srv := f.srv
	f.admin = srv.Signup(t, "admin@a.example", "Org A")
	f.outsider = srv.Signup(t, "outsider@b.example", "Org B")
	f.editor = f.newMember(t, "editor")
	f.viewer = f.newMember(t, "viewer")
	testkit.MustStatus(t, call(t, srv, f.admin.Token, "POST", f.org("/collections"), map[string]any{
		"name":       f.collection,
		"schema":     json.RawMessage(`{"type":"object","properties":{"email":{"type":"string"},"n":{"type":"integer"}}}`),
		"searchable": []string{"email"},
	}), http.StatusCreated)
	return f
}

func (f *fixture) org(suffix string) string { return "/api/v1/orgs/" + f.admin.OrgID + suffix }

func (f *fixture) next() int { f.serial++; return f.serial }

// newUser signs a new account up (in its own organization).
func (f *fixture) newUser(t *testing.T) testkit.Account {
	n := f.next()
	return f.srv.Signup(t, fmt.Sprintf("user%d@a.example", n), fmt.Sprintf("Own org %d", n))
}

// newMember signs a user up and adds them to A with role.
func (f *fixture) newMember(t *testing.T, role string) testkit.Account {
	u := f.newUser(t)
	testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/members"),
		map[string]string{"email": u.Email, "role": role}), http.StatusCreated)
	u.OrgID = f.admin.OrgID
	return u
}

func (f *fixture) create(t *testing.T, path string, body any) map[string]any {
	return testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org(path), body), http.StatusCreated).JSON(t)
}

func (f *fixture) newClient(t *testing.T) string {
	return f.create(t, "/clients", map[string]string{"name": fmt.Sprintf("client %d", f.next())})["id"].(string)
}

// newConnection connects A to testidp through the whole OAuth flow.
func (f *fixture) newConnection(t *testing.T) string {
	return f.srv.Connect(t, f.idp, f.admin.Token, f.admin.OrgID, "testidp")["id"].(string)
}

// fixtureExportKey is the age identity organization exports are encrypted to.
var fixtureExportKey = func() *age.X25519Identity {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		panic(err)
	}
	return id
}()

// newExport exports A (as its Admin) and returns the export's ID.
func (f *fixture) newExport(t *testing.T) string {
	t.Helper()
	tok, _ := f.sessionOf(t, f.admin)
	r := testkit.MustStatus(t, call(t, f.srv, tok, "POST", f.org("/export"),
		map[string]string{"recipient": fixtureExportKey.Recipient().String()}), http.StatusOK)
	return r.Header.Get("X-Export-Id")
}

// terminateA terminates organization A as its Admin.
func (f *fixture) terminateA(t *testing.T) {
	t.Helper()
	tok, _ := f.sessionOf(t, f.admin)
	testkit.MustStatus(t, call(t, f.srv, tok, "POST", f.org("/termination"), map[string]string{"confirm": "Org A"}), http.StatusAccepted)
}

// cancelTermination restores A if it is terminated.
func (f *fixture) cancelTermination(t *testing.T) {
	t.Helper()
	tok, _ := f.sessionOf(t, f.admin)
	if r := call(t, f.srv, tok, "DELETE", f.org("/termination"), nil); r.Status != http.StatusNoContent && r.Status != http.StatusNotFound {
		t.Errorf("cancelling A's termination: %d %s", r.Status, r.Body)
	}
}

// newCertificateToken terminates and purges a new organization and returns
// the token of its deletion certificate.
func (f *fixture) newCertificateToken(t *testing.T) string {
	t.Helper()
	u := f.newUser(t)
	tok, _ := f.sessionOf(t, u)
	r := testkit.MustStatus(t, call(t, f.srv, tok, "GET", "/api/v1/me", nil), http.StatusOK).JSON(t)
	name := r["organizations"].([]any)[0].(map[string]any)["name"].(string)
	term := testkit.MustStatus(t, call(t, f.srv, tok, "POST", "/api/v1/orgs/"+u.OrgID+"/termination",
		map[string]string{"confirm": name}), http.StatusAccepted).JSON(t)
	if _, err := f.srv.Service.PurgeTerminated(t.Context(), "fixture", time.Minute); err != nil {
		t.Fatal(err)
	}
	return term["certificate_token"].(string)
}

// newDSR opens an export request (as the Admin) for a fresh record's e-mail.
func (f *fixture) newDSR(t *testing.T) string {
	t.Helper()
	n := f.next()
	f.create(t, "/collections/"+f.collection+"/records", map[string]any{"data": map[string]any{"email": fmt.Sprintf("dsr%d@x.example", n)}})
	return f.create(t, "/dsr", map[string]any{"kind": "export",
		"identifiers": []map[string]any{{"field": "email", "value": fmt.Sprintf("dsr%d@x.example", n)}}})["id"].(string)
}

func (f *fixture) newRecord(t *testing.T) string {
	return f.create(t, "/collections/"+f.collection+"/records",
		map[string]any{"data": map[string]any{"email": fmt.Sprintf("r%d@x.example", f.next())}})["id"].(string)
}

// request builds a concrete, valid request for a route, creating fresh target
// resources (so that destructive routes can run for every actor) and returning
// the token to use: the actor's own session, or a fresh session of the actor
// for routes that end, rotate or step up the session that calls them. What a
// request leaves behind that would change later requests (a second factor) is
// undone when t ends.
func (f *fixture) request(t *testing.T, rt httpapi.Route, actor testkit.Account) (path string, body any, token string) {
	t.Helper()
	f.cookie = ""
	token = actor.Token
	signedIn := actor.Token != ""
	path = rt.Path
	sub := func(name, val string) { path = strings.ReplaceAll(path, "{"+name+"}", val) }
	sub("org", f.admin.OrgID)
	sub("collection", f.collection)
	if strings.Contains(path, "{user}") {
		sub("user", f.newMember(t, "viewer").UserID)
	}
	if strings.Contains(path, "{client}") {
		sub("client", f.newClient(t))
	}
	if strings.Contains(path, "{file}") {
		rec, file := f.newFile(t)
		sub("id", rec)
		sub("file", file)
	}
	if strings.Contains(path, "{id}") {
		sub("id", f.newRecord(t))
	}
	if strings.Contains(path, "{connection}") {
		sub("connection", f.newConnection(t))
	}
	if strings.Contains(path, "{key}") {
		sub("key", f.newAPIKey(t))
	}
	if strings.Contains(path, "{invitation}") {
		sub("invitation", f.newInvitation(t))
	}
	if strings.Contains(path, "{alert}") {
		sub("alert", f.newAlert(t))
	}
	if strings.Contains(path, "{dsr}") {
		sub("dsr", f.newDSR(t))
	}
	if strings.Contains(path, "{export}") {
		sub("export", f.newExport(t))
	}
	if strings.Contains(path, "{token}") {
		sub("token", f.newCertificateToken(t))
	}
	if strings.Contains(path, "{campaign}") {
		// A fresh open campaign reviewing the {user} member (if any); none
		// for the completion route, which needs every entry decided.
		var users []string
		if m := templateUser(rt.Path, path); m != "" && !strings.HasSuffix(rt.Path, "/complete") {
			users = append(users, m)
		}
		sub("campaign", f.newCampaign(t, strongroom.TenantID(f.admin.OrgID), users...))
	}
	if strings.Contains(path, "{change}") {
		sub("change", f.newPolicyChange(t))
	}
	sub("tenant", f.admin.OrgID)
	// Without a session, a well-formed ID that names nothing: the refusal
	// comes first.
	sub("session", "00000000-0000-7000-8000-000000000001")
	sub("factor", "00000000-0000-7000-8000-000000000002")
	n := f.next()
	// fresh is a new session of the actor (none for the anonymous caller).
	fresh := func() string {
		if !signedIn {
			return ""
		}
		tok, _ := f.sessionOf(t, actor)
		return tok
	}
	// withoutFactors removes the actor's second factors when t ends (signing
	// in with the authenticator app's secret, or else the actor's passkey in
	// f.passkeys), so that later requests sign the actor in with the password
	// alone.
	withoutFactors := func(totpSecret string) {
		t.Cleanup(func() { f.dropFactors(t, f.signInWithFactor(t, actor, totpSecret)) })
	}
	switch rt.Method + " " + rt.Path {
	case "POST /api/v1/signup":
		body = map[string]string{"email": fmt.Sprintf("new%d@c.example", n), "password": password, "organization": fmt.Sprintf("New %d", n)}
	case "POST /api/v1/auth/password":
		body = map[string]string{"email": f.admin.Email, "password": password}
	case "POST /api/v1/auth/mfa":
		body = map[string]string{"challenge": f.mfaChallenge(t), "recovery_code": f.recoveryCode(t)}
	case "POST /api/v1/auth/mfa/webauthn":
		body = map[string]string{"challenge": f.mfaChallenge(t)}
	case "POST /api/v1/auth/email/start", "POST /api/v1/auth/password/reset":
		body = map[string]string{"email": f.newUser(t).Email}
	case "POST /api/v1/auth/email/verify", "POST /api/v1/auth/email/link":
		u := f.newUser(t)
		testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/auth/email/start", map[string]string{"email": u.Email}), http.StatusAccepted)
		m := mailed(t, f.srv, u.Email, "signin-code")
		if rt.Path == "/api/v1/auth/email/verify" {
			body = map[string]string{"email": u.Email, "code": mailedCode(t, m)}
		} else {
			body = map[string]string{"token": mailedToken(t, m, "srl_")}
		}
	case "POST /api/v1/auth/email/verify-address":
		body = map[string]string{"token": mailedToken(t, mailed(t, f.srv, f.newUser(t).Email, "verify-address"), "srl_")}
	case "POST /api/v1/auth/email/step/verify":
		body = map[string]string{"code": "000000"}
		if token = fresh(); signedIn {
			testkit.MustStatus(t, call(t, f.srv, token, "POST", "/api/v1/auth/email/step", nil), http.StatusAccepted)
			body = map[string]string{"code": mailedCode(t, mailed(t, f.srv, actor.Email, "signin-step-code"))}
		}
	case "POST /api/v1/auth/password/reset/confirm":
		u := f.newUser(t)
		testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/auth/password/reset", map[string]string{"email": u.Email}), http.StatusAccepted)
		body = map[string]string{"token": mailedToken(t, mailed(t, f.srv, u.Email, "password-reset"), "srp_"), "password": password}
	case "POST /api/v1/auth/step-up":
		token, body = fresh(), map[string]string{"password": password}
	case "POST /api/v1/auth/passkey/finish":
		mfa := f.mfaAccount(t)
		r := testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/auth/passkey/start", nil), http.StatusOK).JSON(t)
		resp, err := f.passkeys.Assert(mustJSON(t, r["options"]), []byte(mfa.UserID))
		if err != nil {
			t.Fatal(err)
		}
		body = map[string]any{"ceremony": r["ceremony"], "response": json.RawMessage(resp)}
	case "POST /api/v1/auth/logout":
		token = fresh()
	case "GET /api/v1/auth/oidc/{provider}/start":
		path = "/api/v1/auth/oidc/" + fixtureOIDC + "/start"
	case "GET /api/v1/auth/oidc/{provider}/callback":
		// The browser started a flow (its cookie holds the flow), and the
		// provider signed a new person in and sent the browser back. A
		// signed-in actor links that person to their own account.
		start := f.send(t, "GET", "/api/v1/auth/oidc/"+fixtureOIDC+"/start", "", nil)
		testkit.MustStatus(t, start, http.StatusFound)
		for _, c := range (&http.Response{Header: start.Header}).Cookies() {
			if c.Name == httpapi.OIDCFlowCookie {
				f.cookie = c.Name + "=" + c.Value
			}
		}
		f.oidc.SetUser(testkit.OIDCUser{Subject: fmt.Sprintf("matrix-%d", n), Email: fmt.Sprintf("federated%d@c.example", n),
			EmailVerified: true, GivenName: "Fed", FamilyName: "Erated"})
		path = f.oidc.Authorize(t, start.Header.Get("Location")).RequestURI()
	case "POST /api/v1/invitations/accept":
		if signedIn {
			body = map[string]string{"token": f.inviteToC(t, actor.Email)}
		} else {
			body = map[string]string{"token": f.inviteToC(t, fmt.Sprintf("invitee%d@c.example", n)), "password": password}
		}
	case "PUT /api/v1/me/password":
		// The session that asks stays; the actor's other sessions end.
		body = map[string]string{"current_password": password, "new_password": password}
	case "DELETE /api/v1/me/sessions/{session}":
		if signedIn {
			_, id := f.sessionOf(t, actor)
			path = "/api/v1/me/sessions/" + id
		}
	case "POST /api/v1/me/mfa/totp":
		token, body = fresh(), map[string]string{"name": "Phone"}
	case "POST /api/v1/me/mfa/totp/{factor}/confirm":
		body = map[string]string{"code": "000000"}
		if token = fresh(); signedIn {
			id, secret := f.enrolTOTP(t, token)
			withoutFactors(secret)
			path = "/api/v1/me/mfa/totp/" + id + "/confirm"
			body = map[string]string{"code": totpAt(t, secret, time.Now())}
		}
	case "POST /api/v1/me/mfa/webauthn/start":
		token = fresh()
	case "POST /api/v1/me/mfa/webauthn/finish":
		body = map[string]string{"ceremony": "src_x", "response": "{}"}
		if token = fresh(); signedIn {
			withoutFactors("")
			r := testkit.MustStatus(t, call(t, f.srv, token, "POST", "/api/v1/me/mfa/webauthn/start", nil), http.StatusOK).JSON(t)
			resp, err := f.passkeys.Register(mustJSON(t, r["options"]))
			if err != nil {
				t.Fatal(err)
			}
			body = map[string]any{"ceremony": r["ceremony"], "name": "Laptop", "response": json.RawMessage(resp)}
		}
	case "DELETE /api/v1/me/mfa/factors/{factor}":
		if token = fresh(); signedIn {
			id, _ := f.enrolTOTP(t, token)
			path = "/api/v1/me/mfa/factors/" + id
		}
	case "POST /api/v1/me/mfa/recovery-codes":
		// New codes need a second factor: the actor gets one first.
		if token = fresh(); signedIn {
			id, secret := f.enrolTOTP(t, token)
			withoutFactors(secret)
			r := testkit.MustStatus(t, call(t, f.srv, token, "POST", "/api/v1/me/mfa/totp/"+id+"/confirm",
				map[string]string{"code": totpAt(t, secret, time.Now())}), http.StatusOK)
			token = r.JSON(t)["token"].(string)
		}
	case "POST /api/v1/orgs/{org}/members":
		body = map[string]string{"email": f.newUser(t).Email, "role": "viewer"}
	case "PATCH /api/v1/orgs/{org}/members/{user}":
		body = map[string]string{"role": "editor"}
	case "PUT /api/v1/orgs/{org}/members/{user}/clients":
		body = map[string][]string{"client_ids": {f.newClient(t)}}
	case "PUT /api/v1/orgs/{org}/settings":
		body = map[string]any{"mfa_required": false, "email_verify_each_sign_in": false, "sign_in_methods": []string{},
			"allowed_email_domains": []string{}, "session_idle_minutes": 0, "session_absolute_hours": 0}
	case "POST /api/v1/orgs/{org}/api-keys":
		body = map[string]string{"name": fmt.Sprintf("key %d", n), "role": "viewer"}
	case "PUT /api/v1/orgs/{org}/collections/{collection}/retention":
		body = map[string]any{"retention": map[string]any{"days": 3650, "from": "created"}}
	case "POST /api/v1/orgs/{org}/export":
		token, body = fresh(), map[string]string{"recipient": fixtureExportKey.Recipient().String()}
	case "POST /api/v1/orgs/{org}/termination", "POST /api/v1/operator/orgs/{tenant}/termination":
		token, body = fresh(), map[string]string{"confirm": "Org A"}
		t.Cleanup(func() { f.cancelTermination(t) })
	case "DELETE /api/v1/orgs/{org}/termination":
		token = fresh()
		if signedIn && actor.UserID == f.admin.UserID {
			f.terminateA(t)
			t.Cleanup(func() { f.cancelTermination(t) })
		}
	case "POST /api/v1/orgs/{org}/dsr":
		body = map[string]any{"kind": "export", "identifiers": []map[string]any{{"field": "email", "value": "nobody@x.example"}}}
	case "POST /api/v1/orgs/{org}/api-keys/{key}/rotate":
		body = map[string]int{"overlap_seconds": 60}
	case "GET /api/v1/orgs/{org}/audit":
		path += "?action=record.*&limit=5" // filtered, as Admins read it
	case "GET /api/v1/orgs/{org}/audit/export":
		// An export needs a recent sign-in: a new session of the actor's,
		// however long the matrix has run.
		token = fresh()
	case "POST /api/v1/orgs/{org}/invitations":
		body = map[string]string{"email": fmt.Sprintf("invitee%d@a.example", n), "role": "viewer"}
	case "POST /api/v1/orgs/{org}/clients", "PATCH /api/v1/orgs/{org}/clients/{client}":
		body = map[string]string{"name": fmt.Sprintf("client %d", n)}
	case "POST /api/v1/orgs/{org}/collections":
		body = map[string]any{"name": fmt.Sprintf("coll_%d", n), "schema": map[string]any{"type": "object"}}
	case "DELETE /api/v1/orgs/{org}/collections/{collection}":
		name := fmt.Sprintf("doomed_%d", n)
		f.create(t, "/collections", map[string]any{"name": name, "schema": map[string]any{"type": "object"}})
		path = f.org("/collections/" + name)
	case "POST /api/v1/orgs/{org}/collections/{collection}/records", "PUT /api/v1/orgs/{org}/collections/{collection}/records/{id}":
		body = map[string]any{"data": map[string]any{"email": fmt.Sprintf("w%d@x.example", n), "n": n}}
	case "PATCH /api/v1/orgs/{org}/collections/{collection}/records/{id}":
		body = map[string]any{"n": n}
	case "POST /api/v1/orgs/{org}/collections/{collection}/records/{id}/files":
		body = fileUpload{name: fmt.Sprintf("upload %d.txt", n), data: []byte("some text")}
	case "POST /api/v1/orgs/{org}/connections":
		body = map[string]string{"provider": "testidp"}
	case "POST /api/v1/disclosure/reports":
		body = map[string]string{"title": fmt.Sprintf("Finding %d", n), "description": "details"}
	case "POST /api/v1/disclosure/reports/status":
		r := testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/disclosure/reports",
			map[string]string{"title": fmt.Sprintf("Finding %d", n), "description": "details"}), http.StatusCreated).JSON(t)
		body = map[string]string{"token": r["token"].(string)}
	case "POST /api/v1/subprocessors/subscribe":
		body = map[string]string{"email": fmt.Sprintf("subscriber%d@c.example", n)}
	case "POST /api/v1/subprocessors/confirm", "POST /api/v1/subprocessors/unsubscribe":
		email := fmt.Sprintf("subscriber%d@c.example", n)
		testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/subprocessors/subscribe", map[string]string{"email": email}), http.StatusAccepted)
		body = map[string]string{"token": mailedToken(t, mailed(t, f.srv, email, "subprocessor-confirm"), "srn_")}
	case "POST /api/v1/status/subscribe":
		body = map[string]string{"email": fmt.Sprintf("watcher%d@c.example", n)}
	case "POST /api/v1/status/confirm", "POST /api/v1/status/unsubscribe":
		email := fmt.Sprintf("watcher%d@c.example", n)
		testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/status/subscribe", map[string]string{"email": email}), http.StatusAccepted)
		body = map[string]string{"token": mailedToken(t, mailed(t, f.srv, email, "status-confirm"), "sts_")}
	case "POST /api/v1/orgs/{org}/access-reviews/{campaign}/entries/{user}",
		"POST /api/v1/operator/access-reviews/{campaign}/entries/{user}":
		body = map[string]string{"decision": "keep"}
	case "POST /api/v1/orgs/{org}/notices/{notice}/acknowledge":
		path = f.org("/notices/" + f.newNotice(t) + "/acknowledge")
	case "GET " + httpapi.ConnectionCallbackPath:
		// The provider's redirect back after A's Admin started a flow and
		// approved: the callback is public, bound by its state.
		path = f.srv.StartConnect(t, f.idp, f.admin.Token, f.admin.OrgID, "testidp")
	}
	return path, body, token
}

// expected is the status class the access rules demand for actor on rt:
// 401 without credentials, 404 outside the organization (exactly like a
// missing resource), 403 for a role without the permission, else success.
// No actor of the matrix is a platform operator: operator routes answer 403
// to every signed-in caller.
func expected(rt httpapi.Route, role strongroom.Role, anonymous bool) int {
	switch {
	case rt.Perm == access.Public:
		return http.StatusOK
	case anonymous:
		return http.StatusUnauthorized
	case rt.Perm == access.Authenticated:
		return http.StatusOK
	case rt.Perm == access.Operator:
		return http.StatusForbidden
	case role == "":
		return http.StatusNotFound
	case !access.Granted(role, rt.Perm):
		return http.StatusForbidden
	}
	return http.StatusOK
}

// TestRoleMatrix runs every role, a member of another organization and an
// anonymous caller against every route, on both engines.
func TestRoleMatrix(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixture(t, e.Open(t))
			actors := []struct {
				name string
				acct testkit.Account
				role strongroom.Role
			}{
				{"anonymous", testkit.Account{}, ""},
				{"outsider", f.outsider, ""},
				{"viewer", f.viewer, strongroom.RoleViewer},
				{"editor", f.editor, strongroom.RoleEditor},
				{"admin", f.admin, strongroom.RoleAdmin},
			}
			for _, rt := range f.srv.API.Routes() {
				for _, a := range actors {
					t.Run(rt.Method+" "+rt.Path+" as "+a.name, func(t *testing.T) {
						path, body, token := f.request(t, rt, a.acct)
						r := f.send(t, rt.Method, path, token, body)
						want := expected(rt, a.role, a.name == "anonymous")
						got := r.Status
						if want == http.StatusOK && (got >= 200 && got < 300 || got == redirects[rt.Method+" "+rt.Path]) {
							got = http.StatusOK
						}
						if got != want {
							t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
						}
					})
				}
			}
		})
	}
}

// snapshot is everything organization A's Admin can see, plus the record and
// audit counts, to prove that refused requests change nothing.
func snapshot(t *testing.T, f *fixture, extra ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range append([]string{"", "/members", "/clients", "/collections", "/collections/contacts/records?limit=200",
		"/connections", "/settings", "/api-keys", "/invitations"}, extra...) {
		r := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org(p), nil), http.StatusOK)
		b.Write(r.Body)
	}
	return b.String()
}

// TestCrossTenantMatrix: a user of organization B, and an API key of B, get
// 404 for every organization-A resource by every route and method, the answer
// is the same as for an organization that does not exist, nothing changes,
// and each attempt is audited as denied in A's log.
func TestCrossTenantMatrix(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			f := newFixture(t, st)
			client := f.newClient(t)
			record, file := f.newFile(t)
			member := f.newMember(t, "viewer")
			conn := f.newConnection(t)
			key := f.newAPIKey(t)
			invitation := f.newInvitation(t)
			alert := f.newAlert(t)
			// B's most powerful key.
			bKey := testkit.MustStatus(t, call(t, f.srv, f.outsider.Token, "POST", "/api/v1/orgs/"+f.outsider.OrgID+"/api-keys",
				map[string]string{"name": "B admin", "role": "admin"}), http.StatusCreated).JSON(t)
			memberSessions := "/members/" + member.UserID + "/sessions"
			before := snapshot(t, f, memberSessions)
			const missingOrg = "00000000-0000-7000-8000-000000000000"
			for _, actor := range []struct{ name, token, id string }{
				{"B's member", f.outsider.Token, f.outsider.UserID},
				{"B's API key", bKey["secret"].(string), bKey["key"].(map[string]any)["id"].(string)},
			} {
				deniedBefore := countDenied(t, st, strongroom.TenantID(f.admin.OrgID), actor.id)
				n := 0
				for _, rt := range f.srv.API.Routes() {
					if !rt.InOrg() {
						continue
					}
					n++
					fill := func(org string) string {
						return strings.NewReplacer("{org}", org, "{collection}", f.collection, "{client}", client,
							"{id}", record, "{user}", member.UserID, "{connection}", conn,
							"{key}", key, "{invitation}", invitation, "{alert}", alert, "{file}", file).Replace(rt.Path)
					}
					body := map[string]any{"name": "x", "role": "admin", "email": f.outsider.Email,
						"data": map[string]any{}, "client_ids": []string{}, "schema": map[string]any{}, "provider": "testidp",
						"mfa_required": true, "overlap_seconds": 0}
					if rt.Method == http.MethodGet || rt.Method == http.MethodDelete {
						body = nil
					}
					got := call(t, f.srv, actor.token, rt.Method, fill(f.admin.OrgID), body)
					missing := call(t, f.srv, actor.token, rt.Method, fill(missingOrg), body)
					if got.Status != http.StatusNotFound {
						t.Errorf("%s: %s %s: status %d, want 404: %s", actor.name, rt.Method, rt.Path, got.Status, got.Body)
						continue
					}
					if diff := cmp.Diff(problemShape(t, missing), problemShape(t, got)); diff != "" {
						t.Errorf("%s: %s %s: answer differs from a missing organization's (-missing +got):\n%s", actor.name, rt.Method, rt.Path, diff)
					}
				}
				denied := countDenied(t, st, strongroom.TenantID(f.admin.OrgID), actor.id) - deniedBefore
				if denied != n {
					t.Errorf("%s: audited %d denied events in A, want %d (one per route)", actor.name, denied, n)
				}
			}
			if after := snapshot(t, f, memberSessions); after != before {
				t.Errorf("organization A changed after refused requests:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// problemShape is a problem without its per-request fields.
func problemShape(t *testing.T, r testkit.Response) map[string]any {
	v := r.JSON(t)
	delete(v, "request_id")
	delete(v, "instance")
	return v
}

func countDenied(t *testing.T, st *store.Store, tenant strongroom.TenantID, actor string) int {
	t.Helper()
	n := 0
	err := st.Read(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), 0, 1000)
		for _, e := range evs {
			if e.Result == strongroom.ResultDenied && e.ActorID == actor && e.Action == "access.denied" {
				n++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newNotice puts a breach notice into A, as an operator's NotifyBreach would,
// and returns its ID.
func (f *fixture) newNotice(t *testing.T) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	err := f.srv.Store.Write(context.Background(), store.TenantScope(strongroom.TenantID(f.admin.OrgID)), func(tx *store.Tx) error {
		return tx.CreateNotice(context.Background(), &strongroom.IncidentNotice{ID: id, IncidentID: "fixture", Kind: "breach",
			Title: "Personal-data breach", Contents: "{}", SentAt: time.Now().UTC()})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}
