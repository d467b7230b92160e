package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// seedAlert opens a mass-read alert in tenant's log with the newest events as
// its evidence, as the monitor would, and returns its id.
func seedAlert(t *testing.T, srv *testkit.Server, tenant strongroom.TenantID) string {
	t.Helper()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7()).String()
	err := srv.Store.Write(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
		last, err := tx.LastAuditEventSeq(ctx)
		if err != nil {
			return err
		}
		var seqs []int64
		for s := max(1, last-2); s <= last; s++ {
			seqs = append(seqs, s)
		}
		now := time.Now()
		_, _, err = tx.RecordAlert(ctx, id, store.AlertHit{Kind: strongroom.AlertMassRead, Severity: strongroom.SeverityHigh,
			Subject: "user:someone", Summary: "Read 5,000 records in ten minutes, 40 times the usual volume", Seqs: seqs,
			First: now.Add(-time.Minute), Last: now, Window: time.Hour})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func alertStatus(t *testing.T, srv *testkit.Server, tenant strongroom.TenantID, id string) strongroom.AlertStatus {
	t.Helper()
	var st strongroom.AlertStatus
	err := srv.Store.Read(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
		a, err := tx.Alert(context.Background(), id)
		if a != nil {
			st = a.Status
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestAuditAndAlertPagesBadInput: bad filters are named beside their field,
// forged or foreign cursors and ids are refused, another organization's
// alert answers 404, a Viewer is refused, and no alert changes. On both
// engines.
func TestAuditAndAlertPagesBadInput(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			testAuditAndAlertPagesBadInput(t, testkit.NewServer(t, e.Open(t), httpapi.Options{}))
		})
	}
}

func testAuditAndAlertPagesBadInput(t *testing.T, srv *testkit.Server) {
	acct := srv.Signup(t, "admin@example.com", "Logs Ltd")
	other := srv.Signup(t, "other@example.com", "Other Ltd")
	cookie := httpapi.SessionCookie + "=" + acct.Token
	mine := seedAlert(t, srv, strongroom.TenantID(acct.OrgID))
	theirs := seedAlert(t, srv, strongroom.TenantID(other.OrgID))
	viewer := srv.Signup(t, "viewer@example.com", "Viewer's own")
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + acct.OrgID + "/members", Token: acct.Token,
		Body: map[string]string{"email": viewer.Email, "role": "viewer"}}), 201)
	vcookie := httpapi.SessionCookie + "=" + viewer.Token
	audit := "/orgs/" + acct.OrgID + "/audit"
	alerts := "/orgs/" + acct.OrgID + "/alerts"
	form := "application/x-www-form-urlencoded"
	long := strings.Repeat("x", 2000)
	cases := []struct {
		name, method, path, ct, body, cookie string
		want                                 int
		says                                 string
	}{
		{name: "audit bad from", path: audit + "?from=yesterday", want: 422, says: `id="f-from-error">Must be a date and time`},
		{name: "audit to before from", path: audit + "?from=2026-01-02T00:00&to=2026-01-01T00:00", want: 422, says: `id="f-to-error">Must be later than from`},
		{name: "audit bad action", path: audit + "?action=" + url.QueryEscape("DROP TABLE"), want: 422, says: `id="f-action-error">Must be an action`},
		{name: "audit bad result", path: audit + "?result=maybe", want: 422, says: `id="f-result-error">Must be success, failure or denied`},
		{name: "audit control characters", path: audit + "?actor=a%01b", want: 422, says: `id="f-actor-error">`},
		{name: "audit oversized filter", path: audit + "?target=" + long, want: 422, says: `id="f-target-error">Is too long.`},
		{name: "audit forged cursor", path: audit + "?cursor=Zm9vLmJhcg", want: 400, says: "start again from the first page"},
		{name: "audit another org", path: "/orgs/" + other.OrgID + "/audit", want: 404, says: `role="alert"`},
		{name: "audit viewer", path: audit, cookie: vcookie, want: 403, says: "Only Admins"},
		{name: "audit export viewer", path: audit + "/export", cookie: vcookie, want: 403, says: `role="alert"`},
		{name: "audit export another org", path: "/orgs/" + other.OrgID + "/audit/export", want: 404, says: `role="alert"`},
		{name: "platform audit non-operator", path: "/operator/audit", want: 403, says: `role="alert"`},
		{name: "alerts bad status", path: alerts + "?status=sleeping", want: 422, says: `id="f-status-error">Must be open, acknowledged or resolved`},
		{name: "alerts bad kind", path: alerts + "?kind=" + long, want: 422, says: `id="f-kind-error">`},
		{name: "alerts forged cursor", path: alerts + "?cursor=%21%21", want: 400, says: "start again from the first page"},
		{name: "alerts viewer", path: alerts, cookie: vcookie, want: 403, says: "Only Admins"},
		{name: "alert unknown", path: alerts + "/nope", want: 404, says: `role="alert"`},
		{name: "alert of another org by id", path: alerts + "/" + theirs, want: 404, says: `role="alert"`},
		{name: "alert of another org", path: "/orgs/" + other.OrgID + "/alerts/" + theirs, want: 404, says: `role="alert"`},
		{name: "acknowledge another org's alert", method: "POST", path: alerts + "/" + theirs + "/acknowledge", ct: form, want: 404, says: `role="alert"`},
		{name: "resolve unknown alert", method: "POST", path: alerts + "/nope/resolve", ct: form, want: 404, says: `role="alert"`},
		{name: "acknowledge as viewer", method: "POST", path: alerts + "/" + mine + "/acknowledge", ct: form, cookie: vcookie, want: 403, says: `role="alert"`},
		{name: "acknowledge as JSON", method: "POST", path: alerts + "/" + mine + "/acknowledge", ct: "application/json", body: "{}", want: 415, says: "x-www-form-urlencoded"},
		{name: "acknowledge body too large", method: "POST", path: alerts + "/" + mine + "/acknowledge", ct: form, body: "x=" + strings.Repeat("y", 70<<10), want: 413, says: "too large"},
		{name: "platform alerts non-operator", path: "/operator/alerts", want: 403, says: `role="alert"`},
		{name: "platform resolve non-operator", method: "POST", path: "/operator/alerts/" + mine + "/resolve", ct: form, want: 403, says: `role="alert"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "GET"
			}
			ck := c.cookie
			if ck == "" {
				ck = cookie
			}
			r := srv.Do(t, testkit.Request{Method: method, Path: c.path, Body: c.body, ContentType: c.ct, Header: map[string]string{"Cookie": ck}})
			if r.Status != c.want {
				t.Errorf("status %d, want %d", r.Status, c.want)
			}
			if !strings.Contains(string(r.Body), c.says) {
				t.Errorf("page does not say %q:\n%.3000s", c.says, r.Body)
			}
			if !strings.Contains(string(r.Body), "</html>") {
				t.Error("not a whole page")
			}
			if m := inlineCode(string(r.Body)); m != "" {
				t.Errorf("inline code: %q", m)
			}
			if st := alertStatus(t, srv, strongroom.TenantID(acct.OrgID), mine); st != strongroom.AlertOpen {
				t.Errorf("our alert is %s", st)
			}
			if st := alertStatus(t, srv, strongroom.TenantID(other.OrgID), theirs); st != strongroom.AlertOpen {
				t.Errorf("their alert is %s", st)
			}
		})
	}
}

// TestAuditExportDownload: an Admin with a recent sign-in downloads the
// signed export as a JSON Lines attachment; the download is audited.
func TestAuditExportDownload(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "admin@example.com", "Export Ltd")
	_, seq := actionsAfter(t, srv.Store, strongroom.TenantID(acct.OrgID), 0)
	r := srv.Do(t, testkit.Request{Method: "GET", Path: "/orgs/" + acct.OrgID + "/audit/export",
		Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}})
	if r.Status != 200 {
		t.Fatalf("status %d: %.500s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/jsonl" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="audit-`+acct.OrgID) {
		t.Errorf("Content-Disposition %q", cd)
	}
	first, _, _ := strings.Cut(string(r.Body), "\n")
	if !strings.Contains(first, `"type":"header"`) || !strings.Contains(first, `"tenant":"`+acct.OrgID+`"`) {
		t.Errorf("first line is not an export header: %.300s", first)
	}
	if acts, _ := actionsAfter(t, srv.Store, strongroom.TenantID(acct.OrgID), seq); !containsString(acts, "audit.export") {
		t.Errorf("actions after the export: %v", acts)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
