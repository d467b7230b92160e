package web_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// TestPagesNameActors: a data-subject request's page names who opened it —
// a member by e-mail address, an API key by name, the system and an operator
// as the audit log shows them — beside the raw actor id; an actor the
// organization no longer knows (a removed member, an unknown id, a member of
// another organization only) is shown by id as "no longer a member", never
// by another organization's e-mail address, and never as an error page.
// Both engines.
func TestPagesNameActors(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) { testPagesNameActors(t, testkit.NewServer(t, e.Open(t), httpapi.Options{})) })
	}
}

func testPagesNameActors(t *testing.T, srv *testkit.Server) {
	ctx := context.Background()
	opal := srv.Signup(t, "opal@example.com", "Opal Org")
	bob := srv.Signup(t, "bob@example.com", "Bob Ltd")           // an Admin of Opal Org for a while
	mallory := srv.Signup(t, "mallory@example.com", "Other Ltd") // never a member of Opal Org
	ops := operatorSession(t, srv, "ops@example.com")
	org := strongroom.TenantID(opal.OrgID)
	api := "/api/v1/orgs/" + opal.OrgID
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: api + "/members", Token: opal.Token,
		Body: map[string]string{"email": "bob@example.com", "role": "admin"}}), http.StatusCreated)
	key := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: api + "/api-keys", Token: opal.Token,
		Body: map[string]string{"name": "ci-robot", "role": "admin"}}), http.StatusCreated).JSON(t)
	secret, _ := key["secret"].(string)
	keyID, _ := key["key"].(map[string]any)["id"].(string)

	openDSR := func(token string) string {
		t.Helper()
		return apiID(t, srv, token, api+"/dsr", map[string]any{"kind": "export",
			"identifiers": []map[string]any{{"field": "email", "value": "nobody@example.com"}}})
	}
	// Requests as the service records them for actors the API cannot act
	// as: the system, an operator, ids unknown here.
	forge := func(by string) string {
		t.Helper()
		now := time.Now().UTC().Truncate(time.Microsecond)
		d := &strongroom.DSR{ID: uuid.Must(uuid.NewV7()).String(), Kind: strongroom.DSRExport, Status: strongroom.DSROpen,
			Fields: []string{"email"}, RequestedBy: by, CreatedAt: now, Deadline: now.Add(30 * 24 * time.Hour)}
		if err := srv.Store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error { return tx.CreateDSR(ctx, d) }); err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	seedRecords(t, srv, opal, 1)
	byOpal, byBob, byKey := openDSR(opal.Token), openDSR(bob.Token), openDSR(secret)
	bySystem, byOperator := forge(string(strongroom.PrincipalSystem)), forge(ops.UserID)
	unknown := "0194c2f0-0000-7000-8000-0000000000ff"
	byUnknown, byMallory := forge(unknown), forge(mallory.UserID)
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "DELETE", Path: api + "/members/" + bob.UserID, Token: opal.Token}), http.StatusNoContent)

	for _, c := range []struct {
		name, id string
		shows    []string
		hides    []string
	}{
		{"member", byOpal, []string{`by <span class="actor">opal@example.com <code class="actor-id"`, ">" + opal.UserID + "</code>"}, nil},
		{"API key", byKey, []string{`by <span class="actor">API key “ci-robot” <code class="actor-id"`, ">api_key:" + keyID + "</code>"}, nil},
		{"system", bySystem, []string{`by <span class="actor">system</span>`}, nil},
		{"operator", byOperator, []string{`by <span class="actor">operator <code class="actor-id"`, ">" + ops.UserID + "</code>"}, []string{"ops@example.com"}},
		{"removed member", byBob, []string{">" + bob.UserID + "</code> (no longer a member)</span>"}, []string{"bob@example.com"}},
		{"unknown id", byUnknown, []string{">" + unknown + "</code> (no longer a member)</span>"}, nil},
		{"another organization's member", byMallory, []string{">" + mallory.UserID + "</code> (no longer a member)</span>"}, []string{"mallory@example.com"}},
	} {
		status, body := page(t, srv, opal.Token, "/orgs/"+opal.OrgID+"/requests/"+c.id)
		if status != http.StatusOK {
			t.Errorf("%s: status %d: %.500s", c.name, status, body)
			continue
		}
		for _, s := range c.shows {
			if !strings.Contains(body, s) {
				t.Errorf("%s: the page does not show %q: %.3000s", c.name, s, body)
			}
		}
		for _, s := range c.hides {
			if strings.Contains(body, s) {
				t.Errorf("%s: the page shows %q", c.name, s)
			}
		}
	}

	// The refused confirmation answers the same page: the requester is named
	// there too.
	r := srv.Do(t, testkit.Request{Method: "POST", Path: "/orgs/" + opal.OrgID + "/requests/" + byOpal + "/execute", Body: "confirm=no",
		ContentType: "application/x-www-form-urlencoded", Header: map[string]string{"Cookie": cookieOf(opal)}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `by <span class="actor">opal@example.com`) {
		t.Errorf("refused confirmation: status %d, requester not named: %.2000s", r.Status, r.Body)
	}

	// An operator terminates the organization: its Admin's termination page
	// says so by id, without the operator's e-mail address.
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/operator/orgs/" + opal.OrgID + "/termination", Token: ops.Token,
		Body: map[string]string{"confirm": "Opal Org"}}), http.StatusAccepted)
	status, body := page(t, srv, opal.Token, "/orgs/"+opal.OrgID+"/termination")
	if status != http.StatusOK || !strings.Contains(body, `by <span class="actor">operator <code class="actor-id"`) ||
		!strings.Contains(body, ">"+ops.UserID+"</code>") || strings.Contains(body, "ops@example.com") {
		t.Errorf("termination by an operator: status %d: %.3000s", status, body)
	}
}

// TestTerminationPageNamesActor: the termination's answer and its page name
// the Admin who terminated the organization by e-mail address beside the
// id; once that Admin is no longer a member, the page shows the id as "no
// longer a member", not their e-mail address (they still belong to another
// organization). Both engines.
func TestTerminationPageNamesActor(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			testTerminationPageNamesActor(t, testkit.NewServer(t, e.Open(t), httpapi.Options{}))
		})
	}
}

func testTerminationPageNamesActor(t *testing.T, srv *testkit.Server) {
	ctx := context.Background()
	carol := srv.Signup(t, "carol@example.com", "Ending Ltd")
	dave := srv.Signup(t, "dave@example.com", "Dave Ltd")
	org := strongroom.TenantID(carol.OrgID)
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + carol.OrgID + "/members", Token: carol.Token,
		Body: map[string]string{"email": "dave@example.com", "role": "admin"}}), http.StatusCreated)
	path := "/orgs/" + carol.OrgID + "/termination"
	r := srv.Do(t, testkit.Request{Method: "POST", Path: path, Body: "confirm=Ending+Ltd", ContentType: "application/x-www-form-urlencoded",
		Header: map[string]string{"Cookie": cookieOf(dave)}})
	named := `by <span class="actor">dave@example.com <code class="actor-id"`
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), named) || !strings.Contains(string(r.Body), ">"+dave.UserID+"</code>") {
		t.Fatalf("terminating: status %d, the Admin not named: %.3000s", r.Status, r.Body)
	}
	for _, tok := range []string{carol.Token, dave.Token} {
		if status, body := page(t, srv, tok, path); status != http.StatusOK || !strings.Contains(body, named) {
			t.Errorf("termination page: status %d, the Admin not named: %.3000s", status, body)
		}
	}
	// Dave leaves the organization (as a deleted account or a purge would
	// take his membership).
	if err := srv.Store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		return tx.RemoveMember(ctx, strongroom.UserID(dave.UserID))
	}); err != nil {
		t.Fatal(err)
	}
	status, body := page(t, srv, carol.Token, path)
	if status != http.StatusOK || !strings.Contains(body, ">"+dave.UserID+"</code> (no longer a member)</span>") || strings.Contains(body, "dave@example.com") {
		t.Errorf("termination page after the Admin left: status %d: %.3000s", status, body)
	}
}

// TestActorsAfterPurge: once a terminated organization is purged, its
// termination still names who terminated it for an operator, by id only:
// the Admin's account is gone with it, and a former member who belongs to
// another organization is not named from there, nor is a purged API key. A
// principal outside the organization resolves nothing. Both engines.
func TestActorsAfterPurge(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			var shift atomic.Int64
			srv := testkit.NewServerWithConfig(t, e.Open(t), testkit.ServerConfig{Service: func(_ string, cfg *service.Config) {
				cfg.Now = func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
			}})
			testActorsAfterPurge(t, srv, &shift)
		})
	}
}

func testActorsAfterPurge(t *testing.T, srv *testkit.Server, shift *atomic.Int64) {
	ctx := context.Background()
	opal := srv.Signup(t, "opal@example.com", "Opal Org")
	bob := srv.Signup(t, "bob@example.com", "Bob Ltd")
	org := strongroom.TenantID(opal.OrgID)
	api := "/api/v1/orgs/" + opal.OrgID
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: api + "/members", Token: opal.Token,
		Body: map[string]string{"email": "bob@example.com", "role": "admin"}}), http.StatusCreated)
	key := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: api + "/api-keys", Token: opal.Token,
		Body: map[string]string{"name": "ci-robot", "role": "admin"}}), http.StatusCreated).JSON(t)
	keyActor := "api_key:" + key["key"].(map[string]any)["id"].(string)

	// Outside the organization (bob's own one is not it): nothing resolves.
	outsider := strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: strongroom.UserID(bob.UserID)})
	if p, err := srv.Service.EnterOrg(outsider, strongroom.TenantID(bob.OrgID)); err != nil {
		t.Fatal(err)
	} else if a, err := srv.Service.Actors(strongroom.WithPrincipal(ctx, p), org, access.DataSubjectRequests, opal.UserID); strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
		t.Errorf("a member of another organization resolved %v, %v", a, err)
	}

	r := srv.Do(t, testkit.Request{Method: "POST", Path: "/orgs/" + opal.OrgID + "/termination", Body: "confirm=Opal+Org",
		ContentType: "application/x-www-form-urlencoded", Header: map[string]string{"Cookie": cookieOf(opal)}})
	if r.Status != http.StatusOK {
		t.Fatalf("terminating: status %d %.1000s", r.Status, r.Body)
	}
	shift.Store(int64(31 * 24 * time.Hour))
	if rep, err := srv.Service.PurgeTerminated(ctx, "test", time.Minute); err != nil || len(rep.Purged) != 1 {
		t.Fatalf("purge: %+v, %v", rep, err)
	}
	op := strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalUser, Operator: true, // as EnterOperator admits one
		UserID: strongroom.UserID("0194c2f0-0000-7000-8000-00000000000e")})
	st, err := srv.Service.Termination(op, org)
	if err != nil || st.PurgedAt == nil || st.RequestedBy != opal.UserID {
		t.Fatalf("termination after the purge: %+v, %v", st, err)
	}
	got, err := srv.Service.Actors(op, org, access.OrgTerminate, st.RequestedBy, bob.UserID, keyActor, "system")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]service.Actor{
		opal.UserID: {ID: opal.UserID},
		bob.UserID:  {ID: bob.UserID},
		keyActor:    {ID: keyActor},
		"system":    {ID: "system", Kind: strongroom.PrincipalSystem},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actors after the purge (-want +got):\n%s", diff)
	}
}
