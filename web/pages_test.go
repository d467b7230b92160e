package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
)

// inlineCode finds what the CSP forbids in a page: inline script, style
// elements and attributes, event-handler attributes, javascript: URLs.
var (
	scriptTag   = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	scriptBody  = regexp.MustCompile(`(?is)<script\b[^>]*>(.*?)</script>`)
	inlineStyle = regexp.MustCompile(`(?i)<style|\sstyle\s*=|\son[a-z]+\s*=|javascript:`)
)

// inlineCode returns the first piece of inline code in body, or "".
func inlineCode(body string) string {
	for _, tag := range scriptTag.FindAllString(body, -1) {
		if !strings.Contains(strings.ToLower(tag), " src=") {
			return tag
		}
	}
	for _, m := range scriptBody.FindAllStringSubmatch(body, -1) {
		if strings.TrimSpace(m[1]) != "" {
			return m[0]
		}
	}
	return inlineStyle.FindString(body)
}

// TestEveryPageCSP requests every console page, anonymous and signed in, and
// reads its Content-Security-Policy: no 'unsafe-inline' (or eval) for scripts
// or styles, and no inline script or style in the HTML.
func TestEveryPageCSP(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "csp@example.com", "CSP Inc")
	cookie := httpapi.SessionCookie + "=" + acct.Token
	coll := "/orgs/" + acct.OrgID + "/collections/people"
	rec := seedRecords(t, srv, acct, 1)[0]
	alert := seedAlert(t, srv, strongroom.TenantID(acct.OrgID))
	file := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + acct.OrgID + "/collections/people/records/" + rec + "/files",
		Token: acct.Token, Body: []byte("hello"), ContentType: "application/octet-stream",
		Header: map[string]string{"Content-Disposition": `attachment; filename="a.txt"`}}), http.StatusCreated).JSON(t)["id"].(string)
	notice := seedNotice(t, srv, strongroom.TenantID(acct.OrgID))
	// An operator signed in with MFA, and something on every operator page.
	op := operatorSession(t, srv, "op-csp@example.com")
	opCookie := cookieOf(op)
	window := seedMaintenance(t, srv, op, "Database upgrade")
	change := seedPolicyChange(t, srv, op, "Backups kept longer")
	incident := apiID(t, srv, op.Token, "/api/v1/operator/incidents", map[string]any{"title": "Disk full", "kind": "availability", "severity": "low"})
	report := submitTestReport(t, srv)
	platformAlert := seedAlert(t, srv, strongroom.PlatformTenant)
	opReview := apiID(t, srv, op.Token, "/api/v1/operator/access-reviews", map[string]any{})
	orgReview := apiID(t, srv, acct.Token, "/api/v1/orgs/"+acct.OrgID+"/access-reviews", map[string]any{})
	reviews := "/orgs/" + acct.OrgID + "/access-reviews"
	client := seedClient(t, srv, acct, "Acme")
	pages := []struct {
		path   string
		cookie string
		method string
		body   string
		want   int
		cache  string // Cache-Control; default no-store
		ctype  string // a download's Content-Type; default an HTML page
		poll   bool   // JSON for the page's own script: no download, but never cached
	}{
		{path: "/", want: 200},
		{path: "/signup", want: 200},
		{path: "/signin", want: 200},
		{path: "/signin?next=/account", want: 200},
		{path: "/signin/mfa", want: 200},
		{path: "/signin/email", want: 200},
		{path: "/signin/email?token=x", want: 200},
		{path: "/verify-email?token=x", want: 200},
		{path: "/verify-email", want: 200},
		{path: "/forgot-password", want: 200},
		{path: "/reset-password?token=x", want: 200},
		{path: "/invitations/accept?token=x", want: 200},
		{path: "/no/such/page", want: 404},
		{path: "/status", want: 200},
		{path: "/status/confirm?token=x", want: 200},
		{path: "/status/unsubscribe?token=x", want: 200},
		{path: "/status/subscribe", method: "POST", body: "email=bad", want: 422},
		{path: "/status/confirm", method: "POST", body: "token=sts_nonsense", want: 404},
		{path: "/subprocessors/confirm?token=x", want: 200},
		{path: "/subprocessors/unsubscribe?token=x", want: 200},
		{path: "/subprocessors/unsubscribe", method: "POST", body: "token=srn_nonsense", want: 404},
		{path: "/trust", want: 200, cache: "public, max-age=60"},
		{path: "/trust", cookie: cookie, want: 200, cache: "public, max-age=60"}, // the same for everyone
		{path: "/trust?x=1", want: 400},
		{path: "/signin", method: "POST", body: "email=a%40example.com&password=wrong-but-long-enough", want: 401},
		{path: "/signup", method: "POST", body: "email=bad&password=x&organization=", want: 422},
		{path: "/orgs/" + acct.OrgID, cookie: cookie, want: 200},
		{path: "/account", cookie: cookie, want: 200},
		{path: "/account/mfa", cookie: cookie, want: 200},
		{path: "/account/sessions", cookie: cookie, want: 200},
		{path: "/account/step-up?next=/account", cookie: cookie, want: 200},
		{path: "/signin/email-step", cookie: cookie, want: 200},
		{path: "/invitations/accept?token=x", cookie: cookie, want: 200},
		{path: "/account/mfa/totp", cookie: cookie, method: "POST", body: "name=Phone", want: 200},
		{path: "/orgs/nosuchorg", cookie: cookie, want: 404},
		{path: "/operator/outbox", cookie: cookie, want: 403},
		{path: "/orgs/" + acct.OrgID + "/members", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/api-keys", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/members/" + acct.UserID + "/remove", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/members/nope/remove", cookie: cookie, want: 404},
		{path: "/orgs/" + acct.OrgID + "/clients", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/clients", cookie: cookie, method: "POST", body: "name=", want: 422},
		{path: "/orgs/" + acct.OrgID + "/clients/" + client + "/rename", cookie: cookie, method: "POST", body: "name=", want: 422},
		{path: "/orgs/" + acct.OrgID + "/clients/" + client + "/delete", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/clients/nope/delete", cookie: cookie, want: 404},
		{path: "/orgs/" + acct.OrgID + "/members/" + acct.UserID + "/clients", cookie: cookie, method: "POST", body: "client_ids=" + client, want: 422},
		{path: "/orgs/" + acct.OrgID + "/settings", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/api-keys", cookie: cookie, method: "POST", body: "name=ci&role=viewer&expires_days=30", want: 200},
		{path: "/orgs/" + acct.OrgID + "/members/" + acct.UserID + "/sessions", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/collections", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/collections", cookie: cookie, method: "POST", body: "name=Bad&schema=%7B%7D", want: 422},
		{path: coll, cookie: cookie, want: 200},
		{path: coll + "?filter=" + url.QueryEscape(`email == "nobody@example.com"`), cookie: cookie, want: 200},
		{path: coll + "?filter=" + url.QueryEscape(`email = 1`), cookie: cookie, want: 422},
		{path: coll + "/schema", cookie: cookie, want: 200},
		{path: coll + "/new", cookie: cookie, want: 200},
		{path: coll + "/records", cookie: cookie, method: "POST", body: "p0=&p1=x", want: 422},
		{path: coll + "/records/" + rec, cookie: cookie, want: 200},
		{path: coll + "/records/" + rec + "/edit", cookie: cookie, want: 200},
		{path: coll + "/records/" + rec, cookie: cookie, method: "POST", body: "version=99&p0=Ada", want: 412},
		{path: coll + "/records/" + rec + "/delete", cookie: cookie, want: 200},
		{path: coll + "/records/" + rec + "/files/" + file + "/delete", cookie: cookie, want: 200},
		{path: coll + "/records/" + rec + "/files/01a1fe00-0000-7000-8000-000000000000/delete", cookie: cookie, want: 404},
		{path: coll + "/records/" + rec + "/files", cookie: cookie, method: "POST", body: "file=x", want: 415},
		{path: "/orgs/" + acct.OrgID + "/collections/nosuch", cookie: cookie, want: 404},
		{path: coll + "/retention", cookie: cookie, want: 200},
		{path: coll + "/retention", cookie: cookie, method: "POST", body: "mode=own&retention_days=5&retention_from=nope", want: 422},
		{path: "/orgs/" + acct.OrgID + "/audit", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/audit?action=auth.*&result=success&from=2020-01-01T00:00", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/audit?action=zzz.none", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/audit?from=nope", cookie: cookie, want: 422},
		{path: "/orgs/" + acct.OrgID + "/alerts", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/alerts?status=resolved", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/alerts?kind=nope", cookie: cookie, want: 422},
		{path: "/orgs/" + acct.OrgID + "/alerts/" + alert, cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/notices", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/notices/" + notice, cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/notices/nope", cookie: cookie, want: 404},
		{path: "/orgs/" + acct.OrgID + "/requests", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/requests", cookie: cookie, method: "POST", body: "kind=restrict&field0=email&value0=p00%40example.com", want: 200},
		{path: "/orgs/" + acct.OrgID + "/requests", cookie: cookie, method: "POST", body: "kind=forget&field0=email&value0=x", want: 422},
		{path: "/orgs/" + acct.OrgID + "/requests/nope", cookie: cookie, want: 404},
		{path: "/orgs/" + acct.OrgID + "/termination", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/export", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/export", cookie: cookie, method: "POST", body: "mode=recipient&recipient=x", want: 422},
		{path: "/orgs/" + acct.OrgID + "/termination", cookie: cookie, method: "POST", body: "confirm=nope", want: 422},
		{path: "/operator", cookie: cookie, want: 403},
		{path: "/operator/audit", cookie: cookie, want: 403},
		{path: "/operator/alerts", cookie: cookie, want: 403},
		{path: "/operator/incidents", cookie: cookie, want: 403},
		{path: "/operator/backups", cookie: cookie, want: 403},
		{path: "/operator/backups/run", cookie: cookie, want: 403},
		{path: "/operator/backups/run", cookie: cookie, method: "POST", body: "go=1", want: 403},
		{path: "/operator/reports", cookie: cookie, want: 403},
		{path: "/operator/subprocessors", cookie: cookie, want: 403},
		{path: "/operator/subprocessors", cookie: cookie, method: "POST", body: "name=x", want: 403},
		{path: "/operator/incidents", cookie: cookie, method: "POST", body: "title=x&kind=security&severity=low", want: 403},
		{path: "/operator/status", cookie: cookie, want: 403},
		{path: "/operator/status/maintenance/" + window + "/edit", cookie: cookie, want: 403},
		{path: "/operator/access-reviews", cookie: cookie, want: 403},
		{path: "/operator/policy-changes", cookie: cookie, want: 403},
		{path: "/operator/policy-changes", cookie: cookie, method: "POST", body: "title=x&summary=y&effective_at=2030-01-01&url=https%3A%2F%2Fx.example", want: 403},
		{path: "/operator/status/updates", cookie: cookie, method: "POST", body: "title=x&body=y&state=investigating", want: 403},

		// The organization's access reviews and policy changes (an Admin).
		{path: reviews, cookie: cookie, want: 200},
		{path: reviews + "/" + orgReview, cookie: cookie, want: 200},
		{path: reviews + "/" + orgReview + "/entries/" + acct.UserID, cookie: cookie, method: "POST", body: "decision=revoke", want: 403}, // not on oneself
		{path: reviews + "/" + orgReview + "/entries/" + acct.UserID, cookie: cookie, method: "POST", body: "decision=maybe", want: 422},
		{path: reviews + "/" + orgReview + "/complete", cookie: cookie, method: "POST", body: "go=1", want: 200}, // the only Admin: kept, not reviewed
		{path: reviews + "/" + orgReview + "/complete", cookie: cookie, method: "POST", body: "go=1", want: 409},
		{path: reviews + "/" + orgReview + "/export", cookie: cookie, want: 200, ctype: "application/json"},
		{path: reviews + "/" + orgReview + "/export?format=csv", cookie: cookie, want: 200, ctype: "text/csv; charset=utf-8"},
		{path: reviews + "/" + opReview, cookie: cookie, want: 404},
		{path: "/orgs/" + acct.OrgID + "/policy-changes", cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/policy-changes/" + change, cookie: cookie, want: 200},
		{path: "/orgs/" + acct.OrgID + "/policy-changes/nope", cookie: cookie, want: 404},

		// Every operator page, as an operator signed in with MFA.
		{path: "/operator", cookie: opCookie, want: 200},
		{path: "/operator/outbox", cookie: opCookie, want: 200},
		{path: "/operator/audit", cookie: opCookie, want: 200},
		{path: "/operator/audit?from=nope", cookie: opCookie, want: 422},
		{path: "/operator/alerts", cookie: opCookie, want: 200},
		{path: "/operator/alerts/" + platformAlert, cookie: opCookie, want: 200},
		{path: "/operator/incidents", cookie: opCookie, want: 200},
		{path: "/operator/incidents", cookie: opCookie, method: "POST", body: "title=&kind=security&severity=low", want: 422},
		{path: "/operator/incidents/" + incident, cookie: opCookie, want: 200},
		{path: "/operator/incidents/nope", cookie: opCookie, want: 404},
		{path: "/operator/backups", cookie: opCookie, want: 200},
		{path: "/operator/backups/run", cookie: opCookie, want: 200, poll: true},
		{path: "/operator/backups/run", cookie: opCookie, method: "POST", body: "go=1", want: 409}, // this server takes no backups
		{path: "/operator/backups/run", cookie: opCookie, method: "POST", body: "go=" + strings.Repeat("x", 1<<20), want: 413},
		{path: "/operator/reports", cookie: opCookie, want: 200},
		{path: "/operator/reports/" + report, cookie: opCookie, want: 200},
		{path: "/operator/subprocessors", cookie: opCookie, want: 200},
		{path: "/operator/subprocessors", cookie: opCookie, method: "POST", body: "name=x&effective_at=nope", want: 422},
		{path: "/operator/status", cookie: opCookie, want: 200},
		{path: "/operator/status/maintenance", cookie: opCookie, method: "POST", body: "title=x&body=y&components=api&starts_at=2020-01-01T10:00&ends_at=2020-01-01T11:00", want: 422},
		{path: "/operator/status/updates", cookie: opCookie, method: "POST", body: "title=x&body=y&state=panicking", want: 422},
		{path: "/operator/status/maintenance/" + window + "/edit", cookie: opCookie, want: 200},
		{path: "/operator/status/maintenance/" + window, cookie: opCookie, method: "POST", body: "title=x&body=y&components=api&starts_at=2020-01-01T10:00&ends_at=2020-01-01T11:00", want: 422},
		{path: "/operator/status/maintenance/nope/edit", cookie: opCookie, want: 404},
		{path: "/operator/status/maintenance/" + window + "/cancel", cookie: opCookie, method: "POST", body: "go=1", want: 200}, // back on the page, cancelled
		{path: "/operator/status/maintenance/" + window + "/edit", cookie: opCookie, want: 409},
		{path: "/operator/access-reviews", cookie: opCookie, want: 200},
		{path: "/operator/access-reviews/" + opReview, cookie: opCookie, want: 200},
		{path: "/operator/access-reviews/" + orgReview, cookie: opCookie, want: 404},
		{path: "/operator/access-reviews/" + opReview + "/export?format=xml", cookie: opCookie, want: 400},
		{path: "/operator/policy-changes", cookie: opCookie, want: 200},
		{path: "/operator/policy-changes", cookie: opCookie, method: "POST", body: "title=x&summary=y&effective_at=2020-01-01", want: 422},
		{path: reviews, cookie: opCookie, want: 404}, // an operator is no member of the organization
	}
	for _, p := range pages {
		method := p.method
		if method == "" {
			method = "GET"
		}
		t.Run(method+" "+p.path, func(t *testing.T) {
			req := testkit.Request{Method: method, Path: p.path, Header: map[string]string{}}
			if p.body != "" {
				req.Body, req.ContentType = p.body, "application/x-www-form-urlencoded"
			}
			if p.cookie != "" {
				req.Header["Cookie"] = p.cookie
			}
			r := srv.Do(t, req)
			if r.Status != p.want {
				t.Fatalf("status %d, want %d: %.400s", r.Status, p.want, r.Body)
			}
			checkCSP(t, r.Header)
			if p.poll {
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || r.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("poll: Content-Type %q, Cache-Control %q", ct, r.Header.Get("Cache-Control"))
				}
				return
			}
			if p.ctype != "" { // a download
				if ct := r.Header.Get("Content-Type"); ct != p.ctype || r.Header.Get("Cache-Control") != "no-store" ||
					!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") {
					t.Errorf("download: Content-Type %q, Cache-Control %q, Content-Disposition %q", ct, r.Header.Get("Cache-Control"), r.Header.Get("Content-Disposition"))
				}
				return
			}
			body := string(r.Body)
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "</html>") {
				t.Fatalf("not a whole HTML page (a template failed?): %s ...%.300s", r.Header.Get("Content-Type"), body[max(0, len(body)-300):])
			}
			if m := inlineCode(body); m != "" {
				t.Errorf("page has inline code the CSP forbids: %q", m)
			}
			wantCache := p.cache
			if wantCache == "" {
				wantCache = "no-store"
			}
			if r.Header.Get("Cache-Control") != wantCache {
				t.Errorf("Cache-Control %q, want %s", r.Header.Get("Cache-Control"), wantCache)
			}
			if p.cache != "" && (strings.Contains(body, "csp@example.com") || len(r.Header.Values("Set-Cookie")) > 0) {
				t.Errorf("a cacheable page names the signed-in user or sets a cookie")
			}
		})
	}
}

func checkCSP(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if csp == "" {
		t.Fatal("no Content-Security-Policy")
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "unsafe-hashes", "data:", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP %q allows %s", csp, bad)
		}
	}
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "form-action 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q lost a directive", csp)
	}
}

// TestInlineCodePattern proves the page check can fail.
func TestInlineCodePattern(t *testing.T) {
	for _, bad := range []string{`<script>alert(1)</script>`, `<div style="color:red">`, `<style>p{}</style>`,
		`<a onclick="x()">`, `<a href="javascript:x()">`, `<script>`} {
		if inlineCode(bad) == "" {
			t.Errorf("not caught: %s", bad)
		}
	}
	for _, good := range []string{`<script src="/static/js/passkey.js" defer></script>`, `<p class="style">`, `<input name="onward">`} {
		if m := inlineCode(good); m != "" {
			t.Errorf("false alarm on %s: %q", good, m)
		}
	}
}
