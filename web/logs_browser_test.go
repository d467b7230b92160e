package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestConsoleAuditAndAlerts: an Admin filters the audit log by action and
// pages through it, opens an event's details, then acknowledges and resolves
// a security alert; an operator (after enrolling MFA) reads the platform's
// log and alerts from the operator index.
func TestConsoleAuditAndAlerts(t *testing.T) {
	srv := consoleServer(t)
	acct := srv.Signup(t, "alex@example.com", "Audit Co")
	seedRecords(t, srv, acct, 55) // 55 "record.create" events: two pages of 50
	alertID := seedAlert(t, srv, strongroom.TenantID(acct.OrgID))
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, acct.Email, "correct horse battery staple", "#org-id")

	b.submit(`nav a[href$="/audit"]`, "table.audit")
	b.shot("audit")

	// Filter by action: 50 on the first page, 5 on the next, and back.
	b.fill("action", "record.create")
	b.set("#f-result", "success")
	b.submit(`form.audit-filters button[type=submit]`, "#next-page")
	if n := b.count("tr.audit-event"); n != 50 {
		t.Errorf("first page: %d events, want 50", n)
	}
	if got := b.text("table.audit"); strings.Contains(got, "auth.") || strings.Contains(got, "collection.create") {
		t.Error("the filtered page lists other actions")
	}
	b.shot("audit-filtered")
	b.submit("#next-page", "#prev-page")
	if n := b.count("tr.audit-event"); n != 5 {
		t.Errorf("second page: %d events, want 5", n)
	}
	if loc := b.location(); !strings.Contains(loc, "action=record.create") || !strings.Contains(loc, "result=success") {
		t.Errorf("the next page lost the filters: %s", loc)
	}
	b.do(chromedp.Click(`tr.audit-event:first-child details summary`))
	b.waitJS(`document.querySelector("tr.audit-event:first-child details").open`)
	if got := b.text(`tr.audit-event:first-child details`); !strings.Contains(got, "Request") || !strings.Contains(got, "collection") {
		t.Errorf("event details: %q", got)
	}
	b.shot("audit-details")
	b.submit("#prev-page", "#next-page")
	b.submit("#clear-filters", "table.audit")
	if strings.Contains(b.location(), "action=") {
		t.Errorf("clear kept the filters: %s", b.location())
	}

	// The alert: listed as open, acknowledged, then resolved.
	b.submit(`nav a[href$="/alerts"]`, "table.alerts")
	if got := b.text("table.alerts"); !strings.Contains(got, "Mass read") || !strings.Contains(got, "open") {
		t.Errorf("alert list: %q", got)
	}
	b.shot("alerts")
	b.submit(`a.alert-link[href$="/`+alertID+`"]`, "#alert-status")
	if n := b.count("table.evidence tbody tr"); n == 0 {
		t.Error("the alert shows no evidence")
	}
	b.submit("#acknowledge", ".flash")
	if got := b.text("#alert-status"); got != "acknowledged" {
		t.Errorf("status after acknowledging: %q", got)
	}
	b.shot("alert")
	if st := alertStatus(t, srv, strongroom.TenantID(acct.OrgID), alertID); st != strongroom.AlertAcknowledged {
		t.Errorf("stored status %s", st)
	}
	b.submit("#resolve", ".flash")
	if got := b.text("#alert-status"); got != "resolved" || b.count("#resolve") != 0 {
		t.Errorf("after resolving: status %q, resolve button %d", got, b.count("#resolve"))
	}
	b.open("/orgs/" + acct.OrgID + "/alerts?status=open")
	b.waitJS(`!!document.querySelector("#no-alerts")`)

	// The operator's pages, after enrolling a second factor.
	if err := srv.Service.SetOperator(t.Context(), acct.Email, true); err != nil {
		t.Fatal(err)
	}
	b.open("/operator")
	if loc := b.location(); loc != "/account/mfa" {
		t.Fatalf("an operator without MFA is at %s, want /account/mfa", loc)
	}
	b.submit(`form[action="/account/mfa/totp"] button`, "#totp-secret")
	b.fill("code", totpCode(t, b.text("#totp-secret"), time.Now()))
	b.submit(`form[action="/account/mfa/totp/confirm"] button`, "#recovery-codes")
	b.submit(`nav a[href="/operator"]`, ".op-links")
	b.shot("operator")
	b.submit(`.op-links a[href="/operator/audit"]`, "table.audit")
	if got := b.text("table.audit"); !strings.Contains(got, "auth.signin.password") {
		t.Errorf("the platform log does not show the operator's own reads: %.300q", got)
	}
	b.shot("operator-audit")
	// The browser's own sign-in was a new device: a platform alert.
	b.submit(`nav a[href="/operator"]`, ".op-links")
	b.submit(`.op-links a[href="/operator/alerts"]`, "main h1")
	if got := b.text("main"); !strings.Contains(got, "New device") {
		t.Errorf("platform alerts: %q", got)
	}
	b.shot("operator-alerts")
}

// TestConsoleBreachNotice: an Admin sees the breach banner on the
// organization's pages, reads the notice's five elements and acknowledges
// it; the banner goes.
func TestConsoleBreachNotice(t *testing.T) {
	srv := consoleServer(t)
	acct := srv.Signup(t, "nora@example.com", "Notice Co")
	id := seedNotice(t, srv, strongroom.TenantID(acct.OrgID))
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, acct.Email, "correct horse battery staple", "#breach-banner")
	b.shot("breach-banner")
	b.submit(`#breach-banner a`, "table.notices")
	b.shot("notices")
	b.submit(`a.notice-link[href$="/`+id+`"]`, ".notice-elements")
	if got := b.text(".notice-elements"); !strings.Contains(got, "Point of contact") || !strings.Contains(got, "misconfigured backup bucket") {
		t.Errorf("notice: %q", got)
	}
	b.submit("#acknowledge-notice", ".flash")
	if got := b.text("#notice-status"); !strings.HasPrefix(got, "acknowledged") {
		t.Errorf("status after acknowledging: %q", got)
	}
	if b.count("#breach-banner") != 0 {
		t.Error("the banner stays after the acknowledgement")
	}
	b.shot("notice")
	if !noticeAcknowledged(t, srv, strongroom.TenantID(acct.OrgID), id) {
		t.Error("not acknowledged in the store")
	}
}

// TestConsoleDSRRestrict: an Admin finds a person's record through a
// searchable field, confirms, and restricts it; the request shows as
// completed and the record is restricted.
func TestConsoleDSRRestrict(t *testing.T) {
	srv := consoleServer(t)
	acct := srv.Signup(t, "dora@example.com", "Privacy Co")
	ids := seedRecords(t, srv, acct, 3)
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, acct.Email, "correct horse battery staple", "#org-id")
	b.submit(`nav a[href$="/requests"]`, "#no-requests")
	b.set("#f-kind", "restrict")
	b.fill("field0", "email", "value0", "p02@example.com")
	b.shot("requests")
	b.submit(`form.dsr-form button[type=submit]`, "table.matches")
	if got := b.text("table.matches"); !strings.Contains(got, ids[2]) || strings.Contains(got, ids[0]) {
		t.Errorf("matches: %q", got)
	}
	// Without the confirmation nothing happens.
	b.submit("#execute", "#f-confirm-error")
	b.do(chromedp.Click("#f-confirm"))
	b.submit("#execute", ".flash")
	if got := b.text("#request-status"); !strings.HasPrefix(got, "completed") || !strings.Contains(got, "1 record") {
		t.Errorf("status: %q", got)
	}
	b.shot("request")
	var restricted bool
	err := srv.Store.Read(t.Context(), store.TenantScope(strongroom.TenantID(acct.OrgID)), func(tx *store.Tx) error {
		colls, err := tx.Collections(t.Context())
		if err != nil || len(colls) != 1 {
			return err
		}
		rec, err := tx.Record(t.Context(), colls[0].ID, strongroom.RecordID(ids[2]), strongroom.Visibility{All: true, Restricted: true})
		if rec != nil {
			restricted = rec.Restricted
		}
		return err
	})
	if err != nil || !restricted {
		t.Errorf("the record is not restricted (%v)", err)
	}

	// The collection's own retention, from its schema page.
	b.open("/orgs/" + acct.OrgID + "/collections/people/schema")
	b.submit("#retention-link", "#save-retention")
	b.do(chromedp.Click("#mode-own"))
	b.fill("retention_days", "365")
	b.set("#f-retention_from", "updated")
	b.submit("#save-retention", ".flash")
	if got := b.text("#retention-now"); !strings.Contains(got, "365 days after their last change") {
		t.Errorf("retention: %q", got)
	}
	b.shot("retention")
}

// TestConsoleTerminationWalk: from the settings page an Admin terminates the
// organization by typing its name, sees the certificate token once, and
// cancels within the window.
func TestConsoleTerminationWalk(t *testing.T) {
	srv := consoleServer(t)
	acct := srv.Signup(t, "tess@example.com", "Short Lived")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, acct.Email, "correct horse battery staple", "#org-id")
	b.submit(`nav a[href$="/settings"]`, "#retention")
	b.submit("#termination-link", "#terminate")
	b.fill("confirm", "short lived")
	b.submit("#terminate", "#f-confirm-error")
	b.fill("confirm", "Short Lived")
	b.shot("termination-confirm")
	b.submit("#terminate", "#certificate-token")
	if got := b.text("#certificate-token"); !strings.HasPrefix(got, "srd_") {
		t.Errorf("token %q", got)
	}
	b.shot("termination")
	// During the window the export page still works, reached from here.
	b.open("/orgs/" + acct.OrgID + "/termination")
	b.submit(`a[href$="/export"]`, "#export-org")
	b.do(chromedp.Click("#mode-recipient"))
	b.fill("recipient", "age1nope")
	b.submit("#export-org", "#f-recipient-error")
	b.shot("export")
	b.open("/orgs/" + acct.OrgID + "/termination")
	b.submit("#cancel-termination", ".flash")
	if b.count("#terminate") != 1 {
		t.Error("after cancelling, the page does not offer termination again")
	}
}
