package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// Vulnerability reports (INC-05) are platform rows: the Tx must be bound to
// strongroom.PlatformTenant.

const vulnColumns = "id, token_hash, title, status, severity, sealed, credit_name, attachments, received_at, ack_due, " +
	"acknowledged_at, triaged_at, resolution_due, closed_at, reminded_at"

// platform returns the bound tenant, which must be the platform's.
func (tx *Tx) platform() (strongroom.TenantID, error) {
	t, err := tx.tenant()
	if err != nil {
		return "", err
	}
	if t != strongroom.PlatformTenant {
		return "", errors.New("store: operator rows need a transaction bound to the platform tenant")
	}
	return t, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateVulnReport inserts a report and its attachments.
func (tx *Tx) CreateVulnReport(ctx context.Context, r *strongroom.VulnReport, atts []strongroom.VulnAttachment) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "INSERT INTO vuln_reports (tenant_id, "+vulnColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
		string(t), r.ID, r.TokenHash, r.Title, r.Status, nullString(r.Severity), r.Sealed, nullString(r.CreditName), int64(r.Attachments),
		micros(r.ReceivedAt), micros(r.AckDue), nullMicros(r.AcknowledgedAt), nullMicros(r.TriagedAt), nullMicros(r.ResolutionDue),
		nullMicros(r.ClosedAt), nullMicros(r.RemindedAt))
	if err != nil {
		return fmt.Errorf("inserting vulnerability report: %w", err)
	}
	for _, a := range atts {
		if _, err := tx.exec(ctx, "INSERT INTO vuln_attachments (tenant_id, report_id, n, name, content_type, size, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			string(t), r.ID, int64(a.N), a.Name, a.ContentType, a.Size, a.Sealed); err != nil {
			return fmt.Errorf("inserting vulnerability report attachment: %w", err)
		}
	}
	return nil
}

func scanVulnReport(row interface{ Scan(...any) error }) (*strongroom.VulnReport, error) {
	var r strongroom.VulnReport
	var sev, credit sql.NullString
	var atts, received, ackDue int64
	var acked, triaged, resDue, closed, reminded sql.NullInt64
	err := row.Scan(&r.ID, &r.TokenHash, &r.Title, &r.Status, &sev, &r.Sealed, &credit, &atts, &received, &ackDue,
		&acked, &triaged, &resDue, &closed, &reminded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "report not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading vulnerability report: %w", err)
	}
	r.Severity, r.CreditName, r.Attachments = sev.String, credit.String, int(atts)
	r.ReceivedAt, r.AckDue = fromMicros(received), fromMicros(ackDue)
	r.AcknowledgedAt, r.TriagedAt, r.ResolutionDue = optMicros(acked), optMicros(triaged), optMicros(resDue)
	r.ClosedAt, r.RemindedAt = optMicros(closed), optMicros(reminded)
	return &r, nil
}

// VulnReport returns one report.
func (tx *Tx) VulnReport(ctx context.Context, id string) (*strongroom.VulnReport, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	return scanVulnReport(tx.q.QueryRowContext(ctx, "SELECT "+vulnColumns+" FROM vuln_reports WHERE tenant_id = $1 AND id = $2", string(t), id))
}

// VulnReportByToken returns the report whose status token hashes to hash.
func (tx *Tx) VulnReportByToken(ctx context.Context, hash []byte) (*strongroom.VulnReport, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	return scanVulnReport(tx.q.QueryRowContext(ctx, "SELECT "+vulnColumns+" FROM vuln_reports WHERE tenant_id = $1 AND token_hash = $2", string(t), hash))
}

// VulnReportFilter selects reports for listing.
type VulnReportFilter struct {
	Status   string    // "": any
	Since    time.Time // received at or after; zero: any
	Credited bool      // only reports with a public credit that are closed as fixed
}

// VulnReports lists reports, newest first, at most limit (0: no bound).
func (tx *Tx) VulnReports(ctx context.Context, f VulnReportFilter, limit int) ([]strongroom.VulnReport, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	q := "SELECT " + vulnColumns + " FROM vuln_reports WHERE tenant_id = $1 AND received_at >= $2"
	args := []any{string(t), micros(f.Since)}
	if f.Status != "" {
		args = append(args, f.Status)
		q += fmt.Sprintf(" AND status = $%d", len(args))
	}
	if f.Credited {
		q += " AND credit_name IS NOT NULL AND status = 'fixed'"
	}
	q += " ORDER BY received_at DESC, id DESC"
	if limit > 0 {
		args = append(args, limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	return list(ctx, tx.q, "vulnerability reports", scanVulnReport, q, args...)
}

// UpdateVulnReport writes a report's status, severity and timestamps, if its
// status is still from (compare and set: ECONFLICT otherwise).
func (tx *Tx) UpdateVulnReport(ctx context.Context, r *strongroom.VulnReport, from string) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE vuln_reports SET status = $1, severity = $2, acknowledged_at = $3, triaged_at = $4,
		resolution_due = $5, closed_at = $6, reminded_at = $7 WHERE tenant_id = $8 AND id = $9 AND status = $10`,
		r.Status, nullString(r.Severity), nullMicros(r.AcknowledgedAt), nullMicros(r.TriagedAt), nullMicros(r.ResolutionDue),
		nullMicros(r.ClosedAt), nullMicros(r.RemindedAt), string(t), r.ID, from)
	if err != nil {
		return fmt.Errorf("updating vulnerability report: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("updating vulnerability report: %w", err)
	}
	if n != 1 {
		return strongroom.Errorf(strongroom.ECONFLICT, "the report changed meanwhile")
	}
	return nil
}

// VulnAttachments returns a report's attachments in order.
func (tx *Tx) VulnAttachments(ctx context.Context, report string) ([]strongroom.VulnAttachment, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "vulnerability report attachments", func(row interface{ Scan(...any) error }) (*strongroom.VulnAttachment, error) {
		a := strongroom.VulnAttachment{ReportID: report}
		var n int64
		if err := row.Scan(&n, &a.Name, &a.ContentType, &a.Size, &a.Sealed); err != nil {
			return nil, fmt.Errorf("reading attachment: %w", err)
		}
		a.N = int(n)
		return &a, nil
	}, "SELECT n, name, content_type, size, sealed FROM vuln_attachments WHERE tenant_id = $1 AND report_id = $2 ORDER BY n", string(t), report)
}

// VulnReportsUnacknowledged lists the reports still new, oldest first (the
// reminder job decides which are due a reminder).
func (tx *Tx) VulnReportsUnacknowledged(ctx context.Context) ([]strongroom.VulnReport, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "vulnerability reports", scanVulnReport,
		"SELECT "+vulnColumns+" FROM vuln_reports WHERE tenant_id = $1 AND status = 'new' ORDER BY received_at, id", string(t))
}

// Operators lists the platform's operator accounts (for reminders).
func (tx *Tx) Operators(ctx context.Context) ([]strongroom.User, error) {
	return list(ctx, tx.q, "operators", scanUser, "SELECT "+userColumns+" FROM users WHERE operator = 1 ORDER BY id")
}
