package web_test

import (
	"context"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestSettingsKeepRetention: the settings page shows the retention set
// through the API, and saving the page as shown keeps it (the form once
// dropped it), while a changed value is saved.
func TestSettingsKeepRetention(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "admin@example.com", "Retention Ltd")
	org := strongroom.TenantID(acct.OrgID)
	srv.SetOrgSettings(t, org, strongroom.OrgSettings{DefaultRetention: &strongroom.RetentionPolicy{Days: 30, From: strongroom.RetainFromUpdated}, AuditRetentionDays: 4000})
	_, body := page(t, srv, acct.Token, "/orgs/"+acct.OrgID+"/settings")
	for _, want := range []string{`name="retention_days" type="number" value="30"`, `<option value="updated" selected>`, `name="audit_retention_days" type="number" value="4000"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the settings page lacks %s", want)
		}
	}
	save := func(body string) {
		t.Helper()
		r := srv.Do(t, testkit.Request{Method: "POST", Path: "/orgs/" + acct.OrgID + "/settings", Body: body, ContentType: "application/x-www-form-urlencoded",
			Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + acct.Token}})
		if r.Status != 200 || strings.Contains(string(r.Body), `role="alert"`) {
			t.Fatalf("saving: status %d %.1500s", r.Status, r.Body)
		}
	}
	read := func() *strongroom.OrgSettings {
		t.Helper()
		var set *strongroom.OrgSettings
		if err := srv.Store.Read(context.Background(), store.TenantScope(org), func(tx *store.Tx) error {
			var err error
			set, err = tx.OrgSettings(context.Background())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return set
	}
	all := "sign_in_methods=password&sign_in_methods=email&sign_in_methods=oidc&sign_in_methods=passkey"
	save(all + "&email_verify_each_sign_in=&retention_days=30&retention_from=updated&audit_retention_days=4000")
	if set := read(); set.DefaultRetention == nil || *set.DefaultRetention != (strongroom.RetentionPolicy{Days: 30, From: "updated"}) || set.AuditRetentionDays != 4000 {
		t.Errorf("after saving the page as shown: %+v %+v", set, set.DefaultRetention)
	}
	save(all + "&retention_days=90&retention_from=field&retention_field=contract.end&audit_retention_days=0")
	if set := read(); set.DefaultRetention == nil || *set.DefaultRetention != (strongroom.RetentionPolicy{Days: 90, From: "field", Field: "contract.end"}) || set.AuditRetentionDays != 0 {
		t.Errorf("after changing retention: %+v %+v", set, set.DefaultRetention)
	}
	save(all + "&retention_days=0&retention_from=created")
	if set := read(); set.DefaultRetention != nil {
		t.Errorf("retention 0 kept a policy: %+v", set.DefaultRetention)
	}
}

// TestCollectionRetention: a collection's own rule is saved and shown, a bad
// one is refused beside its field and changes nothing, a Viewer cannot save,
// and "follow the default" removes the own rule.
func TestCollectionRetention(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "admin@example.com", "Retention Ltd")
	seedRecords(t, srv, acct, 1)
	viewer := srv.Signup(t, "viewer@example.com", "Viewer's own")
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + acct.OrgID + "/members", Token: acct.Token,
		Body: map[string]string{"email": viewer.Email, "role": "viewer"}}), 201)
	path := "/orgs/" + acct.OrgID + "/collections/people/retention"
	post := func(token, body string) testkit.Response {
		return srv.Do(t, testkit.Request{Method: "POST", Path: path, Body: body, ContentType: "application/x-www-form-urlencoded",
			Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + token}})
	}
	if st, body := page(t, srv, acct.Token, path); st != 200 || !strings.Contains(body, "follows the organization's default") {
		t.Fatalf("retention page: %d", st)
	}
	r := post(acct.Token, "mode=own&retention_days=30&retention_from=updated")
	if r.Status != 200 || !strings.Contains(string(r.Body), "Records are deleted 30 days after their last change") {
		t.Fatalf("saving: %d %.1000s", r.Status, r.Body)
	}
	for _, c := range []struct{ body, says string }{
		{"mode=own&retention_days=30&retention_from=field&retention_field=a..b", `id="f-field-error">Must be a field path`},
		{"mode=own&retention_days=30&retention_from=never", `id="f-from-error">Must be created, updated or field`},
		{"mode=own&retention_days=abc", `id="f-retention_days-error"`},
		{"mode=own&retention_days=99999999", `id="f-days-error"`},
	} {
		r := post(acct.Token, c.body)
		if r.Status != 422 || !strings.Contains(string(r.Body), c.says) {
			t.Errorf("%s: status %d, wants %s", c.body, r.Status, c.says)
		}
	}
	if r := post(viewer.Token, "mode=default"); r.Status != 403 {
		t.Errorf("a Viewer saving: status %d", r.Status)
	}
	if _, body := page(t, srv, acct.Token, path); !strings.Contains(body, "Records are deleted 30 days after their last change") {
		t.Error("a refused change altered the rule")
	}
	if r := post(acct.Token, "mode=default&retention_days=30"); r.Status != 200 || !strings.Contains(string(r.Body), "follows the organization's default") {
		t.Errorf("back to the default: %d", r.Status)
	}
}
