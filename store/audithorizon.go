package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// AuditHorizon tells the sequencer how far it may seal: the highest seq below
// which every audit event that will ever commit has committed. Sealing an event
// fixes its place in its chain for good, so an event must never commit later
// with a lower seq than one already sealed.
//
// On SQLite the single writer hands out seqs inside the transaction that
// commits them, so the visible events are always a prefix in seq order: the
// horizon is the highest visible seq.
//
// On PostgreSQL seqs come from an identity sequence when each INSERT runs, and
// transactions commit in any order: a transaction holding seq 41 may commit
// after the one holding 42. A probe reads L, the last seq handed out, and then
// takes a snapshot S. Every seq ≤ L was handed out before S; AppendAudit makes
// each transaction take its ID before its seq, so at S each holder of a seq ≤ L
// had either ended or was in progress and listed in S. Once every transaction
// listed in S has ended, every seq ≤ L is final: its event is visible, or it
// never will be (its transaction rolled back; the number stays unused). No
// time-based grace period is involved: a transaction that stays open for an
// hour holds the horizon back for an hour, and sealing waits rather than
// guess. The horizon is global; seqs are one sequence for all tenants.
type AuditHorizon struct {
	s       *Store
	mu      sync.Mutex
	final   int64
	head    int64          // the last seq seen handed out (Head)
	pending []horizonProbe // oldest first
}

type horizonProbe struct {
	last     int64  // the last seq handed out before the snapshot
	snapshot string // pg_current_snapshot() as text
}

// maxHorizonProbes bounds the probes kept while long transactions run; the
// newest probe that completes supersedes all older ones.
const maxHorizonProbes = 64

// NewAuditHorizon returns a horizon tracker for s.
func (s *Store) NewAuditHorizon() *AuditHorizon { return &AuditHorizon{s: s} }

// Final returns the current horizon. It never decreases.
func (h *AuditHorizon) Final(ctx context.Context) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.s.engine == SQLite {
		var seq int64
		if err := h.s.read.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_events").Scan(&seq); err != nil {
			return h.final, fmt.Errorf("reading the audit horizon: %w", err)
		}
		h.final = max(h.final, seq)
		h.head = max(h.head, seq)
		return h.final, nil
	}
	p, err := h.probe(ctx)
	if err != nil {
		return h.final, err
	}
	h.head = max(h.head, p.last)
	h.pending = append(h.pending, p)
	if len(h.pending) > maxHorizonProbes {
		h.pending = h.pending[1:]
	}
	// The newest probe that has completed wins; check the newest first, then
	// the oldest ones while they complete.
	newest := len(h.pending) - 1
	done, err := h.completed(ctx, h.pending[newest])
	if err != nil {
		return h.final, err
	}
	if done {
		h.final = max(h.final, h.pending[newest].last)
		h.pending = h.pending[:0]
		return h.final, nil
	}
	for len(h.pending) > 1 {
		done, err := h.completed(ctx, h.pending[0])
		if err != nil || !done {
			return h.final, err
		}
		h.final = max(h.final, h.pending[0].last)
		h.pending = h.pending[1:]
	}
	return h.final, nil
}

// Head returns the highest seq seen handed out by the last call of Final: at
// least the horizon, higher while transactions that hold seqs are in
// progress (PostgreSQL). The sequencer's lag is measured against it.
func (h *AuditHorizon) Head() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(h.head, h.final)
}

// probe reads the last seq handed out and then, in a later statement and so a
// later snapshot, the snapshot's list of transactions in progress.
func (h *AuditHorizon) probe(ctx context.Context) (horizonProbe, error) {
	var p horizonProbe
	var last sql.NullInt64
	if err := h.s.read.QueryRowContext(ctx,
		"SELECT pg_sequence_last_value(pg_get_serial_sequence('audit_events', 'seq')::regclass)").Scan(&last); err != nil {
		return p, fmt.Errorf("reading the last audit seq: %w", err)
	}
	if err := h.s.read.QueryRowContext(ctx, "SELECT pg_current_snapshot()::text").Scan(&p.snapshot); err != nil {
		return p, fmt.Errorf("reading a snapshot: %w", err)
	}
	p.last = last.Int64
	return p, nil
}

// completed reports whether every transaction in progress at p's snapshot has
// ended.
func (h *AuditHorizon) completed(ctx context.Context, p horizonProbe) (bool, error) {
	var running int
	if err := h.s.read.QueryRowContext(ctx,
		"SELECT count(*) FROM pg_snapshot_xip($1::pg_snapshot) AS x WHERE pg_xact_status(x) = 'in progress'",
		p.snapshot).Scan(&running); err != nil {
		return false, fmt.Errorf("checking transactions in progress: %w", err)
	}
	return running == 0, nil
}
