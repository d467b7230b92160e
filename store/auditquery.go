package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom"
)

// Reading the audit log back: the filtered query behind the audit API and the
// counts an export states in its header (docs/audit-log.md, "Query and
// export").

// AuditQuery selects a tenant's audit events; every condition that is set
// must hold. Events come oldest first, by seq.
type AuditQuery struct {
	After    int64     // only events with a greater seq (the cursor)
	Through  int64     // only events with seq ≤ Through; 0: no bound
	From, To time.Time // From ≤ time < To; a zero bound is open
	ActorID  string
	// Action matches exactly; ActionPrefix matches every action that begins
	// with it ("auth." for "auth.*"). At most one of them is set.
	Action       string
	ActionPrefix string
	Result       strongroom.AuditResult
	TargetID     string
	Limit        int // 1 to 1000
}

const auditEventColumnsOfE = "e.seq, e.time, e.actor_type, e.actor_id, e.ip, e.device_type, e.action, e.target_type, " +
	"e.target_id, e.result, e.reason, e.request_id, e.metadata"

// QueryAuditEvents lists the bound tenant's events that match q, each with its
// seal (nil while it is not sealed).
//
// The answer is read in seq order along the primary key. On the first page of
// a time window (no cursor), the walk starts at the least seq at or after From,
// found with the time index (migration 0007) — "min(+seq)" keeps SQLite from
// walking the primary key from the log's start to find it. The other filters
// are evaluated on the way. An action prefix is compared with substr, which
// both engines evaluate character by character whatever the database's
// collation (a range on a non-C collation would not be a prefix match).
func (tx *Tx) QueryAuditEvents(ctx context.Context, q AuditQuery) ([]AuditLink, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	if q.Action != "" && q.ActionPrefix != "" {
		return nil, errors.New("store: an audit query has an action or an action prefix, not both")
	}
	if !q.From.IsZero() && q.After == 0 {
		var first sql.NullInt64
		if err := tx.q.QueryRowContext(ctx, "SELECT min(+seq) FROM audit_events WHERE tenant_id = $1 AND time >= $2",
			string(t), micros(q.From)).Scan(&first); err != nil {
			return nil, fmt.Errorf("querying audit events: %w", err)
		}
		if !first.Valid {
			return nil, nil
		}
		q.After = first.Int64 - 1
	}
	a := &args{}
	s := "SELECT " + auditEventColumnsOfE + ", s.hash FROM audit_events e " +
		"LEFT JOIN audit_seals s ON s.tenant_id = e.tenant_id AND s.seq = e.seq " +
		"WHERE e.tenant_id = " + a.add(string(t)) + " AND e.seq > " + a.add(q.After)
	if q.Through > 0 {
		s += " AND e.seq <= " + a.add(q.Through)
	}
	if !q.From.IsZero() {
		s += " AND e.time >= " + a.add(micros(q.From))
	}
	if !q.To.IsZero() {
		s += " AND e.time < " + a.add(micros(q.To))
	}
	if q.ActorID != "" {
		s += " AND e.actor_id = " + a.add(q.ActorID)
	}
	if q.Action != "" {
		s += " AND e.action = " + a.add(q.Action)
	}
	if q.ActionPrefix != "" {
		s += " AND substr(e.action, 1, " + a.add(utf8.RuneCountInString(q.ActionPrefix)) + ") = " + a.add(q.ActionPrefix)
	}
	if q.Result != "" {
		s += " AND e.result = " + a.add(string(q.Result))
	}
	if q.TargetID != "" {
		s += " AND e.target_id = " + a.add(q.TargetID)
	}
	s += " ORDER BY e.seq LIMIT " + a.add(min(max(q.Limit, 1), 1000))
	rows, err := tx.q.QueryContext(ctx, s, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("querying audit events: %w", err)
	}
	defer rows.Close()
	var out []AuditLink
	for rows.Next() {
		e := strongroom.AuditEvent{TenantID: t}
		var at, meta string
		var tm int64
		var seal []byte
		if err := rows.Scan(&e.Seq, &tm, &at, &e.ActorID, &e.IP, &e.DeviceType, &e.Action, &e.TargetType,
			&e.TargetID, &e.Result, &e.Reason, &e.RequestID, &meta, &seal); err != nil {
			return nil, fmt.Errorf("reading audit event: %w", err)
		}
		e.Time, e.ActorType, e.Metadata = fromMicros(tm), strongroom.PrincipalKind(at), []byte(meta)
		out = append(out, AuditLink{Seq: e.Seq, Event: &e, Seal: seal})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("querying audit events: %w", err)
	}
	return out, nil
}

// LastAuditEventSeq returns the seq of the bound tenant's newest event; 0
// when it has none.
func (tx *Tx) LastAuditEventSeq(ctx context.Context) (int64, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	var seq int64
	if err := tx.q.QueryRowContext(ctx, "SELECT COALESCE(max(seq), 0) FROM audit_events WHERE tenant_id = $1",
		string(t)).Scan(&seq); err != nil {
		return 0, fmt.Errorf("reading the last audit event: %w", err)
	}
	return seq, nil
}

// LastAuditCheckpoint returns the bound tenant's newest checkpoint, nil when
// it has none.
func (tx *Tx) LastAuditCheckpoint(ctx context.Context) (*AuditCheckpoint, error) {
	seq, err := tx.LastAuditCheckpointSeq(ctx)
	if err != nil || seq == 0 {
		return nil, err
	}
	cps, err := tx.AuditCheckpoints(ctx, seq-1, 1)
	if err != nil {
		return nil, err
	}
	if len(cps) != 1 || cps[0].Seq != seq {
		return nil, fmt.Errorf("store: the checkpoint at seq %d could not be read back", seq)
	}
	return &cps[0], nil
}

// CountAuditSeals counts the bound tenant's seals with after < seq ≤ through.
func (tx *Tx) CountAuditSeals(ctx context.Context, after, through int64) (int64, error) {
	return tx.countAudit(ctx, "SELECT count(*) FROM audit_seals WHERE tenant_id = $1 AND seq > $2 AND seq <= $3", after, through)
}

// CountAuditCheckpoints counts the bound tenant's checkpoints with seq ≤ through.
func (tx *Tx) CountAuditCheckpoints(ctx context.Context, through int64) (int64, error) {
	return tx.countAudit(ctx, "SELECT count(*) FROM audit_checkpoints WHERE tenant_id = $1 AND seq > $2 AND seq <= $3", 0, through)
}

// CountAuditEventsAfter counts the bound tenant's events with seq > after.
func (tx *Tx) CountAuditEventsAfter(ctx context.Context, after int64) (int64, error) {
	return tx.countAudit(ctx, "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND seq > $2 AND seq <= $3", after, 1<<62)
}

func (tx *Tx) countAudit(ctx context.Context, q string, after, through int64) (int64, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	var n int64
	err = tx.q.QueryRowContext(ctx, q, string(t), after, through).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("counting audit log rows: %w", err)
	}
	return n, nil
}
