package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// dsrCount counts the organization's data-subject requests, open or done.
func dsrCount(t *testing.T, srv *testkit.Server, tenant strongroom.TenantID) string {
	t.Helper()
	var out strings.Builder
	err := srv.Store.Read(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
		list, err := tx.DSRs(context.Background(), 1000)
		for _, d := range list {
			out.WriteString(d.ID + ":" + d.Status + " ")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

var requestLink = regexp.MustCompile(`/requests/([0-9a-f-]{36})`)

// TestDSRPagesBadInput: the request form names the field at fault; forged,
// unknown and foreign requests answer 404; a request is not carried out
// without the confirmation, nor twice; nothing else changes. Both engines.
func TestDSRPagesBadInput(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) { testDSRPagesBadInput(t, testkit.NewServer(t, e.Open(t), httpapi.Options{})) })
	}
}

func testDSRPagesBadInput(t *testing.T, srv *testkit.Server) {
	acct := srv.Signup(t, "admin@example.com", "Requests Ltd")
	other := srv.Signup(t, "other@example.com", "Other Ltd")
	seedRecords(t, srv, acct, 2)
	seedRecords(t, srv, other, 1)
	cookie := map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}
	form := "application/x-www-form-urlencoded"
	base := "/orgs/" + acct.OrgID + "/requests"
	// One open request here and one in the other organization.
	r := srv.Do(t, testkit.Request{Method: "POST", Path: base, Body: "kind=delete&field0=email&value0=p00%40example.com", ContentType: form, Header: cookie})
	mine := requestLink.FindStringSubmatch(string(r.Body))
	if r.Status != 200 || mine == nil {
		t.Fatalf("opening a request: %d %.500s", r.Status, r.Body)
	}
	theirs := requestLink.FindStringSubmatch(string(srv.Do(t, testkit.Request{Method: "POST", Path: "/orgs/" + other.OrgID + "/requests",
		Body: "kind=delete&field0=email&value0=p00%40example.com", ContentType: form,
		Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + other.Token}}).Body))
	if theirs == nil {
		t.Fatal("no request in the other organization")
	}
	long := strings.Repeat("v", 2000)
	cases := []struct {
		name, path, body, ct string
		want                 int
		says                 string
	}{
		{name: "unknown kind", path: base, body: "kind=forget&field0=email&value0=x", want: 422, says: `id="f-kind-error">Must be export, delete, restrict or lift`},
		{name: "no identifier", path: base, body: "kind=export", want: 422, says: `id="f-field0-error">`},
		{name: "value without field", path: base, body: "kind=export&value1=ada", want: 422, says: `id="f-field1-error">`},
		{name: "field without value", path: base, body: "kind=export&field2=email", want: 422, says: `id="f-value2-error">Is required.`},
		{name: "bad field path", path: base, body: "kind=export&field0=a..b&value0=x", want: 422, says: `id="f-field0-error">Must be a field path`},
		{name: "oversized value", path: base, body: "kind=export&field0=email&value0=" + long, want: 422, says: `id="f-value0-error">Is too long.`},
		{name: "control characters", path: base, body: "kind=export&field0=email&value0=a%00b", want: 422, says: "not text"},
		{name: "JSON body", path: base, body: `{"kind":"export"}`, ct: "application/json", want: 415, says: "x-www-form-urlencoded"},
		{name: "another org's requests", path: "/orgs/" + other.OrgID + "/requests", body: "kind=export&field0=email&value0=x", want: 404, says: `role="alert"`},
		{name: "execute without confirmation", path: base + "/" + mine[1] + "/execute", body: "confirm=no", want: 422, says: `id="f-confirm-error">Tick the box`},
		{name: "execute another org's request here", path: base + "/" + theirs[1] + "/execute", body: "confirm=yes", want: 404, says: `role="alert"`},
		{name: "execute unknown", path: base + "/" + url.PathEscape("../x") + "/execute", body: "confirm=yes", want: 404, says: `role="alert"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := dsrCount(t, srv, strongroom.TenantID(acct.OrgID)) + dsrCount(t, srv, strongroom.TenantID(other.OrgID))
			ct := c.ct
			if ct == "" {
				ct = form
			}
			r := srv.Do(t, testkit.Request{Method: "POST", Path: c.path, Body: c.body, ContentType: ct, Header: cookie})
			if r.Status != c.want || !strings.Contains(string(r.Body), c.says) {
				t.Errorf("status %d (want %d), page says %q? %.2000s", r.Status, c.want, c.says, r.Body)
			}
			if after := dsrCount(t, srv, strongroom.TenantID(acct.OrgID)) + dsrCount(t, srv, strongroom.TenantID(other.OrgID)); after != before {
				t.Errorf("bad input wrote: %s → %s", before, after)
			}
		})
	}
	// Carried out once; a second time is refused.
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: base + "/" + mine[1] + "/execute", Body: "confirm=yes", ContentType: form, Header: cookie}), 200)
	if r := srv.Do(t, testkit.Request{Method: "POST", Path: base + "/" + mine[1] + "/execute", Body: "confirm=yes", ContentType: form, Header: cookie}); r.Status != 412 {
		t.Errorf("second execution: status %d, want 412", r.Status)
	}
}

// TestDSRExportDownload: an export request's execution answers with the
// person's records as a JSON attachment, once.
func TestDSRExportDownload(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "admin@example.com", "Export Ltd")
	ids := seedRecords(t, srv, acct, 3)
	cookie := map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}
	form := "application/x-www-form-urlencoded"
	base := "/orgs/" + acct.OrgID + "/requests"
	r := srv.Do(t, testkit.Request{Method: "POST", Path: base, Body: "kind=export&field0=email&value0=p01%40example.com", ContentType: form, Header: cookie})
	m := requestLink.FindStringSubmatch(string(r.Body))
	if m == nil || !strings.Contains(string(r.Body), ids[1]) || strings.Contains(string(r.Body), ids[0]) {
		t.Fatalf("the request page does not list exactly the matching record: %.2000s", r.Body)
	}
	r = srv.Do(t, testkit.Request{Method: "POST", Path: base + "/" + m[1] + "/execute", Body: "confirm=yes", ContentType: form, Header: cookie})
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("export: %d %v", r.Status, r.Header)
	}
	if body := string(r.Body); !strings.Contains(body, "p01@example.com") || strings.Contains(body, "p00@example.com") {
		t.Errorf("export holds the wrong records: %s", body)
	}
}
