package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"strongroom.dev/strongroom"
)

// CreateClient inserts a client into the bound organization. A duplicate name is
// ECONFLICT.
func (tx *Tx) CreateClient(ctx context.Context, c *strongroom.Client) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "INSERT INTO clients (tenant_id, id, name, created_at) VALUES ($1, $2, $3, $4)",
		string(t), string(c.ID), c.Name, micros(c.CreatedAt))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "a client with this name already exists")
	}
	if err != nil {
		return fmt.Errorf("inserting client: %w", err)
	}
	c.TenantID = t
	return nil
}

// Client returns one client of the bound organization.
func (tx *Tx) Client(ctx context.Context, id strongroom.ClientID) (*strongroom.Client, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	c := strongroom.Client{TenantID: t}
	var created int64
	err = tx.q.QueryRowContext(ctx, "SELECT id, name, created_at FROM clients WHERE tenant_id = $1 AND id = $2",
		string(t), string(id)).Scan(&c.ID, &c.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "client not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading client: %w", err)
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}

// Clients lists the clients of the bound organization that vis allows.
func (tx *Tx) Clients(ctx context.Context, vis strongroom.Visibility) ([]strongroom.Client, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	a := &args{}
	q := "SELECT id, name, created_at FROM clients WHERE tenant_id = " + a.add(string(t))
	if !vis.All {
		q += " AND id IN (" + a.list(vis.Clients) + ")"
	}
	rows, err := tx.q.QueryContext(ctx, q+" ORDER BY name, id", a.vals...)
	if err != nil {
		return nil, fmt.Errorf("listing clients: %w", err)
	}
	defer rows.Close()
	var out []strongroom.Client
	for rows.Next() {
		c := strongroom.Client{TenantID: t}
		var created int64
		if err := rows.Scan(&c.ID, &c.Name, &created); err != nil {
			return nil, fmt.Errorf("reading client: %w", err)
		}
		c.CreatedAt = fromMicros(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RenameClient changes a client's name.
func (tx *Tx) RenameClient(ctx context.Context, id strongroom.ClientID, name string) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE clients SET name = $1 WHERE tenant_id = $2 AND id = $3", name, string(t), string(id))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "a client with this name already exists")
	}
	return affectedOne(res, err, "client")
}

// DeleteClient removes a client. A client that still owns records is ECONFLICT.
func (tx *Tx) DeleteClient(ctx context.Context, id strongroom.ClientID) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	var n int
	if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM records WHERE tenant_id = $1 AND client_id = $2",
		string(t), string(id)).Scan(&n); err != nil {
		return fmt.Errorf("counting client records: %w", err)
	}
	if n > 0 {
		return strongroom.Errorf(strongroom.ECONFLICT, "the client still owns %d records; delete or move them first", n)
	}
	res, err := tx.exec(ctx, "DELETE FROM clients WHERE tenant_id = $1 AND id = $2", string(t), string(id))
	return affectedOne(res, err, "client")
}

// ClientAssignees counts the bound tenant's members limited to the client,
// for a deletion that must not go ahead while there are any. On PostgreSQL it
// first locks the client's row, so that an assignment made at the same time
// either commits first (and is counted) or waits and then fails its foreign
// key; SQLite's one writer runs the two one after the other anyway.
func (tx *Tx) ClientAssignees(ctx context.Context, id strongroom.ClientID) (int, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	if tx.s.engine == Postgres {
		var one int
		err := tx.q.QueryRowContext(ctx, "SELECT 1 FROM clients WHERE tenant_id = $1 AND id = $2 FOR UPDATE", string(t), string(id)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, strongroom.Errorf(strongroom.ENOTFOUND, "client not found")
		}
		if err != nil {
			return 0, fmt.Errorf("locking the client: %w", err)
		}
	}
	var n int
	if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM client_assignments WHERE tenant_id = $1 AND client_id = $2",
		string(t), string(id)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting client assignments: %w", err)
	}
	return n, nil
}

// args collects positional query arguments and hands out their $n placeholders.
type args struct{ vals []any }

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	return fmt.Sprintf("$%d", len(a.vals))
}

// list adds each client ID and returns a comma-separated placeholder list; an
// empty list yields a placeholder for NULL, which matches nothing in IN (...).
func (a *args) list(ids []strongroom.ClientID) string {
	if len(ids) == 0 {
		return a.add(nil)
	}
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += a.add(string(id))
	}
	return s
}
