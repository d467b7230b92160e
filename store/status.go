package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// The public status page (INC-04): probe results, daily counters, maintenance
// windows, updates and subscribers. Platform rows only.

// RecordStatus stores a probe result of component at the given time: the
// current row (since is kept while the state holds) and one more count in the
// day's counter of that state. state must be one of the counted states or
// not_monitored (stored as current, not counted).
func (tx *Tx) RecordStatus(ctx context.Context, c strongroom.StatusComponent, day int64) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO status_components (tenant_id, component, state, detail, checked_at, since) VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (tenant_id, component) DO UPDATE SET state = excluded.state, detail = excluded.detail, checked_at = excluded.checked_at,
		since = CASE WHEN status_components.state = excluded.state THEN status_components.since ELSE excluded.since END`,
		string(t), c.Component, c.State, c.Detail, micros(c.CheckedAt))
	if err != nil {
		return fmt.Errorf("storing component status: %w", err)
	}
	var col string
	switch c.State {
	case "operational", "degraded", "outage", "maintenance":
		col = c.State
	default:
		return nil
	}
	_, err = tx.exec(ctx, `INSERT INTO status_days (tenant_id, component, day, `+col+`) VALUES ($1, $2, $3, 1)
		ON CONFLICT (tenant_id, component, day) DO UPDATE SET `+col+` = status_days.`+col+` + 1`,
		string(t), c.Component, day)
	if err != nil {
		return fmt.Errorf("counting component status: %w", err)
	}
	return nil
}

// PruneStatusDays deletes the day counters before day.
func (tx *Tx) PruneStatusDays(ctx context.Context, before int64) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "DELETE FROM status_days WHERE tenant_id = $1 AND day < $2", string(t), before); err != nil {
		return fmt.Errorf("pruning status days: %w", err)
	}
	return nil
}

func scanStatusComponent(row interface{ Scan(...any) error }) (*strongroom.StatusComponent, error) {
	var c strongroom.StatusComponent
	var checked, since int64
	if err := row.Scan(&c.Component, &c.State, &c.Detail, &checked, &since); err != nil {
		return nil, fmt.Errorf("reading component status: %w", err)
	}
	c.CheckedAt, c.Since = fromMicros(checked), fromMicros(since)
	return &c, nil
}

// StatusComponents lists the components' latest results.
func (tx *Tx) StatusComponents(ctx context.Context) ([]strongroom.StatusComponent, error) {
	return platformList(ctx, tx, "component status", scanStatusComponent,
		"SELECT component, state, detail, checked_at, since FROM status_components WHERE tenant_id = $1 ORDER BY component")
}

func scanStatusDay(row interface{ Scan(...any) error }) (*strongroom.StatusDay, error) {
	var d strongroom.StatusDay
	if err := row.Scan(&d.Component, &d.Day, &d.Operational, &d.Degraded, &d.Outage, &d.Maintenance); err != nil {
		return nil, fmt.Errorf("reading status day: %w", err)
	}
	return &d, nil
}

// StatusDays lists the day counters from day since on.
func (tx *Tx) StatusDays(ctx context.Context, since int64) ([]strongroom.StatusDay, error) {
	return platformList(ctx, tx, "status days", scanStatusDay,
		"SELECT component, day, operational, degraded, outage, maintenance FROM status_days WHERE tenant_id = $1 AND day >= $2 ORDER BY component, day",
		since)
}

const maintenanceColumns = "id, title, body, components, starts_at, ends_at, cancelled_at, created_at"

// CreateMaintenance inserts a maintenance window.
func (tx *Tx) CreateMaintenance(ctx context.Context, m *strongroom.StatusMaintenance) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	comps, err := json.Marshal(m.Components)
	if err != nil {
		return fmt.Errorf("encoding components: %w", err)
	}
	_, err = tx.exec(ctx, "INSERT INTO status_maintenance (tenant_id, "+maintenanceColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		string(t), m.ID, m.Title, m.Body, string(comps), micros(m.StartsAt), micros(m.EndsAt), nullMicros(m.CancelledAt), micros(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("inserting maintenance: %w", err)
	}
	return nil
}

func scanMaintenance(row interface{ Scan(...any) error }) (*strongroom.StatusMaintenance, error) {
	var m strongroom.StatusMaintenance
	var comps string
	var starts, ends, created int64
	var cancelled sql.NullInt64
	err := row.Scan(&m.ID, &m.Title, &m.Body, &comps, &starts, &ends, &cancelled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "maintenance window not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading maintenance: %w", err)
	}
	if err := json.Unmarshal([]byte(comps), &m.Components); err != nil {
		return nil, fmt.Errorf("decoding components: %w", err)
	}
	m.StartsAt, m.EndsAt, m.CreatedAt, m.CancelledAt = fromMicros(starts), fromMicros(ends), fromMicros(created), optMicros(cancelled)
	return &m, nil
}

// Maintenance returns one maintenance window.
func (tx *Tx) Maintenance(ctx context.Context, id string) (*strongroom.StatusMaintenance, error) {
	return platformRow(ctx, tx, scanMaintenance, "SELECT "+maintenanceColumns+" FROM status_maintenance WHERE tenant_id = $1 AND id = $2", id)
}

// MaintenanceEndingAfter lists the windows ending after t (current and
// future, cancelled ones included), by start.
func (tx *Tx) MaintenanceEndingAfter(ctx context.Context, t0 time.Time) ([]strongroom.StatusMaintenance, error) {
	return platformList(ctx, tx, "maintenance", scanMaintenance,
		"SELECT "+maintenanceColumns+" FROM status_maintenance WHERE tenant_id = $1 AND ends_at > $2 ORDER BY starts_at, id", micros(t0))
}

// RecentMaintenance lists the windows created since t0, newest first, at most limit.
func (tx *Tx) RecentMaintenance(ctx context.Context, t0 time.Time, limit int) ([]strongroom.StatusMaintenance, error) {
	return platformList(ctx, tx, "maintenance", scanMaintenance,
		"SELECT "+maintenanceColumns+" FROM status_maintenance WHERE tenant_id = $1 AND created_at >= $2 ORDER BY created_at DESC, id LIMIT $3",
		micros(t0), limit)
}

// CancelMaintenance cancels a window (once: ECONFLICT after).
func (tx *Tx) CancelMaintenance(ctx context.Context, id string, at time.Time) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE status_maintenance SET cancelled_at = $1 WHERE tenant_id = $2 AND id = $3 AND cancelled_at IS NULL",
		micros(at), string(t), id)
	if err != nil {
		return fmt.Errorf("cancelling maintenance: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return fmt.Errorf("cancelling maintenance: %w", err)
		}
		return strongroom.Errorf(strongroom.ECONFLICT, "the maintenance window is cancelled already")
	}
	return nil
}

// UpdateMaintenance replaces a window's title, text, components and times
// (not its cancellation nor creation time). A cancelled window is ECONFLICT,
// an unknown one ENOTFOUND.
func (tx *Tx) UpdateMaintenance(ctx context.Context, m *strongroom.StatusMaintenance) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	comps, err := json.Marshal(m.Components)
	if err != nil {
		return fmt.Errorf("encoding components: %w", err)
	}
	res, err := tx.exec(ctx, "UPDATE status_maintenance SET title = $1, body = $2, components = $3, starts_at = $4, ends_at = $5 WHERE tenant_id = $6 AND id = $7 AND cancelled_at IS NULL",
		m.Title, m.Body, string(comps), micros(m.StartsAt), micros(m.EndsAt), string(t), m.ID)
	if err != nil {
		return fmt.Errorf("updating maintenance: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("updating maintenance: %w", err)
	}
	if n == 1 {
		return nil
	}
	if _, err := tx.Maintenance(ctx, m.ID); err != nil {
		return err
	}
	return strongroom.Errorf(strongroom.ECONFLICT, "the maintenance window is cancelled")
}

const statusUpdateColumns = "id, title, body, state, components, created_at"

// CreateStatusUpdate inserts a status update.
func (tx *Tx) CreateStatusUpdate(ctx context.Context, u *strongroom.StatusUpdate) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	comps, err := json.Marshal(u.Components)
	if err != nil {
		return fmt.Errorf("encoding components: %w", err)
	}
	_, err = tx.exec(ctx, "INSERT INTO status_updates (tenant_id, "+statusUpdateColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		string(t), u.ID, u.Title, u.Body, u.State, string(comps), micros(u.CreatedAt))
	if err != nil {
		return fmt.Errorf("inserting status update: %w", err)
	}
	return nil
}

func scanStatusUpdate(row interface{ Scan(...any) error }) (*strongroom.StatusUpdate, error) {
	var u strongroom.StatusUpdate
	var comps string
	var created int64
	if err := row.Scan(&u.ID, &u.Title, &u.Body, &u.State, &comps, &created); err != nil {
		return nil, fmt.Errorf("reading status update: %w", err)
	}
	if err := json.Unmarshal([]byte(comps), &u.Components); err != nil {
		return nil, fmt.Errorf("decoding components: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// StatusUpdates lists the updates posted since t0, newest first, at most limit.
func (tx *Tx) StatusUpdates(ctx context.Context, t0 time.Time, limit int) ([]strongroom.StatusUpdate, error) {
	return platformList(ctx, tx, "status updates", scanStatusUpdate,
		"SELECT "+statusUpdateColumns+" FROM status_updates WHERE tenant_id = $1 AND created_at >= $2 ORDER BY created_at DESC, id LIMIT $3",
		micros(t0), limit)
}
