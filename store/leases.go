package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Leases make background work run exactly once across processes and replicas:
// the holder of a named lease does the work until the lease expires, renewing
// it as it goes; when it stops renewing (it crashed, or lost the database),
// another process acquires the lease after expiry. Expiry is judged by the
// caller's clock, so the replicas' clocks must agree to well within the lease's
// lifetime. A lease is an optimization of who works, not the guard of
// correctness: work done under it must be safe if two holders overlap (the
// audit sequencer's seals are compare-and-set).

// AcquireLease takes or renews the lease name for holder until now+ttl. It
// succeeds when the lease is free, expired at now, or already held by holder,
// and reports whether holder now holds it.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, errors.New("store: a lease needs a name, a holder and a positive lifetime")
	}
	var got string
	err := s.Write(ctx, Scope{}, func(tx *Tx) error {
		return tx.q.QueryRowContext(ctx,
			`INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
			 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			 WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
			 RETURNING holder`, name, holder, micros(now.Add(ttl)), micros(now)).Scan(&got)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // held by another, not expired
	}
	if err != nil {
		return false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	return got == holder, nil
}

// ReleaseLease gives the lease up if holder holds it, so that another process
// can take over at once rather than after expiry.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	err := s.Write(ctx, Scope{}, func(tx *Tx) error {
		_, err := tx.exec(ctx, "DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("releasing lease %s: %w", name, err)
	}
	return nil
}

// LeaseHolder returns who holds the lease name and until when ("" when free).
func (s *Store) LeaseHolder(ctx context.Context, name string) (string, time.Time, error) {
	var holder string
	var until int64
	err := s.read.QueryRowContext(ctx, "SELECT holder, expires_at FROM leases WHERE name = $1", name).Scan(&holder, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reading lease %s: %w", name, err)
	}
	return holder, fromMicros(until), nil
}
