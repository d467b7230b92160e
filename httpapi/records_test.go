package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// statusCodes maps each problem status to the error code in its type URI.
var statusCodes = map[int]string{
	http.StatusBadRequest:            strongroom.EINVALID,
	http.StatusUnauthorized:          strongroom.EUNAUTHORIZED,
	http.StatusForbidden:             strongroom.EFORBIDDEN,
	http.StatusNotFound:              strongroom.ENOTFOUND,
	http.StatusConflict:              strongroom.ECONFLICT,
	http.StatusPreconditionFailed:    strongroom.EPRECONDITION,
	http.StatusRequestEntityTooLarge: strongroom.ETOOLARGE,
	http.StatusUnsupportedMediaType:  strongroom.EUNSUPPORTED,
	http.StatusUnprocessableEntity:   strongroom.EVALIDATION,
}

// mustProblem checks that r is an RFC 9457 problem with status and returns it.
func mustProblem(t *testing.T, r testkit.Response, status int) httpapi.Problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p httpapi.Problem
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body: %v: %s", err, r.Body)
	}
	if code, ok := statusCodes[status]; ok && p.Type != httpapi.ProblemTypeBase+code {
		t.Errorf("problem type %q, want %q", p.Type, httpapi.ProblemTypeBase+code)
	}
	if p.Type == "" || p.Title != http.StatusText(status) || p.Status != status || p.Detail == "" {
		t.Errorf("problem lacks type, title, status or detail: %s", r.Body)
	}
	if id := r.Header.Get("X-Request-Id"); id == "" || p.RequestID != id {
		t.Errorf("problem request_id %q, X-Request-Id %q", p.RequestID, id)
	}
	return p
}

// errorPaths lists a problem's errors[].path, sorted.
func errorPaths(p httpapi.Problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Path)
	}
	slices.Sort(out)
	return out
}

// auditSince returns a tenant's audit events with a sequence number above after.
func auditSince(t *testing.T, st *store.Store, tenant string, after int64) []strongroom.AuditEvent {
	t.Helper()
	ctx := context.Background()
	var out []strongroom.AuditEvent
	err := st.Read(ctx, store.TenantScope(strongroom.TenantID(tenant)), func(tx *store.Tx) error {
		for {
			evs, err := tx.AuditEvents(ctx, after, 1000)
			if err != nil || len(evs) == 0 {
				return err
			}
			out = append(out, evs...)
			after = evs[len(evs)-1].Seq
		}
	})
	if err != nil {
		t.Fatalf("reading audit events: %v", err)
	}
	return out
}

// auditHead is the sequence number of a tenant's last audit event (0: none).
func auditHead(t *testing.T, st *store.Store, tenant string) int64 {
	t.Helper()
	evs := auditSince(t, st, tenant, 0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// event is the part of an audit event a test asserts.
type event struct {
	Action, ActorType, ActorID, TargetType, TargetID string
	Result                                           strongroom.AuditResult
}

func summarize(evs []strongroom.AuditEvent) []event {
	var out []event
	for _, e := range evs {
		out = append(out, event{e.Action, string(e.ActorType), e.ActorID, e.TargetType, e.TargetID, e.Result})
	}
	return out
}

// isRead reports a record-read event (TestReadsAudited asserts those).
func isRead(e strongroom.AuditEvent) bool {
	return e.Action == "record.read" || e.Action == "record.list"
}

// expectAudit checks the success events a tenant gained after seq (denied
// events of refused requests and the reads of TestReadsAudited are not
// compared); it returns the new head.
func expectAudit(t *testing.T, st *store.Store, tenant string, after int64, want []event) int64 {
	t.Helper()
	evs := auditSince(t, st, tenant, after)
	var ok []strongroom.AuditEvent
	for _, e := range evs {
		if e.Result == strongroom.ResultSuccess && !isRead(e) {
			ok = append(ok, e)
		}
	}
	if diff := cmp.Diff(want, summarize(ok)); diff != "" {
		t.Errorf("success audit events (-want +got):\n%s", diff)
	}
	if len(evs) == 0 {
		return after
	}
	return evs[len(evs)-1].Seq
}

func userEvent(action string, actor testkit.Account, targetType, target string) event {
	return event{action, string(strongroom.PrincipalUser), actor.UserID, targetType, target, strongroom.ResultSuccess}
}

// recordOut is a record as the API returns it.
type recordOut struct {
	ID        string         `json:"id"`
	Data      map[string]any `json:"data"`
	ClientID  *string        `json:"client_id"`
	Version   int64          `json:"version"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

func decodeRecord(t *testing.T, r testkit.Response) recordOut {
	t.Helper()
	var rec recordOut
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("record body: %v: %s", err, r.Body)
	}
	return rec
}

// pageOut is a page of records as the API returns it.
type pageOut struct {
	Items      []recordOut `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

func decodePage(t *testing.T, r testkit.Response) pageOut {
	t.Helper()
	var p pageOut
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("page body: %v: %s", err, r.Body)
	}
	if !bytes.Contains(r.Body, []byte(`"next_cursor":`)) {
		t.Errorf("page has no next_cursor member: %s", r.Body)
	}
	return p
}

func ids(recs []recordOut) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// jsonValue decodes a JSON text, for comparisons.
func jsonValue(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func (f *fixture) records(coll string) string { return f.org("/collections/" + coll + "/records") }

// newPeople creates the "people" collection with searchable fields.
func newPeople(t *testing.T, f *fixture) string {
	t.Helper()
	f.create(t, "/collections", map[string]any{
		"name":       "people",
		"schema":     json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"},"address":{"type":"object"}}}`),
		"searchable": []string{"name", "n", "address.city", "active"},
	})
	return "people"
}

// list fetches one page of a collection with the query parameters in q.
func list(t *testing.T, f *fixture, token, coll string, q url.Values) pageOut {
	t.Helper()
	path := f.records(coll)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return decodePage(t, testkit.MustStatus(t, call(t, f.srv, token, "GET", path, nil), http.StatusOK))
}

func TestRecordLifecycle(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			f := newFixture(t, st)
			coll := newPeople(t, f)
			srv, admin := f.srv, f.admin
			head := auditHead(t, st, admin.OrgID)

			// Create.
			r := testkit.MustStatus(t, call(t, srv, admin.Token, "POST", f.records(coll), map[string]any{
				"data": jsonValue(t, `{"name":"Ada","address":{"city":"London","zip":"N1"},"n":1}`)}), http.StatusCreated)
			created := decodeRecord(t, r)
			self := f.records(coll) + "/" + created.ID
			if got := r.Header.Get("Location"); got != self {
				t.Errorf("Location %q, want %q", got, self)
			}
			if got := r.Header.Get("ETag"); got != `"1"` {
				t.Errorf("ETag %q, want \"1\"", got)
			}
			if created.Version != 1 || created.ClientID != nil || !created.CreatedAt.Equal(created.UpdatedAt) {
				t.Errorf("created record %+v", created)
			}
			if diff := cmp.Diff(jsonValue(t, `{"name":"Ada","address":{"city":"London","zip":"N1"},"n":1}`), created.Data); diff != "" {
				t.Errorf("created data (-want +got):\n%s", diff)
			}

			// Read.
			r = testkit.MustStatus(t, call(t, srv, admin.Token, "GET", self, nil), http.StatusOK)
			if diff := cmp.Diff(created, decodeRecord(t, r)); diff != "" {
				t.Errorf("GET differs from create (-create +get):\n%s", diff)
			}
			if got := r.Header.Get("ETag"); got != `"1"` {
				t.Errorf("GET ETag %q, want \"1\"", got)
			}

			// Replace.
			r = testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "PUT", Path: self, Token: admin.Token,
				Header: map[string]string{"If-Match": `"1"`},
				Body:   map[string]any{"data": jsonValue(t, `{"name":"Ada Lovelace","address":{"city":"London"},"n":2}`)}}), http.StatusOK)
			replaced := decodeRecord(t, r)
			if replaced.Version != 2 || r.Header.Get("ETag") != `"2"` || !replaced.CreatedAt.Equal(created.CreatedAt) || replaced.UpdatedAt.Before(created.UpdatedAt) {
				t.Errorf("replaced record %+v, ETag %q", replaced, r.Header.Get("ETag"))
			}
			if diff := cmp.Diff(jsonValue(t, `{"name":"Ada Lovelace","address":{"city":"London"},"n":2}`), replaced.Data); diff != "" {
				t.Errorf("replaced data (-want +got):\n%s", diff)
			}

			// Merge patch: add a field, remove one with null, merge a nested object.
			r = testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "PATCH", Path: self, Token: admin.Token,
				ContentType: "application/merge-patch+json", Header: map[string]string{"If-Match": `"2"`},
				Body: `{"email":"ada@example.com","n":null,"address":{"country":"UK","city":"Paris"}}`}), http.StatusOK)
			patched := decodeRecord(t, r)
			want := jsonValue(t, `{"name":"Ada Lovelace","email":"ada@example.com","address":{"city":"Paris","country":"UK"}}`)
			if diff := cmp.Diff(want, patched.Data); diff != "" {
				t.Errorf("patched data (-want +got):\n%s", diff)
			}
			if patched.Version != 3 || r.Header.Get("ETag") != `"3"` {
				t.Errorf("patched version %d, ETag %q; want 3", patched.Version, r.Header.Get("ETag"))
			}
			r = testkit.MustStatus(t, call(t, srv, admin.Token, "GET", self, nil), http.StatusOK)
			if diff := cmp.Diff(patched, decodeRecord(t, r)); diff != "" {
				t.Errorf("GET after patch (-patch +get):\n%s", diff)
			}

			// A stale delete is refused; the current one succeeds.
			mustProblem(t, srv.Do(t, testkit.Request{Method: "DELETE", Path: self, Token: admin.Token,
				Header: map[string]string{"If-Match": `"2"`}}), http.StatusPreconditionFailed)
			r = srv.Do(t, testkit.Request{Method: "DELETE", Path: self, Token: admin.Token, Header: map[string]string{"If-Match": `"3"`}})
			testkit.MustStatus(t, r, http.StatusNoContent)
			if len(r.Body) != 0 {
				t.Errorf("204 with a body: %s", r.Body)
			}

			// Gone.
			for _, m := range []string{"GET", "DELETE"} {
				mustProblem(t, call(t, srv, admin.Token, m, self, nil), http.StatusNotFound)
			}
			mustProblem(t, call(t, srv, admin.Token, "PUT", self, map[string]any{"data": map[string]any{}}), http.StatusNotFound)
			mustProblem(t, call(t, srv, admin.Token, "PATCH", self, map[string]any{"n": 1}), http.StatusNotFound)
			if p := list(t, f, admin.Token, coll, nil); len(p.Items) != 0 {
				t.Errorf("list after delete has %d records", len(p.Items))
			}

			// Exactly one success event per write, none for refusals.
			expectAudit(t, st, admin.OrgID, head, []event{
				userEvent("record.create", admin, "record", created.ID),
				userEvent("record.replace", admin, "record", created.ID),
				userEvent("record.patch", admin, "record", created.ID),
				userEvent("record.delete", admin, "record", created.ID),
			})
		})
	}
}

func TestRecordPagination(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixture(t, e.Open(t))
			coll := newPeople(t, f)
			var created []string
			for i := range 25 {
				r := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.records(coll),
					map[string]any{"data": map[string]any{"i": i, "n": i % 2}}), http.StatusCreated)
				created = append(created, decodeRecord(t, r).ID)
			}
			var got []string
			var sizes []int
			q := url.Values{"limit": {"10"}}
			for range 10 {
				p := list(t, f, f.admin.Token, coll, q)
				sizes = append(sizes, len(p.Items))
				got = append(got, ids(p.Items)...)
				if p.NextCursor == nil {
					break
				}
				q.Set("cursor", *p.NextCursor)
			}
			if diff := cmp.Diff([]int{10, 10, 5}, sizes); diff != "" {
				t.Errorf("page sizes (-want +got):\n%s", diff)
			}
			// Creation order, each record once.
			if diff := cmp.Diff(created, got); diff != "" {
				t.Errorf("records over all pages (-created +listed):\n%s", diff)
			}

			// The default page holds all 25; a full last page has no cursor.
			if p := list(t, f, f.admin.Token, coll, nil); len(p.Items) != 25 || p.NextCursor != nil {
				t.Errorf("default page: %d items, cursor %v", len(p.Items), p.NextCursor)
			}
			if p := list(t, f, f.admin.Token, coll, url.Values{"limit": {"25"}}); len(p.Items) != 25 || p.NextCursor != nil {
				t.Errorf("limit 25: %d items, cursor %v", len(p.Items), p.NextCursor)
			}

			// Pagination combined with a filter: the 13 records with n == 0.
			var even []string
			q = url.Values{"limit": {"5"}, "filter": {"n == 0"}}
			for range 10 {
				p := list(t, f, f.admin.Token, coll, q)
				even = append(even, ids(p.Items)...)
				if p.NextCursor == nil {
					break
				}
				q.Set("cursor", *p.NextCursor)
			}
			var want []string
			for i, id := range created {
				if i%2 == 0 {
					want = append(want, id)
				}
			}
			if diff := cmp.Diff(want, even); diff != "" {
				t.Errorf("filtered pages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordFilter(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixture(t, e.Open(t))
			coll := newPeople(t, f)
			docs := []string{
				`{"name":"a","n":1,"address":{"city":"London"},"active":true}`,
				`{"name":"b","n":1.5,"address":{"city":"London"}}`,
				`{"name":"c","n":1,"address":{"city":"Paris"},"active":false}`,
				`{"name":"d","n":"1"}`,
				`{"name":"e","n":10}`,
				`{"name":"f","n":-0.0}`,
				`{"name":"g","address":{"city":null}}`,
			}
			for _, d := range docs {
				// The raw text keeps numbers exactly as written.
				testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.records(coll), `{"data":`+d+`}`), http.StatusCreated)
			}
			tests := []struct {
				name, filter string
				want         []string
			}{
				{"string", `name == "b"`, []string{"b"}},
				{"integer", `n == 1`, []string{"a", "c"}},
				{"number written as 1.0 matches stored 1", `n == 1.0`, []string{"a", "c"}},
				{"number written as 1e0", `n == 1e0`, []string{"a", "c"}},
				{"number written as 10.0 matches stored 10", `n == 10.0`, []string{"e"}},
				{"number written as 1E1", `n == 1E1`, []string{"e"}},
				{"fraction", `n == 1.50`, []string{"b"}},
				{"string is not a number", `n == "1"`, []string{"d"}},
				{"zero matches negative zero", `n == 0`, []string{"f"}},
				{"nested field", `address.city == "London"`, []string{"a", "b"}},
				{"null value", `address.city == null`, []string{"g"}},
				{"boolean", `active == true`, []string{"a"}},
				{"false is not missing", `active == false`, []string{"c"}},
				{"two conditions", `n == 1 && address.city == "Paris"`, []string{"c"}},
				{"two conditions, parenthesized", `(n == 1.0) && (name == "a")`, []string{"a"}},
				{"conditions that exclude each other", `name == "a" && name == "b"`, []string{}},
				{"no match", `name == "zzz"`, []string{}},
				{"case-sensitive", `name == "A"`, []string{}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					p := list(t, f, f.admin.Token, coll, url.Values{"filter": {tc.filter}})
					got := []string{}
					for _, r := range p.Items {
						got = append(got, r.Data["name"].(string))
					}
					if diff := cmp.Diff(tc.want, got); diff != "" {
						t.Errorf("filter %s (-want +got):\n%s", tc.filter, diff)
					}
				})
			}
		})
	}
}

// TestClientVisibility is IAM-09: members limited to clients see only those
// clients' records and records without a client, and cannot reach the others.
func TestClientVisibility(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			f := newFixture(t, st)
			srv, admin, editor, viewer := f.srv, f.admin, f.editor, f.viewer
			coll := f.collection
			x, y := f.newClient(t), f.newClient(t)
			newRec := func(client string, n int) string {
				body := map[string]any{"data": map[string]any{"n": n}}
				if client != "" {
					body["client_id"] = client
				}
				return f.create(t, "/collections/"+coll+"/records", body)["id"].(string)
			}
			x1, x2 := newRec(x, 1), newRec(x, 2)
			y1, y2 := newRec(y, 3), newRec(y, 4)
			none := newRec("", 5)

			assign := func(user testkit.Account, clients ...string) {
				t.Helper()
				r := testkit.MustStatus(t, call(t, srv, admin.Token, "PUT", f.org("/members/"+user.UserID+"/clients"),
					map[string]any{"client_ids": append([]string{}, clients...)}), http.StatusOK)
				got, _ := r.JSON(t)["client_ids"].([]any)
				if len(got) != len(clients) {
					t.Fatalf("assignment answered %s", r.Body)
				}
			}
			visible := func(acct testkit.Account) []string {
				t.Helper()
				return ids(list(t, f, acct.Token, coll, url.Values{"limit": {"200"}}).Items)
			}

			assign(editor, x)
			if diff := cmp.Diff([]string{x1, x2, none}, visible(editor)); diff != "" {
				t.Errorf("assigned editor sees (-want +got):\n%s", diff)
			}
			r := testkit.MustStatus(t, call(t, srv, editor.Token, "GET", f.org("/clients"), nil), http.StatusOK)
			if items := r.JSON(t)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != x {
				t.Errorf("assigned editor's clients: %s", r.Body)
			}
			mustProblem(t, call(t, srv, editor.Token, "GET", f.org("/clients/"+y), nil), http.StatusNotFound)

			// Y's record is out of reach for every method, exactly like a missing one.
			head := auditHead(t, st, admin.OrgID)
			before := snapshot(t, f)
			yPath := f.records(coll) + "/" + y1
			for _, req := range []testkit.Request{
				{Method: "GET", Path: yPath},
				{Method: "PUT", Path: yPath, Body: map[string]any{"data": map[string]any{"n": 9}}},
				{Method: "PUT", Path: yPath, Body: map[string]any{"data": map[string]any{"n": 9}, "client_id": x}},
				{Method: "PATCH", Path: yPath, Body: map[string]any{"n": 9}},
				{Method: "DELETE", Path: yPath},
				{Method: "DELETE", Path: yPath, Header: map[string]string{"If-Match": `"1"`}},
			} {
				req.Token = editor.Token
				got := mustProblem(t, srv.Do(t, req), http.StatusNotFound)
				missing := mustProblem(t, srv.Do(t, testkit.Request{Method: req.Method, Token: editor.Token, Body: req.Body,
					Path: f.records(coll) + "/00000000-0000-7000-8000-000000000000"}), http.StatusNotFound)
				if got.Detail != missing.Detail || got.Type != missing.Type {
					t.Errorf("%s Y's record: %+v differs from a missing record's %+v", req.Method, got, missing)
				}
			}
			// Nor can the editor put a record under Y, by create or by replace.
			for _, req := range []testkit.Request{
				{Method: "POST", Path: f.records(coll), Body: map[string]any{"data": map[string]any{"n": 9}, "client_id": y}},
				{Method: "PUT", Path: f.records(coll) + "/" + x1, Body: map[string]any{"data": map[string]any{"n": 9}, "client_id": y}},
				{Method: "PUT", Path: f.records(coll) + "/" + none, Body: map[string]any{"data": map[string]any{"n": 9}, "client_id": y}},
			} {
				req.Token = editor.Token
				p := mustProblem(t, srv.Do(t, req), http.StatusUnprocessableEntity)
				if diff := cmp.Diff([]string{"/client_id"}, errorPaths(p)); diff != "" {
					t.Errorf("%s %s with client Y: error paths (-want +got):\n%s", req.Method, req.Path, diff)
				}
			}
			if after := snapshot(t, f); after != before {
				t.Errorf("refused requests changed organization A:\nbefore %s\nafter  %s", before, after)
			}
			r = testkit.MustStatus(t, call(t, srv, admin.Token, "GET", yPath, nil), http.StatusOK)
			if rec := decodeRecord(t, r); rec.Version != 1 || rec.Data["n"] != 3.0 {
				t.Errorf("Y's record changed: %s", r.Body)
			}
			head = expectAudit(t, st, admin.OrgID, head, nil)

			// Under X, and without a client, the editor writes; each write is audited once.
			r = testkit.MustStatus(t, call(t, srv, editor.Token, "POST", f.records(coll),
				map[string]any{"data": map[string]any{"n": 6}, "client_id": x}), http.StatusCreated)
			x3 := decodeRecord(t, r).ID
			r = testkit.MustStatus(t, call(t, srv, editor.Token, "POST", f.records(coll),
				map[string]any{"data": map[string]any{"n": 7}}), http.StatusCreated)
			none2 := decodeRecord(t, r).ID
			testkit.MustStatus(t, call(t, srv, editor.Token, "PATCH", f.records(coll)+"/"+x1, map[string]any{"n": 11}), http.StatusOK)
			testkit.MustStatus(t, call(t, srv, editor.Token, "PUT", f.records(coll)+"/"+none,
				map[string]any{"data": map[string]any{"n": 12}, "client_id": x}), http.StatusOK)
			testkit.MustStatus(t, call(t, srv, editor.Token, "DELETE", f.records(coll)+"/"+x2, nil), http.StatusNoContent)
			head = expectAudit(t, st, admin.OrgID, head, []event{
				userEvent("record.create", editor, "record", x3),
				userEvent("record.create", editor, "record", none2),
				userEvent("record.patch", editor, "record", x1),
				userEvent("record.replace", editor, "record", none),
				userEvent("record.delete", editor, "record", x2),
			})
			all := []string{x1, y1, y2, none, x3, none2}

			// An unassigned Viewer sees everything and writes nothing.
			if diff := cmp.Diff(all, visible(viewer)); diff != "" {
				t.Errorf("unassigned viewer sees (-want +got):\n%s", diff)
			}
			before = snapshot(t, f)
			for _, req := range []testkit.Request{
				{Method: "POST", Path: f.records(coll), Body: map[string]any{"data": map[string]any{"n": 1}}},
				{Method: "PUT", Path: f.records(coll) + "/" + y1, Body: map[string]any{"data": map[string]any{"n": 1}}},
				{Method: "PATCH", Path: f.records(coll) + "/" + y1, Body: map[string]any{"n": 1}},
				{Method: "DELETE", Path: f.records(coll) + "/" + y1},
			} {
				req.Token = viewer.Token
				mustProblem(t, srv.Do(t, req), http.StatusForbidden)
			}
			if after := snapshot(t, f); after != before {
				t.Errorf("viewer's refused writes changed organization A")
			}
			for _, ev := range auditSince(t, st, admin.OrgID, head) {
				if !isRead(ev) && (ev.Result != strongroom.ResultDenied || ev.ActorID != viewer.UserID) {
					t.Errorf("refused viewer write audited as %+v", ev)
				}
			}
			head = auditHead(t, st, admin.OrgID)

			// A limited Viewer sees its client's records and those without a client.
			assign(viewer, y)
			if diff := cmp.Diff([]string{y1, y2, none2}, visible(viewer)); diff != "" {
				t.Errorf("viewer assigned to Y sees (-want +got):\n%s", diff)
			}

			// Removing the assignments restores full visibility on the next request.
			assign(editor)
			assign(viewer)
			for _, acct := range []testkit.Account{editor, viewer} {
				if diff := cmp.Diff(all, visible(acct)); diff != "" {
					t.Errorf("%s after unassignment sees (-want +got):\n%s", acct.Email, diff)
				}
			}
			testkit.MustStatus(t, call(t, srv, editor.Token, "GET", yPath, nil), http.StatusOK)
			testkit.MustStatus(t, call(t, srv, editor.Token, "PATCH", yPath, map[string]any{"n": 13}), http.StatusOK)
			expectAudit(t, st, admin.OrgID, head, []event{
				userEvent("member.clients_set", admin, "user", viewer.UserID),
				userEvent("member.clients_set", admin, "user", editor.UserID),
				userEvent("member.clients_set", admin, "user", viewer.UserID),
				userEvent("record.patch", editor, "record", y1),
			})

			// Admins cannot be limited.
			p := mustProblem(t, call(t, srv, admin.Token, "PUT", f.org("/members/"+admin.UserID+"/clients"),
				map[string]any{"client_ids": []string{x}}), http.StatusUnprocessableEntity)
			if diff := cmp.Diff([]string{"/client_ids"}, errorPaths(p)); diff != "" {
				t.Errorf("limiting an Admin: paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLastAdmin(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			f := newFixture(t, st)
			srv, admin, editor := f.srv, f.admin, f.editor
			member := func(u testkit.Account) string { return f.org("/members/" + u.UserID) }
			head := auditHead(t, st, admin.OrgID)
			before := snapshot(t, f)
			for _, role := range []string{"editor", "viewer"} {
				mustProblem(t, call(t, srv, admin.Token, "PATCH", member(admin), map[string]string{"role": role}), http.StatusConflict)
			}
			mustProblem(t, call(t, srv, admin.Token, "DELETE", member(admin), nil), http.StatusConflict)
			if after := snapshot(t, f); after != before {
				t.Errorf("refused changes to the last Admin changed organization A")
			}
			head = expectAudit(t, st, admin.OrgID, head, nil)

			// With a second Admin the first may step down; then the second is the last.
			testkit.MustStatus(t, call(t, srv, admin.Token, "PATCH", member(editor), map[string]string{"role": "admin"}), http.StatusOK)
			testkit.MustStatus(t, call(t, srv, admin.Token, "PATCH", member(admin), map[string]string{"role": "viewer"}), http.StatusOK)
			head = expectAudit(t, st, admin.OrgID, head, []event{
				userEvent("member.role_change", admin, "user", editor.UserID),
				userEvent("member.role_change", admin, "user", admin.UserID),
			})
			// The demotion took effect at once: the former Admin lost members.write.
			mustProblem(t, call(t, srv, admin.Token, "PATCH", member(editor), map[string]string{"role": "viewer"}), http.StatusForbidden)
			mustProblem(t, call(t, srv, editor.Token, "DELETE", member(editor), nil), http.StatusConflict)
			mustProblem(t, call(t, srv, editor.Token, "PATCH", member(editor), map[string]string{"role": "editor"}), http.StatusConflict)
			r := testkit.MustStatus(t, call(t, srv, editor.Token, "GET", member(editor), nil), http.StatusOK)
			if role := r.JSON(t)["role"]; role != "admin" {
				t.Errorf("last Admin's role is %v", role)
			}
			for _, ev := range auditSince(t, st, admin.OrgID, head) {
				if ev.Result == strongroom.ResultSuccess {
					t.Errorf("refused change audited as success: %+v", ev)
				}
			}
		})
	}
}

func TestLogoutEndsSession(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			srv := testkit.NewServer(t, st, httpapi.Options{})
			acct := srv.Signup(t, "leaver@a.example", "Leaver Org")
			r := testkit.MustStatus(t, call(t, srv, "", "POST", "/api/v1/auth/password",
				map[string]string{"email": acct.Email, "password": password}), http.StatusOK)
			token := r.JSON(t)["token"].(string)
			testkit.MustStatus(t, call(t, srv, token, "GET", "/api/v1/me", nil), http.StatusOK)
			testkit.MustStatus(t, call(t, srv, token, "GET", "/api/v1/orgs/"+acct.OrgID, nil), http.StatusOK)
			head := auditHead(t, st, string(strongroom.PlatformTenant))

			testkit.MustStatus(t, call(t, srv, token, "POST", "/api/v1/auth/logout", nil), http.StatusNoContent)
			for _, req := range [][2]string{{"GET", "/api/v1/me"}, {"GET", "/api/v1/orgs/" + acct.OrgID}, {"POST", "/api/v1/auth/logout"}} {
				r := call(t, srv, token, req[0], req[1], nil)
				mustProblem(t, r, http.StatusUnauthorized)
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s: WWW-Authenticate %q", req[0], req[1], r.Header.Get("WWW-Authenticate"))
				}
			}
			// Only that session ended.
			testkit.MustStatus(t, call(t, srv, acct.Token, "GET", "/api/v1/me", nil), http.StatusOK)
			evs := auditSince(t, st, string(strongroom.PlatformTenant), head)
			if len(evs) != 1 || evs[0].Action != "session.end" || evs[0].ActorID != acct.UserID || evs[0].Result != strongroom.ResultSuccess {
				t.Errorf("logout audit events: %+v", summarize(evs))
			}
		})
	}
}
