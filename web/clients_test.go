package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
)

// seedClient creates a client over the API and returns its id.
func seedClient(t *testing.T, srv *testkit.Server, acct testkit.Account, name string) string {
	t.Helper()
	r := srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + acct.OrgID + "/clients", Token: acct.Token,
		Body: map[string]any{"name": name}})
	if r.Status != 201 {
		t.Fatalf("creating a client: %d %s", r.Status, r.Body)
	}
	var c struct{ ID string }
	if err := json.Unmarshal(r.Body, &c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// TestClientsPages: an Admin adds, renames and deletes a client through the
// console's forms; the delete asks first; each step lands in the store.
func TestClientsPages(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "clients@example.com", "Clients Ltd")
	cookie := httpapi.SessionCookie + "=" + acct.Token
	base := "/orgs/" + acct.OrgID + "/clients"
	// The test client follows the console's 303 to the page it names.
	post := func(path, body string) testkit.Response {
		t.Helper()
		return srv.Do(t, testkit.Request{Method: "POST", Path: path, Body: body, ContentType: "application/x-www-form-urlencoded",
			Header: map[string]string{"Cookie": cookie}})
	}
	if status, body := page(t, srv, acct.Token, base); status != 200 || !strings.Contains(body, `id="no-clients"`) {
		t.Fatalf("empty clients page: %d", status)
	}
	if r := post(base, "name=Acme+Corp"); r.Status != 200 || !strings.Contains(string(r.Body), "<h1>Clients</h1>") {
		t.Fatalf("adding a client: %d", r.Status)
	}
	clients := listClients(t, srv, acct)
	if len(clients) != 1 || clients[0].Name != "Acme Corp" {
		t.Fatalf("clients after adding: %+v", clients)
	}
	id := clients[0].ID
	if r := post(base+"/"+id+"/rename", "name=Acme+Inc"); r.Status != 200 || !strings.Contains(string(r.Body), "<h1>Clients</h1>") {
		t.Fatalf("renaming: %d", r.Status)
	}
	if c := listClients(t, srv, acct); c[0].Name != "Acme Inc" {
		t.Errorf("after renaming: %+v", c)
	}
	status, body := page(t, srv, acct.Token, base+"/"+id+"/delete")
	if status != 200 || !strings.Contains(body, "Delete this client?") || !strings.Contains(body, `id="confirm-delete"`) {
		t.Fatalf("delete confirmation page: %d", status)
	}
	if c := listClients(t, srv, acct); len(c) != 1 {
		t.Fatal("opening the confirmation deleted the client")
	}
	if r := post(base+"/"+id+"/delete", ""); r.Status != 200 || !strings.Contains(string(r.Body), "<h1>Clients</h1>") {
		t.Fatalf("deleting: %d", r.Status)
	}
	if c := listClients(t, srv, acct); len(c) != 0 {
		t.Errorf("after deleting: %+v", c)
	}
}

type clientJSON struct{ ID, Name string }

func listClients(t *testing.T, srv *testkit.Server, acct testkit.Account) []clientJSON {
	t.Helper()
	r := srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/orgs/" + acct.OrgID + "/clients", Token: acct.Token})
	if r.Status != 200 {
		t.Fatalf("listing clients: %d %s", r.Status, r.Body)
	}
	var out struct{ Items []clientJSON }
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return out.Items
}

// TestExportJobsEndpoint: the export page's progress endpoint answers JSON,
// never cached, for the organization's Admin only.
func TestExportJobsEndpoint(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "jobs@example.com", "Jobs Ltd")
	other := srv.Signup(t, "jobs2@example.com", "Other Jobs")
	get := func(path, cookie string) testkit.Response {
		t.Helper()
		h := map[string]string{}
		if cookie != "" {
			h["Cookie"] = httpapi.SessionCookie + "=" + cookie
		}
		return srv.Do(t, testkit.Request{Method: "GET", Path: path, Header: h})
	}
	r := get("/orgs/"+acct.OrgID+"/export/jobs", acct.Token)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("progress endpoint: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
	}
	if strings.TrimSpace(string(r.Body)) != `{"jobs":[]}` {
		t.Errorf("no exports yet: %s", r.Body)
	}
	if r := get("/orgs/"+other.OrgID+"/export/jobs", acct.Token); r.Status != 404 || strings.Contains(string(r.Body), "jobs\"") {
		t.Errorf("another organization's exports: %d %s", r.Status, r.Body)
	}
	// Signed out: sent (and followed) to the sign-in page, no progress.
	if r := get("/orgs/"+acct.OrgID+"/export/jobs", ""); r.Status != 200 || !strings.Contains(string(r.Body), `form method="post" action="/signin"`) {
		t.Errorf("signed out: %d %.300s", r.Status, r.Body)
	}
}
