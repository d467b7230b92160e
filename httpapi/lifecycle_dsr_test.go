package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

type dsrOut struct {
	ID          string                `json:"id"`
	Kind        string                `json:"kind"`
	Status      string                `json:"status"`
	Fields      []string              `json:"fields"`
	Matches     []strongroom.DSRMatch `json:"matches"`
	RequestedBy string                `json:"requested_by"`
	CreatedAt   time.Time             `json:"created_at"`
	Deadline    time.Time             `json:"deadline"`
	CompletedAt *time.Time            `json:"completed_at"`
	Done        int                   `json:"done"`
	Overdue     bool                  `json:"overdue"`
}

func decodeDSR(t *testing.T, b []byte) dsrOut {
	t.Helper()
	var d dsrOut
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("request body: %v: %s", err, b)
	}
	return d
}

func matchedIDs(d dsrOut) []string {
	var out []string
	for _, m := range d.Matches {
		out = append(out, string(m.RecordID))
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// dsrEvent returns the one event of action in the organization's log whose
// target is the request, with its metadata.
func dsrEvent(t *testing.T, st *store.Store, org, action, id string) (strongroom.AuditEvent, map[string]any) {
	t.Helper()
	var found []strongroom.AuditEvent
	for _, e := range auditSince(t, st, org, 0) {
		if e.Action == action && e.TargetID == id {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s events for %s, want 1", len(found), action, id)
	}
	var m map[string]any
	if err := json.Unmarshal(found[0].Metadata, &m); err != nil {
		t.Fatal(err)
	}
	return found[0], m
}

func metaIDs(m map[string]any) []string {
	var out []string
	for _, v := range m["records"].([]any) {
		out = append(out, v.(string))
	}
	slices.Sort(out)
	return out
}

// TestDataSubjectRequests: an Admin finds a person's records across
// collections through the blind index, restricts them (invisible to a Viewer
// and an Editor, in reads, lists and filters, visible to the Admin), lifts the
// restriction, exports them (decrypted JSON) and deletes them; each request
// has a status, a deadline and audit evidence, and runs once.
func TestDataSubjectRequests(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			f := newFixture(t, st)
			f.create(t, "/collections", map[string]any{"name": "orders", "schema": json.RawMessage(`{"type":"object"}`),
				"searchable": []string{"email", "total"}})
			f.create(t, "/collections", map[string]any{"name": "notes", "schema": json.RawMessage(`{"type":"object"}`),
				"searchable": []string{}})
			rec := func(coll string, data map[string]any) string {
				return f.create(t, "/collections/"+coll+"/records", map[string]any{"data": data})["id"].(string)
			}
			c1 := rec("contacts", map[string]any{"email": "ada@example.com", "n": 1})
			c2 := rec("contacts", map[string]any{"email": "bob@example.com", "n": 2})
			o1 := rec("orders", map[string]any{"email": "ada@example.com", "total": 12})
			o2 := rec("orders", map[string]any{"email": "ADA@example.com", "total": 13}) // another value
			rec("notes", map[string]any{"email": "ada@example.com"})                     // not searchable there
			ada := []map[string]any{{"field": "email", "value": "ada@example.com"}}

			open := func(kind string, idents []map[string]any) dsrOut {
				t.Helper()
				r := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/dsr"),
					map[string]any{"kind": kind, "identifiers": idents}), http.StatusCreated)
				d := decodeDSR(t, r.Body)
				if r.Header.Get("Location") != f.org("/dsr/"+d.ID) {
					t.Errorf("Location %q", r.Header.Get("Location"))
				}
				return d
			}
			execute := func(id string) map[string]json.RawMessage {
				t.Helper()
				r := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/dsr/"+id+"/execute"), nil), http.StatusOK)
				var out map[string]json.RawMessage
				if err := json.Unmarshal(r.Body, &out); err != nil {
					t.Fatal(err)
				}
				return out
			}

			// Restrict.
			d := open("restrict", ada)
			if diff := cmp.Diff(sorted(c1, o1), matchedIDs(d)); diff != "" {
				t.Errorf("records found (-want +got):\n%s", diff)
			}
			if d.Status != "open" || d.Kind != "restrict" || d.RequestedBy != f.admin.UserID || d.Overdue ||
				!d.Deadline.Equal(d.CreatedAt.Add(30*24*time.Hour)) || d.CompletedAt != nil || !slices.Equal(d.Fields, []string{"email"}) {
				t.Errorf("opened request %+v", d)
			}
			ev, meta := dsrEvent(t, st, f.admin.OrgID, "dsr.create", d.ID)
			if ev.ActorID != f.admin.UserID || !slices.Equal(metaIDs(meta), sorted(c1, o1)) {
				t.Errorf("dsr.create event %+v %v", ev, meta)
			}
			for _, e := range auditSince(t, st, f.admin.OrgID, 0) {
				if strings.Contains(string(e.Metadata), "ada@example.com") {
					t.Errorf("the subject's address is in the audit log: %s %s", e.Action, e.Metadata)
				}
			}
			res := execute(d.ID)
			done := decodeDSR(t, res["request"])
			if done.Status != "completed" || done.Done != 2 || done.CompletedAt == nil {
				t.Errorf("executed request %+v", done)
			}
			if _, ok := res["records"]; ok {
				t.Errorf("a restriction answered records: %s", res["records"])
			}
			_, meta = dsrEvent(t, st, f.admin.OrgID, "dsr.restrict", d.ID)
			if !slices.Equal(metaIDs(meta), sorted(c1, o1)) || meta["on_time"] != true {
				t.Errorf("dsr.restrict evidence %v", meta)
			}
			// Carried out once.
			mustProblem(t, call(t, f.srv, f.admin.Token, "POST", f.org("/dsr/"+d.ID+"/execute"), nil), http.StatusPreconditionFailed)

			visible := func(acct testkit.Account, coll, filter string) []string {
				t.Helper()
				q := url.Values{"limit": {"200"}}
				if filter != "" {
					q.Set("filter", filter)
				}
				got := ids(list(t, f, acct.Token, coll, q).Items)
				slices.Sort(got)
				return got
			}
			for _, acct := range []testkit.Account{f.viewer, f.editor} {
				if diff := cmp.Diff(sorted(c2), visible(acct, "contacts", "")); diff != "" {
					t.Errorf("%s lists (-want +got):\n%s", acct.Email, diff)
				}
				if got := visible(acct, "contacts", `email == "ada@example.com"`); len(got) != 0 {
					t.Errorf("%s finds the restricted record by filter: %v", acct.Email, got)
				}
				mustProblem(t, call(t, f.srv, acct.Token, "GET", f.records("contacts")+"/"+c1, nil), http.StatusNotFound)
				mustProblem(t, call(t, f.srv, acct.Token, "GET", f.records("orders")+"/"+o1, nil), http.StatusNotFound)
			}
			mustProblem(t, call(t, f.srv, f.editor.Token, "PUT", f.records("contacts")+"/"+c1,
				map[string]any{"data": map[string]any{"email": "x@example.com"}}), http.StatusNotFound)
			mustProblem(t, call(t, f.srv, f.editor.Token, "DELETE", f.records("contacts")+"/"+c1, nil), http.StatusNotFound)
			if diff := cmp.Diff(sorted(c1, c2), visible(f.admin, "contacts", "")); diff != "" {
				t.Errorf("the Admin lists (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(sorted(c1), visible(f.admin, "contacts", `email == "ada@example.com"`)); diff != "" {
				t.Errorf("the Admin's filter (-want +got):\n%s", diff)
			}
			testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.records("contacts")+"/"+c1, nil), http.StatusOK)

			// Lift: visible again.
			l := open("lift", ada)
			execute(l.ID)
			if diff := cmp.Diff(sorted(c1, c2), visible(f.viewer, "contacts", "")); diff != "" {
				t.Errorf("after lifting, the Viewer lists (-want +got):\n%s", diff)
			}

			// Export, by two identifiers: the decrypted records.
			x := open("export", []map[string]any{{"field": "email", "value": "ada@example.com"}, {"field": "total", "value": 13}})
			if diff := cmp.Diff(sorted(c1, o1, o2), matchedIDs(x)); diff != "" {
				t.Errorf("export found (-want +got):\n%s", diff)
			}
			res = execute(x.ID)
			var recs []struct {
				Collection string         `json:"collection"`
				ID         string         `json:"id"`
				Data       map[string]any `json:"data"`
			}
			if err := json.Unmarshal(res["records"], &recs); err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]any{}
			for _, r := range recs {
				got[r.Collection+"/"+r.ID] = r.Data
			}
			want := map[string]map[string]any{
				"contacts/" + c1: {"email": "ada@example.com", "n": 1.0},
				"orders/" + o1:   {"email": "ada@example.com", "total": 12.0},
				"orders/" + o2:   {"email": "ADA@example.com", "total": 13.0},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("exported records (-want +got):\n%s", diff)
			}
			dsrEvent(t, st, f.admin.OrgID, "dsr.export", x.ID)

			// Delete.
			del := open("delete", ada)
			execute(del.ID)
			_, meta = dsrEvent(t, st, f.admin.OrgID, "dsr.delete", del.ID)
			if !slices.Equal(metaIDs(meta), sorted(c1, o1)) {
				t.Errorf("dsr.delete evidence %v", meta)
			}
			mustProblem(t, call(t, f.srv, f.admin.Token, "GET", f.records("contacts")+"/"+c1, nil), http.StatusNotFound)
			mustProblem(t, call(t, f.srv, f.admin.Token, "GET", f.records("orders")+"/"+o1, nil), http.StatusNotFound)
			testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.records("orders")+"/"+o2, nil), http.StatusOK)

			// List and get: statuses.
			r := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/dsr"), nil), http.StatusOK)
			var page struct{ Items []dsrOut }
			if err := json.Unmarshal(r.Body, &page); err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, it := range page.Items {
				kinds = append(kinds, it.Kind+":"+it.Status)
			}
			if diff := cmp.Diff([]string{"delete:completed", "export:completed", "lift:completed", "restrict:completed"}, kinds); diff != "" {
				t.Errorf("requests listed (-want +got):\n%s", diff)
			}
			g := decodeDSR(t, testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/dsr/"+del.ID), nil), http.StatusOK).Body)
			if g.Status != "completed" || g.Done != 2 {
				t.Errorf("GET request %+v", g)
			}
			// Another organization's Admin cannot see it: 404.
			mustProblem(t, call(t, f.srv, f.outsider.Token, "GET", f.org("/dsr/"+del.ID), nil), http.StatusNotFound)
			mustProblem(t, call(t, f.srv, f.outsider.Token, "GET", "/api/v1/orgs/"+f.outsider.OrgID+"/dsr/"+del.ID, nil), http.StatusNotFound)
			// Viewers and Editors may not open requests.
			for _, acct := range []testkit.Account{f.viewer, f.editor} {
				mustProblem(t, call(t, f.srv, acct.Token, "POST", f.org("/dsr"), map[string]any{"kind": "export", "identifiers": ada}), http.StatusForbidden)
			}
		})
	}
}

// TestDSRBadInput: malformed, hostile and oversized requests are refused with
// a clear error and open nothing.
func TestDSRBadInput(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			f := newFixture(t, st)
			tooMany := make([]map[string]any, 11)
			for i := range tooMany {
				tooMany[i] = map[string]any{"field": "email", "value": "a@example.com"}
			}
			for _, tc := range []struct {
				name   string
				body   any
				status int
				errAt  string
			}{
				{"unknown kind", map[string]any{"kind": "sell", "identifiers": []map[string]any{{"field": "email", "value": "a"}}}, 422, "/kind"},
				{"no identifiers", map[string]any{"kind": "export", "identifiers": []any{}}, 422, "/identifiers"},
				{"too many identifiers", map[string]any{"kind": "export", "identifiers": tooMany}, 422, "/identifiers"},
				{"hostile field", map[string]any{"kind": "export", "identifiers": []map[string]any{{"field": "email' OR '1'='1", "value": "a"}}}, 422, "/identifiers/0/field"},
				{"object value", map[string]any{"kind": "export", "identifiers": []map[string]any{{"field": "email", "value": map[string]any{"$ne": ""}}}}, 422, "/identifiers/0/value"},
				{"missing value", map[string]any{"kind": "export", "identifiers": []map[string]any{{"field": "email"}}}, 422, "/identifiers/0/value"},
				{"unknown member", `{"kind":"export","identifiers":[{"field":"email","value":"a","regex":".*"}]}`, 400, ""},
				{"unknown top member", `{"kind":"export","identifiers":[],"all":true}`, 400, ""},
				{"malformed", `{"kind":"export","identifiers":[{`, 400, ""},
				{"trailing data", `{"kind":"export","identifiers":[]} {}`, 400, ""},
				{"oversized", `{"kind":"export","identifiers":[{"field":"email","value":"` + strings.Repeat("a", 2<<20) + `"}]}`, 413, ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					p := mustProblem(t, call(t, f.srv, f.admin.Token, "POST", f.org("/dsr"), tc.body), tc.status)
					if tc.errAt != "" && (len(p.Errors) != 1 || p.Errors[0].Path != tc.errAt) {
						t.Errorf("errors %v, want one at %s", p.Errors, tc.errAt)
					}
				})
			}
			for _, id := range []string{"nope", "00000000-0000-7000-8000-000000000009", "..%2f..%2fsettings"} {
				mustProblem(t, call(t, f.srv, f.admin.Token, "GET", f.org("/dsr/"+id), nil), http.StatusNotFound)
				mustProblem(t, call(t, f.srv, f.admin.Token, "POST", f.org("/dsr/"+id+"/execute"), nil), http.StatusNotFound)
			}
			r := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/dsr"), nil), http.StatusOK)
			if got := strings.TrimSpace(string(r.Body)); got != `{"items":[]}` {
				t.Errorf("refused requests opened some: %s", got)
			}
		})
	}
}
