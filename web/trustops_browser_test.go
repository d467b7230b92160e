package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/status"
	"strongroom.dev/strongroom/store"
)

// seedStatusHistory records ten days of probe results for every component,
// the last an hour ago on the API, so the pages have uptime to show.
func seedStatusHistory(t *testing.T, srv *testkit.Server) {
	t.Helper()
	ctx := context.Background()
	today := status.Day(time.Now())
	err := srv.Store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		for d := today - 9; d <= today; d++ {
			for _, c := range status.Components {
				state := "operational"
				if c == status.Storage && d == today-3 {
					state = "degraded"
				}
				at := status.DayStart(d)
				if d == today {
					at = time.Now()
				}
				if err := tx.RecordStatus(ctx, strongroom.StatusComponent{Component: c, State: state, Detail: "answering", CheckedAt: at}, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConsoleStatusOps: an operator schedules a maintenance window (an end
// before the start refused beside the field first, nothing written), posts
// a status update, cancels a second window; the public status page shows
// the window and the update, and not the cancelled window.
func TestConsoleStatusOps(t *testing.T) {
	srv := consoleServer(t)
	seedStatusHistory(t, srv)
	op := srv.Signup(t, "stella@example.com", "Ops")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, op.Email, "correct horse battery staple", "#org-id")
	becomeOperator(t, srv, b, op.Email)
	b.submit(`nav a[href="/operator"]`, ".op-links")
	b.submit(`.op-links a[href="/operator/status"]`, "#no-maintenance")
	if got := b.text("#subscribers"); !strings.HasPrefix(got, "0 confirmed subscribers") {
		t.Errorf("subscribers: %q", got)
	}

	start := time.Now().UTC().Add(3 * time.Hour).Truncate(time.Minute)
	local := func(t time.Time) string { return t.Format("2006-01-02T15:04") }
	b.fill("title", "Database upgrade")
	b.set("#m-body", "Sign-in and the API pause for up to ten minutes.", "#m-starts_at", local(start), "#m-ends_at", local(start.Add(-time.Hour)))
	b.do(chromedp.Click("#m-comp-api"), chromedp.Click("#m-comp-sign-in"))
	b.submit("#schedule-maintenance", "#m-ends_at-error")
	if n := platformCounts(t, srv); n[0] != 0 {
		t.Fatalf("a refused window was written: %v", n)
	}
	b.waitJS(`document.querySelector("#m-comp-api").checked && document.querySelector("#m-title").value === "Database upgrade"`) // kept
	b.set("#m-ends_at", local(start.Add(time.Hour)))
	b.submit("#schedule-maintenance", ".flash")
	b.waitJS(`document.querySelector("#m-body").value === "" && document.querySelector("#u-body").value === "" && document.querySelector("#m-title").value === ""`) // forms empty again
	if got := b.text(".maintenance-ops"); !strings.Contains(got, "Database upgrade") || !strings.Contains(got, "scheduled") || !strings.Contains(got, "Sign-in") {
		t.Errorf("windows: %q", got)
	}

	// A second window, cancelled.
	b.set("#m-title", "Storage migration", "#m-body", "Files read-only.", "#m-starts_at", local(start.Add(24*time.Hour)), "#m-ends_at", local(start.Add(25*time.Hour)))
	b.do(chromedp.Click("#m-comp-storage"))
	b.submit("#schedule-maintenance", ".flash")
	b.submit(`button[aria-label="Cancel the window Storage migration"]`, ".flash")
	if got := b.text(".maintenance-ops"); !strings.Contains(got, "cancelled") {
		t.Errorf("after the cancel: %q", got)
	}

	// Edit the first window: two hours later, with E-mail too; an end
	// before the start is refused beside the field first, values kept.
	b.submit(`a[aria-label="Edit the window Database upgrade"]`, "#save-maintenance")
	b.waitJS(fmt.Sprintf(`document.querySelector("#m-title").value === "Database upgrade" && document.querySelector("#m-comp-sign-in").checked &&
		!document.querySelector("#m-comp-email").checked && document.querySelector("#m-starts_at").value === %q`, local(start)))
	moved := start.Add(2 * time.Hour)
	b.set("#m-starts_at", local(moved), "#m-ends_at", local(moved.Add(-time.Hour)))
	b.do(chromedp.Click("#m-comp-email"))
	b.submit("#save-maintenance", "#m-ends_at-error")
	b.waitJS(fmt.Sprintf(`document.querySelector("#m-starts_at").value === %q && document.querySelector("#m-comp-email").checked`, local(moved)))
	b.set("#m-ends_at", local(moved.Add(90*time.Minute)))
	b.shot("status-maintenance-edit")
	b.submit("#save-maintenance", ".flash")
	if got := b.text(".maintenance-ops"); !strings.Contains(got, moved.Format("2 Jan 2006, 15:04 UTC")) || !strings.Contains(got, "E-mail") {
		t.Errorf("windows after the edit: %q", got)
	}

	// A status update.
	b.set("#u-title", "Slow sign-in", "#u-body", "Sign-in takes up to 20 seconds; we are looking into it.", "#u-state", "identified")
	b.do(chromedp.Click("#u-comp-sign-in"))
	b.submit("#post-update", ".flash")
	if got := b.text("#updates"); !strings.Contains(got, "Slow sign-in") || !strings.Contains(got, "identified") {
		t.Errorf("updates: %q", got)
	}
	b.shot("status-operator")

	// The public page.
	b.open("/status")
	b.waitJS(`!!document.querySelector("#upd-h")`)
	page := b.text("main")
	for _, want := range []string{"Database upgrade", "Sign-in and the API pause", "Slow sign-in", "identified",
		moved.Format("2 Jan 2006, 15:04 UTC") + " to " + moved.Add(90*time.Minute).Format("2 Jan 2006, 15:04 UTC")} {
		if !strings.Contains(page, want) {
			t.Errorf("/status does not show %q", want)
		}
	}
	if strings.Contains(page, "Storage migration") {
		t.Error("/status shows the cancelled window")
	}
}

// TestConsoleAccessReview: an Admin opens a review campaign (members
// privileged first), revokes a Viewer (the revoke asks first, and the
// question alone changes nothing), keeps an Editor, completes the campaign
// (refused while an entry is undecided) and downloads its evidence; the
// Viewer's next request is refused. A Viewer cannot reach the reviews.
func TestConsoleAccessReview(t *testing.T) {
	srv := consoleServer(t)
	admin := srv.Signup(t, "ria@example.com", "Reviewed Ltd")
	viewer := srv.Signup(t, "vera@example.com", "Vera's own")
	addMember(t, srv, admin.OrgID, viewer, strongroom.RoleViewer)
	editor := srv.Signup(t, "ed@example.com", "Ed's own")
	addMember(t, srv, admin.OrgID, editor, strongroom.RoleEditor)
	orgPage := testkit.Request{Method: "GET", Path: "/orgs/" + admin.OrgID, Header: map[string]string{"Cookie": cookieOf(viewer)}}
	testkit.MustStatus(t, srv.Do(t, orgPage), http.StatusOK)
	if r := srv.Do(t, testkit.Request{Method: "GET", Path: "/orgs/" + admin.OrgID + "/access-reviews", Header: map[string]string{"Cookie": cookieOf(viewer)}}); r.Status != http.StatusForbidden {
		t.Errorf("a Viewer reads the reviews: %d", r.Status)
	}

	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, admin.Email, "correct horse battery staple", "#org-id")
	b.submit(`nav a[href="/orgs/`+admin.OrgID+`/access-reviews"]`, "#no-reviews")
	b.submit("#open-review", ".flash")
	rows := b.text(".review-entries tbody")
	if i, j, k := strings.Index(rows, admin.Email), strings.Index(rows, editor.Email), strings.Index(rows, viewer.Email); i < 0 || !(i < j && j < k) {
		t.Errorf("not privileged first: %q", rows)
	}
	b.shot("review")

	// Revoke asks first; going back keeps the member.
	b.set("#note-"+viewer.UserID, "Left the project in October")
	b.submit(`button[aria-label="Revoke `+viewer.Email+`"]`, "#confirm-revoke")
	if got := b.text("#revoke-consequence"); !strings.Contains(got, viewer.Email) || !strings.Contains(got, "removed") {
		t.Errorf("confirmation: %q", got)
	}
	b.shot("review-revoke")
	campaign := strings.TrimPrefix(b.attr(`form[action*="/entries/"]`, "action"), "/orgs/"+admin.OrgID+"/access-reviews/")
	campaign, _, _ = strings.Cut(campaign, "/")
	if d := reviewDecision(t, srv, strongroom.TenantID(admin.OrgID), campaign, viewer.UserID); d != "" {
		t.Fatalf("the question alone recorded %q", d)
	}
	testkit.MustStatus(t, srv.Do(t, orgPage), http.StatusOK)
	b.submit("#confirm-revoke", ".flash")
	if got := b.text("#entry-" + viewer.UserID); !strings.Contains(got, "revoked") || !strings.Contains(got, "Left the project") {
		t.Errorf("the Viewer's row: %q", got)
	}
	if r := srv.Do(t, orgPage); r.Status != http.StatusNotFound {
		t.Errorf("the revoked Viewer's next request: %d, want 404", r.Status)
	}
	if r := srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/orgs/" + admin.OrgID + "/collections", Token: viewer.Token}); r.Status != http.StatusNotFound {
		t.Errorf("the revoked Viewer's API request: %d, want 404", r.Status)
	}

	// Completing needs every decision.
	b.submit("#complete-review", "#form-error")
	if got := b.text("#form-error"); !strings.Contains(got, "not decided") {
		t.Errorf("incomplete: %q", got)
	}
	b.submit(`button[aria-label="Keep `+editor.Email+`"]`, ".flash")
	b.submit("#complete-review", "#review-export")
	if got := b.text("#entry-" + admin.UserID); !strings.Contains(got, "not independently reviewed") {
		t.Errorf("the only Admin's own row: %q", got)
	}
	b.shot("review-completed")
	csv := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: b.attr(`#review-export a[href$="format=csv"]`, "href"),
		Header: map[string]string{"Cookie": cookieOf(admin)}}), http.StatusOK)
	if body := string(csv.Body); !strings.Contains(body, viewer.Email) || !strings.Contains(body, ",revoke,") || !strings.Contains(body, "keep_unreviewed") {
		t.Errorf("CSV evidence:\n%s", body)
	}
	js := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: b.attr(`#review-export a:not([href$="format=csv"])`, "href"),
		Header: map[string]string{"Cookie": cookieOf(admin)}}), http.StatusOK).JSON(t)
	if js["status"] != "completed" || len(js["entries"].([]any)) != 3 {
		t.Errorf("JSON evidence: %v", js)
	}
	b.submit(`.crumbs a`, "table.reviews")
	if got := b.text("table.reviews"); !strings.Contains(got, "completed") || !strings.Contains(got, "3 of 3 decided") {
		t.Errorf("campaigns: %q", got)
	}
	b.shot("reviews")
}

// TestConsoleOperatorReview: an operator reviews the operator accounts and
// revokes another operator, who is refused operator pages at once.
func TestConsoleOperatorReview(t *testing.T) {
	srv := consoleServer(t)
	other := operatorSession(t, srv, "otto@example.com")
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: "/operator", Header: map[string]string{"Cookie": cookieOf(other)}}), http.StatusOK)
	op := srv.Signup(t, "opal@example.com", "Ops")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, op.Email, "correct horse battery staple", "#org-id")
	becomeOperator(t, srv, b, op.Email)
	b.open("/operator/access-reviews")
	b.submit("#open-review", ".flash")
	b.submit(`button[aria-label="Revoke `+other.Email+`"]`, "#confirm-revoke")
	if got := b.text("#revoke-consequence"); !strings.Contains(got, "stops being an operator") {
		t.Errorf("confirmation: %q", got)
	}
	b.submit("#confirm-revoke", ".flash")
	if r := srv.Do(t, testkit.Request{Method: "GET", Path: "/operator", Header: map[string]string{"Cookie": cookieOf(other)}}); r.Status != http.StatusForbidden {
		t.Errorf("the revoked operator's next operator page: %d, want 403", r.Status)
	}
	b.submit("#complete-review", "#review-export")
	b.shot("operator-review")
}

// TestConsolePolicyChange: an operator publishes a security-policy change
// (a plain http link refused beside the field first, nothing published); an
// Admin of another organization sees it in the console, reads it and
// acknowledges it.
func TestConsolePolicyChange(t *testing.T) {
	srv := consoleServer(t)
	admin := srv.Signup(t, "amy@example.com", "Customer Ltd")
	op := srv.Signup(t, "paul@example.com", "Ops")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, op.Email, "correct horse battery staple", "#org-id")
	becomeOperator(t, srv, b, op.Email)
	b.open("/operator/policy-changes")
	b.waitJS(`!!document.querySelector("#no-policy-changes")`)
	b.fill("title", "Backups are kept for 90 days", "url", "http://strongroom.example/security")
	b.set("#f-summary", "Encrypted backups are now kept for 90 days instead of 30.", "#f-effective_at", time.Now().AddDate(0, 0, 30).Format("2006-01-02"),
		"#f-body", "Section 4.2 now reads: backups are kept for 90 days.")
	b.submit("#publish-policy", "#f-url-error")
	if n := platformCounts(t, srv); n[2] != 0 {
		t.Fatalf("a refused change was published: %v", n)
	}
	b.fill("url", "https://strongroom.example/security")
	b.submit("#publish-policy", ".flash")
	if got := b.text(".policy-changes"); !strings.Contains(got, "Backups are kept for 90 days") || !strings.Contains(got, "from ") {
		t.Errorf("published: %q", got)
	}
	b.shot("policy-operator")

	// The Admin of another organization.
	b.submit(`form[action="/signout"] button`, `a[href="/signin"]`)
	signIn(t, b, admin.Email, "correct horse battery staple", "#org-id")
	b.submit(`nav a[href="/orgs/`+admin.OrgID+`/policy-changes"]`, "table.policy-list")
	if got := b.text("table.policy-list"); !strings.Contains(got, "awaiting acknowledgement") {
		t.Errorf("list: %q", got)
	}
	b.shot("policy-changes")
	b.submit("a.policy-link", "#acknowledge-policy")
	if got := b.text("#policy-body"); !strings.Contains(got, "Section 4.2") {
		t.Errorf("text: %q", got)
	}
	b.submit("#acknowledge-policy", ".flash")
	if got := b.text("#policy-status"); !strings.HasPrefix(got, "acknowledged") || b.count("#acknowledge-policy") != 0 {
		t.Errorf("after acknowledging: %q", got)
	}
	b.shot("policy-change")
}
