package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// rlsEnv is the common setup of the PostgreSQL row-level security tests: a
// migrated store, organizations made through it, and a raw connection as the
// application role that binds a tenant the way the store does and sees only
// what the database's policies let through.
type rlsEnv struct {
	s    *store.Store
	app  *sql.DB
	orgs []strongroom.TenantID // in the order of the names given
	now  time.Time
}

// newRLSEnv opens the store and makes an organization per name.
func newRLSEnv(t *testing.T, names ...string) *rlsEnv {
	t.Helper()
	s, pdb := testkit.OpenPostgresStore(t)
	env := &rlsEnv{s: s, now: time.Now().UTC()}
	for _, name := range names {
		o := strongroom.Organization{ID: strongroom.TenantID(rlsID()), Name: name, CreatedAt: env.now}
		if err := s.Write(t.Context(), store.TenantScope(o.ID), func(tx *store.Tx) error { return tx.CreateOrganization(t.Context(), &o) }); err != nil {
			t.Fatal(err)
		}
		env.orgs = append(env.orgs, o.ID)
	}
	env.app = openRaw(t, pdb.AppURL)
	return env
}

// rlsID is a new unique id.
func rlsID() string { return uuid.Must(uuid.NewV7()).String() }

// count is how many rows of table a transaction bound to tenant sees.
func (env *rlsEnv) count(t *testing.T, tenant strongroom.TenantID, table string) int {
	t.Helper()
	var n int
	if err := inTx(t, env.app, tenant, func(tx *sql.Tx) error {
		return tx.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n)
	}); err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	return n
}

// refused reports whether a transaction bound to tenant fails to run q
// (args after it); a planted row must be refused.
func (env *rlsEnv) refused(t *testing.T, tenant strongroom.TenantID, q string, args ...any) bool {
	t.Helper()
	return inTx(t, env.app, tenant, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(context.Background(), q, args...)
		return err
	}) != nil
}
