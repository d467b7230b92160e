package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the raw connections

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// SQLSTATEs the tests expect.
const (
	sqlstateInsufficientPrivilege = "42501" // permission denied, RLS WITH CHECK, row_security=off
	sqlstateMustBeOwner           = "42501" // PostgreSQL reports "must be owner" as insufficient_privilege
)

// tenantTables are the tenant-owned tables and the column holding the tenant.
var tenantTables = []struct{ name, tenantCol string }{
	{"organizations", "id"},
	{"memberships", "tenant_id"},
	{"clients", "tenant_id"},
	{"client_assignments", "tenant_id"},
	{"collections", "tenant_id"},
	{"records", "tenant_id"},
	{"record_terms", "tenant_id"},
	{"record_files", "tenant_id"},
	{"audit_events", "tenant_id"},
	{"oauth_states", "tenant_id"},
	{"connections", "tenant_id"},
	{"audit_seals", "tenant_id"},
	{"audit_checkpoints", "tenant_id"},
	{"org_settings", "tenant_id"},
	{"api_keys", "tenant_id"},
	{"invitations", "tenant_id"},
	{"alerts", "tenant_id"},
	{"monitor_baselines", "tenant_id"},
}

// seedRLSTenant fills every tenant-owned table for one tenant through the store.
func seedRLSTenant(t *testing.T, s *store.Store, name string) strongroom.TenantID {
	t.Helper()
	ctx := t.Context()
	id := func(prefix string) string { return fmt.Sprintf("%s-%s-%s", prefix, name, uuid.Must(uuid.NewV7())) }
	org := strongroom.Organization{ID: strongroom.TenantID(id("org")), Name: name, CreatedAt: epochUTC}
	u := strongroom.User{ID: strongroom.UserID(id("user")), Email: name + "@example.com", PasswordHash: "x", CreatedAt: epochUTC}
	if err := s.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.CreateUser(ctx, &u) }); err != nil {
		t.Fatalf("creating user: %v", err)
	}
	err := s.Write(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error {
		c := strongroom.Client{ID: strongroom.ClientID(id("client")), Name: "client", CreatedAt: epochUTC}
		coll := strongroom.Collection{ID: strongroom.CollectionID(id("coll")), Name: "coll", Schema: []byte(`{}`), CreatedAt: epochUTC}
		r := strongroom.Record{CollectionID: coll.ID, ID: strongroom.RecordID(id("rec")), ClientID: &c.ID, Version: 1, Data: []byte(`{}`)}
		e := strongroom.NewAuditEvent(nil, org.ID, "org.create", "organization", string(org.ID), strongroom.ResultSuccess)
		st := store.OAuthState{StateHash: []byte(name), UserID: u.ID, Provider: "p", Verifier: []byte{1},
			CreatedAt: epochUTC, ExpiresAt: epochUTC.Add(time.Hour)}
		conn := strongroom.Connection{ID: strongroom.ConnectionID(id("conn")), Provider: "p", Status: strongroom.ConnectionActive,
			ConnectedBy: u.ID, Tokens: []byte{1}, Version: 1, CreatedAt: epochUTC, UpdatedAt: epochUTC}
		for _, err := range []error{
			tx.CreateOrganization(ctx, &org),
			tx.AddMember(ctx, &strongroom.Membership{UserID: u.ID, Role: strongroom.RoleEditor}),
			tx.CreateClient(ctx, &c),
			tx.SetClientAssignments(ctx, u.ID, []strongroom.ClientID{c.ID}),
			tx.CreateCollection(ctx, &coll),
			tx.CreateRecord(ctx, &r, []store.Term{{Field: "f", Term: []byte(name)}}),
			tx.CreateFile(ctx, &strongroom.File{CollectionID: coll.ID, RecordID: r.ID, ID: strongroom.FileID(id("file")), Name: "f",
				ContentType: "text/plain", SHA256: make([]byte, 32), CreatedBy: "u", CreatedAt: epochUTC}),
			tx.AppendAudit(ctx, &e),
			tx.CreateOAuthState(ctx, &st),
			tx.CreateConnection(ctx, &conn),
			tx.AppendAuditSeals(ctx, 0, []store.AuditSeal{{Seq: e.Seq, Hash: make([]byte, 32)}}),
			tx.AppendAuditCheckpoint(ctx, &store.AuditCheckpoint{Tenant: org.ID, Seq: e.Seq, Head: make([]byte, 32), KeyID: "k", Signature: []byte{1}}),
			tx.SetOrgSettings(ctx, &strongroom.OrgSettings{MFARequired: true}, epochUTC),
			tx.CreateAPIKey(ctx, &strongroom.APIKey{ID: strongroom.APIKeyID(id("key")), Name: "k", Prefix: id("prefix"),
				SecretHash: []byte(id("secret")), Role: strongroom.RoleViewer, CreatedBy: u.ID, CreatedAt: epochUTC}),
			tx.CreateInvitation(ctx, &strongroom.Invitation{ID: strongroom.InvitationID(id("inv")), Email: "x@example.com",
				Role: strongroom.RoleViewer, TokenHash: []byte(id("token")), InvitedBy: u.ID, CreatedAt: epochUTC, ExpiresAt: epochUTC}),
			recordAlert(ctx, tx, id("alert"), e.Seq),
			tx.SaveMonitorBaseline(ctx, "user:"+string(u.ID), store.Baseline{OpenHour: epochUTC, Mean: 1}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seeding tenant %s: %v", name, err)
	}
	return org.ID
}

func recordAlert(ctx context.Context, tx *store.Tx, id string, seq int64) error {
	_, _, err := tx.RecordAlert(ctx, id, store.AlertHit{Kind: strongroom.AlertMassRead, Severity: strongroom.SeverityHigh,
		Subject: "user:x", Summary: "s", Seqs: []int64{seq}, First: epochUTC, Last: epochUTC, Window: time.Hour})
	return err
}

var epochUTC = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func wantSQLState(t *testing.T, err error, code string) {
	t.Helper()
	if got := pgCode(err); got != code {
		t.Errorf("SQLSTATE = %q, want %q (err: %v)", got, code, err)
	}
}

// inTx runs fn in a transaction of db bound (when tenant is not empty) to
// tenant the way the store binds it, and rolls it back.
func inTx(t *testing.T, db *sql.DB, tenant strongroom.TenantID, fn func(tx *sql.Tx) error) error {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("beginning transaction: %v", err)
	}
	defer func() { _ = tx.Rollback() }()
	if tenant != "" {
		if _, err := tx.ExecContext(t.Context(), "SELECT set_config('strongroom.tenant_id', $1, true)", string(tenant)); err != nil {
			t.Fatalf("binding tenant: %v", err)
		}
	}
	return fn(tx)
}

// tenantsIn returns the distinct tenants of table visible in tx.
func tenantsIn(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, table, col string) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT DISTINCT "+col+" FROM "+table+" ORDER BY 1")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func openRaw(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("connecting: %v", err)
	}
	return db
}

// TestPostgresRowLevelSecurity proves that the database itself, not only the
// store's WHERE clauses, keeps tenants apart for the application role
// (security invariant 1), and that the role cannot turn that off.
func TestPostgresRowLevelSecurity(t *testing.T) {
	s, pdb := testkit.OpenPostgresStore(t)
	a := seedRLSTenant(t, s, "alpha")
	b := seedRLSTenant(t, s, "beta")
	app := openRaw(t, pdb.AppURL)
	owner := openRaw(t, pdb.OwnerURL)
	ctx := t.Context()

	// The owner (a superuser here) sees both tenants in every table, so the
	// empty results below are the policies at work, not missing rows.
	for _, tt := range tenantTables {
		got, err := tenantsIn(ctx, owner, tt.name, tt.tenantCol)
		if err != nil {
			t.Fatalf("reading %s as owner: %v", tt.name, err)
		}
		if d := cmp.Diff([]string{string(a), string(b)}, got); d != "" {
			t.Fatalf("%s as owner (-want +got):\n%s", tt.name, d)
		}
	}

	t.Run("no tenant set sees no rows", func(t *testing.T) {
		for _, tt := range tenantTables {
			t.Run(tt.name, func(t *testing.T) {
				var n int
				if err := app.QueryRowContext(ctx, "SELECT count(*) FROM "+tt.name).Scan(&n); err != nil {
					t.Fatalf("autocommit: %v", err)
				}
				if n != 0 {
					t.Errorf("autocommit select saw %d rows", n)
				}
				err := inTx(t, app, "", func(tx *sql.Tx) error {
					// An empty tenant is also "no tenant".
					if _, err := tx.ExecContext(ctx, "SELECT set_config('strongroom.tenant_id', '', true)"); err != nil {
						return err
					}
					return tx.QueryRowContext(ctx, "SELECT count(*) FROM "+tt.name).Scan(&n)
				})
				if err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("select with an empty tenant saw %d rows", n)
				}
			})
		}
	})

	t.Run("bound tenant sees only its rows", func(t *testing.T) {
		for _, bound := range []struct {
			name   string
			tenant strongroom.TenantID
		}{{"A", a}, {"B", b}} {
			tenant := bound.tenant
			for _, tt := range tenantTables {
				t.Run(bound.name+"/"+tt.name, func(t *testing.T) {
					var got []string
					err := inTx(t, app, tenant, func(tx *sql.Tx) error {
						var err error
						got, err = tenantsIn(ctx, tx, tt.name, tt.tenantCol)
						return err
					})
					if err != nil {
						t.Fatal(err)
					}
					if d := cmp.Diff([]string{string(tenant)}, got); d != "" {
						t.Errorf("tenants visible (-want +got):\n%s", d)
					}
				})
			}
		}
	})

	t.Run("rows of another tenant are refused", func(t *testing.T) {
		inserts := []struct {
			name string
			sql  string
		}{
			{"organizations", "INSERT INTO organizations (id, name, created_at) VALUES ($1, 'x', 0)"},
			{"memberships", "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, 'user-alpha-x', 'admin', 0)"},
			{"clients", "INSERT INTO clients (tenant_id, id, name, created_at) VALUES ($1, 'new-client', 'planted', 0)"},
			{"client_assignments", "INSERT INTO client_assignments (tenant_id, user_id, client_id, created_at) VALUES ($1, 'u', 'c', 0)"},
			{"collections", "INSERT INTO collections (tenant_id, id, name, schema, searchable, created_at) VALUES ($1, 'new-coll', 'planted', '{}', '[]', 0)"},
			{"records", "INSERT INTO records (tenant_id, collection_id, id, version, data, created_at, updated_at) VALUES ($1, 'c', 'new-rec', 1, '\\x00', 0, 0)"},
			{"record_terms", "INSERT INTO record_terms (tenant_id, collection_id, field, term, record_id) VALUES ($1, 'c', 'f', '\\x00', 'r')"},
			{"record_files", "INSERT INTO record_files (tenant_id, collection_id, record_id, id, name, content_type, size, sha256, key_id, created_by, created_at) " +
				"VALUES ($1, 'c', 'r', 'f', 'n', 't', 0, '\\x" + strings.Repeat("00", 32) + "', 1, 'u', 0)"},
			{"audit_events", "INSERT INTO audit_events (tenant_id, time, actor_type, actor_id, ip, device_type, action, target_type, target_id, result, reason, request_id, metadata) " +
				"VALUES ($1, 0, 'system', '', '', '', 'forged', '', '', 'success', '', '', '{}')"},
			{"oauth_states", "INSERT INTO oauth_states (tenant_id, state_hash, user_id, provider, verifier, created_at, expires_at) " +
				"VALUES ($1, '\\x01', 'u', 'p', '\\x00', 0, 0)"},
			{"connections", "INSERT INTO connections (tenant_id, id, provider, status, scopes, connected_by, tokens, key_id, refreshable, " +
				"version, created_at, updated_at) VALUES ($1, 'new-conn', 'p', 'active', '[]', 'u', '\\x00', 1, 0, 1, 0, 0)"},
			{"audit_seals", "INSERT INTO audit_seals (tenant_id, seq, hash) VALUES ($1, 999999, '\\x" + strings.Repeat("00", 32) + "')"},
			{"audit_checkpoints", "INSERT INTO audit_checkpoints (tenant_id, seq, head, signed_at, key_id, signature) " +
				"VALUES ($1, 999999, '\\x" + strings.Repeat("00", 32) + "', 0, 'k', '\\x00')"},
			{"org_settings", "INSERT INTO org_settings (tenant_id, settings, updated_at) VALUES ($1, '{}', 0)"},
			{"api_keys", "INSERT INTO api_keys (tenant_id, id, name, prefix, secret_hash, role, created_by, created_at) " +
				"VALUES ($1, 'new-key', 'planted', 'planted', '\\x01', 'admin', 'u', 0)"},
			{"invitations", "INSERT INTO invitations (tenant_id, id, email, role, clients, token_hash, invited_by, created_at, expires_at) " +
				"VALUES ($1, 'new-inv', 'x@example.com', 'admin', '[]', '\\x01', 'u', 0, 0)"},
		}
		for _, bound := range []struct {
			name   string
			tenant strongroom.TenantID
		}{{"bound to A", a}, {"no tenant", ""}} {
			for _, ins := range inserts {
				t.Run(bound.name+"/"+ins.name, func(t *testing.T) {
					err := inTx(t, app, bound.tenant, func(tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, ins.sql, string(b))
						return err
					})
					wantSQLState(t, err, sqlstateInsufficientPrivilege)
				})
			}
		}
		t.Run("moving a row to another tenant", func(t *testing.T) {
			for _, tt := range tenantTables {
				if strings.HasPrefix(tt.name, "audit_") {
					continue // no UPDATE grant at all; see below
				}
				t.Run(tt.name, func(t *testing.T) {
					err := inTx(t, app, a, func(tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, "UPDATE "+tt.name+" SET "+tt.tenantCol+" = $1", string(b))
						return err
					})
					wantSQLState(t, err, sqlstateInsufficientPrivilege)
				})
			}
		})
	})

	t.Run("the application role cannot lift the protection", func(t *testing.T) {
		stmts := []struct {
			name string
			sql  string
			code string
		}{
			{"disable RLS", "ALTER TABLE records DISABLE ROW LEVEL SECURITY", sqlstateMustBeOwner},
			{"no force RLS", "ALTER TABLE records NO FORCE ROW LEVEL SECURITY", sqlstateMustBeOwner},
			{"drop policy", "DROP POLICY tenant_isolation ON records", sqlstateMustBeOwner},
			{"create permissive policy", "CREATE POLICY open_door ON records USING (true)", sqlstateMustBeOwner},
			{"add column", "ALTER TABLE records ADD COLUMN x int", sqlstateMustBeOwner},
			{"drop table", "DROP TABLE records", sqlstateMustBeOwner},
			{"create table in public", "CREATE TABLE public.planted (x int)", sqlstateInsufficientPrivilege},
			{"create table unqualified", "CREATE TABLE planted (x int)", sqlstateInsufficientPrivilege},
			{"create function in public", "CREATE FUNCTION public.planted() RETURNS int LANGUAGE sql AS 'SELECT 1'", sqlstateInsufficientPrivilege},
			{"create schema", "CREATE SCHEMA planted", sqlstateInsufficientPrivilege},
			{"update audit events", "UPDATE audit_events SET action = 'nothing.happened'", sqlstateInsufficientPrivilege},
			{"delete audit events", "DELETE FROM audit_events", sqlstateInsufficientPrivilege},
			{"truncate audit events", "TRUNCATE audit_events", sqlstateInsufficientPrivilege},
			{"truncate records", "TRUNCATE records", sqlstateInsufficientPrivilege},
			{"drop audit trigger", "DROP TRIGGER audit_events_no_change ON audit_events", sqlstateMustBeOwner},
			{"update audit seals", "UPDATE audit_seals SET hash = hash", sqlstateInsufficientPrivilege},
			{"delete audit seals", "DELETE FROM audit_seals", sqlstateInsufficientPrivilege},
			{"truncate audit seals", "TRUNCATE audit_seals", sqlstateInsufficientPrivilege},
			{"update audit checkpoints", "UPDATE audit_checkpoints SET head = head", sqlstateInsufficientPrivilege},
			{"delete audit checkpoints", "DELETE FROM audit_checkpoints", sqlstateInsufficientPrivilege},
			{"disable seal triggers", "ALTER TABLE audit_seals DISABLE TRIGGER ALL", sqlstateMustBeOwner},
			{"disable audit triggers", "ALTER TABLE audit_events DISABLE TRIGGER ALL", sqlstateMustBeOwner},
			{"replica mode skips triggers", "SET session_replication_role = replica", sqlstateInsufficientPrivilege},
			{"grant itself BYPASSRLS", "ALTER ROLE " + testkit.AppLoginRole + " BYPASSRLS", sqlstateInsufficientPrivilege},
			{"become the owner", "SET ROLE postgres", sqlstateInsufficientPrivilege},
		}
		for _, st := range stmts {
			t.Run(st.name, func(t *testing.T) {
				err := inTx(t, app, a, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, st.sql)
					return err
				})
				wantSQLState(t, err, st.code)
			})
		}

		t.Run("row_security off", func(t *testing.T) {
			// PostgreSQL refuses a query that policies would filter rather than
			// run it unfiltered; had it run, it must still not see B.
			for _, tenant := range []strongroom.TenantID{"", a} {
				err := inTx(t, app, tenant, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, "SET LOCAL row_security = off"); err != nil {
						return err
					}
					got, err := tenantsIn(ctx, tx, "records", "tenant_id")
					if err == nil && slices.Contains(got, string(b)) {
						t.Errorf("with row_security off the role saw tenants %v", got)
					}
					return err
				})
				wantSQLState(t, err, sqlstateInsufficientPrivilege)
			}
		})
	})

	t.Run("the application role is unprivileged and owns nothing", func(t *testing.T) {
		for _, role := range []string{testkit.AppLoginRole, "strongroom_app"} {
			var super, bypass, createRole, createDB bool
			err := app.QueryRowContext(ctx,
				"SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1", role).
				Scan(&super, &bypass, &createRole, &createDB)
			if err != nil {
				t.Fatalf("reading pg_roles for %s: %v", role, err)
			}
			if super || bypass || createRole || createDB {
				t.Errorf("%s: rolsuper=%v rolbypassrls=%v rolcreaterole=%v rolcreatedb=%v, want all false",
					role, super, bypass, createRole, createDB)
			}
		}
		var user string
		if err := app.QueryRowContext(ctx, "SELECT current_user").Scan(&user); err != nil {
			t.Fatal(err)
		}
		if user != testkit.AppLoginRole {
			t.Fatalf("connected as %q, want %q", user, testkit.AppLoginRole)
		}
		// pg_has_role(..., 'USAGE') covers ownership through any inherited role.
		owned := []struct{ what, sql string }{
			{"relations", "SELECT count(*) FROM pg_class WHERE pg_has_role(current_user, relowner, 'USAGE')"},
			{"schemas", "SELECT count(*) FROM pg_namespace WHERE pg_has_role(current_user, nspowner, 'USAGE')"},
			{"functions", "SELECT count(*) FROM pg_proc WHERE pg_has_role(current_user, proowner, 'USAGE')"},
			{"databases", "SELECT count(*) FROM pg_database WHERE pg_has_role(current_user, datdba, 'USAGE')"},
		}
		for _, o := range owned {
			var n int
			if err := app.QueryRowContext(ctx, o.sql).Scan(&n); err != nil {
				t.Fatalf("counting owned %s: %v", o.what, err)
			}
			if n != 0 {
				t.Errorf("the application role owns %d %s", n, o.what)
			}
		}
		var bypassSetting string
		if err := app.QueryRowContext(ctx, "SELECT current_setting('is_superuser')").Scan(&bypassSetting); err != nil {
			t.Fatal(err)
		}
		if bypassSetting != "off" {
			t.Errorf("is_superuser = %q", bypassSetting)
		}
	})

	t.Run("the owner cannot change audit events either", func(t *testing.T) {
		for _, stmt := range []string{
			"UPDATE audit_events SET action = 'nothing.happened'",
			"DELETE FROM audit_events",
			"DELETE FROM audit_events WHERE tenant_id = '" + string(a) + "'",
			"TRUNCATE audit_events",
			"UPDATE audit_seals SET hash = hash",
			"DELETE FROM audit_seals",
			"TRUNCATE audit_seals",
			"UPDATE audit_checkpoints SET signature = signature",
			"DELETE FROM audit_checkpoints",
			"TRUNCATE audit_checkpoints",
		} {
			t.Run(stmt, func(t *testing.T) {
				err := inTx(t, owner, "", func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, stmt)
					return err
				})
				wantSQLState(t, err, sqlstateInsufficientPrivilege)
			})
		}
		var n int
		if err := owner.QueryRowContext(ctx, "SELECT count(*) FROM audit_events").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("audit events after the attempts: %d, want 2", n)
		}
	})
}
