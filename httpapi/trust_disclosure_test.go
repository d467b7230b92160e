package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// Responsible disclosure over HTTP (INC-05): security.txt, the public report
// intake with hostile input and its rate limit, the reporter's status by
// token, the operators' workflow and the public credits, on both engines.

// trustOperator makes a new account an operator signed in with a second
// factor, and returns its session token.
func trustOperator(t *testing.T, env *mfaTEnv, email string) string {
	t.Helper()
	return operatorGrant(t, env, signupOperator(t, env, email, "Ops "+email))
}

// signupOperator signs up email with a new organization org and makes the
// user an operator (without a second factor).
func signupOperator(t *testing.T, env *mfaTEnv, email, org string) testkit.Account {
	t.Helper()
	op := env.srv.Signup(t, email, org)
	if err := env.st.Write(context.Background(), store.Scope{}, func(tx *store.Tx) error {
		return tx.SetOperator(context.Background(), strongroom.UserID(op.UserID), true)
	}); err != nil {
		t.Fatal(err)
	}
	return op
}

// operatorGrant enrols op in TOTP and signs in with it: the token of a
// session with a second factor.
func operatorGrant(t *testing.T, env *mfaTEnv, op testkit.Account) string {
	t.Helper()
	f := env.enrolTOTP(t, op.Token)
	ch := env.challenge(t, op.Email, "totp", "recovery")
	return mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/mfa", map[string]string{"challenge": ch, "code": env.totp(t, f.Secret)}), http.StatusOK).Token
}

func TestSecurityTxtServed(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	r := testkit.MustStatus(t, call(t, srv, "", "GET", "/.well-known/security.txt", nil), http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	body := string(r.Body)
	if !strings.Contains(body, "\nContact: mailto:security@strongroom.test\n") || strings.Count(body, "\nExpires: ") != 1 {
		t.Fatalf("security.txt:\n%s", body)
	}
	_, v, _ := strings.Cut(body, "Expires: ")
	v, _, _ = strings.Cut(v, "\n")
	exp, err := time.Parse(time.RFC3339, v)
	if err != nil || !exp.After(time.Now()) || time.Until(exp) >= 365*24*time.Hour {
		t.Fatalf("Expires %q: %v", v, err)
	}

	// Without a contact the file is not served.
	none := testkit.NewServerWithConfig(t, testkit.OpenSQLiteStore(t), testkit.ServerConfig{Service: func(_ string, cfg *service.Config) {
		cfg.Trust.SecurityTxt = nil
	}})
	testkit.MustStatus(t, call(t, none, "", "GET", "/.well-known/security.txt", nil), http.StatusNotFound)
}

func TestDisclosureReportFlow(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			user := env.srv.Signup(t, "ursula@org.example", "Org U")
			op := trustOperator(t, env, "olga@ops.example")
			before := env.seq(t, mfaTPlatform)

			attachment := []byte("GET /api/v1/... HTTP/1.1\r\nX-Probe: <script>\r\n")
			r := testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/disclosure/reports", map[string]any{
				"title": "Stored XSS in the console", "description": "Steps:\n1. …\n2. …",
				"reporter_name": "Rita Reporter", "reporter_email": "Rita@Researcher.example", "credit": true,
				"attachments": []map[string]any{{"name": "poc.http", "content_type": "text/plain", "data": attachment}},
			}), http.StatusCreated)
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Error("the receipt with its token may be cached")
			}
			rec := r.JSON(t)
			id, token := rec["id"].(string), rec["token"].(string)
			if !strings.HasPrefix(token, service.ReportTokenPrefix) || id == "" {
				t.Fatalf("receipt %v", rec)
			}
			due, err := time.Parse(time.RFC3339, rec["acknowledgement_due"].(string))
			if err != nil || !due.After(env.clock.Now().Add(24*time.Hour)) {
				t.Fatalf("acknowledgement due %v (%v)", rec["acknowledgement_due"], err)
			}
			env.audited(t, mfaTPlatform, before, "disclosure.report.create success")

			// Nothing secret is stored in the clear.
			var sealed []byte
			if err := env.st.Read(context.Background(), store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
				r, err := tx.VulnReport(context.Background(), id)
				if err == nil {
					sealed = r.Sealed
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"Steps:", "rita@researcher.example", "Rita Reporter"} {
				if bytes.Contains(sealed, []byte(secret)) {
					t.Errorf("%q is stored in the clear", secret)
				}
			}

			// The reporter reads the status with the token; a wrong token is 404.
			st := testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/disclosure/reports/status", map[string]string{"token": token}), http.StatusOK).JSON(t)
			if st["status"] != "new" || st["id"] != id || st["description"] != nil || st["reporter_email"] != nil {
				t.Fatalf("status %v", st)
			}
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/disclosure/reports/status", map[string]string{"token": token + "x"}), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/disclosure/reports/status", map[string]string{"token": service.ReportTokenPrefix + strings.Repeat("A", 43)}), http.StatusNotFound, strongroom.ENOTFOUND)

			// Operators only: others get 403 (401 anonymous), and nothing is shown.
			base := "/api/v1/operator/disclosure/reports"
			for _, p := range []string{base, base + "/" + id} {
				mfaTProblem(t, env.do(t, "", "GET", p, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
				mfaTProblem(t, env.do(t, user.Token, "GET", p, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			}
			mfaTProblem(t, env.do(t, user.Token, "PATCH", base+"/"+id, map[string]string{"status": "acknowledged"}), http.StatusForbidden, strongroom.EFORBIDDEN)

			list := testkit.MustStatus(t, env.do(t, op, "GET", base+"?status=new", nil), http.StatusOK).JSON(t)["items"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["id"] != id {
				t.Fatalf("list %v", list)
			}
			d := testkit.MustStatus(t, env.do(t, op, "GET", base+"/"+id, nil), http.StatusOK).JSON(t)
			files := d["files"].([]any)
			if d["description"] != "Steps:\n1. …\n2. …" || d["reporter_email"] != "rita@researcher.example" || d["credit_name"] != "Rita Reporter" ||
				len(files) != 1 || files[0].(map[string]any)["data"] != mustB64(attachment) {
				t.Fatalf("detail %v", d)
			}
			mfaTProblem(t, env.do(t, op, "GET", base+"/00000000-0000-7000-8000-000000000000", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, op, "GET", base+"/not-an-id", nil), http.StatusNotFound, strongroom.ENOTFOUND)

			// The workflow: steps in order only; triage needs a severity and sets the fix deadline.
			patch := func(body map[string]string) testkit.Response { return env.do(t, op, "PATCH", base+"/"+id, body) }
			mfaTProblem(t, patch(map[string]string{"status": "fixed"}), http.StatusConflict, strongroom.ECONFLICT)
			testkit.MustStatus(t, patch(map[string]string{"status": "acknowledged"}), http.StatusOK)
			mfaTProblem(t, patch(map[string]string{"status": "triaged"}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			mfaTProblem(t, patch(map[string]string{"status": "triaged", "severity": "sev0"}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			tr := testkit.MustStatus(t, patch(map[string]string{"status": "triaged", "severity": "critical"}), http.StatusOK).JSON(t)
			received, _ := time.Parse(time.RFC3339, tr["received_at"].(string))
			resDue, _ := time.Parse(time.RFC3339, tr["resolution_due"].(string))
			if !resDue.Equal(received.AddDate(0, 0, 30)) {
				t.Errorf("critical fix due %v, want 30 days after %v", resDue, received)
			}
			if c := testkit.MustStatus(t, call(t, env.srv, "", "GET", "/api/v1/disclosure/credits", nil), http.StatusOK).JSON(t)["items"].([]any); len(c) != 0 {
				t.Errorf("credited before the fix: %v", c)
			}
			testkit.MustStatus(t, patch(map[string]string{"status": "fixed"}), http.StatusOK)
			mfaTProblem(t, patch(map[string]string{"status": "wont_fix"}), http.StatusConflict, strongroom.ECONFLICT)
			c := testkit.MustStatus(t, call(t, env.srv, "", "GET", "/api/v1/disclosure/credits", nil), http.StatusOK).JSON(t)["items"].([]any)
			if len(c) != 1 || c[0].(map[string]any)["name"] != "Rita Reporter" || len(c[0].(map[string]any)) != 2 {
				t.Errorf("credits %v", c)
			}
			st = testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/disclosure/reports/status", map[string]string{"token": token}), http.StatusOK).JSON(t)
			if st["status"] != "fixed" || st["severity"] != "critical" {
				t.Errorf("status after fix %v", st)
			}
			sum, err := env.srv.Service.DisclosureSummary(context.Background(), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Reports != 1 || sum.Acknowledged != 1 || sum.AckOnTime != 1 || sum.Fixed != 1 || sum.MedianAck <= 0 || sum.MedianAck > time.Hour {
				t.Errorf("summary %+v", sum)
			}
		})
	}
}

func mustB64(b []byte) string {
	s, _ := json.Marshal(b)
	return strings.Trim(string(s), `"`)
}

// Hostile and malformed reports are refused with a clear error and write
// nothing; the intake answers 429 past its rate.
func TestDisclosureReportBadInput(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			srv := testkit.NewServer(t, st, httpapi.Options{})
			count := func() int {
				var n int
				if err := st.Read(context.Background(), store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
					rs, err := tx.VulnReports(context.Background(), store.VulnReportFilter{}, 0)
					n = len(rs)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return n
			}
			valid := func() map[string]any { return map[string]any{"title": "t", "description": "d"} }
			with := func(k string, v any) map[string]any { m := valid(); m[k] = v; return m }
			att := func(n, size int) []map[string]any {
				var out []map[string]any
				for i := range n {
					out = append(out, map[string]any{"name": fmt.Sprintf("f%d.txt", i), "data": bytes.Repeat([]byte("a"), size)})
				}
				return out
			}
			cases := []struct {
				name   string
				body   any
				raw    string
				ctype  string
				status int
			}{
				{"not JSON", nil, "{title:", "application/json", http.StatusBadRequest},
				{"wrong media type", nil, `{"title":"t","description":"d"}`, "text/plain", http.StatusUnsupportedMediaType},
				{"unknown field", with("severity", "critical"), "", "", http.StatusBadRequest},
				{"no title", with("title", ""), "", "", http.StatusUnprocessableEntity},
				{"no description", with("description", "  "), "", "", http.StatusUnprocessableEntity},
				{"title too long", with("title", strings.Repeat("x", 201)), "", "", http.StatusUnprocessableEntity},
				{"control characters in the title", with("title", "a\x1b[31mb"), "", "", http.StatusUnprocessableEntity},
				{"description too long", with("description", strings.Repeat("x", 20001)), "", "", http.StatusUnprocessableEntity},
				{"bad e-mail", with("reporter_email", "not an address"), "", "", http.StatusUnprocessableEntity},
				{"credit name without credit", with("credit_name", "X"), "", "", http.StatusUnprocessableEntity},
				{"credit without a name", with("credit", true), "", "", http.StatusUnprocessableEntity},
				{"too many attachments", with("attachments", att(4, 10)), "", "", http.StatusUnprocessableEntity},
				{"attachment too large", with("attachments", att(1, 256<<10+1)), "", "", http.StatusUnprocessableEntity},
				{"attachments too large in all", with("attachments", att(3, 200<<10)), "", "", http.StatusUnprocessableEntity},
				{"empty attachment", with("attachments", att(1, 0)), "", "", http.StatusUnprocessableEntity},
				{"attachment name with a path", with("attachments", []map[string]any{{"name": "../../etc/passwd", "data": []byte("x")}}), "", "", http.StatusUnprocessableEntity},
				{"attachment bad media type", with("attachments", []map[string]any{{"name": "a", "content_type": "not a type", "data": []byte("x")}}), "", "", http.StatusUnprocessableEntity},
				{"attachment not base64", nil, `{"title":"t","description":"d","attachments":[{"name":"a","data":"!!!"}]}`, "application/json", http.StatusBadRequest},
				{"body over the limit", nil, `{"title":"t","description":"` + strings.Repeat("x", 1<<20) + `"}`, "application/json", http.StatusRequestEntityTooLarge},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					req := testkit.Request{Method: "POST", Path: "/api/v1/disclosure/reports", Body: c.body}
					if c.raw != "" {
						req.Body, req.ContentType = c.raw, c.ctype
					}
					r := srv.Do(t, req)
					if r.Status != c.status {
						t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
					}
					if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
						t.Errorf("not a problem: %s", r.Header.Get("Content-Type"))
					}
				})
			}
			if n := count(); n != 0 {
				t.Fatalf("%d reports written by refused requests", n)
			}
			testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/disclosure/reports", Body: with("attachments", att(3, 100<<10))}), http.StatusCreated)
			if n := count(); n != 1 {
				t.Fatalf("%d reports, want 1", n)
			}
		})
	}
}

func TestDisclosureReportRateLimit(t *testing.T) {
	st := testkit.OpenSQLiteStore(t)
	srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{Service: func(_ string, cfg *service.Config) {
		cfg.Trust.ReportsPerHour, cfg.Trust.ReportsBurst = 1, 2
	}})
	body := map[string]string{"title": "t", "description": "d"}
	for range 2 {
		testkit.MustStatus(t, call(t, srv, "", "POST", "/api/v1/disclosure/reports", body), http.StatusCreated)
	}
	r := call(t, srv, "", "POST", "/api/v1/disclosure/reports", body)
	mfaTProblem(t, r, http.StatusTooManyRequests, strongroom.ERATELIMIT)
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	// Refused before the body is read: even a malformed one gets 429.
	r = srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/disclosure/reports", Body: "{", ContentType: "application/json"})
	mfaTProblem(t, r, http.StatusTooManyRequests, strongroom.ERATELIMIT)
}

// Operators are reminded of a report still new when a quarter of its
// acknowledgement window is left, at most once a day, and no more once it is
// acknowledged (INC-05).
func TestDisclosureReminders(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			trustOperator(t, env, "rosa@ops.example") // an operator to remind
			rec := testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/disclosure/reports", map[string]string{"title": "IDOR", "description": "d"}), http.StatusCreated).JSON(t)
			id := rec["id"].(string)
			due, _ := time.Parse(time.RFC3339, rec["acknowledgement_due"].(string))
			ctx := context.Background()
			run := func() { env.srv.Service.TrustJobsOnce(ctx, time.Minute, "replica") }
			run()
			if n := len(env.mails("rosa@ops.example", "disclosure-reminder")); n != 0 {
				t.Fatalf("reminded %d times at once", n)
			}
			// Move to just inside the last quarter of the window.
			window := due.Sub(env.clock.Now())
			env.clock.Advance(window - window/4 + time.Minute)
			before := env.seq(t, mfaTPlatform)
			run()
			m := env.mail(t, "rosa@ops.example", "disclosure-reminder", 1)
			if !strings.Contains(m.Text, id) || strings.Contains(m.Text, "IDOR") {
				t.Errorf("reminder %q: names the report by id only", m.Text)
			}
			env.audited(t, mfaTPlatform, before, "disclosure.report.remind success")
			run()
			env.mail(t, "rosa@ops.example", "disclosure-reminder", 1) // not again within a day
			env.clock.Advance(25 * time.Hour)
			run()
			env.mail(t, "rosa@ops.example", "disclosure-reminder", 2) // daily while it is near or past due
			env.clock.Advance(window / 4)                             // past the deadline
			op := trustOperator(t, env, "rick@ops.example")
			st := testkit.MustStatus(t, env.do(t, op, "GET", "/api/v1/operator/disclosure/reports", nil), http.StatusOK).JSON(t)["items"].([]any)
			if st[0].(map[string]any)["acknowledgement_overdue"] != true {
				t.Errorf("not marked overdue: %v", st[0])
			}
			testkit.MustStatus(t, env.do(t, op, "PATCH", "/api/v1/operator/disclosure/reports/"+id, map[string]string{"status": "acknowledged"}), http.StatusOK)
			env.clock.Advance(25 * time.Hour)
			run()
			env.mail(t, "rosa@ops.example", "disclosure-reminder", 2)
			// The trust page's facts: acknowledged late, after more than the window.
			sum, err := env.srv.Service.DisclosureSummary(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Reports != 1 || sum.Acknowledged != 1 || sum.AckOnTime != 0 || sum.MedianAck <= window {
				t.Errorf("summary %+v (window %v)", sum, window)
			}
		})
	}
}
