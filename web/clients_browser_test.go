package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom/internal/testkit"
)

// TestConsoleClientAssignments: an Admin adds clients on the clients page
// (an empty name refused beside the field), invites a Viewer limited to one
// of them, and the Viewer's record list shows only that client's records;
// the Admin then moves the Viewer to the other client on the members page,
// and the list follows. Deleting a client asks first, names the members
// limited to it and offers no delete while there are any; removing a member
// asks first.
func TestConsoleClientAssignments(t *testing.T) {
	srv := consoleServer(t)
	acct := srv.Signup(t, "cara@example.com", "Cara Agency")
	ctx := testkit.NewBrowser(t)
	admin := newTab(t, ctx, srv.URL)
	signIn(t, admin, "cara@example.com", "correct horse battery staple", "#org-id")

	admin.submit(`nav a[href$="/clients"]`, "#no-clients")
	admin.shot("clients-empty")
	admin.submit(`#add-client`, "#f-name-error")
	if got := admin.text("#f-name-error"); got != "Is required." {
		t.Errorf("empty client name: %q", got)
	}
	for _, name := range []string{"Northwind", "Southwind"} {
		// #f-name: the rename forms' inputs are named "name" too.
		admin.do(chromedp.WaitVisible("#f-name"), chromedp.Clear("#f-name"), typeInto("#f-name", name))
		admin.submit(`#add-client`, ".flash")
	}
	if got := admin.text("table.clients tbody"); strings.Count(got, "Delete") != 2 {
		t.Fatalf("clients listed: %q", got)
	}
	admin.shot("clients")
	ids := map[string]string{}
	for _, c := range listClients(t, srv, acct) {
		ids[c.Name] = c.ID
	}

	// A collection with one record per client.
	base := "/api/v1/orgs/" + acct.OrgID + "/collections"
	if r := srv.Do(t, testkit.Request{Method: "POST", Path: base, Token: acct.Token,
		Body: map[string]any{"name": "people", "schema": json.RawMessage(peopleSchema)}}); r.Status != 201 {
		t.Fatalf("collection: %d %s", r.Status, r.Body)
	}
	for name, client := range map[string]string{"North Person": ids["Northwind"], "South Person": ids["Southwind"]} {
		if r := srv.Do(t, testkit.Request{Method: "POST", Path: base + "/people/records", Token: acct.Token,
			Body: map[string]any{"client_id": client, "data": map[string]any{"name": name, "email": strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@example.com"}}}); r.Status != 201 {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
	}

	// Invite a Viewer limited to Northwind.
	admin.submit(`nav a[href$="/members"]`, `form[action$="/invitations"]`)
	start := time.Now().Add(-time.Second)
	admin.fill("email", "vic@example.com")
	admin.do(chromedp.SetValue("#f-role", "viewer"), chromedp.Click("#invite-c-"+ids["Northwind"]))
	admin.submit(`form[action$="/invitations"] button[type=submit]`, ".flash")
	link := mailLink(t, srv, "vic@example.com", "invitation", start)
	other, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	viewer := newTab(t, other, srv.URL)
	viewer.open(link)
	viewer.fill("password", "maple orbit cinder willow")
	viewer.submit(`form[action="/invitations/accept"] button`, "#org-id")

	records := func(want, notWant string) {
		t.Helper()
		viewer.open("/orgs/" + acct.OrgID + "/collections/people")
		got := viewer.text("main")
		if !strings.Contains(got, want) || strings.Contains(got, notWant) {
			t.Errorf("the Viewer's records: %q; want %s and not %s", got, want, notWant)
		}
	}
	records("North Person", "South Person")
	viewer.submit(`nav a[href$="/clients"]`, "table.clients")
	if got := viewer.text("table.clients"); !strings.Contains(got, "Northwind") || strings.Contains(got, "Southwind") {
		t.Errorf("the Viewer's clients: %q", got)
	}
	if n, err := chromedp.Run(other, chromedp.Evaluate[int](`document.querySelectorAll("main form").length`)); err != nil || n != 0 {
		t.Errorf("the Viewer sees %d client forms (%v)", n, err)
	}

	// The Admin moves the Viewer to Southwind.
	admin.submit(`nav a[href$="/members"]`, "tbody")
	row, err := chromedp.Run(admin.ctx, chromedp.Evaluate[string](`(function(){var rs=document.querySelectorAll("tbody tr");for(var i=0;i<rs.length;i++){if(rs[i].textContent.indexOf("vic@example.com")>=0){var f=rs[i].querySelector("form[action$='/clients']");return f?f.getAttribute("action"):""}}return ""})()`))
	if err != nil || row == "" {
		t.Fatalf("the Viewer's assignment form: %q %v", row, err)
	}
	uid := strings.TrimSuffix(strings.TrimPrefix(row, "/orgs/"+acct.OrgID+"/members/"), "/clients")
	if got := admin.text(`tr:has(form[action="` + row + `"]) .assigned`); got != "Northwind" {
		t.Errorf("the Viewer's clients on the members page: %q", got)
	}
	admin.do(chromedp.Click(`tr:has(form[action="` + row + `"]) details.assign summary`))
	if checked, err := chromedp.Run(admin.ctx, chromedp.Evaluate[bool](`document.querySelector("#c-`+uid+`-`+ids["Northwind"]+`").checked && !document.querySelector("#c-`+uid+`-`+ids["Southwind"]+`").checked`)); err != nil || !checked {
		t.Errorf("the assignment form does not show Northwind ticked alone (%v)", err)
	}
	admin.shot("members-clients")
	admin.do(chromedp.Click("#c-"+uid+"-"+ids["Northwind"]), chromedp.Click("#c-"+uid+"-"+ids["Southwind"]))
	admin.submit(`form[action="`+row+`"] button`, ".flash")
	if got := admin.text(".flash"); got != "The member's clients were saved." {
		t.Errorf("flash: %q", got)
	}
	if got := admin.text(`tr:has(form[action="` + row + `"]) .assigned`); got != "Southwind" {
		t.Errorf("after the change: %q", got)
	}
	records("South Person", "North Person")

	// Deleting asks first. Southwind has the Viewer limited to it: the page
	// names them and offers no delete. Northwind still owns a record: the
	// deletion is refused with the reason.
	admin.submit(`nav a[href$="/clients"]`, "table.clients")
	admin.submit(`a[href$="/`+ids["Southwind"]+`/delete"]`, "#assigned-members")
	if got := admin.text("#assigned-members"); got != "vic@example.com" {
		t.Errorf("members named on the confirmation: %q", got)
	}
	if n, err := chromedp.Run(admin.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#confirm-delete").length`)); err != nil || n != 0 {
		t.Errorf("a delete button for a client with members limited to it (%d, %v)", n, err)
	}
	admin.shot("client-delete-assigned")
	admin.open("/orgs/" + acct.OrgID + "/clients/" + ids["Northwind"] + "/delete")
	admin.shot("client-delete")
	admin.submit("#confirm-delete", "#form-error")
	if got := admin.text("#form-error"); !strings.Contains(got, "still owns 1 records") {
		t.Errorf("deleting a client with records: %q", got)
	}
	if len(listClients(t, srv, acct)) != 2 {
		t.Error("a client was deleted")
	}

	// Removing the Viewer asks first too; then Southwind can go.
	admin.submit(`nav a[href$="/members"]`, "tbody")
	admin.submit(`a[href$="/members/`+uid+`/remove"]`, "#confirm-remove")
	admin.shot("member-remove")
	admin.submit("#confirm-remove", ".flash")
	if got := admin.text(".flash"); got != "The member was removed from the organization." {
		t.Errorf("flash after removing: %q", got)
	}
	admin.open("/orgs/" + acct.OrgID + "/clients/" + ids["Southwind"] + "/delete")
	admin.submit("#confirm-delete", "#form-error")
	if got := admin.text("#form-error"); !strings.Contains(got, "still owns 1 records") {
		t.Errorf("deleting Southwind after the Viewer left: %q", got)
	}
}
