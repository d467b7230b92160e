package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// Streaming the audit log (package auditstream, docs/audit-log.md): sealed
// events are read in global seq order, across tenants, and delivered to sinks
// whose progress is kept as one cursor per sink.

// SealedAuditEvent is an audit event with its seal: the hash of its tenant's
// chain through it.
type SealedAuditEvent struct {
	strongroom.AuditEvent
	Hash []byte
}

// AuditRef names an audit event by tenant and seq, without its content.
type AuditRef struct {
	Tenant strongroom.TenantID
	Seq    int64
}

// SealedAuditPage is the next stretch of the audit log in global seq order.
type SealedAuditPage struct {
	// Events are the sealed events, in seq order.
	Events []SealedAuditEvent
	// Unsealable are events without a seal below a later seal of their own
	// chain: they never will be sealed (they were inserted behind the
	// application; audit verify reports them) and are not delivered.
	Unsealable []AuditRef
	// Through is where the next page starts: every event with a seq up to
	// Through is in this page or before it, and no other event will ever have
	// such a seq. It is the page's start when the page is empty.
	Through int64
}

// SealedAuditEvents returns the events after seq after in global seq order,
// at most limit (1 to 10000) of them, as far as they are sealed: the page ends
// before the first event that is not sealed yet, so it never skips an event
// that will be sealed later, and an event sealed at seq n means every seq up
// to n was final when it was sealed.
//
// On PostgreSQL the application role sees one tenant at a time. The function
// audit_stream_next (migration 0006, SECURITY DEFINER like
// audit_tenants_between) answers with tenants and seqs only; each tenant's
// events and seals are then read in a transaction bound to that tenant, under
// row-level security. SQLite runs the same query directly.
func (s *Store) SealedAuditEvents(ctx context.Context, after int64, limit int) (SealedAuditPage, error) {
	limit = min(max(limit, 1), 10000)
	page := SealedAuditPage{Through: after}
	q := "SELECT tenant, seq, sealed FROM audit_stream_next($1, $2)"
	if s.engine == SQLite {
		q = `WITH nxt AS (
			SELECT e.tenant_id, e.seq,
				EXISTS (SELECT 1 FROM audit_seals s WHERE s.tenant_id = e.tenant_id AND s.seq = e.seq) AS sealed
			FROM audit_events e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2
		), pending AS (
			SELECT min(n.seq) AS seq FROM nxt n
			WHERE NOT n.sealed
				AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.tenant_id = n.tenant_id AND s.seq > n.seq)
		)
		SELECT n.tenant_id, n.seq, n.sealed FROM nxt n, pending p WHERE p.seq IS NULL OR n.seq < p.seq ORDER BY n.seq`
	}
	rows, err := s.read.QueryContext(ctx, q, after, limit)
	if err != nil {
		return page, fmt.Errorf("listing sealed audit events: %w", err)
	}
	type ref struct {
		AuditRef
		sealed bool
	}
	var refs []ref
	order := []strongroom.TenantID{} // tenants in order of first appearance
	count := map[strongroom.TenantID]int{}
	for rows.Next() {
		var r ref
		var t string
		if err := rows.Scan(&t, &r.Seq, &r.sealed); err != nil {
			rows.Close()
			return page, fmt.Errorf("listing sealed audit events: %w", err)
		}
		r.Tenant = strongroom.TenantID(t)
		if count[r.Tenant] == 0 {
			order = append(order, r.Tenant)
		}
		count[r.Tenant]++
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("listing sealed audit events: %w", err)
	}
	if len(refs) == 0 {
		return page, nil
	}
	through := refs[len(refs)-1].Seq
	// Every event of (after, through] is in refs and final, and seals are
	// append-only: each tenant's read below sees exactly its refs.
	bySeq := make(map[int64]SealedAuditEvent, len(refs))
	for _, t := range order {
		err := s.Read(ctx, TenantScope(t), func(tx *Tx) error {
			events, err := tx.AuditEventsBetween(ctx, after, through, count[t])
			if err != nil {
				return err
			}
			seals, err := tx.auditSealsBetween(ctx, after, through, count[t])
			if err != nil {
				return err
			}
			for _, e := range events {
				if h, ok := seals[e.Seq]; ok {
					bySeq[e.Seq] = SealedAuditEvent{AuditEvent: e, Hash: h}
				}
			}
			return nil
		})
		if err != nil {
			return page, err
		}
	}
	for _, r := range refs {
		e, ok := bySeq[r.Seq]
		switch {
		case r.sealed && ok && e.TenantID == r.Tenant:
			page.Events = append(page.Events, e)
		case !r.sealed && !ok:
			page.Unsealable = append(page.Unsealable, r.AuditRef)
		default:
			return page, fmt.Errorf("store: the audit event at seq %d of %s changed while it was read", r.Seq, r.Tenant)
		}
	}
	page.Through = through
	return page, nil
}

// auditSealsBetween returns the bound tenant's seals with after < seq ≤
// through, at most limit, by seq.
func (tx *Tx) auditSealsBetween(ctx context.Context, after, through int64, limit int) (map[int64][]byte, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx,
		"SELECT seq, hash FROM audit_seals WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
		string(t), after, through, limit)
	if err != nil {
		return nil, fmt.Errorf("listing audit seals: %w", err)
	}
	defer rows.Close()
	out := map[int64][]byte{}
	for rows.Next() {
		var seq int64
		var h []byte
		if err := rows.Scan(&seq, &h); err != nil {
			return nil, fmt.Errorf("reading audit seal: %w", err)
		}
		out[seq] = h
	}
	return out, rows.Err()
}

// AuditStreamCursor returns the seq through which sink has received every
// sealed audit event; 0 when it has received none.
func (s *Store) AuditStreamCursor(ctx context.Context, sink string) (int64, error) {
	var seq int64
	err := s.read.QueryRowContext(ctx, "SELECT seq FROM audit_stream_cursors WHERE sink = $1", sink).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the audit stream cursor of %s: %w", sink, err)
	}
	return seq, nil
}

// AdvanceAuditStreamCursor records at now that sink has received every sealed
// audit event through seq. The cursor only moves forward: a lower seq (from a
// streamer that lost its lease and finished late) leaves it as it is.
func (s *Store) AdvanceAuditStreamCursor(ctx context.Context, sink string, seq int64, now time.Time) error {
	if sink == "" || seq < 0 {
		return errors.New("store: an audit stream cursor needs a sink and a seq of at least 0")
	}
	err := s.Write(ctx, Scope{}, func(tx *Tx) error {
		_, err := tx.exec(ctx,
			`INSERT INTO audit_stream_cursors (sink, seq, updated_at) VALUES ($1, $2, $3)
			 ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
			 WHERE audit_stream_cursors.seq < excluded.seq`, sink, seq, micros(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("storing the audit stream cursor of %s: %w", sink, err)
	}
	return nil
}
