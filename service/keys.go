package service

import (
	"context"
	"fmt"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// RotateTenantKey adds a new data-key version for org, used by every new write
// from now on (DAT-03), and audits it in the organization's log. Reseal then
// moves old rows to it.
func (s *Service) RotateTenantKey(ctx context.Context, org strongroom.TenantID) (uint32, error) {
	v, err := s.keys.Rotate(ctx, org)
	if err != nil {
		return 0, fmt.Errorf("rotating key of %s: %w", org, err)
	}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		return audit(ctx, tx, "keys.rotate", "organization", string(org), map[string]uint32{"key_version": v})
	})
	return v, err
}

// ResealProgress reports a reseal's progress.
type ResealProgress struct {
	Done, Left int64
}

// Reseal re-encrypts org's records that are sealed with an older data-key
// version under the current one, in batches of batchSize, each batch one
// transaction. It is resumable: it starts over from whatever is still sealed
// with an old key, and a record changed meanwhile is already under the current
// key. Each finished run is audited with its count.
func (s *Service) Reseal(ctx context.Context, org strongroom.TenantID, batchSize int, progress func(ResealProgress)) (int64, error) {
	if batchSize <= 0 {
		batchSize = 500
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return 0, err
	}
	current := keys.Current.ID()
	var done int64
	var afterColl strongroom.CollectionID
	var afterID strongroom.RecordID
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		var n int
		var left int64
		err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
			recs, err := tx.RecordsSealedBefore(ctx, current, afterColl, afterID, batchSize)
			if err != nil {
				return err
			}
			n = 0
			for i := range recs {
				r := recs[i]
				afterColl, afterID = r.CollectionID, r.ID
				if err := s.open(keys, &r); err != nil {
					return err
				}
				if err := s.seal(keys, &r, r.Data); err != nil {
					return err
				}
				ok, err := tx.ResealRecord(ctx, &r)
				if err != nil {
					return err
				}
				if ok {
					n++
				}
			}
			if len(recs) < batchSize {
				afterColl, afterID = "", ""
			}
			left, err = tx.CountRecordsSealedBefore(ctx, current)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("resealing records of %s: %w", org, err)
		}
		done += int64(n)
		if progress != nil {
			progress(ResealProgress{Done: done, Left: left})
		}
		if left == 0 {
			break
		}
		if n == 0 && afterID == "" {
			// Nothing resealable remains in this pass yet rows are counted: they
			// are being changed concurrently; the next run picks them up.
			break
		}
	}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		return audit(ctx, tx, "keys.reseal", "organization", string(org), map[string]any{"key_version": current, "records": done})
	})
	return done, err
}
