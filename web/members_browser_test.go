package web_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
)

var codePattern = regexp.MustCompile(`\b\d{6}\b`)

// mailCode waits for the newest message of kind to addr and returns its code.
func mailCode(t *testing.T, srv *testkit.Server, addr, kind string, after time.Time) string {
	t.Helper()
	var code string
	testkit.WaitFor(t, 10*time.Second, func() bool {
		for _, m := range srv.Outbox.List(50) {
			if m.To == addr && m.Kind == kind && !m.Time.Before(after) {
				code = codePattern.FindString(m.Text)
				return code != ""
			}
		}
		return false
	})
	return code
}

// TestConsoleMembersInvitation: an Admin invites a member, who accepts in a
// second browser context with a new password; the Admin changes the role and
// signs the member out everywhere, and the member's next page asks for a
// sign-in, which they do with an e-mailed code.
func TestConsoleMembersInvitation(t *testing.T) {
	srv := consoleServer(t)
	ctx := testkit.NewBrowser(t)
	admin := newTab(t, ctx, srv.URL)
	signUp(t, admin, "ann@example.com", "Ann Org")
	admin.submit(`nav a[href$="/members"]`, `form[action$="/invitations"]`)
	start := time.Now().Add(-time.Second)
	admin.fill("email", "bo@example.com")
	admin.do(chromedp.SetValue("#f-role", "editor"))
	admin.submit(`form[action$="/invitations"] button[type=submit]`, ".flash")
	if got := admin.text(".rows"); !strings.Contains(got, "bo@example.com") || !strings.Contains(got, "editor") {
		t.Errorf("open invitations: %q", got)
	}
	admin.shot("members")

	link := mailLink(t, srv, "bo@example.com", "invitation", start)
	other, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	member := newTab(t, other, srv.URL)
	member.open(link)
	member.shot("invitation-accept")
	member.fill("password", "short")
	member.submit(`form[action="/invitations/accept"] button`, "#f-password-error")
	member.fill("password", "maple orbit cinder willow")
	member.submit(`form[action="/invitations/accept"] button`, "#org-id")
	if got := member.text(".flash"); !strings.Contains(got, "joined") {
		t.Errorf("flash after accepting: %q", got)
	}

	admin.submit(`nav a[href$="/members"]`, "tbody")
	if got := admin.text("tbody"); !strings.Contains(got, "bo@example.com") {
		t.Fatalf("members: %q", got)
	}
	row := `tbody tr:nth-child(2)`
	if got := admin.text(row); !strings.Contains(got, "bo@example.com") {
		row = `tbody tr:nth-child(1)`
	}
	admin.do(chromedp.SetValue(row+` select`, "viewer"))
	admin.submit(row+` form[action$="/role"] button`, ".flash")
	if got := admin.text(".flash"); got != "The role was changed." {
		t.Errorf("flash after the role change: %q", got)
	}
	admin.submit(row+` a[href$="/sessions"]`, `form[action$="/sessions/end"]`)
	admin.shot("member-sessions")
	admin.submit(`form[action$="/sessions/end"] button`, ".flash")
	if got := admin.text("main .empty"); !strings.Contains(got, "not signed in anywhere") {
		t.Errorf("member sessions after sign-out everywhere: %q", got)
	}

	member.open("/account")
	if loc := member.location(); !strings.HasPrefix(loc, "/signin") {
		t.Fatalf("the member signed out everywhere still opened /account (at %s)", loc)
	}
	// Back in with an e-mailed code.
	member.submit(`a[href^="/signin/email"]`, `form[action="/signin/email"]`)
	start = time.Now().Add(-time.Second)
	member.fill("email", "bo@example.com")
	member.submit(`form[action="/signin/email"] button`, `input[name="code"]`)
	member.shot("signin-email-code")
	member.fill("code", mailCode(t, srv, "bo@example.com", "signin-code", start))
	member.submit(`form[action="/signin/email"] button`, ".who .email")
	if loc := member.location(); loc != "/account" {
		t.Errorf("after signing in went to %s, want back to /account", loc)
	}
	if got := member.text(".who .email"); got != "bo@example.com" {
		t.Errorf("signed in as %q", got)
	}
	member.submit(`nav a[href^="/orgs/"]`, "#org-id")
	if got := member.text("main .lead"); !strings.Contains(got, "viewer") {
		t.Errorf("overview says %q, want the new role viewer", got)
	}
}

// TestConsoleStepUpAndEmailStep: a sensitive change after the step-up window
// sends the browser to confirm the password and back; an organization that
// wants an e-mailed code at every sign-in gets one before its pages open.
func TestConsoleStepUpAndEmailStep(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := testkit.NewServerWithConfig(t, testkit.OpenSQLiteStore(t), testkit.ServerConfig{
		Service: func(_ string, cfg *service.Config) { cfg.Now = clock },
	})
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signUp(t, b, "cy@example.com", "Cy Corp")
	org := b.text("#org-id")
	mu.Lock()
	now = now.Add(20 * time.Minute) // past the 15-minute step-up window
	mu.Unlock()

	b.open("/account/mfa")
	b.submit(`form[action="/account/mfa/totp"] button`, `form[action="/account/step-up"]`)
	b.shot("step-up")
	b.fill("password", "not my password at all")
	b.submit(`form[action="/account/step-up"] button`, "#f-password-error")
	b.fill("password", goodPassword)
	b.submit(`form[action="/account/step-up"] button`, ".flash")
	if loc := b.location(); loc != "/account/mfa" {
		t.Errorf("after the step-up the browser is at %s, want /account/mfa", loc)
	}
	b.submit(`form[action="/account/mfa/totp"] button`, "#totp-secret")

	srv.SetOrgSettings(t, strongroom.TenantID(org), strongroom.OrgSettings{EmailVerifyEachSignIn: true})
	start := time.Now().Add(-time.Second) // the outbox dates messages by the real clock
	b.open("/orgs/" + org)
	if loc := b.location(); !strings.HasPrefix(loc, "/signin/email-step") {
		t.Fatalf("the organization's page opened without the e-mail step (at %s)", loc)
	}
	b.submit(`form[action="/signin/email-step"] button`, `input[name="code"]`)
	b.shot("email-step")
	b.fill("code", mailCode(t, srv, "cy@example.com", "signin-step-code", start))
	b.submit(`form[action="/signin/email-step"] button`, "#org-id")
	if got := b.text(".flash"); !strings.Contains(got, "confirmed for this sign-in") {
		t.Errorf("flash after the e-mail step: %q", got)
	}
}

// TestConsoleAPIKeys creates a key (its secret shown once, and working),
// rotates it, and revokes the replacement, which then stops working.
func TestConsoleAPIKeys(t *testing.T) {
	srv := consoleServer(t)
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signUp(t, b, "di@example.com", "Di Data")
	org := b.text("#org-id")
	b.submit(`nav a[href$="/api-keys"]`, `form[action$="/api-keys"]`)
	b.shot("api-keys-empty")
	b.fill("name", "billing-sync")
	b.submit(`form[action$="/api-keys"] button[type=submit]`, "#api-key-secret")
	secret := b.text("#api-key-secret")
	b.shot("api-key-created")
	use := func(key string) int {
		return srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/orgs/" + org + "/collections", Token: key}).Status
	}
	if got := use(secret); got != 200 {
		t.Fatalf("the new key answers %d, want 200", got)
	}
	b.do(chromedp.SetValue(`select[name="overlap_hours"]`, "0"))
	b.submit(`form[action$="/rotate"] button`, "#api-key-secret")
	rotated := b.text("#api-key-secret")
	if rotated == secret || use(rotated) != 200 {
		t.Errorf("rotation gave %q, which does not work", rotated)
	}
	if got := use(secret); got != 401 {
		t.Errorf("the rotated-out key (no overlap) answers %d, want 401", got)
	}
	// Reloading the page never shows a secret again.
	b.open("/orgs/" + org + "/api-keys")
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#api-key-secret").length`)); err != nil || n != 0 {
		t.Errorf("a secret is shown again (%d, %v)", n, err)
	}
	b.submit(`form[action$="/revoke"] button`, ".flash")
	if got := use(rotated); got != 401 {
		t.Errorf("the revoked key answers %d, want 401", got)
	}
}

// TestConsoleSettings saves the organization's settings: a bad domain is
// named beside its field; requiring MFA sends the Admin, who has no second
// factor yet, to enrol one before the organization opens again.
func TestConsoleSettings(t *testing.T) {
	srv := consoleServer(t)
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signUp(t, b, "eve@example.com", "Eve Systems")
	b.submit(`nav a[href$="/settings"]`, `form[action$="/settings"]`)
	b.shot("settings")
	b.do(chromedp.Click("#f-mfa_required"), typeInto("#f-allowed_email_domains", "example.com\nnot a domain!"))
	b.submit(`form[action$="/settings"] button[type=submit]`, "#f-allowed_email_domains-error")
	if checked, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.getElementById("f-mfa_required").checked`)); err != nil || !checked {
		t.Errorf("the ticked box was lost after the error (%v)", err)
	}
	b.shot("settings-invalid")
	b.do(chromedp.Clear("#f-allowed_email_domains"), typeInto("#f-allowed_email_domains", "example.com"))
	b.submit(`form[action$="/settings"] button[type=submit]`, ".flash")
	if loc := b.location(); loc != "/account/mfa" {
		t.Errorf("after requiring MFA the Admin is at %s, want /account/mfa", loc)
	}
	if got := b.text(".flash"); !strings.Contains(got, "requires multi-factor") {
		t.Errorf("flash: %q", got)
	}
}
