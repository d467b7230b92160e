package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// operatorSession signs up email, makes the account an operator and enrols
// an authenticator app over the API, and returns the account with the
// session token the enrolment rotated to (signed in with MFA, as operator
// pages require).
func operatorSession(t *testing.T, srv *testkit.Server, email string) testkit.Account {
	t.Helper()
	acct := srv.Signup(t, email, "Ops "+email)
	if err := srv.Service.SetOperator(t.Context(), email, true); err != nil {
		t.Fatal(err)
	}
	v := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/me/mfa/totp", Token: acct.Token, Body: map[string]string{}}),
		http.StatusCreated).JSON(t)
	factor, secret := v["id"].(string), v["secret"].(string)
	g := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/me/mfa/totp/" + factor + "/confirm", Token: acct.Token,
		Body: map[string]string{"code": totpCode(t, secret, time.Now())}}), http.StatusOK).JSON(t)
	tok, _ := g["token"].(string)
	if tok == "" {
		t.Fatalf("no session after the TOTP enrolment: %v", g)
	}
	acct.Token = tok
	return acct
}

func cookieOf(a testkit.Account) string { return httpapi.SessionCookie + "=" + a.Token }

// apiID calls the API as token and returns the id of what it created.
func apiID(t *testing.T, srv *testkit.Server, token, path string, body any) string {
	t.Helper()
	r := srv.Do(t, testkit.Request{Method: "POST", Path: path, Token: token, Body: body})
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, r.Status, r.Body)
	}
	v := r.JSON(t)
	if id, ok := v["id"].(string); ok {
		return id
	}
	for _, k := range []string{"change", "incident"} { // answers that wrap what they created
		if c, ok := v[k].(map[string]any); ok {
			return c["id"].(string)
		}
	}
	t.Fatalf("POST %s: no id in %s", path, r.Body)
	return ""
}

// seedMaintenance schedules a window an hour from now over the API.
func seedMaintenance(t *testing.T, srv *testkit.Server, op testkit.Account, title string) string {
	t.Helper()
	start := time.Now().Add(time.Hour).UTC()
	return apiID(t, srv, op.Token, "/api/v1/operator/status/maintenance", map[string]any{"title": title, "body": "Database upgrade.",
		"components": []string{"api", "storage"}, "starts_at": start, "ends_at": start.Add(2 * time.Hour)})
}

// seedPolicyChange publishes a change over the API.
func seedPolicyChange(t *testing.T, srv *testkit.Server, op testkit.Account, title string) string {
	t.Helper()
	return apiID(t, srv, op.Token, "/api/v1/operator/policy-changes", map[string]any{"title": title,
		"summary": "Backups are kept for 90 days instead of 30.", "url": "https://strongroom.example/security",
		"effective_at": time.Now().AddDate(0, 0, 30).UTC()})
}

// reviewDecision reads one entry's decision from the store ("" undecided).
func reviewDecision(t *testing.T, srv *testkit.Server, tenant strongroom.TenantID, campaign string, user string) string {
	t.Helper()
	var out string
	err := srv.Store.Read(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
		es, err := tx.ReviewEntries(context.Background(), campaign)
		for _, e := range es {
			if string(e.UserID) == user {
				out = e.Decision
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// platformCounts counts what the operator forms could write: maintenance
// windows, status updates and policy changes.
func platformCounts(t *testing.T, srv *testkit.Server) [3]int {
	t.Helper()
	ctx := context.Background()
	var n [3]int
	err := srv.Store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		ws, err := tx.MaintenanceEndingAfter(ctx, time.Now().AddDate(-1, 0, 0))
		if err != nil {
			return err
		}
		us, err := tx.StatusUpdates(ctx, time.Now().AddDate(-1, 0, 0), 1000)
		if err != nil {
			return err
		}
		ps, err := tx.PolicyChanges(ctx)
		n = [3]int{len(ws), len(us), len(ps)}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// submitTestReport files a vulnerability report as a researcher would.
func submitTestReport(t *testing.T, srv *testkit.Server) string {
	t.Helper()
	rc, err := srv.Service.SubmitReport(t.Context(), service.ReportInput{Title: "Open redirect", Description: "The next parameter.",
		ReporterName: "Rae", ReporterEmail: "rae@researcher.example"})
	if err != nil || rc == nil {
		t.Fatalf("submitting a report: %v", err)
	}
	return rc.ID
}

// addMember makes an existing account a member of org with role, straight
// in the store.
func addMember(t *testing.T, srv *testkit.Server, org string, a testkit.Account, role strongroom.Role) {
	t.Helper()
	err := srv.Store.Write(context.Background(), store.TenantScope(strongroom.TenantID(org)), func(tx *store.Tx) error {
		return tx.AddMember(context.Background(), &strongroom.Membership{UserID: strongroom.UserID(a.UserID), Role: role, CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// trustState fingerprints what the status, review and policy forms could
// change: the platform's windows, updates and policy changes, the
// organization's members, its campaign's decisions and completion, and its
// policy acknowledgements.
func trustState(t *testing.T, srv *testkit.Server, org, campaign string) string {
	t.Helper()
	ctx := context.Background()
	out := fmt.Sprintf("platform:%v", platformCounts(t, srv))
	err := srv.Store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		ws, err := tx.MaintenanceEndingAfter(ctx, time.Now().AddDate(-1, 0, 0))
		for _, w := range ws {
			out += fmt.Sprintf(" window:%s:%q:%q:%v:%s:%s:%v", w.ID, w.Title, w.Body, w.Components, w.StartsAt, w.EndsAt, w.CancelledAt != nil)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Store.Read(ctx, store.TenantScope(strongroom.TenantID(org)), func(tx *store.Tx) error {
		ms, err := tx.Members(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			out += fmt.Sprintf(" member:%s=%s", m.Email, m.Role)
		}
		c, err := tx.ReviewCampaign(ctx, campaign)
		if err != nil {
			return err
		}
		out += fmt.Sprintf(" completed:%v", c.CompletedAt != nil)
		es, err := tx.ReviewEntries(ctx, campaign)
		if err != nil {
			return err
		}
		for _, e := range es {
			out += fmt.Sprintf(" %s:%q:%q", e.Email, e.Decision, e.Note)
		}
		acks, err := tx.PolicyAcks(ctx)
		out += fmt.Sprintf(" acks:%d", len(acks))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTrustFormsBadInput sends malformed, oversized, hostile and incomplete
// forms to the status, access review and policy pages: each answers a
// clear message (beside the field when one field is at fault) and writes
// nothing; a revoke without its confirmation only asks.
func TestTrustFormsBadInput(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	admin := srv.Signup(t, "ada@example.com", "Review Ltd")
	viewer := srv.Signup(t, "vic@example.com", "Vic's own")
	addMember(t, srv, admin.OrgID, viewer, strongroom.RoleViewer)
	other := srv.Signup(t, "olaf@example.com", "Other Ltd")
	op := operatorSession(t, srv, "op@example.com")
	campaign := apiID(t, srv, admin.Token, "/api/v1/orgs/"+admin.OrgID+"/access-reviews", map[string]any{})
	otherCampaign := apiID(t, srv, other.Token, "/api/v1/orgs/"+other.OrgID+"/access-reviews", map[string]any{})
	change := seedPolicyChange(t, srv, op, "Backups kept longer")
	win := seedMaintenance(t, srv, op, "Database upgrade")
	gone := seedMaintenance(t, srv, op, "Cancelled upgrade")
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/operator/status/maintenance/" + gone + "/cancel", Token: op.Token}), http.StatusNoContent)
	cookie, opCookie := cookieOf(admin), cookieOf(op)
	form := "application/x-www-form-urlencoded"
	reviews := "/orgs/" + admin.OrgID + "/access-reviews/"
	entry := reviews + campaign + "/entries/" + viewer.UserID
	soon := time.Now().Add(2 * time.Hour).UTC()
	at := func(t time.Time) string { return url.QueryEscape(t.Format("2006-01-02T15:04")) }
	window := "title=Upgrade&body=Down+briefly&components=api"
	valid := window + "&starts_at=" + at(soon) + "&ends_at=" + at(soon.Add(time.Hour))
	update := "title=Slow+sign-in&body=Looking&state=investigating"
	policy := "title=Backups&summary=Kept+longer&url=https%3A%2F%2Fstrongroom.example%2Fsecurity&effective_at=" + time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	long := strings.Repeat("a", 4001)
	cases := []struct {
		name, path, body, cookie string
		ct                       string
		want                     int
		says                     string
	}{
		{name: "maintenance missing title", path: "/operator/status/maintenance", body: strings.Replace(valid, "title=Upgrade", "title=", 1), cookie: opCookie, want: 422, says: `id="m-title-error">Is required.`},
		{name: "maintenance no component", path: "/operator/status/maintenance", body: strings.Replace(valid, "&components=api", "", 1), cookie: opCookie, want: 422, says: `id="m-components-error">Name at least one component.`},
		{name: "maintenance unknown component", path: "/operator/status/maintenance", body: valid + "&components=mainframe", cookie: opCookie, want: 422, says: `id="m-components-error">Must be one of`},
		{name: "maintenance component twice", path: "/operator/status/maintenance", body: valid + "&components=api", cookie: opCookie, want: 422, says: `id="m-components-error">Is named twice.`},
		{name: "maintenance ends before it starts", path: "/operator/status/maintenance", body: window + "&starts_at=" + at(soon) + "&ends_at=" + at(soon.Add(-time.Hour)), cookie: opCookie, want: 422, says: `id="m-ends_at-error">Must be after starts_at.`},
		{name: "maintenance in the past", path: "/operator/status/maintenance", body: window + "&starts_at=" + at(soon.AddDate(0, 0, -2)) + "&ends_at=" + at(soon), cookie: opCookie, want: 422, says: `id="m-starts_at-error">Must not be in the past.`},
		{name: "maintenance longer than a week", path: "/operator/status/maintenance", body: window + "&starts_at=" + at(soon) + "&ends_at=" + at(soon.AddDate(0, 0, 8)), cookie: opCookie, want: 422, says: `id="m-ends_at-error">A window lasts at most 7 days.`},
		{name: "maintenance bad time", path: "/operator/status/maintenance", body: window + "&starts_at=tomorrow&ends_at=" + at(soon), cookie: opCookie, want: 422, says: `id="m-starts_at-error">Must be a date and time`},
		{name: "maintenance missing end", path: "/operator/status/maintenance", body: window + "&starts_at=" + at(soon), cookie: opCookie, want: 422, says: `id="m-ends_at-error">Is required.`},
		{name: "maintenance control characters", path: "/operator/status/maintenance", body: strings.Replace(valid, "title=Upgrade", "title=Up%07grade", 1), cookie: opCookie, want: 422, says: `id="m-title-error">Must be 1 to 200 characters`},
		{name: "maintenance invalid UTF-8", path: "/operator/status/maintenance", body: strings.Replace(valid, "title=Upgrade", "title=%ff%fe", 1), cookie: opCookie, want: 422, says: `id="m-title-error">Contains characters that are not text.`},
		{name: "maintenance body too long", path: "/operator/status/maintenance", body: strings.Replace(valid, "body=Down+briefly", "body="+long, 1), cookie: opCookie, want: 422, says: `id="m-body-error">Must be 1 to 4000 characters of text.`},
		{name: "maintenance form too large", path: "/operator/status/maintenance", body: valid + "&body=" + strings.Repeat("b", 70<<10), cookie: opCookie, want: 413, says: "too large"},
		{name: "maintenance JSON body", path: "/operator/status/maintenance", body: `{"title":"x"}`, ct: "application/json", cookie: opCookie, want: 415, says: "x-www-form-urlencoded"},
		{name: "maintenance malformed encoding", path: "/operator/status/maintenance", body: "title=%zz", cookie: opCookie, want: 400, says: "could not be read"},
		{name: "maintenance by a non-operator", path: "/operator/status/maintenance", body: valid, cookie: cookie, want: 403, says: `role="alert"`},
		{name: "edit missing title", path: "/operator/status/maintenance/" + win, body: strings.Replace(valid, "title=Upgrade", "title=", 1), cookie: opCookie, want: 422, says: `id="m-title-error">Is required.`},
		{name: "edit ends before it starts", path: "/operator/status/maintenance/" + win, body: window + "&starts_at=" + at(soon) + "&ends_at=" + at(soon.Add(-time.Hour)), cookie: opCookie, want: 422, says: `id="m-ends_at-error">Must be after starts_at.`},
		{name: "edit in the past", path: "/operator/status/maintenance/" + win, body: window + "&starts_at=" + at(soon.AddDate(0, 0, -2)) + "&ends_at=" + at(soon), cookie: opCookie, want: 422, says: `id="m-starts_at-error">Must not be in the past.`},
		{name: "edit bad time keeps the values", path: "/operator/status/maintenance/" + win, body: strings.Replace(window, "title=Upgrade", "title=Kept+title", 1) + "&starts_at=soon&ends_at=" + at(soon), cookie: opCookie, want: 422, says: `value="Kept title"`},
		{name: "edit unknown component", path: "/operator/status/maintenance/" + win, body: valid + "&components=mainframe", cookie: opCookie, want: 422, says: `id="m-components-error">Must be one of`},
		{name: "edit hostile title", path: "/operator/status/maintenance/" + win, body: strings.Replace(valid, "title=Upgrade", "title=%3Cscript%3E%07", 1), cookie: opCookie, want: 422, says: `id="m-title-error">Must be 1 to 200 characters`},
		{name: "edit form too large", path: "/operator/status/maintenance/" + win, body: valid + "&body=" + strings.Repeat("b", 70<<10), cookie: opCookie, want: 413, says: `value="Database upgrade"`},
		{name: "edit JSON body", path: "/operator/status/maintenance/" + win, body: `{"title":"x"}`, ct: "application/json", cookie: opCookie, want: 415, says: "x-www-form-urlencoded"},
		{name: "edit cancelled window", path: "/operator/status/maintenance/" + gone, body: valid, cookie: opCookie, want: 409, says: "The maintenance window is cancelled."},
		{name: "edit unknown window", path: "/operator/status/maintenance/nope", body: valid, cookie: opCookie, want: 404, says: `role="alert"`},
		{name: "edit by a non-operator", path: "/operator/status/maintenance/" + win, body: valid, cookie: cookie, want: 403, says: `role="alert"`},
		{name: "cancel unknown window", path: "/operator/status/maintenance/nope/cancel", body: "go=1", cookie: opCookie, want: 404, says: `role="alert"`},
		{name: "update bad state", path: "/operator/status/updates", body: strings.Replace(update, "investigating", "panicking", 1), cookie: opCookie, want: 422, says: `id="u-state-error">Must be one of investigating`},
		{name: "update missing text", path: "/operator/status/updates", body: strings.Replace(update, "body=Looking", "body=+", 1), cookie: opCookie, want: 422, says: `id="u-body-error">Is required.`},
		{name: "update unknown component", path: "/operator/status/updates", body: update + "&components=mainframe", cookie: opCookie, want: 422, says: `id="u-components-error">Must be one of`},
		{name: "update title too long", path: "/operator/status/updates", body: strings.Replace(update, "title=Slow+sign-in", "title="+strings.Repeat("t", 1100), 1), cookie: opCookie, want: 422, says: `id="u-title-error">Is too long.`},
		{name: "policy missing summary", path: "/operator/policy-changes", body: strings.Replace(policy, "summary=Kept+longer", "summary=", 1), cookie: opCookie, want: 422, says: `id="f-summary-error">Is required.`},
		{name: "policy neither text nor link", path: "/operator/policy-changes", body: strings.Replace(policy, "url=https%3A%2F%2Fstrongroom.example%2Fsecurity", "url=", 1), cookie: opCookie, want: 422, says: `id="f-body-error">Give the change&#39;s text or a link`},
		{name: "policy plain http link", path: "/operator/policy-changes", body: strings.Replace(policy, "https%3A", "http%3A", 1), cookie: opCookie, want: 422, says: `id="f-url-error">Must be an https URL`},
		{name: "policy link with credentials", path: "/operator/policy-changes", body: strings.Replace(policy, "https%3A%2F%2F", "https%3A%2F%2Fuser%3Apass%40", 1), cookie: opCookie, want: 422, says: `id="f-url-error">Must be an https URL`},
		{name: "policy javascript link", path: "/operator/policy-changes", body: strings.Replace(policy, "https%3A%2F%2Fstrongroom.example%2Fsecurity", "javascript%3Aalert(1)", 1), cookie: opCookie, want: 422, says: `id="f-url-error">Must be an https URL`},
		{name: "policy effective far ahead", path: "/operator/policy-changes", body: policy[:strings.LastIndex(policy, "=")+1] + time.Now().AddDate(3, 0, 0).Format("2006-01-02"), cookie: opCookie, want: 422, says: `id="f-effective_at-error">Must be a date from a year ago to two years ahead.`},
		{name: "policy bad date", path: "/operator/policy-changes", body: policy[:strings.LastIndex(policy, "=")+1] + "soon", cookie: opCookie, want: 422, says: `id="f-effective_at-error">Must be a date such as`},
		{name: "policy text too long", path: "/operator/policy-changes", body: policy + "&body=" + strings.Repeat("p", 33<<10), cookie: opCookie, want: 422, says: `id="f-body-error">Is too long.`},
		{name: "policy by an Admin", path: "/operator/policy-changes", body: policy, cookie: cookie, want: 403, says: `role="alert"`},
		{name: "acknowledge unknown change", path: "/orgs/" + admin.OrgID + "/policy-changes/nope/acknowledge", body: "go=1", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "acknowledge in another organization", path: "/orgs/" + other.OrgID + "/policy-changes/" + change + "/acknowledge", body: "go=1", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "acknowledge by a Viewer", path: "/orgs/" + admin.OrgID + "/policy-changes/" + change + "/acknowledge", body: "go=1", cookie: cookieOf(viewer), want: 403, says: `role="alert"`},
		{name: "decide unknown decision", path: entry, body: "decision=maybe", cookie: cookie, want: 422, says: "decision must be keep or revoke"},
		{name: "decide note too long", path: entry, body: "decision=keep&note=" + strings.Repeat("n", 1010), cookie: cookie, want: 422, says: `id="note-error">`},
		{name: "decide hostile note", path: entry, body: "decision=keep&note=a%00b", cookie: cookie, want: 422, says: "not text"},
		{name: "decide unknown campaign", path: reviews + "nope/entries/" + viewer.UserID, body: "decision=keep", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "decide another organization's campaign", path: reviews + otherCampaign + "/entries/" + other.UserID, body: "decision=keep", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "decide unknown member", path: reviews + campaign + "/entries/" + other.UserID, body: "decision=keep", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "decide as a Viewer", path: reviews + campaign + "/entries/" + admin.UserID, body: "decision=revoke&confirm=yes", cookie: cookieOf(viewer), want: 403, says: `role="alert"`},
		{name: "revoke without confirmation only asks", path: entry, body: "decision=revoke&note=left", cookie: cookie, want: 200, says: `id="confirm-revoke"`},
		{name: "complete with an undecided member", path: reviews + campaign + "/complete", body: "go=1", cookie: cookie, want: 409, says: "1 entries are not decided yet"},
		{name: "open a review as a Viewer", path: "/orgs/" + admin.OrgID + "/access-reviews", body: "go=1", cookie: cookieOf(viewer), want: 403, says: `role="alert"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := trustState(t, srv, admin.OrgID, campaign)
			ct := c.ct
			if ct == "" {
				ct = form
			}
			r := srv.Do(t, testkit.Request{Method: "POST", Path: c.path, Body: c.body, ContentType: ct, Header: map[string]string{"Cookie": c.cookie}})
			if r.Status != c.want {
				t.Errorf("status %d, want %d", r.Status, c.want)
			}
			if !strings.Contains(string(r.Body), c.says) {
				t.Errorf("page does not say %q:\n%.3000s", c.says, r.Body)
			}
			if !strings.Contains(string(r.Body), "</html>") {
				t.Error("not a whole page")
			}
			if after := trustState(t, srv, admin.OrgID, campaign); after != before {
				t.Errorf("bad input wrote: %s → %s", before, after)
			}
		})
	}
}

// TestTrustPagesAudited: each read and change on the status, access review
// and policy pages appends its audit event to the organization's or the
// platform's log; a revoke that only asks for confirmation records no
// decision.
func TestTrustPagesAudited(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	admin := srv.Signup(t, "ada@example.com", "Audited Ltd")
	viewer := srv.Signup(t, "vic@example.com", "Vic's own")
	addMember(t, srv, admin.OrgID, viewer, strongroom.RoleViewer)
	op := operatorSession(t, srv, "op@example.com")
	org := strongroom.TenantID(admin.OrgID)
	_, orgSeq := actionsAfter(t, srv.Store, org, 0)
	_, platSeq := actionsAfter(t, srv.Store, strongroom.PlatformTenant, 0)
	soon := time.Now().Add(2 * time.Hour).UTC()
	at := func(t time.Time) string { return url.QueryEscape(t.Format("2006-01-02T15:04")) }
	var campaign, change, window string
	reviews := "/orgs/" + admin.OrgID + "/access-reviews"
	steps := []struct {
		method string
		path   func() string
		body   string
		as     testkit.Account
		want   []string
		not    string
	}{
		{method: "GET", path: func() string { return "/operator/status" }, as: op, want: []string{"status.maintenance.list", "status.subscribers.count"}},
		{method: "POST", path: func() string { return "/operator/status/maintenance" }, as: op, want: []string{"status.maintenance.create"},
			body: "title=Upgrade&body=Brief&components=api&starts_at=" + at(soon) + "&ends_at=" + at(soon.Add(time.Hour))},
		{method: "GET", path: func() string { return "/operator/status/maintenance/" + window + "/edit" }, as: op, want: []string{"status.maintenance.list"}},
		{method: "POST", path: func() string { return "/operator/status/maintenance/" + window }, as: op, want: []string{"status.maintenance.update"},
			body: "title=Upgrade&body=Brief&components=api&starts_at=" + at(soon) + "&ends_at=" + at(soon.Add(2*time.Hour))},
		{method: "POST", path: func() string { return "/operator/status/maintenance/" + window + "/cancel" }, as: op, body: "go=1", want: []string{"status.maintenance.cancel"}},
		{method: "POST", path: func() string { return "/operator/status/updates" }, as: op, body: "title=Slow&body=Looking&state=investigating", want: []string{"status.update.create"}},
		{method: "POST", path: func() string { return "/operator/policy-changes" }, as: op, want: []string{"policy.publish", "policy.notice"},
			body: "title=Backups&summary=Longer&url=https%3A%2F%2Fstrongroom.example%2Fs&effective_at=" + time.Now().AddDate(0, 1, 0).Format("2006-01-02")},
		{method: "GET", path: func() string { return "/operator/policy-changes" }, as: op, want: []string{"policy.list"}},
		{method: "GET", path: func() string { return "/orgs/" + admin.OrgID + "/policy-changes/" + change }, as: admin, want: []string{"policy.list"}},
		{method: "POST", path: func() string { return "/orgs/" + admin.OrgID + "/policy-changes/" + change + "/acknowledge" }, as: admin, body: "go=1",
			want: []string{"policy.acknowledge", "policy.acknowledged"}},
		{method: "POST", path: func() string { return reviews }, as: admin, body: "go=1", want: []string{"access_review.open"}},
		{method: "GET", path: func() string { return reviews }, as: admin, want: []string{"access_review.list"}},
		{method: "POST", path: func() string { return reviews + "/" + campaign + "/entries/" + viewer.UserID }, as: admin, body: "decision=revoke",
			want: []string{"access_review.read"}, not: "access_review.decide"},
		{method: "POST", path: func() string { return reviews + "/" + campaign + "/entries/" + viewer.UserID }, as: admin, body: "decision=revoke&confirm=yes&note=left",
			want: []string{"member.remove", "access_review.decide"}},
		{method: "POST", path: func() string { return reviews + "/" + campaign + "/complete" }, as: admin, body: "go=1", want: []string{"access_review.complete"}},
		{method: "GET", path: func() string { return reviews + "/" + campaign + "/export?format=csv" }, as: admin, want: []string{"access_review.export"}},
	}
	for _, s := range steps {
		req := testkit.Request{Method: s.method, Path: s.path(), Header: map[string]string{"Cookie": cookieOf(s.as)}}
		if s.method == "POST" {
			req.Body, req.ContentType = s.body, "application/x-www-form-urlencoded"
		}
		r := srv.Do(t, req)
		if r.Status != http.StatusOK {
			t.Errorf("%s %s: status %d", s.method, req.Path, r.Status)
		}
		var got, more []string
		more, orgSeq = actionsAfter(t, srv.Store, org, orgSeq)
		got = append(got, more...)
		more, platSeq = actionsAfter(t, srv.Store, strongroom.PlatformTenant, platSeq)
		got = append(got, more...)
		for _, w := range s.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s %s: audit events %v, want %s", s.method, req.Path, got, w)
			}
		}
		if s.not != "" && slices.Contains(got, s.not) {
			t.Errorf("%s %s: audit events %v, want no %s", s.method, req.Path, got, s.not)
		}
		// What the next steps need.
		ctx := context.Background()
		if err := srv.Store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
			ws, err := tx.MaintenanceEndingAfter(ctx, time.Now())
			if len(ws) > 0 {
				window = ws[0].ID
			}
			if err != nil {
				return err
			}
			ps, err := tx.PolicyChanges(ctx)
			if len(ps) > 0 {
				change = ps[0].ID
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := srv.Store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
			cs, err := tx.ReviewCampaigns(ctx)
			if len(cs) > 0 {
				campaign = cs[0].ID
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMaintenanceEditStartedWindow: a window in progress shows its start
// read-only; saving the form as filled keeps the exact start (set to the
// second, which the form cannot show) and moves the end; another start is
// refused beside the field and nothing changes.
func TestMaintenanceEditStartedWindow(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	op := operatorSession(t, srv, "op@example.com")
	ctx := context.Background()
	start := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Second)
	if start.Second() == 0 {
		start = start.Add(-17 * time.Second) // a time the minute-precision form cannot show
	}
	w := strongroom.StatusMaintenance{ID: "01900000-0000-7000-8000-000000000001", Title: "Upgrade", Body: "Under way.", Components: []string{"api"},
		StartsAt: start, EndsAt: start.Add(time.Hour), CreatedAt: start.Add(-time.Hour)}
	if err := srv.Store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error { return tx.CreateMaintenance(ctx, &w) }); err != nil {
		t.Fatal(err)
	}
	stored := func() strongroom.StatusMaintenance {
		t.Helper()
		var m *strongroom.StatusMaintenance
		if err := srv.Store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
			var err error
			m, err = tx.Maintenance(ctx, w.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return *m
	}
	cookie := map[string]string{"Cookie": cookieOf(op)}
	path := "/operator/status/maintenance/" + w.ID
	page := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: path + "/edit", Header: cookie}), http.StatusOK)
	filled := start.Format("2006-01-02T15:04")
	if !strings.Contains(string(page.Body), `name="starts_at" type="datetime-local" value="`+filled+`" readonly`) {
		t.Errorf("the start is not shown read-only as %s:\n%.3000s", filled, page.Body)
	}
	at := func(t time.Time) string { return url.QueryEscape(t.Format("2006-01-02T15:04")) }
	form := "title=Upgrade&body=Under+way.&components=api&starts_at="
	send := func(body string) testkit.Response {
		return srv.Do(t, testkit.Request{Method: "POST", Path: path, Body: body, ContentType: "application/x-www-form-urlencoded", Header: cookie})
	}
	r := send(form + at(start.Add(time.Minute)) + "&ends_at=" + at(start.Add(2*time.Hour)))
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `id="m-starts_at-error">The window has started`) {
		t.Errorf("a new start for a started window: status %d\n%.3000s", r.Status, r.Body)
	}
	if got := stored(); !got.EndsAt.Equal(w.EndsAt) || !got.StartsAt.Equal(start) {
		t.Errorf("a refused edit changed the window: %+v", got)
	}
	testkit.MustStatus(t, send(form+url.QueryEscape(filled)+"&ends_at="+at(start.Add(2*time.Hour))), http.StatusOK)
	if got := stored(); !got.StartsAt.Equal(start) || !got.EndsAt.Equal(start.Add(2*time.Hour).Truncate(time.Minute)) {
		t.Errorf("after moving the end: %s to %s, want %s to %s", got.StartsAt, got.EndsAt, start, start.Add(2*time.Hour).Truncate(time.Minute))
	}
}
