package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"strongroom.dev/strongroom"
)

// The tamper-evident audit log (docs/audit-log.md) keeps, beside the events,
// append-only seals (each sealed event's chain hash) and signed checkpoints of
// chain heads. Package audit seals and verifies; these are its queries.

// AuditSeal is the seal of one event: the chain hash through it.
type AuditSeal struct {
	Seq  int64
	Hash []byte
}

// AuditLink is one position of a stored chain: the event at Seq and its seal,
// either of which may be missing.
type AuditLink struct {
	Seq   int64
	Event *strongroom.AuditEvent
	Seal  []byte
}

// AuditCheckpoint is a signed checkpoint as stored (auditlog.Checkpoint).
type AuditCheckpoint struct {
	Tenant    strongroom.TenantID
	Seq       int64
	Head      []byte
	SignedAt  time.Time
	KeyID     string
	Signature []byte
}

// LastAuditSeal returns the bound tenant's newest seal; Seq 0 when it has none.
func (tx *Tx) LastAuditSeal(ctx context.Context) (AuditSeal, error) {
	t, err := tx.tenant()
	if err != nil {
		return AuditSeal{}, err
	}
	var s AuditSeal
	err = tx.q.QueryRowContext(ctx, "SELECT seq, hash FROM audit_seals WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1",
		string(t)).Scan(&s.Seq, &s.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return AuditSeal{}, nil
	}
	if err != nil {
		return AuditSeal{}, fmt.Errorf("reading last audit seal: %w", err)
	}
	return s, nil
}

// AuditEventsBetween lists the bound tenant's events with after < seq ≤
// through, oldest first, at most limit (1 to 10000).
func (tx *Tx) AuditEventsBetween(ctx context.Context, after, through int64, limit int) ([]strongroom.AuditEvent, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), 10000)
	rows, err := tx.q.QueryContext(ctx,
		"SELECT "+auditEventColumns+" FROM audit_events WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
		string(t), after, through, limit)
	if err != nil {
		return nil, fmt.Errorf("listing audit events: %w", err)
	}
	defer rows.Close()
	return scanAuditEvents(rows, t)
}

// placeholders returns "($n, $n+1, …), (…)" for rows of cols values, numbered
// from 1: the only SQL the store builds.
func placeholders(rows, cols int) string {
	var b strings.Builder
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// AppendAuditSeals appends seals to the bound tenant's chain, whose newest seal
// must be at prevSeq (0: none): a compare-and-set, so two sequencers that raced
// cannot both extend the chain; the loser gets ECONFLICT and nothing is stored.
// Seals must be 32 bytes, in ascending seq order after prevSeq.
func (tx *Tx) AppendAuditSeals(ctx context.Context, prevSeq int64, seals []AuditSeal) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	if err := tx.mustWrite(); err != nil {
		return err
	}
	last := prevSeq
	for _, s := range seals {
		if s.Seq <= last || len(s.Hash) != 32 {
			return fmt.Errorf("store: seal at seq %d after %d with %d bytes", s.Seq, last, len(s.Hash))
		}
		last = s.Seq
	}
	var newest int64
	if err := tx.q.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_seals WHERE tenant_id = $1", string(t)).
		Scan(&newest); err != nil {
		return fmt.Errorf("reading last audit seal: %w", err)
	}
	if newest != prevSeq {
		return strongroom.Errorf(strongroom.ECONFLICT, "the audit chain was sealed to seq %d, not %d", newest, prevSeq)
	}
	const chunk = 500
	for len(seals) > 0 {
		n := min(len(seals), chunk)
		vals := make([]any, 0, 3*n)
		for _, s := range seals[:n] {
			vals = append(vals, string(t), s.Seq, s.Hash)
		}
		_, err := tx.q.ExecContext(ctx, "INSERT INTO audit_seals (tenant_id, seq, hash) VALUES "+placeholders(n, 3), vals...)
		if isUniqueViolation(err) {
			return strongroom.Errorf(strongroom.ECONFLICT, "the audit chain was sealed concurrently")
		}
		if err != nil {
			return fmt.Errorf("appending audit seals: %w", err)
		}
		seals = seals[n:]
	}
	return nil
}

// AuditChainPage returns the bound tenant's chain after seq: events and seals
// merged by seq, about limit of them, complete up to the last seq returned.
// An empty page is the end of the chain.
func (tx *Tx) AuditChainPage(ctx context.Context, after int64, limit int) ([]AuditLink, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), 10000)
	events, err := tx.AuditEventsBetween(ctx, after, 1<<62, limit)
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx, "SELECT seq, hash FROM audit_seals WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
		string(t), after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing audit seals: %w", err)
	}
	defer rows.Close()
	var seals []AuditSeal
	for rows.Next() {
		var s AuditSeal
		if err := rows.Scan(&s.Seq, &s.Hash); err != nil {
			return nil, fmt.Errorf("reading audit seal: %w", err)
		}
		seals = append(seals, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing audit seals: %w", err)
	}
	// A full side may continue past its last row: the page ends there.
	cutoff := int64(1<<63 - 1)
	if len(events) == limit {
		cutoff = events[len(events)-1].Seq
	}
	if len(seals) == limit {
		cutoff = min(cutoff, seals[len(seals)-1].Seq)
	}
	links := make([]AuditLink, 0, max(len(events), len(seals)))
	i, j := 0, 0
	for i < len(events) || j < len(seals) {
		var l AuditLink
		switch {
		case j == len(seals) || i < len(events) && events[i].Seq < seals[j].Seq:
			l = AuditLink{Seq: events[i].Seq, Event: &events[i]}
			i++
		case i == len(events) || seals[j].Seq < events[i].Seq:
			l = AuditLink{Seq: seals[j].Seq, Seal: seals[j].Hash}
			j++
		default:
			l = AuditLink{Seq: events[i].Seq, Event: &events[i], Seal: seals[j].Hash}
			i, j = i+1, j+1
		}
		if l.Seq > cutoff {
			break
		}
		links = append(links, l)
	}
	return links, nil
}

// AppendAuditCheckpoint stores a checkpoint of the bound tenant's chain. One
// already stored at that seq (another sequencer was first) is ECONFLICT.
func (tx *Tx) AppendAuditCheckpoint(ctx context.Context, c *AuditCheckpoint) error {
	return tx.appendSignedHead(ctx, "audit_checkpoints", "checkpoint", c)
}

// appendSignedHead inserts c, a signed chain head of the bound tenant, into
// table (audit_checkpoints or audit_prune_markers, which share their
// columns); what names the row in errors. A row already stored at c.Seq is
// ECONFLICT, whether seen first or caught by the primary key.
func (tx *Tx) appendSignedHead(ctx context.Context, table, what string, c *AuditCheckpoint) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	if c.Tenant != t {
		return fmt.Errorf("store: %s of tenant %s in a transaction bound to %s", what, c.Tenant, t)
	}
	if err := tx.mustWrite(); err != nil {
		return err
	}
	var n int
	if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1 AND seq = $2",
		string(t), c.Seq).Scan(&n); err != nil {
		return fmt.Errorf("reading audit %ss: %w", what, err)
	}
	if n > 0 {
		return strongroom.Errorf(strongroom.ECONFLICT, "a %s at seq %d exists", what, c.Seq)
	}
	_, err = tx.q.ExecContext(ctx,
		"INSERT INTO "+table+" (tenant_id, seq, head, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)",
		string(t), c.Seq, c.Head, micros(c.SignedAt), c.KeyID, c.Signature)
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "a %s at seq %d exists", what, c.Seq)
	}
	if err != nil {
		return fmt.Errorf("appending audit %s: %w", what, err)
	}
	return nil
}

// AuditCheckpoints lists the bound tenant's checkpoints after seq, oldest
// first, at most limit (1 to 10000).
func (tx *Tx) AuditCheckpoints(ctx context.Context, after int64, limit int) ([]AuditCheckpoint, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), 10000)
	rows, err := tx.q.QueryContext(ctx,
		"SELECT seq, head, signed_at, key_id, signature FROM audit_checkpoints WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
		string(t), after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing audit checkpoints: %w", err)
	}
	defer rows.Close()
	var out []AuditCheckpoint
	for rows.Next() {
		c := AuditCheckpoint{Tenant: t}
		var signed int64
		if err := rows.Scan(&c.Seq, &c.Head, &signed, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("reading audit checkpoint: %w", err)
		}
		c.SignedAt = fromMicros(signed)
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastAuditCheckpointSeq returns the seq of the bound tenant's newest
// checkpoint; 0 when it has none.
func (tx *Tx) LastAuditCheckpointSeq(ctx context.Context) (int64, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	var seq int64
	if err := tx.q.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints WHERE tenant_id = $1",
		string(t)).Scan(&seq); err != nil {
		return 0, fmt.Errorf("reading audit checkpoints: %w", err)
	}
	return seq, nil
}

// AuditChainTenants lists every tenant with audit events, seals, checkpoints
// or prune markers.
// On PostgreSQL, where row-level security shows one tenant at a time, it asks
// the function audit_chain_tenants, which returns tenant IDs only (migration
// 0004 explains why it may).
func (s *Store) AuditChainTenants(ctx context.Context) ([]strongroom.TenantID, error) {
	q := "SELECT t FROM audit_chain_tenants() AS t ORDER BY 1"
	if s.engine == SQLite {
		q = `WITH RECURSIVE
		e(id) AS (SELECT MIN(tenant_id) FROM audit_events
			UNION ALL SELECT (SELECT MIN(tenant_id) FROM audit_events WHERE tenant_id > e.id) FROM e WHERE e.id IS NOT NULL),
		s(id) AS (SELECT MIN(tenant_id) FROM audit_seals
			UNION ALL SELECT (SELECT MIN(tenant_id) FROM audit_seals WHERE tenant_id > s.id) FROM s WHERE s.id IS NOT NULL),
		c(id) AS (SELECT MIN(tenant_id) FROM audit_checkpoints
			UNION ALL SELECT (SELECT MIN(tenant_id) FROM audit_checkpoints WHERE tenant_id > c.id) FROM c WHERE c.id IS NOT NULL)
		SELECT id FROM e WHERE id IS NOT NULL UNION SELECT id FROM s WHERE id IS NOT NULL
		UNION SELECT id FROM c WHERE id IS NOT NULL UNION SELECT tenant_id FROM audit_prune_markers ORDER BY 1`
	}
	return s.tenantList(ctx, q)
}

// AuditTenantsBetween lists the tenants with audit events whose seq is in
// (after, through]: the chains the sequencer must extend.
func (s *Store) AuditTenantsBetween(ctx context.Context, after, through int64) ([]strongroom.TenantID, error) {
	q := "SELECT t FROM audit_tenants_between($1, $2) AS t ORDER BY 1"
	if s.engine == SQLite {
		q = "SELECT DISTINCT tenant_id FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY 1"
	}
	return s.tenantList(ctx, q, after, through)
}

func (s *Store) tenantList(ctx context.Context, q string, args ...any) ([]strongroom.TenantID, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing audit chains: %w", err)
	}
	defer rows.Close()
	var out []strongroom.TenantID
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("listing audit chains: %w", err)
		}
		out = append(out, strongroom.TenantID(t))
	}
	return out, rows.Err()
}
