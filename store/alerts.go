package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"strongroom.dev/strongroom"
)

// Alerts of the security monitor (package monitor, docs/audit-log.md,
// "Monitoring"), and what the monitor learned of each principal's usual volume.

const alertColumns = "id, kind, severity, subject, summary, first_seen, last_seen, count, evidence, last_seq, status, status_by, status_at"

// AlertHit is a detection to record: evidence events (seqs of the bound
// tenant's log) for one (kind, subject).
type AlertHit struct {
	Kind     strongroom.AlertKind
	Severity strongroom.AlertSeverity
	Subject  string
	Summary  string
	// Seqs are the evidence, ascending; those at or below the open alert's
	// newest counted seq were counted before and are passed over.
	Seqs []int64
	// First and Last are the times of the first and last evidence events.
	First, Last time.Time
	// Window is how long an open alert keeps gathering evidence: a hit more
	// than Window after the open alert's last evidence opens a new alert.
	Window time.Duration
}

// RecordAlert adds hit to the bound tenant's open alert of the same kind and
// subject whose last evidence is within hit.Window of hit.First, or opens a new
// alert with id. It returns the alert as stored and whether it is new. A hit
// whose every seq was counted before changes nothing: recording the same
// events again (after a restart) is harmless.
func (tx *Tx) RecordAlert(ctx context.Context, id string, hit AlertHit) (*strongroom.Alert, bool, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, false, err
	}
	if len(hit.Seqs) == 0 || hit.Subject == "" || !slices.IsSorted(hit.Seqs) {
		return nil, false, errors.New("store: an alert hit needs a subject and ascending evidence seqs")
	}
	open, err := scanAlert(t, tx.q.QueryRowContext(ctx,
		"SELECT "+alertColumns+" FROM alerts WHERE tenant_id = $1 AND kind = $2 AND subject = $3 AND status = 'open' "+
			"AND last_seen >= $4 ORDER BY last_seen DESC LIMIT 1",
		string(t), string(hit.Kind), hit.Subject, micros(hit.First.Add(-hit.Window))))
	switch {
	case strongroom.ErrorCode(err) == strongroom.ENOTFOUND:
		a := &strongroom.Alert{ID: id, TenantID: t, Kind: hit.Kind, Severity: hit.Severity, Subject: hit.Subject,
			Summary: hit.Summary, FirstSeen: hit.First, LastSeen: hit.Last, Count: int64(len(hit.Seqs)),
			Evidence: capEvidence(hit.Seqs), Status: strongroom.AlertOpen}
		ev, _ := json.Marshal(a.Evidence)
		_, err := tx.exec(ctx, "INSERT INTO alerts (tenant_id, "+alertColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
			string(t), a.ID, string(a.Kind), string(a.Severity), a.Subject, a.Summary, micros(a.FirstSeen), micros(a.LastSeen),
			a.Count, string(ev), hit.Seqs[len(hit.Seqs)-1], string(a.Status), "", nil)
		if err != nil {
			return nil, false, fmt.Errorf("inserting alert: %w", err)
		}
		return a, true, nil
	case err != nil:
		return nil, false, err
	}
	var last int64
	if err := tx.q.QueryRowContext(ctx, "SELECT last_seq FROM alerts WHERE tenant_id = $1 AND id = $2", string(t), open.ID).Scan(&last); err != nil {
		return nil, false, fmt.Errorf("reading alert: %w", err)
	}
	i, _ := slices.BinarySearch(hit.Seqs, last+1)
	fresh := hit.Seqs[i:]
	if len(fresh) == 0 {
		return open, false, nil
	}
	open.Count += int64(len(fresh))
	open.Evidence = capEvidence(append(open.Evidence, fresh...))
	open.LastSeen = later(open.LastSeen, hit.Last)
	open.Summary = hit.Summary
	open.Severity = higher(open.Severity, hit.Severity)
	ev, _ := json.Marshal(open.Evidence)
	_, err = tx.exec(ctx, "UPDATE alerts SET count = $1, evidence = $2, last_seq = $3, last_seen = $4, summary = $5, severity = $6 "+
		"WHERE tenant_id = $7 AND id = $8",
		open.Count, string(ev), fresh[len(fresh)-1], micros(open.LastSeen), open.Summary, string(open.Severity), string(t), open.ID)
	if err != nil {
		return nil, false, fmt.Errorf("updating alert: %w", err)
	}
	return open, false, nil
}

// capEvidence keeps the first MaxAlertEvidence seqs: the events that raised
// the alert, which matter most.
func capEvidence(seqs []int64) []int64 {
	return slices.Clone(seqs[:min(len(seqs), strongroom.MaxAlertEvidence)])
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func higher(a, b strongroom.AlertSeverity) strongroom.AlertSeverity {
	rank := map[strongroom.AlertSeverity]int{strongroom.SeverityLow: 1, strongroom.SeverityMedium: 2, strongroom.SeverityHigh: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func scanAlert(t strongroom.TenantID, row interface{ Scan(...any) error }) (*strongroom.Alert, error) {
	a := strongroom.Alert{TenantID: t}
	var first, last, lastSeq int64
	var evidence string
	var at sql.NullInt64
	err := row.Scan(&a.ID, &a.Kind, &a.Severity, &a.Subject, &a.Summary, &first, &last, &a.Count, &evidence, &lastSeq,
		&a.Status, &a.StatusBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "alert not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading alert: %w", err)
	}
	if err := json.Unmarshal([]byte(evidence), &a.Evidence); err != nil {
		return nil, fmt.Errorf("reading alert evidence: %w", err)
	}
	a.FirstSeen, a.LastSeen, a.StatusAt = fromMicros(first), fromMicros(last), optMicros(at)
	return &a, nil
}

// Alert returns one alert of the bound tenant.
func (tx *Tx) Alert(ctx context.Context, id string) (*strongroom.Alert, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanAlert(t, tx.q.QueryRowContext(ctx, "SELECT "+alertColumns+" FROM alerts WHERE tenant_id = $1 AND id = $2", string(t), id))
}

// LatestAlert returns the bound tenant's newest alert of kind about subject,
// whatever its status, or ENOTFOUND when there is none.
func (tx *Tx) LatestAlert(ctx context.Context, kind strongroom.AlertKind, subject string) (*strongroom.Alert, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanAlert(t, tx.q.QueryRowContext(ctx, "SELECT "+alertColumns+" FROM alerts WHERE tenant_id = $1 AND kind = $2 AND subject = $3 "+
		"ORDER BY id DESC LIMIT 1", string(t), string(kind), subject))
}

// AlertQuery selects alerts: newest first (IDs are UUIDv7), before the ID
// Before when it is set, at most Limit.
type AlertQuery struct {
	Status strongroom.AlertStatus // "" for any
	Kind   strongroom.AlertKind   // "" for any
	Before string
	Limit  int
}

// Alerts lists the bound tenant's alerts.
func (tx *Tx) Alerts(ctx context.Context, q AlertQuery) ([]strongroom.Alert, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	query := "SELECT " + alertColumns + " FROM alerts WHERE tenant_id = $1"
	args := []any{string(t)}
	add := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND %s $%d", cond, len(args))
	}
	if q.Status != "" {
		add("status =", string(q.Status))
	}
	if q.Kind != "" {
		add("kind =", string(q.Kind))
	}
	if q.Before != "" {
		add("id <", q.Before)
	}
	args = append(args, min(max(q.Limit, 1), 1000))
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	return list(ctx, tx.q, "alerts", func(r interface{ Scan(...any) error }) (*strongroom.Alert, error) { return scanAlert(t, r) },
		query, args...)
}

// SetAlertStatus moves an alert to status (acknowledged or resolved) by user
// at at. Acknowledging needs an open alert, resolving one that is not resolved
// yet; otherwise it is EINVALID. A missing alert is ENOTFOUND.
func (tx *Tx) SetAlertStatus(ctx context.Context, id string, status strongroom.AlertStatus, by strongroom.UserID, at time.Time) (*strongroom.Alert, error) {
	a, err := tx.Alert(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case status == strongroom.AlertAcknowledged && a.Status != strongroom.AlertOpen,
		status == strongroom.AlertResolved && a.Status == strongroom.AlertResolved:
		return nil, strongroom.Errorf(strongroom.EINVALID, "the alert is %s already", a.Status)
	case status != strongroom.AlertAcknowledged && status != strongroom.AlertResolved:
		return nil, fmt.Errorf("store: an alert cannot be set to %q", status)
	}
	_, err = tx.exec(ctx, "UPDATE alerts SET status = $1, status_by = $2, status_at = $3 WHERE tenant_id = $4 AND id = $5",
		string(status), string(by), micros(at), string(a.TenantID), id)
	if err != nil {
		return nil, fmt.Errorf("changing alert: %w", err)
	}
	a.Status, a.StatusBy, a.StatusAt = status, string(by), &at
	return a, nil
}

// AuditEventsBySeq returns the bound tenant's events with the given seqs, in
// seq order; seqs that are not in its log are left out.
func (tx *Tx) AuditEventsBySeq(ctx context.Context, seqs []int64) ([]strongroom.AuditEvent, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	if len(seqs) > strongroom.MaxAlertEvidence {
		return nil, fmt.Errorf("store: at most %d audit events by seq", strongroom.MaxAlertEvidence)
	}
	args := []any{string(t)}
	marks := make([]string, len(seqs))
	for i, q := range seqs {
		args = append(args, q)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	rows, err := tx.q.QueryContext(ctx, "SELECT "+auditEventColumns+" FROM audit_events WHERE tenant_id = $1 AND seq IN ("+
		strings.Join(marks, ", ")+") ORDER BY seq", args...)
	if err != nil {
		return nil, fmt.Errorf("listing audit events: %w", err)
	}
	defer rows.Close()
	return scanAuditEvents(rows, t)
}

// Baseline is what the monitor learned of a principal's reads per hour: Mean
// is the exponentially weighted mean over the Hours hours before OpenHour.
type Baseline struct {
	OpenHour time.Time
	Mean     float64
	Hours    int64
}

// MonitorBaseline returns the bound tenant's baseline of principal; ok is
// false when there is none yet.
func (tx *Tx) MonitorBaseline(ctx context.Context, principal string) (b Baseline, ok bool, err error) {
	t, err := tx.tenant()
	if err != nil {
		return b, false, err
	}
	var hour int64
	err = tx.q.QueryRowContext(ctx, "SELECT open_hour, mean, hours FROM monitor_baselines WHERE tenant_id = $1 AND principal = $2",
		string(t), principal).Scan(&hour, &b.Mean, &b.Hours)
	if errors.Is(err, sql.ErrNoRows) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("reading monitor baseline: %w", err)
	}
	b.OpenHour = fromMicros(hour)
	return b, true, nil
}

// SaveMonitorBaseline stores the bound tenant's baseline of principal. It only
// moves forward: a baseline with an earlier OpenHour than the stored one
// leaves it as it is.
func (tx *Tx) SaveMonitorBaseline(ctx context.Context, principal string, b Baseline) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx,
		`INSERT INTO monitor_baselines (tenant_id, principal, open_hour, mean, hours) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (tenant_id, principal) DO UPDATE SET open_hour = excluded.open_hour, mean = excluded.mean, hours = excluded.hours
		 WHERE monitor_baselines.open_hour < excluded.open_hour`,
		string(t), principal, micros(b.OpenHour), b.Mean, b.Hours)
	if err != nil {
		return fmt.Errorf("storing monitor baseline: %w", err)
	}
	return nil
}

// OperatorEmails returns the addresses of every operator (for alerts of the
// platform).
func (tx *Tx) OperatorEmails(ctx context.Context) ([]string, error) {
	rows, err := tx.q.QueryContext(ctx, "SELECT email FROM users WHERE operator = 1 ORDER BY email")
	if err != nil {
		return nil, fmt.Errorf("listing operators: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("listing operators: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
