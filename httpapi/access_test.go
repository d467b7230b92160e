package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
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
}

func call(t *testing.T, srv *testkit.Server, token, method, path string, body any) testkit.Response {
	t.Helper()
	return srv.Do(t, testkit.Request{Method: method, Path: path, Token: token, Body: body})
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	srv, idp := testkit.NewServerWithProvider(t, st, "testidp", testkit.ServerConfig{})
	f := &fixture{srv: srv, idp: idp, collection: "contacts"}
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

func (f *fixture) newRecord(t *testing.T) string {
	return f.create(t, "/collections/"+f.collection+"/records",
		map[string]any{"data": map[string]any{"email": fmt.Sprintf("r%d@x.example", f.next())}})["id"].(string)
}

// request builds a concrete, valid request for a route, creating fresh target
// resources (so that destructive routes can run for every actor) and returning
// the token to use (logout gets a fresh session of the actor).
func (f *fixture) request(t *testing.T, rt httpapi.Route, actor testkit.Account) (path string, body any, token string) {
	t.Helper()
	token = actor.Token
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
	if strings.Contains(path, "{id}") {
		sub("id", f.newRecord(t))
	}
	if strings.Contains(path, "{connection}") {
		sub("connection", f.newConnection(t))
	}
	n := f.next()
	switch rt.Method + " " + rt.Path {
	case "POST /api/v1/signup":
		body = map[string]string{"email": fmt.Sprintf("new%d@c.example", n), "password": password, "organization": fmt.Sprintf("New %d", n)}
	case "POST /api/v1/auth/password":
		body = map[string]string{"email": f.admin.Email, "password": password}
	case "POST /api/v1/auth/logout":
		if actor.Token != "" {
			r := testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/auth/password",
				map[string]string{"email": actor.Email, "password": password}), http.StatusOK)
			token = r.JSON(t)["token"].(string)
		}
	case "POST /api/v1/orgs/{org}/members":
		body = map[string]string{"email": f.newUser(t).Email, "role": "viewer"}
	case "PATCH /api/v1/orgs/{org}/members/{user}":
		body = map[string]string{"role": "editor"}
	case "PUT /api/v1/orgs/{org}/members/{user}/clients":
		body = map[string][]string{"client_ids": {f.newClient(t)}}
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
	case "POST /api/v1/orgs/{org}/connections":
		body = map[string]string{"provider": "testidp"}
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
func expected(rt httpapi.Route, role strongroom.Role, anonymous bool) int {
	switch {
	case rt.Perm == access.Public:
		return http.StatusOK
	case anonymous:
		return http.StatusUnauthorized
	case rt.Perm == access.Authenticated:
		return http.StatusOK
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
						r := call(t, f.srv, token, rt.Method, path, body)
						want := expected(rt, a.role, a.name == "anonymous")
						got := r.Status
						if want == http.StatusOK && got >= 200 && got < 300 {
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
func snapshot(t *testing.T, f *fixture) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"", "/members", "/clients", "/collections", "/collections/contacts/records?limit=200", "/connections"} {
		r := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org(p), nil), http.StatusOK)
		b.Write(r.Body)
	}
	return b.String()
}

// TestCrossTenantMatrix: a user of organization B gets 404 for every
// organization-A resource by every route and method, the answer is the same as
// for an organization that does not exist, nothing changes, and each attempt is
// audited as denied in A's log.
func TestCrossTenantMatrix(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			f := newFixture(t, st)
			client := f.newClient(t)
			record := f.newRecord(t)
			member := f.newMember(t, "viewer")
			conn := f.newConnection(t)
			before := snapshot(t, f)
			deniedBefore := countDenied(t, st, strongroom.TenantID(f.admin.OrgID), f.outsider.UserID)
			const missingOrg = "00000000-0000-7000-8000-000000000000"
			n := 0
			for _, rt := range f.srv.API.Routes() {
				if !rt.InOrg() {
					continue
				}
				n++
				fill := func(org string) string {
					p := strings.NewReplacer("{org}", org, "{collection}", f.collection, "{client}", client,
						"{id}", record, "{user}", member.UserID, "{connection}", conn).Replace(rt.Path)
					return p
				}
				body := map[string]any{"name": "x", "role": "admin", "email": f.outsider.Email,
					"data": map[string]any{}, "client_ids": []string{}, "schema": map[string]any{}, "provider": "testidp"}
				if rt.Method == http.MethodGet || rt.Method == http.MethodDelete {
					body = nil
				}
				got := call(t, f.srv, f.outsider.Token, rt.Method, fill(f.admin.OrgID), body)
				missing := call(t, f.srv, f.outsider.Token, rt.Method, fill(missingOrg), body)
				if got.Status != http.StatusNotFound {
					t.Errorf("%s %s: status %d, want 404: %s", rt.Method, rt.Path, got.Status, got.Body)
					continue
				}
				if diff := cmp.Diff(problemShape(t, missing), problemShape(t, got)); diff != "" {
					t.Errorf("%s %s: answer differs from a missing organization's (-missing +got):\n%s", rt.Method, rt.Path, diff)
				}
			}
			if after := snapshot(t, f); after != before {
				t.Errorf("organization A changed after refused requests:\nbefore %s\nafter  %s", before, after)
			}
			denied := countDenied(t, st, strongroom.TenantID(f.admin.OrgID), f.outsider.UserID) - deniedBefore
			if denied != n {
				t.Errorf("audited %d denied events in A for the outsider, want %d (one per route)", denied, n)
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
