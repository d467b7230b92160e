package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
)

// APP-01 and APP-02: security headers on every response, CORS for the
// allow-list only, CSRF protection for browsers.

var requestIDRE = regexp.MustCompile(`^[0-9a-f]{24}$`)

// checkSecurityHeaders asserts the headers every response carries.
func checkSecurityHeaders(t *testing.T, r testkit.Response, hsts bool) {
	t.Helper()
	h := r.Header
	csp := h.Get("Content-Security-Policy")
	// File downloads carry a stricter policy: default-src 'none' and sandbox.
	if !strings.Contains(csp, "default-src 'self'") && !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q lacks default-src 'self' (or 'none')", csp)
	}
	if !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none'", csp)
	}
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	got := map[string]string{}
	for k := range want {
		got[k] = h.Get(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status %d: security headers (-want +got):\n%s", r.Status, diff)
	}
	if id := h.Get("X-Request-Id"); !requestIDRE.MatchString(id) {
		t.Errorf("X-Request-Id %q", id)
	}
	sts := h.Get("Strict-Transport-Security")
	switch {
	case hsts && !strings.Contains(sts, "max-age=63072000"):
		t.Errorf("Strict-Transport-Security %q, want max-age=63072000", sts)
	case !hsts && sts != "":
		t.Errorf("Strict-Transport-Security %q sent without the HSTS option", sts)
	}
}

func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	f := newFixture(t, testkit.OpenSQLiteStore(t))
	seen := map[string]bool{}
	check := func(t *testing.T, r testkit.Response) {
		t.Helper()
		checkSecurityHeaders(t, r, false)
		id := r.Header.Get("X-Request-Id")
		if seen[id] {
			t.Errorf("X-Request-Id %q repeated", id)
		}
		seen[id] = true
	}
	for _, rt := range f.srv.API.Routes() {
		for _, actor := range []struct {
			name string
			acct testkit.Account
		}{{"admin", f.admin}, {"anonymous", testkit.Account{}}} {
			t.Run(rt.Method+" "+rt.Path+" as "+actor.name, func(t *testing.T) {
				path, body, token := f.request(t, rt, actor.acct)
				check(t, call(t, f.srv, token, rt.Method, path, body))
			})
		}
	}
	for _, tc := range []struct {
		name   string
		req    testkit.Request
		status int
	}{
		{"start page", testkit.Request{Method: "GET", Path: "/"}, http.StatusOK},
		{"stylesheet", testkit.Request{Method: "GET", Path: "/static/style.css"}, http.StatusOK},
		{"console 404", testkit.Request{Method: "GET", Path: "/no/such/page"}, http.StatusNotFound},
		{"API 404", testkit.Request{Method: "GET", Path: "/api/v1/no/such/route"}, http.StatusNotFound},
		{"405", testkit.Request{Method: "DELETE", Path: "/api/v1/me"}, http.StatusMethodNotAllowed},
		{"401", testkit.Request{Method: "GET", Path: "/api/v1/me"}, http.StatusUnauthorized},
		{"415", testkit.Request{Method: "POST", Path: "/api/v1/signup", Body: "x", ContentType: "text/plain"}, http.StatusUnsupportedMediaType},
		{"CSRF refusal", testkit.Request{Method: "POST", Path: "/api/v1/signup", Body: "{}",
			Header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.srv.Do(t, tc.req)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			check(t, r)
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, testkit.OpenSQLiteStore(t))
	rec := f.newRecord(t)
	tests := []struct {
		method, path, allow string
	}{
		{"DELETE", "/api/v1/me", "GET"},
		{"GET", "/api/v1/signup", "POST"},
		{"PUT", "/healthz", "GET"},
		{"POST", f.records(f.collection) + "/" + rec, "GET, PUT, PATCH, DELETE"},
		{"PATCH", f.records(f.collection), "GET, POST"},
		{"PUT", f.org("/clients"), "GET, POST"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := call(t, f.srv, f.admin.Token, tc.method, tc.path, nil)
			p := mustProblem(t, r, http.StatusMethodNotAllowed)
			if got := r.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if p.Type != httpapi.ProblemTypeBase+"method_not_allowed" {
				t.Errorf("problem type %q", p.Type)
			}
			checkSecurityHeaders(t, r, false)
		})
	}
}

func TestHSTS(t *testing.T) {
	st := testkit.OpenSQLiteStore(t)
	srv := testkit.NewServer(t, st, httpapi.Options{HSTS: true})
	acct := srv.Signup(t, "hsts@a.example", "HSTS Org")
	for _, req := range []testkit.Request{
		{Method: "GET", Path: "/"},
		{Method: "GET", Path: "/healthz"},
		{Method: "GET", Path: "/api/v1/me", Token: acct.Token},
		{Method: "GET", Path: "/api/v1/me"},
		{Method: "GET", Path: "/api/v1/nope"},
		{Method: "PUT", Path: "/api/v1/me"},
		{Method: "POST", Path: "/api/v1/orgs/" + acct.OrgID + "/clients", Token: acct.Token, Body: map[string]string{"name": "c"}},
	} {
		t.Run(req.Method+" "+req.Path, func(t *testing.T) {
			checkSecurityHeaders(t, srv.Do(t, req), true)
		})
	}
}

func TestCORS(t *testing.T) {
	const allowed = "https://app.example"
	st := testkit.OpenSQLiteStore(t)
	srv := testkit.NewServer(t, st, httpapi.Options{CORSOrigins: []string{allowed}})
	acct := srv.Signup(t, "cors@a.example", "CORS Org")
	me := "/api/v1/me"

	t.Run("allowed origin", func(t *testing.T) {
		r := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: me, Token: acct.Token,
			Header: map[string]string{"Origin": allowed}}), http.StatusOK)
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != allowed {
			t.Errorf("Access-Control-Allow-Origin %q, want %q", got, allowed)
		}
		if !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "ETag") {
			t.Errorf("Access-Control-Expose-Headers %q lacks ETag", r.Header.Get("Access-Control-Expose-Headers"))
		}
		if !slicesContain(r.Header.Values("Vary"), "Origin") {
			t.Errorf("Vary %q lacks Origin", r.Header.Values("Vary"))
		}
		checkSecurityHeaders(t, r, false)
	})
	for _, origin := range []string{"https://evil.example", "http://app.example", "https://app.example:8443", "https://app.example.evil.example", "null"} {
		t.Run("other origin "+origin, func(t *testing.T) {
			r := srv.Do(t, testkit.Request{Method: "GET", Path: me, Token: acct.Token, Header: map[string]string{"Origin": origin}})
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("Access-Control-Allow-Origin %q for %s", got, origin)
			}
			if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("Access-Control-Allow-Credentials %q", got)
			}
		})
	}
	t.Run("no origin", func(t *testing.T) {
		r := srv.Do(t, testkit.Request{Method: "GET", Path: me, Token: acct.Token})
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin %q without Origin", got)
		}
	})
	preflight := func(origin string) testkit.Response {
		return srv.Do(t, testkit.Request{Method: "OPTIONS", Path: "/api/v1/orgs/" + acct.OrgID + "/clients", Header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}})
	}
	t.Run("preflight from allowed origin", func(t *testing.T) {
		r := testkit.MustStatus(t, preflight(allowed), http.StatusNoContent)
		want := map[string]string{
			"Access-Control-Allow-Origin":  allowed,
			"Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
			"Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
			"Access-Control-Max-Age":       "600",
		}
		got := map[string]string{}
		for k := range want {
			got[k] = r.Header.Get(k)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("preflight headers (-want +got):\n%s", diff)
		}
		checkSecurityHeaders(t, r, false)
	})
	t.Run("preflight from other origin", func(t *testing.T) {
		r := preflight("https://evil.example")
		mustProblem(t, r, http.StatusForbidden)
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
			if got := r.Header.Get(k); got != "" {
				t.Errorf("%s %q for a refused origin", k, got)
			}
		}
		checkSecurityHeaders(t, r, false)
	})
	t.Run("cross-origin write from allowed origin", func(t *testing.T) {
		testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + acct.OrgID + "/clients", Token: acct.Token,
			Body: map[string]string{"name": "from app"}, Header: map[string]string{"Origin": allowed, "Sec-Fetch-Site": "cross-site"}}), http.StatusCreated)
	})
}

func slicesContain(vs []string, want string) bool {
	for _, v := range vs {
		for _, part := range strings.Split(v, ",") {
			if strings.TrimSpace(part) == want {
				return true
			}
		}
	}
	return false
}

// TestCSRF: a browser's cross-site unsafe request is refused before any
// handler runs, whatever credentials it carries; programs without browser
// headers are not affected.
func TestCSRF(t *testing.T) {
	st := testkit.OpenSQLiteStore(t)
	srv := testkit.NewServer(t, st, httpapi.Options{CORSOrigins: []string{"https://app.example"}})
	acct := srv.Signup(t, "csrf@a.example", "CSRF Org")
	clients := "/api/v1/orgs/" + acct.OrgID + "/clients"
	listClients := func() string {
		return string(testkit.MustStatus(t, call(t, srv, acct.Token, "GET", clients, nil), http.StatusOK).Body)
	}
	before := listClients()
	head := auditHead(t, st, acct.OrgID)
	refused := []struct {
		name   string
		method string
		header map[string]string
	}{
		{"cross-site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site", "POST", map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"cross-site with disallowed origin", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"origin only, not the host", "POST", map[string]string{"Origin": "https://evil.example"}},
		{"cross-site PUT", "PUT", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"cross-site DELETE", "DELETE", map[string]string{"Sec-Fetch-Site": "cross-site"}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			path := clients
			if tc.method != "POST" {
				path = "/api/v1/orgs/" + acct.OrgID + "/members/" + acct.UserID + "/clients"
			}
			p := mustProblem(t, srv.Do(t, testkit.Request{Method: tc.method, Path: path, Token: acct.Token,
				Body: map[string]any{"name": "csrf", "client_ids": []string{}}, Header: tc.header}), http.StatusForbidden)
			if p.Detail != "cross-origin request refused" {
				t.Errorf("detail %q", p.Detail)
			}
		})
	}
	if after := listClients(); after != before {
		t.Errorf("refused cross-site requests changed the clients: %s", after)
	}
	expectAudit(t, st, acct.OrgID, head, nil)

	allowed := []struct {
		name   string
		method string
		path   string
		header map[string]string
	}{
		{"program without browser headers", "POST", clients, nil},
		{"same-origin browser request", "POST", clients, map[string]string{"Sec-Fetch-Site": "same-origin"}},
		{"user-initiated navigation", "POST", clients, map[string]string{"Sec-Fetch-Site": "none"}},
		{"cross-site safe method", "GET", clients, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	}
	for i, tc := range allowed {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = map[string]string{"name": "allowed " + string(rune('a'+i))}
			}
			r := srv.Do(t, testkit.Request{Method: tc.method, Path: tc.path, Token: acct.Token, Body: body, Header: tc.header})
			if r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		})
	}
}

func TestUnauthorizedChallenge(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "challenge@a.example", "Challenge Org")
	tests := []struct {
		name, authorization string
	}{
		{"no credentials", ""},
		{"basic scheme", "Basic dXNlcjpwYXNz"},
		{"token scheme", "Token " + acct.Token},
		{"scheme only", "Bearer"},
		{"empty bearer", "Bearer "},
		{"junk bearer", "Bearer not-a-token"},
		{"session token of the wrong shape", "Bearer " + acct.Token + "x"},
		{"unknown token", "Bearer srs_" + strings.Repeat("A", 43)},
		{"token without scheme", acct.Token},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/me", "/api/v1/orgs/" + acct.OrgID} {
				req := testkit.Request{Method: "GET", Path: path}
				if tc.authorization != "" {
					req.Header = map[string]string{"Authorization": tc.authorization}
				}
				r := srv.Do(t, req)
				mustProblem(t, r, http.StatusUnauthorized)
				if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
					t.Errorf("WWW-Authenticate %q", got)
				}
				if strings.Contains(string(r.Body), acct.Token) {
					t.Errorf("401 repeats the token: %s", r.Body)
				}
				checkSecurityHeaders(t, r, false)
			}
		})
	}
	// The scheme is case-insensitive (RFC 9110 section 11.1).
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/me",
		Header: map[string]string{"Authorization": "bearer " + acct.Token}}), http.StatusOK)
}
