package web_test

import (
	"strings"
	"testing"

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
