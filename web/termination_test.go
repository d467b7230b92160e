package web_test

import (
	"net/url"
	"strings"
	"testing"

	"strongroom.dev/strongroom"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
)

// TestConsoleTermination: a wrong name is refused beside the field and
// changes nothing; the right one terminates (the certificate token shown
// once), the organization's pages answer 404 while its termination page
// shows the status; cancelling restores access. Both engines.
func TestConsoleTermination(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) { testConsoleTermination(t, testkit.NewServer(t, e.Open(t), httpapi.Options{})) })
	}
}

func testConsoleTermination(t *testing.T, srv *testkit.Server) {
	acct := srv.Signup(t, "admin@example.com", "Ending Ltd")
	other := srv.Signup(t, "other@example.com", "Other Ltd")
	base := "/orgs/" + acct.OrgID
	post := func(token, path, body string) testkit.Response {
		t.Helper()
		return srv.Do(t, testkit.Request{Method: "POST", Path: path, Body: body, ContentType: "application/x-www-form-urlencoded",
			Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + token}})
	}
	for _, c := range []struct {
		name, token, path, body string
		want                    int
	}{
		{"wrong name", acct.Token, base + "/termination", "confirm=Ending", 422},
		{"name in other case", acct.Token, base + "/termination", "confirm=ending+ltd", 422},
		{"oversized", acct.Token, base + "/termination", "confirm=" + strings.Repeat("x", 2000), 422},
		{"another org's", acct.Token, "/orgs/" + other.OrgID + "/termination", "confirm=Other+Ltd", 404},
		{"cancel with none", acct.Token, base + "/termination/cancel", "back=x", 404},
	} {
		r := post(c.token, c.path, c.body)
		if r.Status != c.want || !strings.Contains(string(r.Body), `role="alert"`) {
			t.Errorf("%s: status %d, want %d with an explanation", c.name, r.Status, c.want)
		}
	}
	for _, tok := range []string{acct.Token, other.Token} {
		if st, _ := page(t, srv, tok, "/orgs/"+map[string]string{acct.Token: acct.OrgID, other.Token: other.OrgID}[tok]); st != 200 {
			t.Fatalf("a refused termination changed access: status %d", st)
		}
	}
	r := post(acct.Token, base+"/termination", "confirm=Ending+Ltd")
	if r.Status != 200 || !strings.Contains(string(r.Body), `id="certificate-token">srd_`) {
		t.Fatalf("terminating: status %d %.1500s", r.Status, r.Body)
	}
	if st, _ := page(t, srv, acct.Token, base+"/members"); st != 404 {
		t.Errorf("members page during the window: status %d, want 404", st)
	}
	st, body := page(t, srv, acct.Token, base+"/termination")
	if st != 200 || !strings.Contains(body, `id="termination-status"`) || strings.Contains(body, "srd_") {
		t.Errorf("termination page during the window: status %d (token shown again: %v)", st, strings.Contains(body, "srd_"))
	}
	if r := post(acct.Token, base+"/termination/cancel", "back="+base+"/termination"); r.Status != 200 {
		t.Errorf("cancelling: status %d", r.Status)
	}
	if st, _ := page(t, srv, acct.Token, base+"/members"); st != 200 {
		t.Errorf("members page after cancelling: status %d", st)
	}
}

// TestConsoleExport: a short passphrase and a malformed recipient are
// refused beside their fields (the passphrase never written back, no export
// recorded); a good passphrase downloads an age-encrypted archive and is
// audited.
func TestConsoleExport(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "admin@example.com", "Export Co")
	seedRecords(t, srv, acct, 2)
	path := "/orgs/" + acct.OrgID + "/export"
	if st, _ := page(t, srv, acct.Token, path); st != 200 {
		t.Fatalf("export page: %d", st)
	}
	post := func(body string) testkit.Response {
		return srv.Do(t, testkit.Request{Method: "POST", Path: path, Body: body, ContentType: "application/x-www-form-urlencoded",
			Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}})
	}
	_, seq := actionsAfter(t, srv.Store, strongroom.TenantID(acct.OrgID), 0)
	for _, c := range []struct{ body, says string }{
		{"mode=passphrase&passphrase=tooshort-secret", `id="f-passphrase-error">Must be 16 to 1024 characters`},
		{"mode=passphrase", `id="f-passphrase-error"`},
		{"mode=recipient&recipient=age1nope", `id="f-recipient-error">Must be an age X25519 recipient`},
	} {
		r := post(c.body)
		if r.Status != 422 || !strings.Contains(string(r.Body), c.says) || strings.Contains(string(r.Body), "tooshort-secret") {
			t.Errorf("%s: status %d, wants %s (and no passphrase)", c.body, r.Status, c.says)
		}
	}
	if acts, _ := actionsAfter(t, srv.Store, strongroom.TenantID(acct.OrgID), seq); containsString(acts, "org.export") {
		t.Errorf("a refused export was recorded: %v", acts)
	}
	r := post("mode=passphrase&passphrase=" + url.QueryEscape("correct horse battery staple export"))
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), "age-encryption.org/v1") || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("export: %d %q %.60q", r.Status, r.Header.Get("Content-Disposition"), r.Body)
	}
	if acts, _ := actionsAfter(t, srv.Store, strongroom.TenantID(acct.OrgID), seq); !containsString(acts, "org.export") {
		t.Errorf("the export was not audited: %v", acts)
	}
}
