package web_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// actionsAfter returns the audit actions appended to tenant's log after seq,
// and the newest seq.
func actionsAfter(t *testing.T, st *store.Store, tenant strongroom.TenantID, after int64) ([]string, int64) {
	t.Helper()
	ctx := context.Background()
	var out []string
	err := st.Read(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
		for {
			evs, err := tx.AuditEvents(ctx, after, 1000)
			if err != nil || len(evs) == 0 {
				return err
			}
			for _, e := range evs {
				out = append(out, e.Action)
			}
			after = evs[len(evs)-1].Seq
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, after
}

// TestConsoleFormsAudited: console forms reach the same service methods as
// the API, so each change appends its audit event (security invariant 4),
// read back from the organization's or the platform's log.
func TestConsoleFormsAudited(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "audit@example.com", "Audit Inc")
	org := strongroom.TenantID(acct.OrgID)
	cookie := httpapi.SessionCookie + "=" + acct.Token
	form := "application/x-www-form-urlencoded"
	_, orgSeq := actionsAfter(t, srv.Store, org, 0)
	_, platSeq := actionsAfter(t, srv.Store, strongroom.PlatformTenant, 0)
	steps := []struct {
		path, body string
		cookie     bool
		action     string
	}{
		{path: "/signin", body: "email=audit%40example.com&password=wrong-and-long-enough", action: "auth.signin.password"},
		{path: "/orgs/" + acct.OrgID + "/invitations", body: "email=new%40example.com&role=viewer", cookie: true, action: "invitation.create"},
		{path: "/orgs/" + acct.OrgID + "/api-keys", body: "name=ci&role=viewer&expires_days=30", cookie: true, action: "api_key.create"},
		{path: "/orgs/" + acct.OrgID + "/settings", body: "sign_in_methods=password&sign_in_methods=email&session_idle_minutes=30", cookie: true, action: "org.settings.update"},
		{path: "/account/password", body: "current_password=" + strings.ReplaceAll("correct horse battery staple", " ", "+") + "&new_password=" + strings.ReplaceAll(goodPassword, " ", "+"), cookie: true, action: "user.password.change"},
		{path: "/signout", body: "", cookie: true, action: "session.end"},
	}
	for _, s := range steps {
		req := testkit.Request{Method: http.MethodPost, Path: s.path, Body: s.body, ContentType: form, Header: map[string]string{}}
		if s.cookie {
			req.Header["Cookie"] = cookie
		}
		r := srv.Do(t, req)
		var got []string
		var more []string
		more, orgSeq = actionsAfter(t, srv.Store, org, orgSeq)
		got = append(got, more...)
		more, platSeq = actionsAfter(t, srv.Store, strongroom.PlatformTenant, platSeq)
		got = append(got, more...)
		if !slices.Contains(got, s.action) {
			t.Errorf("POST %s (status %d): audit events %v, want %s", s.path, r.Status, got, s.action)
		}
	}
}
