package store

import (
	"context"
	"database/sql"
	"fmt"

	"strongroom.dev/strongroom"
)

// AppendAudit inserts an audit event in the transaction, so it commits with the
// change it describes (security invariant 4). The event's tenant must be the bound
// tenant (PlatformTenant for platform events). The store assigns Seq.
func (tx *Tx) AppendAudit(ctx context.Context, e *strongroom.AuditEvent) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	if e.TenantID != t {
		return fmt.Errorf("store: audit event for tenant %s in a transaction bound to %s", e.TenantID, t)
	}
	if e.Time.IsZero() {
		e.Time = tx.s.now()
	}
	meta := string(e.Metadata)
	if meta == "" {
		meta = "{}"
	}
	vals := []any{string(t), micros(e.Time), string(e.ActorType), e.ActorID, e.IP, e.DeviceType, e.Action,
		e.TargetType, e.TargetID, string(e.Result), e.Reason, e.RequestID, meta}
	const cols = "tenant_id, time, actor_type, actor_id, ip, device_type, action, target_type, target_id, result, reason, request_id, metadata"
	var q string
	if tx.s.engine == Postgres {
		// The transaction takes its ID before the identity hands out seq, so that
		// a transaction holding a seq shows in every snapshot taken after that seq
		// was handed out: the sequencer relies on it to seal only final seqs
		// (AuditHorizon). The materialized CTE is evaluated before the insert's
		// row, and with it the seq, is computed.
		q = "WITH xact AS MATERIALIZED (SELECT pg_current_xact_id()) INSERT INTO audit_events (" + cols + ") " +
			"SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM xact RETURNING seq"
	} else {
		// One writer: the next number cannot be taken concurrently.
		q = "INSERT INTO audit_events (seq, " + cols + ") VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events), " +
			"$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq"
	}
	if err := tx.mustWrite(); err != nil {
		return err
	}
	if err := tx.q.QueryRowContext(ctx, q, vals...).Scan(&e.Seq); err != nil {
		return fmt.Errorf("appending audit event: %w", err)
	}
	tx.audited = true
	return nil
}

// AuditEvents lists the bound tenant's events after seq, oldest first.
func (tx *Tx) AuditEvents(ctx context.Context, afterSeq int64, limit int) ([]strongroom.AuditEvent, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := tx.q.QueryContext(ctx,
		"SELECT "+auditEventColumns+" FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
		string(t), afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("listing audit events: %w", err)
	}
	defer rows.Close()
	return scanAuditEvents(rows, t)
}

const auditEventColumns = "seq, time, actor_type, actor_id, ip, device_type, action, target_type, target_id, result, reason, request_id, metadata"

// scanAuditEvents reads rows of auditEventColumns of tenant t.
func scanAuditEvents(rows *sql.Rows, t strongroom.TenantID) ([]strongroom.AuditEvent, error) {
	var out []strongroom.AuditEvent
	for rows.Next() {
		e := strongroom.AuditEvent{TenantID: t}
		var at, meta string
		var tm int64
		if err := rows.Scan(&e.Seq, &tm, &at, &e.ActorID, &e.IP, &e.DeviceType, &e.Action, &e.TargetType,
			&e.TargetID, &e.Result, &e.Reason, &e.RequestID, &meta); err != nil {
			return nil, fmt.Errorf("reading audit event: %w", err)
		}
		e.Time, e.ActorType, e.Metadata = fromMicros(tm), strongroom.PrincipalKind(at), []byte(meta)
		out = append(out, e)
	}
	return out, rows.Err()
}
