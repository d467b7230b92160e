package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
)

// peopleSchema is the schema of the collection the console's record tests
// use: every kind of input the record form generates.
const peopleSchema = `{
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 2, "title": "Full name"},
    "email": {"type": "string", "format": "email"},
    "age": {"type": "integer", "minimum": 0},
    "plan": {"enum": ["free", "pro"]},
    "active": {"type": "boolean"},
    "address": {"type": "object", "properties": {"city": {"type": "string"}}}
  },
  "required": ["name"]
}`

// seedRecords creates the collection "people" (searchable email and plan)
// through the API with n records, and returns their ids.
func seedRecords(t *testing.T, srv *testkit.Server, acct testkit.Account, n int) []string {
	t.Helper()
	base := "/api/v1/orgs/" + acct.OrgID + "/collections"
	r := srv.Do(t, testkit.Request{Method: "POST", Path: base, Token: acct.Token,
		Body: map[string]any{"name": "people", "schema": json.RawMessage(peopleSchema), "searchable": []string{"email", "plan"}}})
	if r.Status != 201 {
		t.Fatalf("creating the collection: %d %s", r.Status, r.Body)
	}
	var ids []string
	for i := range n {
		plan := "free"
		if i%2 == 1 {
			plan = "pro"
		}
		r := srv.Do(t, testkit.Request{Method: "POST", Path: base + "/people/records", Token: acct.Token,
			Body: map[string]any{"data": map[string]any{"name": fmt.Sprintf("Person %02d", i), "email": fmt.Sprintf("p%02d@example.com", i), "plan": plan}}})
		if r.Status != 201 {
			t.Fatalf("creating a record: %d %s", r.Status, r.Body)
		}
		var rec struct{ ID string }
		if err := json.Unmarshal(r.Body, &rec); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	return ids
}

// page GETs a console page with a session cookie.
func page(t *testing.T, srv *testkit.Server, token, path string) (int, string) {
	t.Helper()
	r := srv.Do(t, testkit.Request{Method: "GET", Path: path, Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + token}})
	return r.Status, string(r.Body)
}

var (
	recordLink = regexp.MustCompile(`class="record-link"`)
	pagerLink  = regexp.MustCompile(`href="([^"]+)" rel="(next|prev)"`)
)

// TestRecordsPaging walks 30 records at 25 a page: Next reaches the last 5
// (with no Next), Previous returns to the first page, a filter keeps to its
// matches across pages, and a forged cursor is refused with a message.
func TestRecordsPaging(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "pager@example.com", "Pager Ltd")
	seedRecords(t, srv, acct, 30)
	coll := "/orgs/" + acct.OrgID + "/collections/people"
	links := func(body string) map[string]string {
		m := map[string]string{}
		for _, l := range pagerLink.FindAllStringSubmatch(body, -1) {
			m[l[2]] = html.UnescapeString(l[1])
		}
		return m
	}
	st, body := page(t, srv, acct.Token, coll)
	if n := len(recordLink.FindAllString(body, -1)); st != 200 || n != 25 {
		t.Fatalf("first page: status %d, %d records, want 25", st, n)
	}
	first := links(body)
	if first["prev"] != "" || first["next"] == "" {
		t.Fatalf("first page links %v, want only next", first)
	}
	_, body = page(t, srv, acct.Token, first["next"])
	if n := len(recordLink.FindAllString(body, -1)); n != 5 || !strings.Contains(body, "Person 29") || strings.Contains(body, "Person 00<") {
		t.Errorf("second page: %d records, want the last 5", n)
	}
	second := links(body)
	if second["next"] != "" || second["prev"] == "" {
		t.Fatalf("second page links %v, want only prev", second)
	}
	_, body = page(t, srv, acct.Token, second["prev"])
	if n := len(recordLink.FindAllString(body, -1)); n != 25 || !strings.Contains(body, "Person 00<") {
		t.Errorf("previous page: %d records, want the first 25", n)
	}
	if l := links(body); l["prev"] != "" {
		t.Errorf("back on the first page there is still a Previous link: %v", l)
	}
	// 15 of the 30 are on plan pro: one page, each a pro.
	_, body = page(t, srv, acct.Token, coll+"?filter="+url.QueryEscape(`plan == "pro"`))
	if n := len(recordLink.FindAllString(body, -1)); n != 15 || strings.Contains(body, ">free<") {
		t.Errorf("filtered: %d records, want the 15 on plan pro", n)
	}
	st, body = page(t, srv, acct.Token, coll+"?cursor=%21%21")
	if st != 400 || !strings.Contains(body, "page link is not valid") {
		t.Errorf("forged cursor: status %d", st)
	}
}

// TestRecordsViewer: a Viewer reads collections and records but sees no
// create, edit or delete control, and the handlers refuse them anyway.
func TestRecordsViewer(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	admin := srv.Signup(t, "admin@example.com", "Roles Ltd")
	rec := seedRecords(t, srv, admin, 1)[0]
	viewer := srv.Signup(t, "viewer@example.com", "Viewer's own")
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + admin.OrgID + "/members", Token: admin.Token,
		Body: map[string]string{"email": viewer.Email, "role": "viewer"}}), 201)
	orgPath := "/orgs/" + admin.OrgID
	coll := orgPath + "/collections/people"
	for _, p := range []string{orgPath + "/collections", coll, coll + "/records/" + rec} {
		st, body := page(t, srv, viewer.Token, p)
		if st != 200 {
			t.Fatalf("%s: status %d", p, st)
		}
		for _, control := range []string{"Create collection", `id="new-record"`, `id="edit-record"`, `id="delete-record"`} {
			if strings.Contains(body, control) {
				t.Errorf("%s shows %s to a Viewer", p, control)
			}
		}
	}
	for _, p := range []string{coll + "/new", coll + "/records/" + rec + "/edit", coll + "/records/" + rec + "/delete"} {
		if st, _ := page(t, srv, viewer.Token, p); st != 403 {
			t.Errorf("GET %s as a Viewer: status %d, want 403", p, st)
		}
	}
	cookie := map[string]string{"Cookie": httpapi.SessionCookie + "=" + viewer.Token}
	form := "application/x-www-form-urlencoded"
	for _, p := range []struct{ path, body string }{
		{orgPath + "/collections", "name=things&schema=%7B%7D"},
		{coll + "/records", "p0=Vic"},
		{coll + "/records/" + rec, "version=1&p0=Vic"},
		{coll + "/records/" + rec + "/delete", "version=1"},
	} {
		r := srv.Do(t, testkit.Request{Method: "POST", Path: p.path, Body: p.body, ContentType: form, Header: cookie})
		if r.Status != 403 {
			t.Errorf("POST %s as a Viewer: status %d, want 403", p.path, r.Status)
		}
	}
	r := srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/orgs/" + admin.OrgID + "/collections/people/records/" + rec, Token: admin.Token})
	if v := r.JSON(t)["version"]; v != float64(1) {
		t.Errorf("the record is at version %v after the Viewer's attempts, want 1", v)
	}
	r = srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/orgs/" + admin.OrgID + "/collections", Token: admin.Token})
	if strings.Contains(string(r.Body), "things") {
		t.Error("the Viewer created a collection")
	}
}

// TestRecordErrorsWording: the schema validator's messages reach the form
// worded for people and named by the property they concern.
func TestRecordErrorsWording(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "words@example.com", "Words Ltd")
	seedRecords(t, srv, acct, 0)
	coll := "/orgs/" + acct.OrgID + "/collections/people"
	for body, want := range map[string]string{
		"p0=A":                                `id="p0-error">Must be at least 2 characters long.`,
		"p0=Ada&p2=1.5":                       `id="p2-error">Must be an integer.`,
		"p0=Ada&p5=%5B%5D":                    `id="p5-error">Must be an object.`,
		"p0=Ada&p5=%7B%22city%22%3Atrue%7D":   `id="p5-error">At /city: must be a string.`,
		"p0=Ada&p1=%3Cscript%3Ex%3C%2Fscript": `value="&lt;script&gt;x&lt;/script"`,
	} {
		r := srv.Do(t, testkit.Request{Method: "POST", Path: coll + "/records", Body: body + "&p2=-1", ContentType: "application/x-www-form-urlencoded",
			Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}})
		if r.Status != 422 || !strings.Contains(string(r.Body), want) {
			t.Errorf("%s: status %d, page does not say %s", body, r.Status, want)
		}
	}
}

var hiddenVersion = regexp.MustCompile(`name="version" value="(\d+)"`)

// TestRecordConcurrentEdit: a form opened at version 1 and submitted after
// someone else saved version 2 is refused with a clear message; the other
// change stays, and the refused form still carries version 1, so sending it
// again is refused too.
func TestRecordConcurrentEdit(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "race@example.com", "Race Ltd")
	rec := seedRecords(t, srv, acct, 1)[0]
	coll := "/orgs/" + acct.OrgID + "/collections/people"
	api := "/api/v1/orgs/" + acct.OrgID + "/collections/people/records/" + rec
	_, body := page(t, srv, acct.Token, coll+"/records/"+rec+"/edit")
	m := hiddenVersion.FindStringSubmatch(body)
	if m == nil || m[1] != "1" {
		t.Fatalf("the edit form carries no version 1: %v", m)
	}
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "PUT", Path: api, Token: acct.Token, Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"data": map[string]any{"name": "Changed elsewhere"}}}), 200)
	post := func() testkit.Response {
		return srv.Do(t, testkit.Request{Method: "POST", Path: coll + "/records/" + rec, ContentType: "application/x-www-form-urlencoded",
			Body: "version=" + m[1] + "&p0=Mine", Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}})
	}
	r := post()
	if r.Status != 412 || !strings.Contains(string(r.Body), "Someone changed this record after you opened it") || !strings.Contains(string(r.Body), `id="conflict"`) {
		t.Fatalf("stale form: status %d", r.Status)
	}
	if v := hiddenVersion.FindStringSubmatch(string(r.Body)); v == nil || v[1] != "1" {
		t.Errorf("the refused form carries version %v, want 1 still", v)
	}
	if !strings.Contains(string(r.Body), `value="Mine"`) {
		t.Error("the refused form lost what was typed")
	}
	if r := post(); r.Status != 412 {
		t.Errorf("sent again: status %d, want 412", r.Status)
	}
	got := srv.Do(t, testkit.Request{Method: "GET", Path: api, Token: acct.Token}).JSON(t)
	if got["version"] != float64(2) || !strings.Contains(fmt.Sprint(got["data"]), "Changed elsewhere") {
		t.Errorf("the other change was overwritten: %v", got)
	}
}

// TestRecordWholeJSON: a collection whose schema lists no properties is
// edited as one JSON object; the schema's messages and malformed JSON are
// shown beside it, and a good object is stored as typed.
func TestRecordWholeJSON(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "whole@example.com", "Whole Ltd")
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + acct.OrgID + "/collections", Token: acct.Token,
		Body: map[string]any{"name": "notes", "schema": json.RawMessage(`{"type":"object","additionalProperties":{"type":"string"}}`)}}), 201)
	coll := "/orgs/" + acct.OrgID + "/collections/notes"
	if st, body := page(t, srv, acct.Token, coll+"/new"); st != 200 || !strings.Contains(body, `<textarea id="p0" name="p0" rows="12"`) {
		t.Fatalf("new record form: status %d, no whole-record input", st)
	}
	cookie := map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}
	for body, want := range map[string]string{
		"p0=":                        `id="p0-error">Is required.`,
		"p0=%7B%22a%22%3A":           `id="p0-error">Must be a JSON object`,
		"p0=%5B1%5D":                 `id="p0-error">Must be a JSON object`,
		"p0=%7B%22a%22%3A1%7D":       `id="p0-error">At /a: must be a string.`,
		"p0=%7B%22a%22%3A%22x%22%7D": "",
	} {
		r := srv.Do(t, testkit.Request{Method: "POST", Path: coll + "/records", Body: body, ContentType: "application/x-www-form-urlencoded", Header: cookie})
		if want == "" { // saved: the redirect leads to the record
			if r.Status != 200 || !strings.Contains(string(r.Body), `id="record-id"`) {
				t.Errorf("%s: status %d, not the saved record", body, r.Status)
			}
			continue
		}
		if r.Status != 422 || !strings.Contains(string(r.Body), want) {
			t.Errorf("%s: status %d, page does not say %s", body, r.Status, want)
		}
	}
	r := srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/orgs/" + acct.OrgID + "/collections/notes/records", Token: acct.Token})
	if !strings.Contains(string(r.Body), `"data":{"a":"x"}`) {
		t.Errorf("stored records: %s", r.Body)
	}
}

// TestRecordsOtherOrg: every collection and record page of another
// organization answers 404 and shows nothing of it, by its own path or with
// its record id under a collection of the user's own organization.
func TestRecordsOtherOrg(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	me := srv.Signup(t, "me@example.com", "Mine")
	seedRecords(t, srv, me, 1)
	other := srv.Signup(t, "them@example.com", "Theirs")
	rec := seedRecords(t, srv, other, 1)[0]
	theirs := "/orgs/" + other.OrgID + "/collections"
	mine := "/orgs/" + me.OrgID + "/collections/people"
	for _, p := range []string{theirs, theirs + "/people", theirs + "/people/schema", theirs + "/people/new",
		theirs + "/people/records/" + rec, theirs + "/people/records/" + rec + "/edit", theirs + "/people/records/" + rec + "/delete",
		mine + "/records/" + rec, mine + "/records/" + rec + "/edit", mine + "/records/" + rec + "/delete"} {
		st, body := page(t, srv, me.Token, p)
		if st != 404 {
			t.Errorf("GET %s: status %d, want 404", p, st)
		}
		if strings.Contains(body, "Person 00") || strings.Contains(body, "Theirs") {
			t.Errorf("GET %s shows the other organization's data", p)
		}
	}
}
