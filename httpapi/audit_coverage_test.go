package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// notAudited lists the state-changing routes whose success appends no audit
// event, each with the reason. Everything else that changes state, and every
// data read, must append one (security invariant 4).
var notAudited = map[string]string{
	"POST /api/v1/auth/mfa/webauthn":         "begins a five-minute WebAuthn ceremony; its finish is audited",
	"POST /api/v1/auth/passkey/start":        "begins a five-minute WebAuthn ceremony; its finish is audited",
	"POST /api/v1/me/mfa/webauthn/start":     "begins a five-minute WebAuthn ceremony; its finish is audited",
	"GET /api/v1/auth/oidc/{provider}/start": "begins a ten-minute sign-in at the provider; the callback is audited",
}

// dataRead reports the GET routes that read an organization's data or its log:
// each read is audited (who read what, when, from where).
func dataRead(rt httpapi.Route) bool {
	return rt.Method == http.MethodGet && (rt.Perm == access.RecordsRead && strings.Contains(rt.Path, "/records") ||
		rt.Perm == access.AuditRead || rt.Perm == access.AlertsRead || rt.Perm == access.DataSubjectRequests || strings.HasPrefix(rt.Path, "/api/v1/operator/alerts") ||
		rt.Path == "/api/v1/operator/audit" || rt.Path == "/api/v1/operator/outbox")
}

// lastSeq is the newest audit sequence number of any log (seq is global).
func lastSeq(t *testing.T, st *store.Store) int64 {
	t.Helper()
	tenants, err := st.AuditChainTenants(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var top int64
	for _, tn := range append(tenants, strongroom.PlatformTenant) {
		top = max(top, auditHead(t, st, string(tn)))
	}
	return top
}

// TestEveryRouteAudited walks the route table as the organization's Admin
// (the actor every route admits, except operator routes, walked as an
// operator): each route that changes state, and each data read, appends an
// audit event when it succeeds, on both engines.
func TestEveryRouteAudited(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			f := newFixture(t, st)
			for _, rt := range f.srv.API.Routes() {
				key := rt.Method + " " + rt.Path
				read := dataRead(rt)
				if rt.Perm == access.Operator || (rt.Method == http.MethodGet && !read) {
					continue // operator routes: TestIdentityFlowOperator and the audit query tests
				}
				t.Run(key, func(t *testing.T) {
					path, body, token := f.request(t, rt, f.admin) // may sign in, enrol, etc. first
					before := lastSeq(t, st)
					r := f.send(t, rt.Method, path, token, body)
					if r.Status >= 300 && r.Status != redirects[key] {
						t.Fatalf("status %d: %s", r.Status, r.Body)
					}
					after := lastSeq(t, st)
					if reason, ok := notAudited[key]; ok {
						if after != before {
							t.Errorf("listed as not audited (%s), but appended events", reason)
						}
						return
					}
					if after <= before {
						t.Errorf("succeeded (%d) without appending an audit event", r.Status)
					}
				})
			}
		})
	}
}

// TestReadsAudited: reading a record and listing records append record.read
// and record.list events naming the reader, the address, the record(s) and
// the filtered fields — never the filter's values.
func TestReadsAudited(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			srv := testkit.NewServer(t, st, httpapi.Options{})
			admin := srv.Signup(t, "reader@example.com", "Reader Org")
			org := "/api/v1/orgs/" + admin.OrgID
			testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: org + "/collections", Token: admin.Token,
				Body: map[string]any{"name": "people", "schema": map[string]any{"type": "object"}, "searchable": []string{"email"}}}), http.StatusCreated)
			rec := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: org + "/collections/people/records",
				Token: admin.Token, Body: map[string]any{"data": map[string]any{"email": "zoe@example.com"}}}), http.StatusCreated).JSON(t)
			id := rec["id"].(string)
			head := auditHead(t, st, admin.OrgID)

			testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: org + "/collections/people/records/" + id, Token: admin.Token}), http.StatusOK)
			testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET",
				Path: org + `/collections/people/records?filter=email%20%3D%3D%20%22zoe%40example.com%22`, Token: admin.Token}), http.StatusOK)
			evs := auditSince(t, st, admin.OrgID, head)
			if len(evs) != 2 {
				t.Fatalf("%d events after a read and a list, want 2: %+v", len(evs), summarize(evs))
			}
			read, list := evs[0], evs[1]
			if read.Action != "record.read" || read.TargetID != id || read.ActorID != admin.UserID || read.IP == "" ||
				read.Result != strongroom.ResultSuccess {
				t.Errorf("read event %+v", read)
			}
			var meta struct {
				Collection   string   `json:"collection"`
				Records      []string `json:"records"`
				FilterFields []string `json:"filter_fields"`
			}
			if err := json.Unmarshal(list.Metadata, &meta); err != nil {
				t.Fatal(err)
			}
			if list.Action != "record.list" || meta.Collection != "people" || len(meta.Records) != 1 || meta.Records[0] != id ||
				len(meta.FilterFields) != 1 || meta.FilterFields[0] != "email" {
				t.Errorf("list event %+v with %+v", list, meta)
			}
			if strings.Contains(string(list.Metadata), "zoe") {
				t.Errorf("the list event carries the filter's value: %s", list.Metadata)
			}
			// A refused read (another organization's record) is a denied event, not a read.
			other := srv.Signup(t, "other@example.com", "Other Org")
			r := srv.Do(t, testkit.Request{Method: "GET", Path: org + "/collections/people/records/" + id, Token: other.Token})
			if r.Status != http.StatusNotFound {
				t.Fatalf("cross-tenant read: status %d", r.Status)
			}
			for _, ev := range auditSince(t, st, admin.OrgID, list.Seq) {
				if isRead(ev) {
					t.Errorf("a refused read was audited as a read: %+v", ev)
				}
			}
		})
	}
}
