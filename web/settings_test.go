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
