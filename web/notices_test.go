package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/incident"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// seedNotice writes a breach notice into tenant's console, as
// Service.NotifyBreach does, and returns its id.
func seedNotice(t *testing.T, srv *testkit.Server, tenant strongroom.TenantID) string {
	t.Helper()
	contents, err := json.Marshal(incident.Notice{
		Nature:       "A misconfigured backup bucket was readable from the internet for six hours.",
		DataAffected: "Names and e-mail addresses in the collection \"customers\" (about 1,200 records).",
		LikelyImpact: "Phishing e-mails addressed to the people concerned.",
		Mitigation:   "The bucket was closed, the keys rotated, and access logs reviewed: no download by a third party was found.",
		Contact:      "security@strongroom.example, +44 20 7946 0000",
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(70 * time.Hour)
	n := strongroom.IncidentNotice{ID: uuid.Must(uuid.NewV7()).String(), IncidentID: uuid.Must(uuid.NewV7()).String(), Kind: "breach",
		Title: "Personal-data breach: exposed backup bucket", Contents: string(contents), Deadline: &deadline, SentAt: time.Now()}
	err = srv.Store.Write(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error { return tx.CreateNotice(context.Background(), &n) })
	if err != nil {
		t.Fatal(err)
	}
	return n.ID
}

func noticeAcknowledged(t *testing.T, srv *testkit.Server, tenant strongroom.TenantID, id string) bool {
	t.Helper()
	var acked bool
	err := srv.Store.Read(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
		n, err := tx.Notice(context.Background(), id)
		if n != nil {
			acked = n.AcknowledgedAt != nil
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return acked
}

// TestNoticeBanner: an unacknowledged breach notice puts a banner on every
// page of the organization for its Admins (not for a Viewer, not in another
// organization); acknowledging it removes the banner and is audited in the
// organization's log. On both engines (the count reads the notices under
// PostgreSQL's row-level security).
func TestNoticeBanner(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) { testNoticeBanner(t, testkit.NewServer(t, e.Open(t), httpapi.Options{})) })
	}
}

func testNoticeBanner(t *testing.T, srv *testkit.Server) {
	acct := srv.Signup(t, "admin@example.com", "Breached Ltd")
	other := srv.Signup(t, "other@example.com", "Unaffected Ltd")
	viewer := srv.Signup(t, "viewer@example.com", "Viewer's own")
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + acct.OrgID + "/members", Token: acct.Token,
		Body: map[string]string{"email": viewer.Email, "role": "viewer"}}), 201)
	org := "/orgs/" + acct.OrgID
	if _, body := page(t, srv, acct.Token, org); strings.Contains(body, "breach-banner") {
		t.Fatal("a banner without a notice")
	}
	id := seedNotice(t, srv, strongroom.TenantID(acct.OrgID))
	for _, p := range []string{org, org + "/members", org + "/settings", org + "/audit"} {
		if st, body := page(t, srv, acct.Token, p); st != 200 || !strings.Contains(body, `id="breach-banner"`) {
			t.Errorf("%s: status %d, banner %v", p, st, strings.Contains(body, "breach-banner"))
		}
	}
	if _, body := page(t, srv, viewer.Token, org); strings.Contains(body, "breach-banner") {
		t.Error("a Viewer sees the banner")
	}
	if _, body := page(t, srv, other.Token, "/orgs/"+other.OrgID); strings.Contains(body, "breach-banner") {
		t.Error("another organization sees the banner")
	}
	st, body := page(t, srv, acct.Token, org+"/notices/"+id)
	if st != 200 {
		t.Fatalf("notice: status %d", st)
	}
	for _, want := range []string{"Nature of the breach", "misconfigured backup bucket", "Data affected", "Likely impact", "Mitigation taken or planned", "Point of contact", "security@strongroom.example", `id="acknowledge-notice"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the notice page lacks %q", want)
		}
	}
	_, seq := actionsAfter(t, srv.Store, strongroom.TenantID(acct.OrgID), 0)
	r := srv.Do(t, testkit.Request{Method: "POST", Path: org + "/notices/" + id + "/acknowledge", Body: "ack=1", ContentType: "application/x-www-form-urlencoded",
		Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}})
	if r.Status != 200 || !strings.Contains(string(r.Body), `<span class="badge ok">acknowledged</span>`) { // after the redirect
		t.Fatalf("acknowledge: status %d %.300s", r.Status, r.Body)
	}
	if acts, _ := actionsAfter(t, srv.Store, strongroom.TenantID(acct.OrgID), seq); !containsString(acts, "notice.acknowledge") {
		t.Errorf("actions after acknowledging: %v", acts)
	}
	if _, body := page(t, srv, acct.Token, org); strings.Contains(body, "breach-banner") {
		t.Error("the banner stays after the acknowledgement")
	}
}

// TestNoticePagesBadInput: unknown, foreign and forged notices answer 404, a
// Viewer cannot acknowledge, a notice is acknowledged once, and nothing
// changes.
func TestNoticePagesBadInput(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "admin@example.com", "Notices Ltd")
	other := srv.Signup(t, "other@example.com", "Other Ltd")
	viewer := srv.Signup(t, "viewer@example.com", "Viewer's own")
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + acct.OrgID + "/members", Token: acct.Token,
		Body: map[string]string{"email": viewer.Email, "role": "viewer"}}), 201)
	mine := seedNotice(t, srv, strongroom.TenantID(acct.OrgID))
	theirs := seedNotice(t, srv, strongroom.TenantID(other.OrgID))
	org := "/orgs/" + acct.OrgID
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, method, path, ct, body, token string
		want                                int
	}{
		{name: "unknown notice", path: org + "/notices/nope", want: 404},
		{name: "another org's notice here", path: org + "/notices/" + theirs, want: 404},
		{name: "another org's notices", path: "/orgs/" + other.OrgID + "/notices", want: 404},
		{name: "viewer lists", path: org + "/notices", token: viewer.Token, want: 403},
		{name: "acknowledge another org's notice", method: "POST", path: org + "/notices/" + theirs + "/acknowledge", ct: form, want: 404},
		{name: "acknowledge unknown", method: "POST", path: org + "/notices/nope/acknowledge", ct: form, want: 404},
		{name: "acknowledge as viewer", method: "POST", path: org + "/notices/" + mine + "/acknowledge", ct: form, token: viewer.Token, want: 403},
		{name: "acknowledge as JSON", method: "POST", path: org + "/notices/" + mine + "/acknowledge", ct: "application/json", body: "{}", want: 415},
		{name: "acknowledge oversized", method: "POST", path: org + "/notices/" + mine + "/acknowledge", ct: form, body: "x=" + strings.Repeat("y", 70<<10), want: 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method, token := c.method, c.token
			if method == "" {
				method = "GET"
			}
			if token == "" {
				token = acct.Token
			}
			r := srv.Do(t, testkit.Request{Method: method, Path: c.path, Body: c.body, ContentType: c.ct, Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + token}})
			if r.Status != c.want || !strings.Contains(string(r.Body), `role="alert"`) {
				t.Errorf("status %d, want %d with an explanation: %.500s", r.Status, c.want, r.Body)
			}
			if noticeAcknowledged(t, srv, strongroom.TenantID(acct.OrgID), mine) || noticeAcknowledged(t, srv, strongroom.TenantID(other.OrgID), theirs) {
				t.Error("a notice was acknowledged")
			}
		})
	}
	cookie := map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: org + "/notices/" + mine + "/acknowledge", Body: "ack=1", ContentType: form, Header: cookie}), 200)
	if r := srv.Do(t, testkit.Request{Method: "POST", Path: org + "/notices/" + mine + "/acknowledge", Body: "ack=1", ContentType: form, Header: cookie}); r.Status != 409 {
		t.Errorf("second acknowledgement: status %d, want 409", r.Status)
	}
}
