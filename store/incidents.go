package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// Incidents (INC-01..03). Incidents, their timelines and affected
// organizations are platform rows (a Tx bound to strongroom.PlatformTenant);
// notices are the affected organization's rows.

const incidentColumns = "id, title, kind, breach, severity, phase, aware_at, notify_by, resolved_at, report_due, " +
	"report_published_at, created_by, created_at, updated_at"

// CreateIncident inserts an incident.
func (tx *Tx) CreateIncident(ctx context.Context, in *strongroom.Incident) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "INSERT INTO incidents (tenant_id, "+incidentColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
		string(t), in.ID, in.Title, in.Kind, boolInt(in.Breach), in.Severity, in.Phase, micros(in.AwareAt), nullMicros(in.NotifyBy),
		nullMicros(in.ResolvedAt), nullMicros(in.ReportDue), nullMicros(in.ReportPublishedAt), string(in.CreatedBy),
		micros(in.CreatedAt), micros(in.UpdatedAt))
	if err != nil {
		return fmt.Errorf("inserting incident: %w", err)
	}
	return nil
}

func scanIncident(row interface{ Scan(...any) error }) (*strongroom.Incident, error) {
	var in strongroom.Incident
	var breach int
	var aware, created, updated int64
	var notify, resolved, due, published sql.NullInt64
	err := row.Scan(&in.ID, &in.Title, &in.Kind, &breach, &in.Severity, &in.Phase, &aware, &notify, &resolved, &due,
		&published, &in.CreatedBy, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "incident not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading incident: %w", err)
	}
	in.Breach = breach == 1
	in.AwareAt, in.CreatedAt, in.UpdatedAt = fromMicros(aware), fromMicros(created), fromMicros(updated)
	in.NotifyBy, in.ResolvedAt, in.ReportDue, in.ReportPublishedAt = optMicros(notify), optMicros(resolved), optMicros(due), optMicros(published)
	return &in, nil
}

// Incident returns one incident.
func (tx *Tx) Incident(ctx context.Context, id string) (*strongroom.Incident, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	return scanIncident(tx.q.QueryRowContext(ctx, "SELECT "+incidentColumns+" FROM incidents WHERE tenant_id = $1 AND id = $2", string(t), id))
}

// Incidents lists the incidents created at or after since, newest first (the
// trust page's incident history reads the last 12 months with it).
func (tx *Tx) Incidents(ctx context.Context, since time.Time) ([]strongroom.Incident, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "incidents", scanIncident,
		"SELECT "+incidentColumns+" FROM incidents WHERE tenant_id = $1 AND created_at >= $2 ORDER BY created_at DESC, id DESC",
		string(t), micros(since))
}

// UpdateIncident writes an incident's phase, deadlines and publication, if
// its phase is still from (compare and set: ECONFLICT otherwise).
func (tx *Tx) UpdateIncident(ctx context.Context, in *strongroom.Incident, from string) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE incidents SET phase = $1, resolved_at = $2, report_due = $3, report_published_at = $4,
		updated_at = $5 WHERE tenant_id = $6 AND id = $7 AND phase = $8`,
		in.Phase, nullMicros(in.ResolvedAt), nullMicros(in.ReportDue), nullMicros(in.ReportPublishedAt), micros(in.UpdatedAt),
		string(t), in.ID, from)
	if err != nil {
		return fmt.Errorf("updating incident: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return fmt.Errorf("updating incident: %w", err)
		}
		return strongroom.Errorf(strongroom.ECONFLICT, "the incident changed meanwhile")
	}
	return nil
}

// AddIncidentUpdate appends an entry to an incident's timeline.
func (tx *Tx) AddIncidentUpdate(ctx context.Context, incident string, u *strongroom.IncidentUpdate) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	if err := tx.q.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_updates WHERE tenant_id = $1 AND incident_id = $2",
		string(t), incident).Scan(&u.Seq); err != nil {
		return fmt.Errorf("numbering incident update: %w", err)
	}
	if _, err := tx.exec(ctx, "INSERT INTO incident_updates (tenant_id, incident_id, seq, phase, note, author, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		string(t), incident, u.Seq, u.Phase, u.Note, string(u.Author), micros(u.At)); err != nil {
		return fmt.Errorf("inserting incident update: %w", err)
	}
	return nil
}

// IncidentUpdates returns an incident's timeline, oldest first.
func (tx *Tx) IncidentUpdates(ctx context.Context, incident string) ([]strongroom.IncidentUpdate, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "incident updates", func(row interface{ Scan(...any) error }) (*strongroom.IncidentUpdate, error) {
		var u strongroom.IncidentUpdate
		var at int64
		if err := row.Scan(&u.Seq, &u.Phase, &u.Note, &u.Author, &at); err != nil {
			return nil, fmt.Errorf("reading incident update: %w", err)
		}
		u.At = fromMicros(at)
		return &u, nil
	}, "SELECT seq, phase, note, author, at FROM incident_updates WHERE tenant_id = $1 AND incident_id = $2 ORDER BY seq", string(t), incident)
}

// AddIncidentOrg links an affected organization; linking it again is a no-op.
func (tx *Tx) AddIncidentOrg(ctx context.Context, incident string, org strongroom.TenantID) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "INSERT INTO incident_orgs (tenant_id, incident_id, org_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		string(t), incident, string(org))
	if err != nil {
		return fmt.Errorf("linking organization to incident: %w", err)
	}
	return nil
}

// IncidentOrgs returns the organizations an incident affects.
func (tx *Tx) IncidentOrgs(ctx context.Context, incident string) ([]strongroom.IncidentOrg, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "incident organizations", func(row interface{ Scan(...any) error }) (*strongroom.IncidentOrg, error) {
		var o strongroom.IncidentOrg
		var at sql.NullInt64
		if err := row.Scan(&o.Org, &at); err != nil {
			return nil, fmt.Errorf("reading incident organization: %w", err)
		}
		o.NotifiedAt = optMicros(at)
		return &o, nil
	}, "SELECT org_id, notified_at FROM incident_orgs WHERE tenant_id = $1 AND incident_id = $2 ORDER BY org_id", string(t), incident)
}

// MarkIncidentOrgNotified records when an organization was sent the breach
// notice.
func (tx *Tx) MarkIncidentOrgNotified(ctx context.Context, incident string, org strongroom.TenantID, at time.Time) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE incident_orgs SET notified_at = $1 WHERE tenant_id = $2 AND incident_id = $3 AND org_id = $4 AND notified_at IS NULL",
		micros(at), string(t), incident, string(org))
	return affectedOne(res, err, "unnotified incident organization")
}

const noticeColumns = "id, incident_id, kind, title, contents, deadline, sent_at, acknowledged_at, acknowledged_by"

// CreateNotice inserts a notice into the bound organization.
func (tx *Tx) CreateNotice(ctx context.Context, n *strongroom.IncidentNotice) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "INSERT INTO incident_notices (tenant_id, "+noticeColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		string(t), n.ID, n.IncidentID, n.Kind, n.Title, n.Contents, nullMicros(n.Deadline), micros(n.SentAt), nullMicros(n.AcknowledgedAt), nil)
	if isForeignKeyViolation(err) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "organization not found")
	}
	if err != nil {
		return fmt.Errorf("inserting notice: %w", err)
	}
	n.TenantID = t
	return nil
}

func scanNotice(t strongroom.TenantID, row interface{ Scan(...any) error }) (*strongroom.IncidentNotice, error) {
	n := strongroom.IncidentNotice{TenantID: t}
	var deadline, acked sql.NullInt64
	var by sql.NullString
	var sent int64
	err := row.Scan(&n.ID, &n.IncidentID, &n.Kind, &n.Title, &n.Contents, &deadline, &sent, &acked, &by)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "notice not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading notice: %w", err)
	}
	n.Deadline, n.SentAt, n.AcknowledgedAt = optMicros(deadline), fromMicros(sent), optMicros(acked)
	if by.Valid {
		u := strongroom.UserID(by.String)
		n.AcknowledgedBy = &u
	}
	return &n, nil
}

// Notices lists the bound organization's notices, newest first.
func (tx *Tx) Notices(ctx context.Context) ([]strongroom.IncidentNotice, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "notices", func(r interface{ Scan(...any) error }) (*strongroom.IncidentNotice, error) { return scanNotice(t, r) },
		"SELECT "+noticeColumns+" FROM incident_notices WHERE tenant_id = $1 ORDER BY sent_at DESC, id DESC", string(t))
}

// Notice returns one of the bound organization's notices.
func (tx *Tx) Notice(ctx context.Context, id string) (*strongroom.IncidentNotice, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanNotice(t, tx.q.QueryRowContext(ctx, "SELECT "+noticeColumns+" FROM incident_notices WHERE tenant_id = $1 AND id = $2", string(t), id))
}

// AcknowledgeNotice records the first acknowledgement of a notice; ECONFLICT
// if it was acknowledged already.
func (tx *Tx) AcknowledgeNotice(ctx context.Context, id string, by strongroom.UserID, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE incident_notices SET acknowledged_at = $1, acknowledged_by = $2 WHERE tenant_id = $3 AND id = $4 AND acknowledged_at IS NULL",
		micros(at), string(by), string(t), id)
	if err != nil {
		return fmt.Errorf("acknowledging notice: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return fmt.Errorf("acknowledging notice: %w", err)
		}
		return strongroom.Errorf(strongroom.ECONFLICT, "the notice is acknowledged already")
	}
	return nil
}
