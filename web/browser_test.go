package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
)

// tab drives one browser tab against the console and fails the test on any
// console error, uncaught exception or CSP violation the page reports.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string
}

func newTab(t *testing.T, ctx context.Context, base string) *tab {
	t.Helper()
	b := &tab{t: t, ctx: ctx, base: base}
	if err := chromedp.Listen(ctx, b.listen); err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser reported: %s", p)
		}
	})
	return b
}

// expectedStatus matches Chromium's note on a page answered with an error
// status, which the console sends on purpose (401 for a failed sign-in, 409
// for a change the state refuses, such as deleting a client that owns records
// or completing an access review with undecided entries, 422 for a form with
// mistakes).
var expectedStatus = regexp.MustCompile(`^Failed to load resource: the server responded with a status of (401|403|404|409|422|429)`)

func (b *tab) listen(ev any) {
	var p string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		p = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			p += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level == log.EntryLevelError || e.Source == log.EntrySourceSecurity {
			if e.Source == log.EntrySourceNetwork && expectedStatus.MatchString(e.Text) && !strings.Contains(e.URL, "/static/") {
				return
			}
			p = fmt.Sprintf("log %s/%s: %s (%s)", e.Source, e.Level, e.Text, e.URL)
		}
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
}

// fill types values into fields by name.
func (b *tab) fill(kv ...string) {
	b.t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		sel := `input[name="` + kv[i] + `"]:not([type=hidden])`
		b.do(chromedp.WaitVisible(sel), chromedp.Clear(sel), typeInto(sel, kv[i+1]))
	}
}

// typeInto focuses the field and types text as key events. (chromedp's
// SendKeys reads the node's attributes without the lock its DOM event handler
// writes them under: a data race the race detector reports now and then.)
func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Focus(sel), chromedp.KeyEvent(text))
}

// submit clicks the button and waits until a new page has loaded and shows
// waitFor. The old page is marked first, so that a page that looks alike
// (a redirect back to the same path) is not taken for the new one.
func (b *tab) submit(button, waitFor string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__strongroomOld = true`)); err != nil {
		b.t.Fatalf("marking the page: %v", err)
	}
	b.waitJS(fmt.Sprintf(`(function(e){return !!e && e.offsetParent !== null})(document.querySelector(%q))`, button))
	// A click through the page's own DOM: chromedp's synthetic mouse click
	// sometimes never returns when the page it clicked navigates at once.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).click(), true`, button))); err != nil {
		b.t.Fatalf("clicking %s: %v", button, err)
	}
	b.waitJS(fmt.Sprintf(`!window.__strongroomOld && document.readyState === "complete" && !!document.querySelector(%q)`, waitFor))
}

// waitJS waits until the expression is true in the page.
func (b *tab) waitJS(expr string) {
	b.t.Helper()
	var last error
	ok := false
	deadline := time.Now().Add(20 * time.Second)
	testkit.WaitFor(b.t, 25*time.Second, func() bool {
		ok, last = chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		return (last == nil && ok) || time.Now().After(deadline)
	})
	if !ok {
		b.t.Fatalf("waiting for %s: %v", expr, last)
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

func (b *tab) location() string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(v, b.base)
}

// shot checks the page the way a reviewer would, and pictures it: every
// control has a label, text contrast is WCAG AA in the light and dark
// colour schemes, and nothing sticks out sideways at desktop, phone
// (390 px) and narrow phone (360 px) width. With $STRONGROOM_SCREENSHOTS set
// (make screenshots) it saves the desktop and phone pictures there.
func (b *tab) shot(name string) {
	b.t.Helper()
	// Every control has a label (or is hidden from assistive technology).
	if bare, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea, button")).filter(function(e){
			return e.getAttribute("aria-hidden") !== "true" && !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.textContent.trim()
		}).map(function(e){ return e.outerHTML.slice(0, 80) }).join("; ")`)); err != nil || bare != "" {
		b.t.Errorf("%s: controls without a label: %s %v", name, bare, err)
	}
	// Text contrast at WCAG AA or better, in both colour schemes.
	for _, scheme := range []string{"dark", "light"} {
		b.do(colourScheme(scheme))
		b.checkContrast(name + " (" + scheme + ")")
	}
	dir := os.Getenv("STRONGROOM_SCREENSHOTS")
	for _, size := range []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}, {"", 360, 740, true}} {
		opts := []chromedp.EmulateViewportOption{}
		if size.mobile {
			opts = append(opts, chromedp.EmulateScale(1), chromedp.EmulateMobile)
		}
		b.do(chromedp.EmulateViewport(size.w, size.h, opts...))
		if over, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
			`(function(){var w=document.documentElement.clientWidth,o=[];document.querySelectorAll("body *").forEach(function(e){var r=e.getBoundingClientRect();if(r.right>w+1&&!e.closest(".table-wrap,pre,details:not([open]) > ul"))o.push(e.tagName+"."+e.className+" "+Math.round(r.right)+">"+w)});return o.slice(0,5).join("; ")})()`)); err != nil || over != "" {
			b.t.Errorf("%s at %dpx: elements wider than the page: %s %v", name, size.w, over, err)
		}
		if dir != "" && size.suffix != "" {
			testkit.Screenshot(b.t, b.ctx, filepath.Join(dir, name+"-"+size.suffix+".png"))
		}
	}
	b.do(chromedp.EmulateViewport(1280, 800))
}

// consoleServer is a server for browser tests: SQLite, the dev outbox.
func consoleServer(t *testing.T) *testkit.Server {
	return testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
}

var linkPattern = regexp.MustCompile(`https?://\S+`)

// mailLink waits for the newest message of kind to addr and returns its link.
func mailLink(t *testing.T, srv *testkit.Server, addr, kind string, after time.Time) string {
	t.Helper()
	var link string
	testkit.WaitFor(t, 10*time.Second, func() bool {
		for _, m := range srv.Outbox.List(50) {
			if m.To == addr && m.Kind == kind && !m.Time.Before(after) {
				link = linkPattern.FindString(m.Text)
				return link != ""
			}
		}
		return false
	})
	return strings.TrimPrefix(link, srv.URL)
}

const goodPassword = "violet harbor lantern quietly"

func signUp(t *testing.T, b *tab, email, org string) {
	t.Helper()
	b.open("/signup")
	b.fill("email", email, "password", goodPassword, "organization", org)
	b.submit(`form[action="/signup"] button[type=submit]`, "#org-id")
}

func signIn(t *testing.T, b *tab, email, password, waitFor string) {
	t.Helper()
	b.open("/signin")
	b.fill("email", email, "password", password)
	b.submit(`form[action="/signin"] button[type=submit]`, waitFor)
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := otptotp.GenerateCodeCustom(secret, at, otptotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConsoleSignInFailure: a wrong password shows the error and no session.
func TestConsoleSignInFailure(t *testing.T) {
	srv := consoleServer(t)
	srv.Signup(t, "ada@example.com", "Ada Inc")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	b.open("/signin")
	b.shot("signin")
	b.fill("email", "ada@example.com", "password", "not the password at all")
	b.submit(`form[action="/signin"] button[type=submit]`, "#form-error")
	if got := b.text("#form-error"); !strings.Contains(got, "Invalid e-mail address or password") {
		t.Errorf("error shown: %q", got)
	}
	b.shot("signin-failed")
	b.open("/account")
	if loc := b.location(); !strings.HasPrefix(loc, "/signin") {
		t.Errorf("after a failed sign-in /account went to %s, want the sign-in page", loc)
	}
	// A missing field is named beside the field.
	b.open("/signin")
	b.fill("email", "ada@example.com")
	b.submit(`form[action="/signin"] button[type=submit]`, "#f-password-error")
	if got := b.text("#f-password-error"); got != "Is required." {
		t.Errorf("password field message %q", got)
	}
}

// TestConsoleSignupVerifyTOTP walks sign-up, address verification through the
// outbox link, TOTP enrolment (the secret read from the page), sign-out, and
// sign-in with the TOTP challenge.
func TestConsoleSignupVerifyTOTP(t *testing.T) {
	srv := consoleServer(t)
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	b.open("/")
	b.shot("start")
	b.open("/signup")
	b.shot("signup")
	// The password policy's message appears beside the field.
	b.fill("email", "grace@example.com", "password", "short", "organization", "Grace Labs")
	b.submit(`form[action="/signup"] button[type=submit]`, "#f-password-error")
	if msg := b.text("#f-password-error"); msg == "" {
		t.Error("no message beside the password field")
	}
	b.shot("signup-invalid")
	start := time.Now().Add(-time.Second)
	b.fill("password", goodPassword)
	b.submit(`form[action="/signup"] button[type=submit]`, "#org-id")
	if got := b.text(".flash"); !strings.Contains(got, "Welcome") {
		t.Errorf("flash after sign-up: %q", got)
	}
	b.shot("dashboard")

	link := mailLink(t, srv, "grace@example.com", "verify-address", start)
	if !strings.HasPrefix(link, "/verify-email?token=") {
		t.Fatalf("verification link %q", link)
	}
	b.open(link)
	b.shot("verify-email")
	b.submit(`form[action="/verify-email"] button`, ".flash")
	if got := b.text(".flash"); !strings.Contains(got, "confirmed") {
		t.Errorf("flash after verification: %q", got)
	}
	if got := b.text(".badge"); got != "Confirmed" {
		t.Errorf("account page says %q, want Confirmed", got)
	}
	b.shot("account")

	b.open("/account/mfa")
	b.shot("mfa-settings")
	b.submit(`form[action="/account/mfa/totp"] button`, "#totp-secret")
	secret := b.text("#totp-secret")
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.qr path").length`)); err != nil || n != 1 {
		t.Errorf("QR code not shown as inline SVG (%d, %v)", n, err)
	}
	b.shot("mfa-totp")
	b.fill("code", "000000")
	b.submit(`form[action="/account/mfa/totp/confirm"] button`, "#f-code-error")
	b.fill("code", totpCode(t, secret, time.Now()))
	b.submit(`form[action="/account/mfa/totp/confirm"] button`, "#recovery-codes")
	codes := b.text("#recovery-codes")
	if strings.Count(codes, "\n") < 9 {
		t.Errorf("recovery codes shown: %q", codes)
	}
	b.shot("recovery-codes")

	b.submit(`form[action="/signout"] button`, ".flash")
	if got := b.text(".flash"); got != "You are signed out." {
		t.Errorf("flash after sign-out: %q", got)
	}
	signIn(t, b, "grace@example.com", goodPassword, `input[name="code"]`)
	b.shot("signin-mfa")
	b.fill("code", "123456")
	b.submit(`form[action="/signin/mfa"] button[type=submit]`, "#f-code-error")
	// The next time step's code: the enrolment spent the current one.
	b.fill("code", totpCode(t, secret, time.Now().Add(30*time.Second)))
	b.submit(`form[action="/signin/mfa"] button[type=submit]`, "#org-id")
	if got := b.text(".switcher summary"); got != "Grace Labs" {
		t.Errorf("organization switcher shows %q", got)
	}

	// A recovery code instead of the app, once.
	first := strings.Fields(codes)[0]
	b.submit(`form[action="/signout"] button`, ".flash")
	signIn(t, b, "grace@example.com", goodPassword, `input[name="code"]`)
	b.do(chromedp.Click("details.more summary"))
	b.fill("recovery_code", first)
	b.submit(`form[action="/signin/mfa"] button.secondary`, "#org-id")
	b.submit(`form[action="/signout"] button`, ".flash")
	signIn(t, b, "grace@example.com", goodPassword, `input[name="code"]`)
	b.do(chromedp.Click("details.more summary"))
	b.fill("recovery_code", first)
	b.submit(`form[action="/signin/mfa"] button.secondary`, "#form-error")
	if got := b.text("#form-error"); !strings.Contains(got, "not valid") {
		t.Errorf("a used recovery code: %q", got)
	}
}

// TestConsolePasswordReset resets a forgotten password through the outbox.
func TestConsolePasswordReset(t *testing.T) {
	srv := consoleServer(t)
	srv.Signup(t, "lin@example.com", "Lin Co")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	b.open("/signin")
	b.submit(`a[href="/forgot-password"]`, `form[action="/forgot-password"]`)
	b.shot("forgot-password")
	start := time.Now().Add(-time.Second)
	b.fill("email", "lin@example.com")
	b.submit(`form[action="/forgot-password"] button`, `p[role=status]`)
	link := mailLink(t, srv, "lin@example.com", "password-reset", start)
	b.open(link)
	b.shot("reset-password")
	b.fill("password", "password")
	b.submit(`form[action="/reset-password"] button`, "#f-password-error")
	b.fill("password", "a new and different passphrase")
	b.submit(`form[action="/reset-password"] button`, ".flash")
	if got := b.text(".flash"); !strings.Contains(got, "password is reset") {
		t.Errorf("flash after reset: %q", got)
	}
	signIn(t, b, "lin@example.com", "a new and different passphrase", "#org-id")

	// Change it again from the account page; a wrong current password is
	// named beside its field.
	b.open("/account")
	b.fill("current_password", "not the current one", "new_password", "yet another long passphrase")
	b.submit(`form[action="/account/password"] button`, "#f-current_password-error")
	b.fill("current_password", "a new and different passphrase", "new_password", "yet another long passphrase")
	b.submit(`form[action="/account/password"] button`, ".flash")
	if got := b.text(".flash"); !strings.Contains(got, "password is changed") {
		t.Errorf("flash after the change: %q", got)
	}
	b.submit(`form[action="/signout"] button`, ".flash")
	signIn(t, b, "lin@example.com", "yet another long passphrase", "#org-id")
}

// TestConsoleEndSessionElsewhere signs in twice (two browser contexts), ends
// the first session from the second, and sees the first signed out on its
// next navigation.
func TestConsoleEndSessionElsewhere(t *testing.T) {
	srv := consoleServer(t)
	ctx := testkit.NewBrowser(t)
	first := newTab(t, ctx, srv.URL)
	signUp(t, first, "mo@example.com", "Mo GmbH")

	other, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	second := newTab(t, other, srv.URL)
	signIn(t, second, "mo@example.com", goodPassword, "#org-id")
	second.open("/account/sessions")
	if n, err := chromedp.Run(other, chromedp.Evaluate[int](`document.querySelectorAll("tbody tr").length`)); err != nil || n != 2 {
		t.Fatalf("sessions listed: %d (%v), want 2", n, err)
	}
	second.shot("sessions")
	second.submit(`tbody tr:not(.current) button`, ".flash")
	if n, err := chromedp.Run(other, chromedp.Evaluate[int](`document.querySelectorAll("tbody tr").length`)); err != nil || n != 1 {
		t.Errorf("sessions after ending one: %d (%v), want 1", n, err)
	}

	first.open("/account")
	if loc := first.location(); !strings.HasPrefix(loc, "/signin") {
		t.Fatalf("the ended session still opened /account (at %s)", loc)
	}
	if got := first.text(".flash"); !strings.Contains(got, "session has ended") {
		t.Errorf("flash for the ended session: %q", got)
	}
}

// TestTabReportsViolations proves the browser tests can fail: an inline
// event handler and an inline style added to a console page are refused by
// the CSP, and the tab records both, as it records console errors.
func TestTabReportsViolations(t *testing.T) {
	srv := consoleServer(t)
	b := &tab{t: t, ctx: testkit.NewBrowser(t), base: srv.URL}
	if err := chromedp.Listen(b.ctx, b.listen); err != nil {
		t.Fatal(err)
	}
	b.open("/signin")
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.body.insertAdjacentHTML("beforeend",
		'<img src="/static/style.css" onerror="window.ran=1"><div style="color:red">x</div>'); console.error("boom"); true`)); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		var csp, console bool
		for _, p := range b.problems {
			csp = csp || strings.Contains(p, "Content Security Policy")
			console = console || strings.Contains(p, "boom")
		}
		return csp && console
	})
	if ran, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.ran === 1`)); err != nil || ran {
		t.Errorf("the inline handler ran (%v, %v)", ran, err)
	}
}

// TestConsoleKeyboard signs in with the keyboard alone: the skip link comes
// first, Tab moves through the form in reading order with a visible focus
// ring, and Enter submits.
func TestConsoleKeyboard(t *testing.T) {
	srv := consoleServer(t)
	srv.Signup(t, "kim@example.com", "Kim AG")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	b.open("/signin")
	focused := func() string {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(function(e){return (e.name || e.className || e.tagName) + "|" + getComputedStyle(e).outlineStyle})(document.activeElement)`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var order []string
	for range 7 {
		b.do(chromedp.KeyEvent(kb.Tab))
		order = append(order, focused())
	}
	want := []string{"skip|solid", "brand|solid", "A|solid", "A|solid", "email|solid", "password|solid", "BUTTON|solid"}
	for i, w := range want {
		if order[i] != w {
			t.Errorf("Tab %d focused %q, want %q (order %v)", i+1, order[i], w, order)
		}
	}
	b.do(chromedp.Focus(`input[name="email"]`), chromedp.KeyEvent("kim@example.com"), chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent("correct horse battery staple"))
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__strongroomOld = true`)); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitJS(`!window.__strongroomOld && !!document.querySelector("#org-id")`)
}

// TestConsoleOutbox: the development outbox is for operators signed in with
// MFA: others are refused; an operator reads the messages, newest first.
func TestConsoleOutbox(t *testing.T) {
	srv := consoleServer(t)
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signUp(t, b, "op@example.com", "Platform")
	b.open("/operator/outbox")
	if got := b.text("#form-error"); got != "Your role does not allow this." {
		t.Errorf("a non-operator sees %q", got)
	}
	if err := srv.Service.SetOperator(t.Context(), "op@example.com", true); err != nil {
		t.Fatal(err)
	}
	b.open("/operator/outbox")
	if loc := b.location(); loc != "/account/mfa" {
		t.Fatalf("an operator without MFA is at %s, want /account/mfa", loc)
	}
	b.submit(`form[action="/account/mfa/totp"] button`, "#totp-secret")
	secret := b.text("#totp-secret")
	b.fill("code", totpCode(t, secret, time.Now()))
	b.submit(`form[action="/account/mfa/totp/confirm"] button`, "#recovery-codes")
	b.submit(`nav a[href="/operator/outbox"]`, ".mail")
	if got := b.text(".mail li:first-child h2"); got != "Confirm your e-mail address for Strongroom" {
		t.Errorf("newest message: %q", got)
	}
	b.shot("outbox")
}
