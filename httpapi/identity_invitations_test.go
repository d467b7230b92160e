package httpapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
)

// Invitations end to end over HTTP, on both engines (keyTEnv: see
// identity_keys_test.go).

// invite has A's Admin invite email and returns the invitation and the
// e-mailed token.
func (env *keyTEnv) invite(t *testing.T, token string, body map[string]any) (map[string]any, string) {
	t.Helper()
	inv := testkit.MustStatus(t, env.do(t, token, "POST", env.org("/invitations"), body), http.StatusCreated).JSON(t)
	m := mailed(t, env.srv, body["email"].(string), "invitation")
	if !strings.Contains(m.Text, env.srv.URL+"/invitations/accept?token=sri_") || !strings.Contains(m.Text, "Keys Org") {
		t.Errorf("invitation e-mail without the organization or an accept link: %q", m.Text)
	}
	return inv, mailedToken(t, m, "sri_")
}

func (env *keyTEnv) accept(t *testing.T, token string, body map[string]string) testkit.Response {
	t.Helper()
	return env.do(t, token, "POST", "/api/v1/invitations/accept", body)
}

// TestInvitations: an Admin invites by e-mail with a role and clients; the
// link works once, until it expires or is revoked; a new person gets an
// account and a session, an existing account must accept signed in as
// itself; the organization's allowed domains apply; all of it is audited.
func TestInvitations(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := keyTNew(t, e)
			c1 := env.client(t)

			t.Run("new person", func(t *testing.T) {
				inv, token := env.invite(t, env.admin.Token, map[string]any{"email": "newcomer@keys.example", "role": "editor", "client_ids": []string{c1}})
				if inv["email"] != "newcomer@keys.example" || inv["role"] != "editor" || !cmp.Equal(inv["client_ids"], []any{c1}) || inv["accepted_at"] != nil {
					t.Errorf("invitation %v", inv)
				}
				exp, _ := time.Parse(time.RFC3339Nano, inv["expires_at"].(string))
				if d := exp.Sub(env.clock.Now()); d < service.InvitationTTL-time.Minute || d > service.InvitationTTL {
					t.Errorf("expires in %v, want %v", d, service.InvitationTTL)
				}
				list := testkit.MustStatus(t, env.do(t, env.admin.Token, "GET", env.org("/invitations"), nil), http.StatusOK)
				if !bytes.Contains(list.Body, []byte(inv["id"].(string))) || bytes.Contains(list.Body, []byte(token)) || bytes.Contains(list.Body, []byte(token[4:])) {
					t.Errorf("the list misses the invitation or shows its token: %s", list.Body)
				}

				r := testkit.MustStatus(t, env.accept(t, "", map[string]string{"token": token, "password": password}), http.StatusCreated)
				g := r.JSON(t)
				m := g["membership"].(map[string]any)
				if g["organization_id"] != env.admin.OrgID || m["role"] != "editor" || !cmp.Equal(m["client_ids"], []any{c1}) || m["email"] != "newcomer@keys.example" {
					t.Errorf("accepted: %s", r.Body)
				}
				session, _ := g["token"].(string)
				if !authn.WellFormed(session, authn.SessionTokenPrefix) {
					t.Fatalf("no session for the new account: %s", r.Body)
				}
				me := testkit.MustStatus(t, env.do(t, session, "GET", "/api/v1/me", nil), http.StatusOK).JSON(t)
				if orgs := me["organizations"].([]any); len(orgs) != 1 || orgs[0].(map[string]any)["id"] != env.admin.OrgID {
					t.Errorf("the new account's organizations: %v", orgs)
				}
				if me["user"].(map[string]any)["email_verified"] != true {
					t.Error("the invitation link proved the address, but it is not verified")
				}
				// The assignment holds: the new Editor sees client one only.
				testkit.MustStatus(t, env.do(t, session, "GET", env.org("/collections/notes/records"), nil), http.StatusOK)
				env.record(t, session, env.client(t), http.StatusUnprocessableEntity)
				env.record(t, session, c1, http.StatusCreated)

				// Once only.
				keyTRefused(t, env.accept(t, "", map[string]string{"token": token, "password": "another passphrase entirely"}),
					http.StatusNotFound, strongroom.ENOTFOUND)
				var accepted map[string]any
				for _, v := range testkit.MustStatus(t, env.do(t, env.admin.Token, "GET", env.org("/invitations"), nil), http.StatusOK).JSON(t)["items"].([]any) {
					if v.(map[string]any)["id"] == inv["id"] {
						accepted = v.(map[string]any)
					}
				}
				if accepted == nil || accepted["accepted_at"] == nil {
					t.Errorf("the list does not show the acceptance: %v", accepted)
				}
				user := g["user"].(map[string]any)["id"].(string)
				want := []event{
					{"invitation.create", "user", env.admin.UserID, "invitation", inv["id"].(string), strongroom.ResultSuccess},
					{"invitation.accept", "user", user, "invitation", inv["id"].(string), strongroom.ResultSuccess},
				}
				got := summarize(append(env.events(t, env.admin.OrgID, "invitation.create"), env.events(t, env.admin.OrgID, "invitation.accept")...))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("audit (-want +got):\n%s", diff)
				}
			})

			t.Run("existing account", func(t *testing.T) {
				existing := env.srv.Signup(t, "existing@keys.example", "Existing Org")
				stranger := env.srv.Signup(t, "stranger@keys.example", "Stranger Org")
				_, token := env.invite(t, env.admin.Token, map[string]any{"email": existing.Email, "role": "viewer"})
				keyTRefused(t, env.accept(t, "", map[string]string{"token": token, "password": "a takeover attempt passphrase"}),
					http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
				keyTRefused(t, env.accept(t, stranger.Token, map[string]string{"token": token}), http.StatusForbidden, strongroom.EFORBIDDEN)
				// The refusals spent nothing: the right account accepts.
				r := testkit.MustStatus(t, env.accept(t, existing.Token, map[string]string{"token": token}), http.StatusOK).JSON(t)
				if _, ok := r["token"]; ok {
					t.Error("accepting while signed in opened another session")
				}
				if m := r["membership"].(map[string]any); m["role"] != "viewer" || m["user_id"] != existing.UserID {
					t.Errorf("membership %v", m)
				}
				testkit.MustStatus(t, env.do(t, existing.Token, "GET", env.org(""), nil), http.StatusOK)
				testkit.MustStatus(t, env.do(t, stranger.Token, "GET", env.org(""), nil), http.StatusNotFound)
			})

			t.Run("revoked", func(t *testing.T) {
				inv, token := env.invite(t, env.admin.Token, map[string]any{"email": "revoked@keys.example", "role": "viewer"})
				testkit.MustStatus(t, env.do(t, env.admin.Token, "DELETE", env.org("/invitations/"+inv["id"].(string)), nil), http.StatusNoContent)
				keyTRefused(t, env.accept(t, "", map[string]string{"token": token, "password": "a fresh passphrase for revoked"}),
					http.StatusNotFound, strongroom.ENOTFOUND)
				keyTRefused(t, env.do(t, env.admin.Token, "DELETE", env.org("/invitations/"+inv["id"].(string)), nil), http.StatusNotFound, strongroom.ENOTFOUND)
				if ev := env.events(t, env.admin.OrgID, "invitation.revoke"); len(ev) != 1 || ev[0].TargetID != inv["id"] {
					t.Errorf("invitation.revoke events %+v", summarize(ev))
				}
				for _, bad := range []string{"", "sri_", "sri_" + strings.Repeat("A", 43), "srk_" + token[4:], token + "A"} {
					keyTRefused(t, env.accept(t, "", map[string]string{"token": bad, "password": "a fresh passphrase for nobody"}),
						http.StatusNotFound, strongroom.ENOTFOUND)
				}
			})

			t.Run("allowed domains", func(t *testing.T) {
				// Sent before the organization narrowed its domains.
				_, pending := env.invite(t, env.admin.Token, map[string]any{"email": "pending@elsewhere.example", "role": "viewer"})
				outsider := env.srv.Signup(t, "member@elsewhere.example", "Elsewhere Org")
				set := map[string]any{"mfa_required": false, "email_verify_each_sign_in": false, "sign_in_methods": []string{},
					"allowed_email_domains": []string{"keys.example"}, "session_idle_minutes": 0, "session_absolute_hours": 0}
				testkit.MustStatus(t, env.do(t, env.admin.Token, "PUT", env.org("/settings"), set), http.StatusOK)
				for _, r := range []testkit.Response{
					env.do(t, env.admin.Token, "POST", env.org("/invitations"), map[string]any{"email": "someone@elsewhere.example", "role": "viewer"}),
					env.do(t, env.admin.Token, "POST", env.org("/members"), map[string]any{"email": outsider.Email, "role": "viewer"}),
				} {
					if p := keyTRefused(t, r, http.StatusUnprocessableEntity, strongroom.EVALIDATION); len(p.Errors) != 1 || p.Errors[0].Path != "/email" {
						t.Errorf("errors %+v", p.Errors)
					}
				}
				keyTRefused(t, env.accept(t, "", map[string]string{"token": pending, "password": password}), http.StatusForbidden, strongroom.EFORBIDDEN)
				env.invite(t, env.admin.Token, map[string]any{"email": "inside@keys.example", "role": "viewer"})
				set["allowed_email_domains"] = []string{}
				testkit.MustStatus(t, env.do(t, env.admin.Token, "PUT", env.org("/settings"), set), http.StatusOK)
				// The refusal spent nothing.
				testkit.MustStatus(t, env.accept(t, "", map[string]string{"token": pending, "password": password}), http.StatusCreated)
			})

			t.Run("viewer", func(t *testing.T) {
				v := env.member(t, "viewer")
				keyTRefused(t, env.do(t, v.Token, "POST", env.org("/invitations"), map[string]any{"email": "friend@keys.example", "role": "admin"}),
					http.StatusForbidden, strongroom.EFORBIDDEN)
				keyTRefused(t, env.do(t, v.Token, "GET", env.org("/invitations"), nil), http.StatusForbidden, strongroom.EFORBIDDEN)
				for _, m := range env.srv.Outbox.List(0) {
					if m.To == "friend@keys.example" {
						t.Error("a refused invitation was e-mailed")
					}
				}
			})

			t.Run("expired", func(t *testing.T) {
				_, token := env.invite(t, env.admin.Token, map[string]any{"email": "late@keys.example", "role": "viewer"})
				env.clock.Advance(8 * 24 * time.Hour)
				keyTRefused(t, env.accept(t, "", map[string]string{"token": token, "password": "a fresh passphrase for late"}),
					http.StatusNotFound, strongroom.ENOTFOUND)
			})
		})
	}
}
