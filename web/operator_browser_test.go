package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// becomeOperator makes the signed-in user of b an operator and enrols TOTP,
// as operator pages require.
func becomeOperator(t *testing.T, srv *testkit.Server, b *tab, email string) {
	t.Helper()
	if err := srv.Service.SetOperator(t.Context(), email, true); err != nil {
		t.Fatal(err)
	}
	b.open("/operator")
	if loc := b.location(); loc != "/account/mfa" {
		t.Fatalf("an operator without MFA is at %s, want /account/mfa", loc)
	}
	b.submit(`form[action="/account/mfa/totp"] button`, "#totp-secret")
	b.fill("code", totpCode(t, b.text("#totp-secret"), time.Now()))
	b.submit(`form[action="/account/mfa/totp/confirm"] button`, "#recovery-codes")
}

func incidentCount(t *testing.T, srv *testkit.Server) int {
	t.Helper()
	n := 0
	err := srv.Store.Read(context.Background(), store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		list, err := tx.Incidents(context.Background(), time.Time{})
		n = len(list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIncidentPagesRefused: operator pages refuse a signed-in non-operator,
// for reads and writes, and write nothing.
func TestIncidentPagesRefused(t *testing.T) {
	srv := consoleServer(t)
	acct := srv.Signup(t, "nobody@example.com", "Not Ops")
	cookie := map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}
	form := "application/x-www-form-urlencoded"
	id := "01a1fe00-0000-7000-8000-000000000000"
	for _, p := range []struct{ method, path, body string }{
		{"GET", "/operator/incidents", ""},
		{"GET", "/operator/incidents/" + id, ""},
		{"POST", "/operator/incidents", "title=Fake&kind=security&severity=low"},
		{"POST", "/operator/incidents/" + id + "/updates", "note=x"},
		{"POST", "/operator/incidents/" + id + "/organizations", "organizations=" + acct.OrgID},
		{"POST", "/operator/incidents/" + id + "/notices", "nature=a&data_affected=b&likely_impact=c&mitigation=d&contact=e"},
		{"POST", "/operator/incidents/" + id + "/report", "report=x"},
	} {
		req := testkit.Request{Method: p.method, Path: p.path, Header: cookie}
		if p.body != "" {
			req.Body, req.ContentType = p.body, form
		}
		if r := srv.Do(t, req); r.Status != 403 || !strings.Contains(string(r.Body), `role="alert"`) {
			t.Errorf("%s %s: status %d, want 403 with an explanation", p.method, p.path, r.Status)
		}
	}
	if n := incidentCount(t, srv); n != 0 {
		t.Errorf("%d incidents written", n)
	}
}

// TestConsoleIncident: an operator opens a personal-data breach incident
// (first with mistakes, named beside their fields, nothing written), moves it
// to the next phase with a note, is refused an incomplete breach notice, then
// sends a complete one, which the affected organization's Admin sees.
func TestConsoleIncident(t *testing.T) {
	srv := consoleServer(t)
	op := srv.Signup(t, "olga@example.com", "Platform Ops")
	affected := srv.Signup(t, "amir@example.com", "Affected Ltd")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, op.Email, "correct horse battery staple", "#org-id")
	becomeOperator(t, srv, b, op.Email)
	b.submit(`nav a[href="/operator"]`, ".op-links")
	b.submit(`.op-links a[href="/operator/incidents"]`, "#no-incidents")

	// Mistakes: no title, an organization that does not exist.
	b.fill("title", "")
	b.set("#f-organizations", "01a1fe00-0000-7000-8000-000000000000")
	b.submit("#open-incident", "#f-title-error")
	b.waitJS(`document.querySelector("#f-organizations").value === "01a1fe00-0000-7000-8000-000000000000"`) // kept after the error
	b.fill("title", "Backup bucket readable from the internet")
	b.submit("#open-incident", "#f-organizations-error")
	if got := b.text("#f-organizations-error"); !strings.Contains(got, "No such organization") {
		t.Errorf("organizations error: %q", got)
	}
	if n := incidentCount(t, srv); n != 0 {
		t.Fatalf("a refused form wrote %d incidents", n)
	}
	b.set("#f-severity", "high", "#f-organizations", affected.OrgID, "#f-note", "Found by the weekly configuration scan.")
	b.do(chromedp.Click("#f-personal_data_breach"))
	b.shot("incidents")
	b.submit("#open-incident", "#incident-phase")
	if got := b.text("#incident-phase"); got != "identify" {
		t.Errorf("phase %q", got)
	}

	// The next phase, with a note.
	b.set("#f-note", "Bucket policy closed; keys rotated.", "#f-phase", "contain")
	b.submit(`#update-form button[type=submit]`, ".flash")
	if got := b.text("#incident-phase"); got != "contain" || !strings.Contains(b.text(".timeline"), "keys rotated") {
		t.Errorf("after the update: phase %q", got)
	}

	// An incomplete notice is refused, element by element; then sent.
	b.set("#f-nature", "A backup bucket was readable for six hours.")
	b.submit(`#notice-form button[type=submit]`, "#f-data_affected-error")
	if b.count("#f-contact-error") != 1 || b.count("#f-nature-error") != 0 {
		t.Error("the refused notice does not name exactly the missing elements")
	}
	b.set("#f-data_affected", "Names and e-mail addresses of about 1,200 customers.", "#f-likely_impact", "Phishing.",
		"#f-mitigation", "Closed, rotated, logs reviewed.", "#f-contact", "security@strongroom.example")
	b.submit(`#notice-form button[type=submit]`, ".flash")
	if got := b.text(".orgs"); !strings.Contains(got, "notified") {
		t.Errorf("organizations after the notice: %q", got)
	}
	b.shot("incident")

	// The affected organization's Admin sees the banner.
	r := srv.Do(t, testkit.Request{Method: "GET", Path: "/orgs/" + affected.OrgID, Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + affected.Token}})
	if !strings.Contains(string(r.Body), `id="breach-banner"`) {
		t.Errorf("the affected Admin sees no banner (status %d)", r.Status)
	}
}

// TestConsoleBackups: an operator sees the recorded backup and its restore
// drill, newest first; a server without backups says how to configure them.
func TestConsoleBackups(t *testing.T) {
	ctx := context.Background()
	src := testkit.OpenSQLiteStore(t)
	loc := testkit.OpenBackupLocation(t)
	id, _ := age.GenerateX25519Identity()
	when := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	idx, err := loc.Put(ctx, src, nil, []age.Recipient{id.Recipient()}, when)
	if err != nil {
		t.Fatal(err)
	}
	st := testkit.OpenSQLiteStore(t)
	if err := backup.RecordBackup(ctx, st, loc, when, when.Add(time.Minute), idx, nil); err != nil {
		t.Fatal(err)
	}
	if err := backup.RecordDrill(ctx, st, loc, when.Add(time.Hour), &backup.DrillResult{Backup: idx.Name, StartedAt: when.Add(time.Hour),
		Duration: 1500 * time.Millisecond, Tables: 20, Rows: 3, Chains: 1, Events: 12, OK: true}, nil); err != nil {
		t.Fatal(err)
	}
	srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{Service: func(u string, cfg *service.Config) {
		cfg.BackupLocation = loc.String()
	}})
	op := srv.Signup(t, "bea@example.com", "Ops")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, op.Email, "correct horse battery staple", "#org-id")
	becomeOperator(t, srv, b, op.Email)
	b.submit(`nav a[href="/operator"]`, ".op-links")
	b.submit(`.op-links a[href="/operator/backups"]`, "table.backups")
	if got := b.text("table.backups"); !strings.Contains(got, idx.Name) || !strings.Contains(got, idx.ArchiveSHA256) {
		t.Errorf("backups: %q", got)
	}
	if got := b.text("#last-drill"); !strings.Contains(got, "passed") || !strings.Contains(got, idx.Name) {
		t.Errorf("last drill: %q", got)
	}
	b.shot("backups")

	// Back up now: the backup runs, the page follows it to its end and lists
	// it, naming who started it.
	sched, err := backup.NewScheduler(backup.SchedulerConfig{Store: st, Source: st, Location: loc, Recipients: []age.Recipient{id.Recipient()},
		Every: 24 * time.Hour, Holder: "console-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sched.Close)
	srv.Service.OnBackupNow(sched)
	b.open("/operator/backups")
	if n := b.count("#backup-run progress"); n != 0 {
		t.Errorf("a progress bar before any run: %d", n)
	}
	b.submit("#backup-now", "#backup-run")
	// Finished at once, or followed by the script to its end and reloaded.
	b.waitJS(`document.querySelector("#backup-run").dataset.status === "succeeded" && document.querySelectorAll("table.backups tbody tr").length === 2`)
	run := b.text("#backup-run")
	if !strings.Contains(run, "Taken") || !strings.Contains(run, op.Email) || !strings.Contains(run, "strongroom-backup-") {
		t.Errorf("the finished run: %q", run)
	}
	if got := b.attr("#backup-run progress", "value"); got == "" || got == "0" {
		t.Errorf("the finished run's progress: %q", got)
	}
	list, err := loc.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("%d backups in the location, want 2: %v", len(list), err)
	}
	if got := b.text("table.backups"); !strings.Contains(got, list[1].Name) {
		t.Errorf("the new backup is not listed: %q", got)
	}
	b.shot("backups-run")

	// A second click while a backup runs (here, one another replica
	// started): refused with the reason, nothing taken.
	other := &store.BackupRun{ID: "run-elsewhere", Trigger: store.BackupBySchedule, Location: loc.String(), StartedAt: time.Now(), Phase: "table records"}
	platform := store.TenantScope(strongroom.PlatformTenant)
	if err := st.Write(ctx, platform, func(tx *store.Tx) error { return tx.StartBackupRun(ctx, other, time.Now().Add(-time.Minute)) }); err != nil {
		t.Fatal(err)
	}
	b.open("/operator/backups")
	if got := b.attr("#backup-run", "data-status"); got != "running" {
		t.Errorf("the running run's status: %q", got)
	}
	b.submit("#backup-now", "#form-error")
	if got := b.text("#form-error"); !strings.Contains(got, "already running") {
		t.Errorf("a second backup: %q", got)
	}
	if list, _ := loc.List(ctx); len(list) != 2 {
		t.Errorf("%d backups after a refused start, want 2", len(list))
	}
	if err := st.Write(ctx, platform, func(tx *store.Tx) error {
		return tx.FinishBackupRun(ctx, other.ID, store.OutcomeFailed, "", "test", 0, 0, time.Now())
	}); err != nil {
		t.Fatal(err)
	}

	// Without a backup location.
	plain := consoleServer(t)
	op2 := plain.Signup(t, "ben@example.com", "Ops Two")
	b2 := newTab(t, testkit.NewBrowser(t), plain.URL)
	signIn(t, b2, op2.Email, "correct horse battery staple", "#org-id")
	becomeOperator(t, plain, b2, op2.Email)
	b2.open("/operator/backups")
	if got := b2.text("#no-backups"); !strings.Contains(got, "--backup-to") {
		t.Errorf("unconfigured: %q", got)
	}
	if n := b2.count("#backup-now"); n != 0 {
		t.Errorf("a Back up now button without a backup location: %d", n)
	}
}

// TestConsoleSubprocessors: an operator adds a subprocessor (a date inside
// the notice period refused beside the field first, nothing listed), then
// schedules its end (a date too soon refused).
func TestConsoleSubprocessors(t *testing.T) {
	srv := consoleServer(t)
	op := srv.Signup(t, "sam@example.com", "Ops")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, op.Email, "correct horse battery staple", "#org-id")
	becomeOperator(t, srv, b, op.Email)
	b.open("/operator/subprocessors")
	b.waitJS(`!!document.querySelector("#no-subprocessors")`)
	b.fill("name", "Mailwell", "location", "EU (Dublin)", "purpose", "Sending sign-in e-mails", "data_categories", "e-mail addresses")
	soon := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
	later := time.Now().AddDate(0, 0, 45).Format("2006-01-02")
	b.set("#f-effective_at", soon)
	b.submit("#add-subprocessor", "#f-effective_at-error")
	if b.count("table.subprocessors") != 0 {
		t.Fatal("a refused subprocessor was listed")
	}
	b.set("#f-effective_at", later)
	b.submit("#add-subprocessor", "table.subprocessors")
	if got := b.text("table.subprocessors"); !strings.Contains(got, "Mailwell") || !strings.Contains(got, "from ") {
		t.Errorf("list: %q", got)
	}
	b.set(`input[name="ends_at"]`, soon)
	b.submit(`form[action$="/end"] button`, "#f-ends_at-error")
	b.set(`input[name="ends_at"]`, time.Now().AddDate(0, 0, 90).Format("2006-01-02"))
	b.submit(`form[action$="/end"] button`, ".flash")
	if b.count(`form[action$="/end"]`) != 0 {
		t.Error("the end was not scheduled")
	}
	b.shot("subprocessors")
}

// TestConsoleReports: an operator reads a vulnerability report, acknowledges
// it, is refused triage without a severity, then triages it as high (the
// resolution deadline appears).
func TestConsoleReports(t *testing.T) {
	srv := consoleServer(t)
	rc, err := srv.Service.SubmitReport(t.Context(), service.ReportInput{Title: "Stored XSS in record names", Description: "A record named <script>alert(1)</script> runs in the list.",
		ReporterName: "Rae", ReporterEmail: "rae@researcher.example"})
	if err != nil || rc == nil {
		t.Fatalf("submitting a report: %v", err)
	}
	op := srv.Signup(t, "omar@example.com", "Ops")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, op.Email, "correct horse battery staple", "#org-id")
	becomeOperator(t, srv, b, op.Email)
	b.open("/operator/reports")
	b.waitJS(`!!document.querySelector("table.reports")`)
	if got := b.text("table.reports"); !strings.Contains(got, "acknowledge by") {
		t.Errorf("list: %q", got)
	}
	b.shot("reports")
	b.submit("a.report-link", "#report-description")
	if got := b.text("#report-description"); !strings.Contains(got, "<script>alert(1)</script>") {
		t.Errorf("the description is not shown as text: %q", got)
	}
	b.submit("#update-report", ".flash")
	if got := b.text("#report-status"); got != "acknowledged" {
		t.Errorf("status %q", got)
	}
	b.submit("#update-report", "#form-error")
	b.set("#f-severity", "high")
	b.submit("#update-report", ".flash")
	if got := b.text("#report-status"); !strings.HasPrefix(got, "triaged") || !strings.Contains(b.text("dl.record"), "Resolve by") {
		t.Errorf("after triage: %q", got)
	}
	b.shot("report")
}
