package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/retention"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// TestTerminationPurgeDeletesOrphanedAccounts (LIF-03), on both engines: the
// purge deletes the accounts whose every membership was in the purged
// organization (their sessions end with them), each audited in the
// organization's kept log and counted in the certificate; it keeps an
// account that is also a member elsewhere, an operator, and an account that
// never had an organization.
func TestTerminationPurgeDeletesOrphanedAccounts(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			ctx := t.Context()
			st := eng.Open(t)
			e := newRetentionEnv(t, st)
			org := strongroom.TenantID(e.admin.OrgID)
			bob := e.srv.Signup(t, "bob@both.example", "Bob Org") // also an Admin of his own organization
			now := e.clock.now()
			newUser := func(email string) strongroom.UserID {
				t.Helper()
				u := &strongroom.User{ID: strongroom.UserID(uuid.Must(uuid.NewV7()).String()), Email: email, PasswordHash: "x", CreatedAt: now}
				if err := st.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
					t.Fatal(err)
				}
				return u.ID
			}
			dan, carol, erin := newUser("dan@only.example"), newUser("carol@ops.example"), newUser("erin@nowhere.example")
			if err := st.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.SetOperator(ctx, carol, true) }); err != nil {
				t.Fatal(err)
			}
			if err := st.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
				for _, u := range []strongroom.UserID{dan, carol, strongroom.UserID(bob.UserID)} {
					if err := tx.AddMember(ctx, &strongroom.Membership{UserID: u, Role: strongroom.RoleViewer, CreatedAt: now}); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}

			testkit.MustStatus(t, e.call(t, "POST", "/termination", map[string]string{"confirm": "Retention"}), http.StatusAccepted)
			e.at(t, t0.Add(31*24*time.Hour))
			adminToken := e.admin.Token
			testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/me", Token: adminToken}), http.StatusOK)
			// Batches of two: the memberships go over two batches.
			e.srv.Service.SetPurgeBatching(service.PurgeBatching{Size: 2})
			if rep, err := e.srv.Service.PurgeTerminated(ctx, "replica-a", time.Minute); err != nil || len(rep.Purged) != 1 {
				t.Fatalf("purge: %+v, %v", rep, err)
			}

			exists := func(u strongroom.UserID) bool {
				t.Helper()
				err := st.Read(ctx, store.Scope{}, func(tx *store.Tx) error { _, err := tx.UserByID(ctx, u); return err })
				if err != nil && strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
					t.Fatal(err)
				}
				return err == nil
			}
			admin := strongroom.UserID(e.admin.UserID)
			for u, want := range map[strongroom.UserID]bool{admin: false, dan: false, strongroom.UserID(bob.UserID): true, carol: true, erin: true} {
				if got := exists(u); got != want {
					t.Errorf("account %s exists %v after the purge, want %v", u, got, want)
				}
			}
			// The deleted Admin's session ended with the account; Bob still
			// reaches his own organization.
			mustProblem(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/me", Token: adminToken}), http.StatusUnauthorized)
			r := testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/password",
				Body: map[string]string{"email": bob.Email, "password": "correct horse battery staple"}}), http.StatusOK)
			testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/orgs/" + bob.OrgID + "/members", Token: r.JSON(t)["token"].(string)}), http.StatusOK)

			var deleted []string
			for _, ev := range auditSince(t, st, string(org), 0) {
				if ev.Action == "account.delete" {
					if ev.Result != strongroom.ResultSuccess || ev.ActorType != strongroom.PrincipalSystem || ev.TargetType != "user" {
						t.Errorf("account.delete event %+v", ev)
					}
					deleted = append(deleted, ev.TargetID)
				}
			}
			if len(deleted) != 2 || !slices.Contains(deleted, string(admin)) || !slices.Contains(deleted, string(dan)) {
				t.Errorf("account.delete events for %v, want the Admin and Dan", deleted)
			}

			tm, err := st.TerminationOf(ctx, org)
			if err != nil || tm == nil || tm.Certificate == nil {
				t.Fatalf("no certificate: %+v, %v", tm, err)
			}
			signer, err := e.srv.Keyring.ExistingSigningKey(ctx)
			if err != nil || signer == nil {
				t.Fatalf("signing key: %v", err)
			}
			cert, err := retention.VerifyCertificate(tm.Certificate, signer.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if cert.Deleted[store.DeletedAccounts] != 2 || cert.Deleted["memberships"] != 4 {
				t.Errorf("certificate: %d accounts and %d memberships deleted, want 2 and 4", cert.Deleted[store.DeletedAccounts], cert.Deleted["memberships"])
			}
		})
	}
}

// TestPurgeTenantDeletesOrphanedAccounts: a purge finished in one
// transaction (no batch ran) deletes the same accounts, on both engines.
func TestPurgeTenantDeletesOrphanedAccounts(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			ctx := t.Context()
			st := eng.Open(t)
			srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{})
			a := srv.Signup(t, "ann@gone.example", "Gone")
			b := srv.Signup(t, "ben@stays.example", "Stays")
			org := strongroom.TenantID(a.OrgID)
			now := time.Now().UTC()
			if err := st.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
				if err := tx.AddMember(ctx, &strongroom.Membership{UserID: strongroom.UserID(b.UserID), Role: strongroom.RoleEditor, CreatedAt: now}); err != nil {
					return err
				}
				return tx.Terminate(ctx, &store.Termination{Name: "Gone", RequestedBy: a.UserID, RequestedAt: now, PurgeAfter: now}, []byte(a.OrgID))
			}); err != nil {
				t.Fatal(err)
			}
			var accounts []strongroom.UserID
			var counts map[string]int64
			if err := st.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
				var err error
				accounts, err = tx.PurgeTenant(ctx, now, func(deleted, _ map[string]int64) ([]byte, error) {
					counts = deleted
					return []byte("{}"), nil
				})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(accounts) != 1 || accounts[0] != strongroom.UserID(a.UserID) || counts[store.DeletedAccounts] != 1 || counts["memberships"] != 2 {
				t.Errorf("deleted accounts %v, counts %v", accounts, counts)
			}
			if err := st.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
				if _, err := tx.UserByID(ctx, strongroom.UserID(a.UserID)); strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
					t.Errorf("Ann's account: %v", err)
				}
				_, err := tx.UserByID(ctx, strongroom.UserID(b.UserID))
				return err
			}); err != nil {
				t.Errorf("Ben's account: %v", err)
			}
		})
	}
}
