package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// API keys (IAM-14) and invitations end to end over HTTP, on both engines,
// with the service's clock under the test's control (testClock).

// keyTEnv is organization A (its Admin, a collection "notes") and
// organization B, on a server whose clock the test moves.
type keyTEnv struct {
	srv   *testkit.Server
	st    *store.Store
	clock *testClock
	admin testkit.Account // Admin of A
	other testkit.Account // Admin of B
	n     int
}

func keyTNew(t *testing.T, e testkit.Engine) *keyTEnv {
	t.Helper()
	env := &keyTEnv{st: e.Open(t), clock: &testClock{}}
	env.srv = testkit.NewServerWithConfig(t, env.st, testkit.ServerConfig{
		Service: func(_ string, cfg *service.Config) { cfg.Now = env.clock.Now },
	})
	env.admin = env.srv.Signup(t, "admin@keys.example", "Keys Org")
	env.other = env.srv.Signup(t, "admin@other.example", "Other Org")
	testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.org("/collections"),
		map[string]any{"name": "notes", "schema": map[string]any{"type": "object"}}), http.StatusCreated)
	return env
}

func (env *keyTEnv) do(t *testing.T, token, method, path string, body any) testkit.Response {
	t.Helper()
	return call(t, env.srv, token, method, path, body)
}

func (env *keyTEnv) org(suffix string) string { return "/api/v1/orgs/" + env.admin.OrgID + suffix }

// member signs a new account up and adds it to A with role.
func (env *keyTEnv) member(t *testing.T, role string) testkit.Account {
	t.Helper()
	env.n++
	u := env.srv.Signup(t, fmt.Sprintf("%s%d@keys.example", role, env.n), fmt.Sprintf("Own org %d", env.n))
	testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.org("/members"),
		map[string]string{"email": u.Email, "role": role}), http.StatusCreated)
	u.OrgID = env.admin.OrgID
	return u
}

func (env *keyTEnv) client(t *testing.T) string {
	t.Helper()
	env.n++
	return testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.org("/clients"),
		map[string]string{"name": fmt.Sprintf("client %d", env.n)}), http.StatusCreated).JSON(t)["id"].(string)
}

// record creates a record in notes as token, under client (none if "").
func (env *keyTEnv) record(t *testing.T, token, client string, want int) string {
	t.Helper()
	body := map[string]any{"data": map[string]any{"n": env.n}}
	if client != "" {
		body["client_id"] = client
	}
	r := testkit.MustStatus(t, env.do(t, token, "POST", env.org("/collections/notes/records"), body), want)
	if want != http.StatusCreated {
		return ""
	}
	return r.JSON(t)["id"].(string)
}

// keyTKey is a key as created: its secret is shown only then.
type keyTKey struct {
	ID, Secret, Prefix string
}

// newKey creates a key as the Admin of A.
func (env *keyTEnv) newKey(t *testing.T, body map[string]any) keyTKey {
	t.Helper()
	r := testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.org("/api-keys"), body), http.StatusCreated)
	return keyTParse(t, r)
}

func keyTParse(t *testing.T, r testkit.Response) keyTKey {
	t.Helper()
	v := r.JSON(t)
	k := v["key"].(map[string]any)
	return keyTKey{ID: k["id"].(string), Secret: v["secret"].(string), Prefix: k["prefix"].(string)}
}

// keys lists A's keys by ID.
func (env *keyTEnv) keys(t *testing.T) map[string]map[string]any {
	t.Helper()
	r := testkit.MustStatus(t, env.do(t, env.admin.Token, "GET", env.org("/api-keys"), nil), http.StatusOK)
	out := map[string]map[string]any{}
	for _, v := range r.JSON(t)["items"].([]any) {
		k := v.(map[string]any)
		out[k["id"].(string)] = k
	}
	return out
}

// events returns tenant's audit events of action.
func (env *keyTEnv) events(t *testing.T, tenant, action string) []strongroom.AuditEvent {
	t.Helper()
	var out []strongroom.AuditEvent
	for _, e := range auditSince(t, env.st, tenant, 0) {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// keyTRefused checks a refusal's status and problem type.
func keyTRefused(t *testing.T, r testkit.Response, status int, code string) httpapi.Problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("not a problem (%v): %s", err, r.Body)
	}
	if p.Type != httpapi.ProblemTypeBase+code {
		t.Fatalf("problem type %q, want …/%s: %s", p.Type, code, r.Body)
	}
	return p
}

func TestAPIKeyCreateAndUse(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := keyTNew(t, e)

			// Created by an Admin: the secret is shown once, never listed.
			r := testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.org("/api-keys"),
				map[string]any{"name": "reporting", "role": "viewer"}), http.StatusCreated)
			viewer := keyTParse(t, r)
			if !authn.WellFormed(viewer.Secret, authn.APIKeyPrefix) {
				t.Fatalf("secret %.8s… is not srk_ and 256 bits", viewer.Secret)
			}
			if viewer.Prefix != viewer.Secret[:12] {
				t.Errorf("prefix %q is not the secret's first 12 characters", viewer.Prefix)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q on the answer holding the secret", cc)
			}
			list := testkit.MustStatus(t, env.do(t, env.admin.Token, "GET", env.org("/api-keys"), nil), http.StatusOK)
			if bytes.Contains(list.Body, []byte(viewer.Secret)) || bytes.Contains(list.Body, []byte(viewer.Secret[12:])) {
				t.Fatal("the list shows the secret")
			}
			listed := env.keys(t)[viewer.ID]
			if listed == nil || listed["prefix"] != viewer.Prefix || listed["role"] != "viewer" || listed["last_used_at"] != nil {
				t.Fatalf("listed key %v", listed)
			}
			if _, ok := listed["secret"]; ok {
				t.Fatal("the list has a secret field")
			}
			if ev := env.events(t, env.admin.OrgID, "api_key.create"); len(ev) != 1 || ev[0].ActorID != env.admin.UserID || ev[0].TargetID != viewer.ID {
				t.Errorf("api_key.create events %+v", summarize(ev))
			}

			// A viewer key reads, and cannot write.
			if got := testkit.MustStatus(t, env.do(t, viewer.Secret, "GET", env.org(""), nil), http.StatusOK).JSON(t)["role"]; got != "viewer" {
				t.Errorf("the key's role in its organization: %v", got)
			}
			testkit.MustStatus(t, env.do(t, viewer.Secret, "GET", env.org("/collections/notes/records"), nil), http.StatusOK)
			keyTRefused(t, env.do(t, viewer.Secret, "POST", env.org("/collections/notes/records"),
				map[string]any{"data": map[string]any{}}), http.StatusForbidden, strongroom.EFORBIDDEN)
			keyTRefused(t, env.do(t, viewer.Secret, "GET", env.org("/members"), nil), http.StatusForbidden, strongroom.EFORBIDDEN)

			// An editor key writes, audited as the key.
			editor := env.newKey(t, map[string]any{"name": "importer", "role": "editor"})
			rec := env.record(t, editor.Secret, "", http.StatusCreated)
			ev := env.events(t, env.admin.OrgID, "record.create")
			if len(ev) != 1 || ev[0].ActorType != strongroom.PrincipalAPIKey || ev[0].ActorID != editor.ID || ev[0].TargetID != rec {
				t.Errorf("record.create events %+v", summarize(ev))
			}

			// A key limited to a client sees that client's records and those
			// of no client, like an assigned member, and writes only there.
			c1, c2 := env.client(t), env.client(t)
			r0 := env.record(t, env.admin.Token, "", http.StatusCreated)
			r1 := env.record(t, env.admin.Token, c1, http.StatusCreated)
			r2 := env.record(t, env.admin.Token, c2, http.StatusCreated)
			scoped := env.newKey(t, map[string]any{"name": "client one", "role": "editor", "client_id": c1})
			if got := env.keys(t)[scoped.ID]["client_id"]; got != c1 {
				t.Errorf("listed client_id %v, want %s", got, c1)
			}
			var seen []string
			for _, v := range testkit.MustStatus(t, env.do(t, scoped.Secret, "GET", env.org("/collections/notes/records?limit=100"), nil),
				http.StatusOK).JSON(t)["items"].([]any) {
				seen = append(seen, v.(map[string]any)["id"].(string))
			}
			if !slices.Contains(seen, r0) || !slices.Contains(seen, r1) || slices.Contains(seen, r2) {
				t.Errorf("the client-one key lists %v; want %s and %s, not %s", seen, r0, r1, r2)
			}
			testkit.MustStatus(t, env.do(t, scoped.Secret, "GET", env.org("/collections/notes/records/"+r1), nil), http.StatusOK)
			keyTRefused(t, env.do(t, scoped.Secret, "GET", env.org("/collections/notes/records/"+r2), nil), http.StatusNotFound, strongroom.ENOTFOUND)
			keyTRefused(t, env.do(t, scoped.Secret, "DELETE", env.org("/collections/notes/records/"+r2), nil), http.StatusNotFound, strongroom.ENOTFOUND)
			env.record(t, scoped.Secret, c2, http.StatusUnprocessableEntity)
			env.record(t, scoped.Secret, c1, http.StatusCreated)
			// An Admin sees every client, so an Admin key cannot be limited.
			keyTRefused(t, env.do(t, env.admin.Token, "POST", env.org("/api-keys"),
				map[string]any{"name": "admin one", "role": "admin", "client_id": c1}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)

			// Another organization is out of reach, exactly like a missing
			// one, and the probe is audited there.
			b := "/api/v1/orgs/" + env.other.OrgID
			for _, p := range []string{"", "/collections", "/members", "/api-keys"} {
				keyTRefused(t, env.do(t, editor.Secret, "GET", b+p, nil), http.StatusNotFound, strongroom.ENOTFOUND)
			}
			denied := 0
			for _, e := range env.events(t, env.other.OrgID, "access.denied") {
				if e.ActorType == strongroom.PrincipalAPIKey && e.ActorID == editor.ID && e.Result == strongroom.ResultDenied {
					denied++
				}
			}
			if denied != 4 {
				t.Errorf("audited %d denied probes of B by the key, want 4", denied)
			}
		})
	}
}

// TestAPIKeyIsNotAUser: a key speaks for its organization, not for a person.
// The account routes (/api/v1/me/*, sign-out, step-up, e-mail step) answer
// 401 as to a caller without a session; the routes that change second factors
// or need a recent sign-in answer 403 ("this action needs a signed-in user"),
// as do operator routes. Nothing happens to anyone's sessions.
func TestAPIKeyIsNotAUser(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := keyTNew(t, e)
			k := env.newKey(t, map[string]any{"name": "automation", "role": "admin"})
			sessionsBefore := testkit.MustStatus(t, env.do(t, env.admin.Token, "GET", "/api/v1/me/sessions", nil), http.StatusOK).Body
			const someID = "00000000-0000-7000-8000-000000000001"
			for _, tc := range []struct {
				method, path string
				body         any
				status       int
				code         string
			}{
				{"GET", "/api/v1/me", nil, 401, strongroom.EUNAUTHORIZED},
				{"PUT", "/api/v1/me/password", map[string]string{"current_password": password, "new_password": "a new passphrase for nobody"}, 401, strongroom.EUNAUTHORIZED},
				{"POST", "/api/v1/me/email/verification", nil, 401, strongroom.EUNAUTHORIZED},
				{"GET", "/api/v1/me/sessions", nil, 401, strongroom.EUNAUTHORIZED},
				{"DELETE", "/api/v1/me/sessions", nil, 401, strongroom.EUNAUTHORIZED},
				{"DELETE", "/api/v1/me/sessions/" + someID, nil, 401, strongroom.EUNAUTHORIZED},
				{"GET", "/api/v1/me/mfa", nil, 401, strongroom.EUNAUTHORIZED},
				{"POST", "/api/v1/auth/logout", nil, 401, strongroom.EUNAUTHORIZED},
				{"POST", "/api/v1/auth/step-up", map[string]string{"password": password}, 401, strongroom.EUNAUTHORIZED},
				{"POST", "/api/v1/auth/email/step", nil, 401, strongroom.EUNAUTHORIZED},
				{"POST", "/api/v1/auth/email/step/verify", map[string]string{"code": "123456"}, 401, strongroom.EUNAUTHORIZED},
				{"POST", "/api/v1/me/mfa/totp", map[string]string{"name": "x"}, 403, strongroom.EFORBIDDEN},
				{"POST", "/api/v1/me/mfa/recovery-codes", nil, 403, strongroom.EFORBIDDEN},
				{"DELETE", "/api/v1/me/mfa/factors/" + someID, nil, 403, strongroom.EFORBIDDEN},
				{"GET", "/api/v1/operator/outbox", nil, 403, strongroom.EFORBIDDEN},
				// Even an Admin key cannot make or rotate keys: that needs a
				// person who signed in recently.
				{"POST", env.org("/api-keys"), map[string]string{"name": "child", "role": "viewer"}, 403, strongroom.EFORBIDDEN},
				{"POST", env.org("/api-keys/" + k.ID + "/rotate"), map[string]int{}, 403, strongroom.EFORBIDDEN},
			} {
				t.Run(tc.method+" "+tc.path, func(t *testing.T) {
					keyTRefused(t, env.do(t, k.Secret, tc.method, tc.path, tc.body), tc.status, tc.code)
				})
			}
			// What an Admin key may do, it does.
			testkit.MustStatus(t, env.do(t, k.Secret, "GET", env.org("/api-keys"), nil), http.StatusOK)
			testkit.MustStatus(t, env.do(t, k.Secret, "GET", env.org("/members"), nil), http.StatusOK)
			sessionsAfter := testkit.MustStatus(t, env.do(t, env.admin.Token, "GET", "/api/v1/me/sessions", nil), http.StatusOK).Body
			if !bytes.Equal(sessionsBefore, sessionsAfter) {
				t.Errorf("the Admin's sessions changed:\nbefore %s\nafter  %s", sessionsBefore, sessionsAfter)
			}
			if len(env.keys(t)) != 1 {
				t.Errorf("keys: %v", env.keys(t))
			}
		})
	}
}

// TestAPIKeyUseRecorded: a key's use sets last_used_at and is audited, at most
// once a minute.
func TestAPIKeyUseRecorded(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := keyTNew(t, e)
			k := env.newKey(t, map[string]any{"name": "poller", "role": "viewer"})
			use := func() {
				t.Helper()
				testkit.MustStatus(t, env.do(t, k.Secret, "GET", env.org("/collections"), nil), http.StatusOK)
			}
			uses := func() int {
				n := 0
				for _, e := range env.events(t, env.admin.OrgID, "api_key.use") {
					if e.ActorID == k.ID && e.TargetID == k.ID && e.ActorType == strongroom.PrincipalAPIKey {
						n++
					}
				}
				return n
			}
			lastUsed := func() time.Time {
				t.Helper()
				v, _ := env.keys(t)[k.ID]["last_used_at"].(string)
				at, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					t.Fatalf("last_used_at %q: %v", v, err)
				}
				return at
			}
			first := env.clock.Now()
			use()
			use()
			use()
			if n := uses(); n != 1 {
				t.Fatalf("%d api_key.use events after three uses within a minute, want 1", n)
			}
			if at := lastUsed(); at.Before(first.Add(-time.Second)) || at.After(env.clock.Now()) {
				t.Errorf("last_used_at %v, want about %v", at, first)
			}
			env.clock.Advance(30 * time.Second)
			use()
			if n := uses(); n != 1 {
				t.Errorf("%d api_key.use events 30 s later, want 1", n)
			}
			env.clock.Advance(31 * time.Second)
			second := env.clock.Now()
			use()
			if n := uses(); n != 2 {
				t.Errorf("%d api_key.use events a minute later, want 2", n)
			}
			if at := lastUsed(); at.Before(second.Add(-time.Second)) {
				t.Errorf("last_used_at %v not moved to about %v", at, second)
			}
		})
	}
}

// TestAPIKeyLifetimes: revocation and expiry take effect on the very next
// request; a rotated key works until its overlap ends, once; creating and
// rotating need a recent sign-in; Editors manage no keys; malformed keys are
// refused before any database work.
func TestAPIKeyLifetimes(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := keyTNew(t, e)
			works := func(secret string) int {
				t.Helper()
				return env.do(t, secret, "GET", env.org("/collections"), nil).Status
			}

			t.Run("revoked", func(t *testing.T) {
				k := env.newKey(t, map[string]any{"name": "revoke me", "role": "viewer"})
				if s := works(k.Secret); s != http.StatusOK {
					t.Fatalf("status %d", s)
				}
				testkit.MustStatus(t, env.do(t, env.admin.Token, "DELETE", env.org("/api-keys/"+k.ID), nil), http.StatusNoContent)
				r := env.do(t, k.Secret, "GET", env.org("/collections"), nil)
				keyTRefused(t, r, http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
				}
				if env.keys(t)[k.ID]["revoked_at"] == nil {
					t.Error("the list does not show the revocation")
				}
				keyTRefused(t, env.do(t, env.admin.Token, "DELETE", env.org("/api-keys/"+k.ID), nil), http.StatusNotFound, strongroom.ENOTFOUND)
				if ev := env.events(t, env.admin.OrgID, "api_key.revoke"); len(ev) != 1 || ev[0].TargetID != k.ID {
					t.Errorf("api_key.revoke events %+v", summarize(ev))
				}
			})

			t.Run("rotated", func(t *testing.T) {
				old := env.newKey(t, map[string]any{"name": "rotate me", "role": "editor"})
				works(old.Secret)
				r := testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.org("/api-keys/"+old.ID+"/rotate"),
					map[string]int{"overlap_seconds": 300}), http.StatusCreated)
				next := keyTParse(t, r)
				if next.ID == old.ID || next.Secret == old.Secret {
					t.Fatal("rotation returned the same key")
				}
				for name, s := range map[string]string{"new": next.Secret, "old, in the overlap": old.Secret} {
					if got := works(s); got != http.StatusOK {
						t.Errorf("%s key: status %d", name, got)
					}
				}
				keys := env.keys(t)
				if keys[old.ID]["rotated_to"] != next.ID || keys[next.ID]["role"] != "editor" || keys[next.ID]["name"] != "rotate me" {
					t.Errorf("after rotation: old %v, new %v", keys[old.ID], keys[next.ID])
				}
				if ev := env.events(t, env.admin.OrgID, "api_key.rotate"); len(ev) != 1 || ev[0].TargetID != old.ID {
					t.Errorf("api_key.rotate events %+v", summarize(ev))
				}
				// Once only: the old key already has a successor.
				keyTRefused(t, env.do(t, env.admin.Token, "POST", env.org("/api-keys/"+old.ID+"/rotate"),
					map[string]int{"overlap_seconds": 60}), http.StatusConflict, strongroom.ECONFLICT)
				for _, bad := range []int{-1, 30*24*3600 + 1} {
					r := env.do(t, env.admin.Token, "POST", env.org("/api-keys/"+next.ID+"/rotate"), map[string]int{"overlap_seconds": bad})
					if p := keyTRefused(t, r, http.StatusUnprocessableEntity, strongroom.EVALIDATION); len(p.Errors) != 1 || p.Errors[0].Path != "/overlap_seconds" {
						t.Errorf("overlap %d: %+v", bad, p)
					}
				}
				env.clock.Advance(301 * time.Second)
				keyTRefused(t, env.do(t, old.Secret, "GET", env.org("/collections"), nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
				if got := works(next.Secret); got != http.StatusOK {
					t.Errorf("new key after the overlap: status %d", got)
				}
			})

			t.Run("expired", func(t *testing.T) {
				for _, at := range []time.Time{env.clock.Now().Add(-time.Minute), env.clock.Now().Add(service.MaxAPIKeyLifetime + time.Hour)} {
					keyTRefused(t, env.do(t, env.admin.Token, "POST", env.org("/api-keys"),
						map[string]any{"name": "bad expiry", "role": "viewer", "expires_at": at}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
				}
				k := env.newKey(t, map[string]any{"name": "short", "role": "viewer", "expires_at": env.clock.Now().Add(5 * time.Minute)})
				if got := works(k.Secret); got != http.StatusOK {
					t.Fatalf("status %d before expiry", got)
				}
				env.clock.Advance(5*time.Minute + time.Second)
				keyTRefused(t, env.do(t, k.Secret, "GET", env.org("/collections"), nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			})

			t.Run("recent sign-in", func(t *testing.T) {
				// The Admin's sign-in is now more than 15 minutes old.
				env.clock.Advance(6 * time.Minute)
				keyTRefused(t, env.do(t, env.admin.Token, "POST", env.org("/api-keys"),
					map[string]string{"name": "late", "role": "viewer"}), http.StatusForbidden, strongroom.ESTEPUP)
				id := ""
				for kid, v := range env.keys(t) {
					if v["revoked_at"] == nil && v["rotated_to"] == nil {
						id = kid
					}
				}
				keyTRefused(t, env.do(t, env.admin.Token, "POST", env.org("/api-keys/"+id+"/rotate"), map[string]int{}),
					http.StatusForbidden, strongroom.ESTEPUP)
				g := testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", "/api/v1/auth/step-up",
					map[string]string{"password": password}), http.StatusOK).JSON(t)
				env.admin.Token = g["token"].(string)
				testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.org("/api-keys"),
					map[string]string{"name": "late", "role": "viewer"}), http.StatusCreated)
			})

			t.Run("editor", func(t *testing.T) {
				ed := env.member(t, "editor")
				some := env.newKey(t, map[string]any{"name": "target", "role": "viewer"})
				before := env.keys(t)
				for _, req := range []struct {
					method, path string
					body         any
				}{
					{"GET", env.org("/api-keys"), nil},
					{"POST", env.org("/api-keys"), map[string]string{"name": "mine", "role": "editor"}},
					{"POST", env.org("/api-keys/" + some.ID + "/rotate"), map[string]int{}},
					{"DELETE", env.org("/api-keys/" + some.ID), nil},
				} {
					keyTRefused(t, env.do(t, ed.Token, req.method, req.path, req.body), http.StatusForbidden, strongroom.EFORBIDDEN)
				}
				if diff := cmp.Diff(before, env.keys(t)); diff != "" {
					t.Errorf("an Editor changed the keys (-before +after):\n%s", diff)
				}
			})

			t.Run("malformed", func(t *testing.T) {
				k := env.newKey(t, map[string]any{"name": "real", "role": "viewer"})
				works(k.Secret) // its use is recorded now, not during the refusals
				headA, headP := auditHead(t, env.st, env.admin.OrgID), auditHead(t, env.st, string(strongroom.PlatformTenant))
				keysBefore := env.keys(t)
				body := k.Secret[len(authn.APIKeyPrefix):]
				for _, bad := range []string{
					"srk_", "srk_garbage", "srk_" + body[:42], "srk_" + body + "A", "srk_" + strings.Repeat("!", 43),
					"srk_" + body[:42] + "=", "SRK_" + body, "srs_" + body, "srk_" + body[1:] + "x",
					"srk_" + strings.Repeat("A", 43), // well formed, but no such key
				} {
					r := env.do(t, bad, "GET", env.org("/collections"), nil)
					keyTRefused(t, r, http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
					if bytes.Contains(r.Body, []byte(bad)) {
						t.Errorf("the refusal echoes the key %q", bad)
					}
				}
				if a, p := auditHead(t, env.st, env.admin.OrgID), auditHead(t, env.st, string(strongroom.PlatformTenant)); a != headA || p != headP {
					t.Errorf("refused keys wrote audit events: organization %d→%d, platform %d→%d", headA, a, headP, p)
				}
				if diff := cmp.Diff(keysBefore, env.keys(t)); diff != "" {
					t.Errorf("refused keys changed the keys (-before +after):\n%s", diff)
				}
			})
		})
	}
}

// TestAPIKeyConcurrentUsePostgres: concurrent requests with API keys, more
// than the PostgreSQL pool has connections, all get through (finding a key
// once held one pooled connection while waiting for a second).
func TestAPIKeyConcurrentUsePostgres(t *testing.T) {
	db := testkit.NewPostgresDB(t)
	st, err := store.Open(context.Background(), store.Config{URL: db.AppURL, ReadConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := testkit.NewServer(t, st, httpapi.Options{})
	admin := srv.Signup(t, "admin@pool.example", "Pool Org")
	var secrets []string
	for i := range 4 {
		r := testkit.MustStatus(t, call(t, srv, admin.Token, "POST", "/api/v1/orgs/"+admin.OrgID+"/api-keys",
			map[string]string{"name": fmt.Sprintf("key %d", i), "role": "viewer"}), http.StatusCreated)
		secrets = append(secrets, keyTParse(t, r).Secret)
	}
	hc := &http.Client{Timeout: 20 * time.Second} // a stuck request fails instead of hanging the test
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/orgs/"+admin.OrgID+"/collections", nil)
			req.Header.Set("Authorization", "Bearer "+secrets[i%len(secrets)])
			resp, err := hc.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
