package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Audit-event retention (docs/audit-log.md, "Retention and pruning"): a prune
// marker is a signed checkpoint at the prune point, stored in
// audit_prune_markers; the append-only triggers let a chain's events, seals
// and checkpoints below its newest stored marker be deleted (and the event at
// it), and nothing else (migration 0012).

// AppendAuditPruneMarker stores a prune marker of the bound tenant's chain. A
// marker already stored at that seq is ECONFLICT.
func (tx *Tx) AppendAuditPruneMarker(ctx context.Context, c *AuditCheckpoint) error {
	return tx.appendSignedHead(ctx, "audit_prune_markers", "prune marker", c)
}

// AuditPruneMarkers lists the bound tenant's prune markers, oldest first (one
// per prune run, so few).
func (tx *Tx) AuditPruneMarkers(ctx context.Context) ([]AuditCheckpoint, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx,
		"SELECT seq, head, signed_at, key_id, signature FROM audit_prune_markers WHERE tenant_id = $1 ORDER BY seq", string(t))
	if err != nil {
		return nil, fmt.Errorf("listing audit prune markers: %w", err)
	}
	defer rows.Close()
	var out []AuditCheckpoint
	for rows.Next() {
		c := AuditCheckpoint{Tenant: t}
		var signed int64
		if err := rows.Scan(&c.Seq, &c.Head, &signed, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("reading audit prune marker: %w", err)
		}
		c.SignedAt = fromMicros(signed)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AuditPruned counts what one PruneAudit batch deleted.
type AuditPruned struct {
	Events, Seals, Checkpoints int64
}

// Zero reports whether the batch deleted nothing: the chain is pruned to its
// newest marker.
func (p AuditPruned) Zero() bool { return p.Events == 0 && p.Seals == 0 && p.Checkpoints == 0 }

// PruneAudit deletes up to limit (1 to 10000) each of the bound tenant's
// events at or below its newest stored prune marker, and of its seals and
// checkpoints below it (the seal at the marker stays: the sequencer extends
// the chain from it). On PostgreSQL it
// calls audit_prune, the only way the application role can delete audit rows.
// On SQLite the event holding the highest seq of all tenants is never deleted,
// since the next seq is computed from it.
func (tx *Tx) PruneAudit(ctx context.Context, limit int) (AuditPruned, error) {
	var p AuditPruned
	t, err := tx.tenant()
	if err != nil {
		return p, err
	}
	if err := tx.mustWrite(); err != nil {
		return p, err
	}
	limit = min(max(limit, 1), 10000)
	if tx.s.engine == Postgres {
		if err := tx.q.QueryRowContext(ctx, "SELECT events, seals, checkpoints FROM audit_prune($1, $2)", string(t), limit).
			Scan(&p.Events, &p.Seals, &p.Checkpoints); err != nil {
			return p, fmt.Errorf("pruning the audit chain: %w", err)
		}
		return p, nil
	}
	var through int64
	if err := tx.q.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_prune_markers WHERE tenant_id = $1",
		string(t)).Scan(&through); err != nil {
		return p, fmt.Errorf("reading audit prune markers: %w", err)
	}
	if through == 0 {
		return p, nil
	}
	del := func(q string, n *int64) error {
		res, err := tx.q.ExecContext(ctx, q, string(t), through, limit)
		if err != nil {
			return fmt.Errorf("pruning the audit chain: %w", err)
		}
		*n, err = res.RowsAffected()
		return err
	}
	if err := del(`DELETE FROM audit_events WHERE tenant_id = $1 AND seq IN (SELECT seq FROM audit_events
		WHERE tenant_id = $1 AND seq <= $2 AND seq < (SELECT MAX(seq) FROM audit_events) ORDER BY seq LIMIT $3)`, &p.Events); err != nil {
		return p, err
	}
	if err := del(`DELETE FROM audit_seals WHERE tenant_id = $1 AND seq IN (SELECT seq FROM audit_seals
		WHERE tenant_id = $1 AND seq < $2 ORDER BY seq LIMIT $3)`, &p.Seals); err != nil {
		return p, err
	}
	if err := del(`DELETE FROM audit_checkpoints WHERE tenant_id = $1 AND seq IN (SELECT seq FROM audit_checkpoints
		WHERE tenant_id = $1 AND seq < $2 ORDER BY seq LIMIT $3)`, &p.Checkpoints); err != nil {
		return p, err
	}
	return p, nil
}

// AuditPrunePoint returns the newest seal of the bound tenant's chain below
// its oldest event at or after cutoff: every event at or below it is older
// than cutoff. Seq 0: there is none.
func (tx *Tx) AuditPrunePoint(ctx context.Context, cutoff time.Time) (AuditSeal, error) {
	t, err := tx.tenant()
	if err != nil {
		return AuditSeal{}, err
	}
	bound := int64(1<<63 - 1)
	err = tx.q.QueryRowContext(ctx, "SELECT seq FROM audit_events WHERE tenant_id = $1 AND time >= $2 ORDER BY seq LIMIT 1",
		string(t), micros(cutoff)).Scan(&bound)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return AuditSeal{}, fmt.Errorf("finding the audit prune point: %w", err)
	}
	var s AuditSeal
	err = tx.q.QueryRowContext(ctx, `SELECT s.seq, s.hash FROM audit_seals s WHERE s.tenant_id = $1 AND s.seq < $2
		AND EXISTS (SELECT 1 FROM audit_events e WHERE e.tenant_id = s.tenant_id AND e.seq = s.seq) ORDER BY s.seq DESC LIMIT 1`,
		string(t), bound).Scan(&s.Seq, &s.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return AuditSeal{}, nil
	}
	if err != nil {
		return AuditSeal{}, fmt.Errorf("finding the audit prune point: %w", err)
	}
	return s, nil
}

// CountAuditCheckpointsBetween counts the bound tenant's checkpoints with
// after < seq ≤ through.
func (tx *Tx) CountAuditCheckpointsBetween(ctx context.Context, after, through int64) (int64, error) {
	return tx.countAudit(ctx, "SELECT count(*) FROM audit_checkpoints WHERE tenant_id = $1 AND seq > $2 AND seq <= $3", after, through)
}
