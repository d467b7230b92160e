package store

import (
	"context"
	"fmt"
)

// RoleReport describes the PostgreSQL role the store is connected as.
type RoleReport struct {
	Name      string
	Superuser bool
	BypassRLS bool
	Owns      int  // relations in this database owned by the role
	AppMember bool // member of strongroom_app (holds the application grants)
}

// Problems lists what makes the role unfit to serve: the application must not be
// able to bypass or alter row-level security (security invariant 1).
func (r RoleReport) Problems() []string {
	var p []string
	if r.Superuser {
		p = append(p, fmt.Sprintf("role %s is a superuser: it bypasses row-level security", r.Name))
	}
	if r.BypassRLS {
		p = append(p, fmt.Sprintf("role %s has BYPASSRLS", r.Name))
	}
	if r.Owns > 0 {
		p = append(p, fmt.Sprintf("role %s owns %d relations: owners can disable row-level security; connect as a login role in strongroom_app instead", r.Name, r.Owns))
	}
	if !r.AppMember {
		p = append(p, fmt.Sprintf("role %s is not a member of strongroom_app", r.Name))
	}
	return p
}

// Role reports on the connected PostgreSQL role. On SQLite it returns nil.
func (s *Store) Role(ctx context.Context) (*RoleReport, error) {
	if s.engine != Postgres {
		return nil, nil
	}
	var r RoleReport
	err := s.read.QueryRowContext(ctx, `
		SELECT r.rolname, r.rolsuper, r.rolbypassrls,
		       (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relowner = r.oid),
		       pg_has_role(r.oid, 'strongroom_app', 'MEMBER')
		FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`).
		Scan(&r.Name, &r.Superuser, &r.BypassRLS, &r.Owns, &r.AppMember)
	if err != nil {
		return nil, fmt.Errorf("inspecting database role: %w", err)
	}
	return &r, nil
}
