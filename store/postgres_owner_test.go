package store_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// ownerRole is a schema owner as the README sets one up: it may create roles
// (migrate creates strongroom_app) but is not a superuser and has no BYPASSRLS,
// so the forced row-level security policies apply to it too.
const ownerRole = "strongroom_test_owner"

// TestPostgresUnprivilegedOwner migrates a database as an owner that is not a
// superuser (the other tests migrate as the superuser of the test server, which
// bypasses row-level security) and checks what only such an owner shows:
// SECURITY DEFINER functions run as that owner and need their own policies to
// read across tenants.
func TestPostgresUnprivilegedOwner(t *testing.T) {
	ctx := t.Context()
	pdb := testkit.NewPostgresDB(t) // for the server's address and the login role
	admin := openRaw(t, pdb.OwnerURL)
	if _, err := admin.ExecContext(ctx, `DO $$ BEGIN
		CREATE ROLE `+ownerRole+` LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`); err != nil {
		t.Fatalf("creating owner role: %v", err)
	}
	name := pdb.Name + "_owned"
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" OWNER "+ownerRole); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	inDB := func(base, user string) string {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		if user != "" {
			u.User = url.User(user)
		}
		return u.String()
	}

	owner, err := store.Open(ctx, store.Config{URL: inDB(pdb.OwnerURL, ownerRole)})
	if err != nil {
		t.Fatalf("opening as owner: %v", err)
	}
	if _, err := owner.Migrate(ctx); err != nil {
		owner.Close()
		t.Fatalf("migrating as an owner that is not a superuser: %v", err)
	}
	owner.Close()
	s, err := store.Open(ctx, store.Config{URL: inDB(pdb.AppURL, "")})
	if err != nil {
		t.Fatalf("opening as application role: %v", err)
	}
	t.Cleanup(func() { s.Close() })

	org := strongroom.Organization{ID: "01900000-0000-7000-8000-0000000000a1", Name: "Acme", CreatedAt: epochUTC}
	u := strongroom.User{ID: "01900000-0000-7000-8000-0000000000b1", Email: "admin@example.com", CreatedAt: epochUTC}
	key := strongroom.APIKey{ID: "k1", Name: "deploy", Prefix: "sr_k1", SecretHash: []byte("key hash"),
		Role: strongroom.RoleEditor, CreatedBy: u.ID, CreatedAt: epochUTC}
	inv := strongroom.Invitation{ID: "i1", Email: "new@example.com", Role: strongroom.RoleViewer, TokenHash: []byte("invitation hash"),
		InvitedBy: u.ID, CreatedAt: epochUTC, ExpiresAt: epochUTC.Add(time.Hour)}
	if err := s.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.CreateUser(ctx, &u) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error {
		for _, err := range []error{tx.CreateOrganization(ctx, &org), tx.CreateAPIKey(ctx, &key), tx.CreateInvitation(ctx, &inv)} {
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("token_tenant reads across tenants", func(t *testing.T) {
		tests := []struct {
			kind string
			hash []byte
			want strongroom.TenantID
			code string
		}{
			{"api_key", key.SecretHash, org.ID, ""},
			{"invitation", inv.TokenHash, org.ID, ""},
			{"api_key", inv.TokenHash, "", strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			var got strongroom.TenantID
			err := s.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
				var err error
				got, err = tx.TokenTenant(ctx, tt.kind, tt.hash)
				return err
			})
			if code := strongroom.ErrorCode(err); code != tt.code || got != tt.want {
				t.Errorf("TokenTenant(%s, %q) = %q, %v; want %q, code %q", tt.kind, tt.hash, got, err, tt.want, tt.code)
			}
		}
	})

	t.Run("audit_stream_next reads across tenants", func(t *testing.T) {
		var want []store.AuditRef
		for _, tenant := range []strongroom.TenantID{org.ID, strongroom.PlatformTenant} {
			e := strongroom.NewAuditEvent(nil, tenant, "test.stream", "", "", strongroom.ResultSuccess)
			if err := s.Write(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
				if err := tx.AppendAudit(ctx, &e); err != nil {
					return err
				}
				return tx.AppendAuditSeals(ctx, 0, []store.AuditSeal{{Seq: e.Seq, Hash: make([]byte, 32)}})
			}); err != nil {
				t.Fatal(err)
			}
			want = append(want, store.AuditRef{Tenant: tenant, Seq: e.Seq})
		}
		page, err := s.SealedAuditEvents(ctx, 0, 10)
		if err != nil {
			t.Fatalf("SealedAuditEvents: %v", err)
		}
		var got []store.AuditRef
		for _, e := range page.Events {
			got = append(got, store.AuditRef{Tenant: e.TenantID, Seq: e.Seq})
		}
		if !slices.Equal(got, want) {
			t.Errorf("SealedAuditEvents listed %v, want %v", got, want)
		}
	})

	t.Run("the owner's policies do not open the tables to the application", func(t *testing.T) {
		app := openRaw(t, inDB(pdb.AppURL, ""))
		for _, table := range []string{"api_keys", "invitations", "org_settings"} {
			var n int
			if err := app.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				t.Fatalf("counting %s: %v", table, err)
			}
			if n != 0 {
				t.Errorf("the application role sees %d rows of %s with no tenant bound", n, table)
			}
		}
	})
}
