package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"strongroom.dev/strongroom"
)

// CreateOrganization inserts the organization the transaction is bound to.
func (tx *Tx) CreateOrganization(ctx context.Context, o *strongroom.Organization) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	if o.ID != t {
		return errors.New("store: organization ID differs from the bound tenant")
	}
	if _, err := tx.exec(ctx, "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)",
		string(o.ID), o.Name, micros(o.CreatedAt)); err != nil {
		return fmt.Errorf("inserting organization: %w", err)
	}
	return nil
}

// Organization returns the organization the transaction is bound to.
func (tx *Tx) Organization(ctx context.Context) (*strongroom.Organization, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	var o strongroom.Organization
	var created int64
	err = tx.q.QueryRowContext(ctx, "SELECT id, name, created_at FROM organizations WHERE id = $1", string(t)).
		Scan(&o.ID, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "organization not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading organization: %w", err)
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}

// UserOrganizations lists the organizations of the user the transaction is bound
// to (Scope.User), with the user's role in each.
func (tx *Tx) UserOrganizations(ctx context.Context) ([]strongroom.OrgMembership, error) {
	u := tx.scope.User
	if u == "" {
		return nil, errors.New("store: UserOrganizations in a transaction bound to no user")
	}
	rows, err := tx.q.QueryContext(ctx,
		`SELECT o.id, o.name, o.created_at, m.role FROM memberships m
		 JOIN organizations o ON o.id = m.tenant_id
		 WHERE m.user_id = $1 ORDER BY o.name, o.id`, string(u))
	if err != nil {
		return nil, fmt.Errorf("listing organizations: %w", err)
	}
	defer rows.Close()
	var out []strongroom.OrgMembership
	for rows.Next() {
		var om strongroom.OrgMembership
		var created int64
		if err := rows.Scan(&om.Organization.ID, &om.Organization.Name, &created, &om.Role); err != nil {
			return nil, fmt.Errorf("reading organization: %w", err)
		}
		om.Organization.CreatedAt = fromMicros(created)
		out = append(out, om)
	}
	return out, rows.Err()
}

// AddMember makes a user a member of the bound organization. An existing
// membership is ECONFLICT; an unknown user is ENOTFOUND.
func (tx *Tx) AddMember(ctx context.Context, m *strongroom.Membership) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
		string(t), string(m.UserID), string(m.Role), micros(m.CreatedAt))
	switch {
	case isUniqueViolation(err):
		return strongroom.Errorf(strongroom.ECONFLICT, "already a member")
	case isForeignKeyViolation(err):
		return strongroom.Errorf(strongroom.ENOTFOUND, "user not found")
	case err != nil:
		return fmt.Errorf("inserting membership: %w", err)
	}
	m.TenantID = t
	return nil
}

// Member returns a member of the bound organization with its client assignments.
func (tx *Tx) Member(ctx context.Context, user strongroom.UserID) (*strongroom.Membership, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	m := strongroom.Membership{TenantID: t, UserID: user}
	var created int64
	err = tx.q.QueryRowContext(ctx,
		`SELECT m.role, m.created_at, u.email FROM memberships m JOIN users u ON u.id = m.user_id
		 WHERE m.tenant_id = $1 AND m.user_id = $2`, string(t), string(user)).
		Scan(&m.Role, &created, &m.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "member not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading membership: %w", err)
	}
	m.CreatedAt = fromMicros(created)
	rows, err := tx.q.QueryContext(ctx,
		"SELECT client_id FROM client_assignments WHERE tenant_id = $1 AND user_id = $2 ORDER BY client_id",
		string(t), string(user))
	if err != nil {
		return nil, fmt.Errorf("reading client assignments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c strongroom.ClientID
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("reading client assignment: %w", err)
		}
		m.Clients = append(m.Clients, c)
	}
	return &m, rows.Err()
}

// Members lists the members of the bound organization (without assignments).
func (tx *Tx) Members(ctx context.Context) ([]strongroom.Membership, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx,
		`SELECT m.user_id, m.role, m.created_at, u.email FROM memberships m JOIN users u ON u.id = m.user_id
		 WHERE m.tenant_id = $1 ORDER BY u.email`, string(t))
	if err != nil {
		return nil, fmt.Errorf("listing members: %w", err)
	}
	var out []strongroom.Membership
	for rows.Next() {
		m := strongroom.Membership{TenantID: t}
		var created int64
		if err := rows.Scan(&m.UserID, &m.Role, &created, &m.Email); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading member: %w", err)
		}
		m.CreatedAt = fromMicros(created)
		out = append(out, m)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("listing members: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing members: %w", err)
	}
	// Each member's client assignments, as Member gives them (one query).
	at := make(map[strongroom.UserID]int, len(out))
	for i := range out {
		at[out[i].UserID] = i
	}
	arows, err := tx.q.QueryContext(ctx,
		"SELECT user_id, client_id FROM client_assignments WHERE tenant_id = $1 ORDER BY user_id, client_id", string(t))
	if err != nil {
		return nil, fmt.Errorf("reading client assignments: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var u strongroom.UserID
		var c strongroom.ClientID
		if err := arows.Scan(&u, &c); err != nil {
			return nil, fmt.Errorf("reading client assignment: %w", err)
		}
		if i, ok := at[u]; ok {
			out[i].Clients = append(out[i].Clients, c)
		}
	}
	if err := arows.Err(); err != nil {
		return nil, fmt.Errorf("reading client assignments: %w", err)
	}
	return out, nil
}

// SetMemberRole changes a member's role.
func (tx *Tx) SetMemberRole(ctx context.Context, user strongroom.UserID, role strongroom.Role) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE memberships SET role = $1 WHERE tenant_id = $2 AND user_id = $3",
		string(role), string(t), string(user))
	return affectedOne(res, err, "member")
}

// RemoveMember ends a membership (its client assignments go with it).
func (tx *Tx) RemoveMember(ctx context.Context, user strongroom.UserID) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2", string(t), string(user))
	return affectedOne(res, err, "member")
}

// CountAdmins counts the Admins of the bound organization.
func (tx *Tx) CountAdmins(ctx context.Context) (int, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	var n int
	if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM memberships WHERE tenant_id = $1 AND role = 'admin'",
		string(t)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting admins: %w", err)
	}
	return n, nil
}

// SetClientAssignments replaces the clients a member is limited to. An unknown
// client is ENOTFOUND.
func (tx *Tx) SetClientAssignments(ctx context.Context, user strongroom.UserID, clients []strongroom.ClientID) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "DELETE FROM client_assignments WHERE tenant_id = $1 AND user_id = $2",
		string(t), string(user)); err != nil {
		return fmt.Errorf("clearing client assignments: %w", err)
	}
	now := micros(tx.s.now())
	seen := make(map[strongroom.ClientID]bool, len(clients))
	for _, c := range clients {
		if seen[c] {
			continue
		}
		seen[c] = true
		_, err := tx.exec(ctx,
			"INSERT INTO client_assignments (tenant_id, user_id, client_id, created_at) VALUES ($1, $2, $3, $4)",
			string(t), string(user), string(c), now)
		switch {
		case isForeignKeyViolation(err):
			return strongroom.Errorf(strongroom.ENOTFOUND, "client or member not found")
		case err != nil:
			return fmt.Errorf("inserting client assignment: %w", err)
		}
	}
	return nil
}
