package web_test

import (
	"context"
	"net/http"
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
