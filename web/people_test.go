package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
)

// TestPagesNamePeople: the access review pages name the campaign's opener
// (and who completed it) by e-mail address, never by account id; an account
// that no longer exists is named "deleted account"; anonymous callers
// resolve nothing.
func TestPagesNamePeople(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	admin := srv.Signup(t, "opal@example.com", "Opal Org")
	campaign := apiID(t, srv, admin.Token, "/api/v1/orgs/"+admin.OrgID+"/access-reviews", map[string]any{})
	reviews := "/orgs/" + admin.OrgID + "/access-reviews"
	for _, path := range []string{reviews, reviews + "/" + campaign} {
		status, body := page(t, srv, admin.Token, path)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", path, status)
		}
		if !strings.Contains(body, "pened by opal@example.com") || strings.Contains(body, admin.UserID) && !strings.Contains(body, "entry-"+admin.UserID) {
			t.Errorf("%s does not name the opener by e-mail: %.2000s", path, body)
		}
	}
	// Completed (the only Admin: kept, not reviewed): the completer too.
	r := srv.Do(t, testkit.Request{Method: "POST", Path: reviews + "/" + campaign + "/complete", Body: "go=1",
		ContentType: "application/x-www-form-urlencoded", Header: map[string]string{"Cookie": cookieOf(admin)}})
	if r.Status != http.StatusOK && r.Status != http.StatusSeeOther {
		t.Fatalf("completing: %d %.300s", r.Status, r.Body)
	}
	if _, body := page(t, srv, admin.Token, reviews+"/"+campaign); !strings.Contains(body, "completed") || !strings.Contains(body, "by opal@example.com") {
		t.Errorf("the completed campaign does not name who completed it: %.2000s", body)
	}

	ctx := strongroom.WithPrincipal(context.Background(), &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: strongroom.UserID(admin.UserID)})
	gone := strongroom.UserID("0194c2f0-0000-7000-8000-0000000000ff")
	names, err := srv.Service.Emails(ctx, strongroom.UserID(admin.UserID), gone, "")
	if err != nil {
		t.Fatal(err)
	}
	if names[strongroom.UserID(admin.UserID)] != "opal@example.com" || names[gone] != service.DeletedAccount || len(names) != 2 {
		t.Errorf("names %v", names)
	}
	if _, err := srv.Service.Emails(context.Background(), strongroom.UserID(admin.UserID)); err == nil {
		t.Error("an anonymous caller resolved an account")
	}
}
