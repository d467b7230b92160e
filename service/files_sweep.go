package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// BlobSweepLease is the lease that makes one orphan-blob sweeper run at a
// time across replicas.
const BlobSweepLease = "blob-sweeper"

// BlobSweepOptions tune one orphan-blob sweep.
type BlobSweepOptions struct {
	Holder   string        // who sweeps (the lease holder); required
	LeaseTTL time.Duration // default 5 minutes; renewed after every batch
	// Grace is how old a blob must be before it can be an orphan: an upload
	// writes its blob before it commits the row. Default 1 hour.
	Grace     time.Duration
	BatchSize int // blobs listed per batch; default 500
}

// BlobSweepReport says what a sweep did.
type BlobSweepReport struct {
	Ran      bool // false: another holder has the lease, or files are off
	Examined int64
	Deleted  int64
}

// SweepOrphanBlobs deletes the blobs that no file row names and that are
// older than the grace period: left by an upload that failed after writing
// its blob, by a file deletion whose blob delete failed, or by rows that
// went with their record (record deletion, retention, data-subject
// deletion) or their organization (the termination purge). It lists the
// blob store in bounded batches, as the holder of BlobSweepLease, asking
// each organization's transaction which of its files exist (so row-level
// security applies). Objects whose names are not "<organization>/<file>"
// are left alone.
func (s *Service) SweepOrphanBlobs(ctx context.Context, opt BlobSweepOptions) (BlobSweepReport, error) {
	var rep BlobSweepReport
	if opt.Holder == "" {
		return rep, errors.New("blob sweep: a holder is required")
	}
	if s.files.Blobs == nil {
		return rep, nil
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 5 * time.Minute
	}
	if opt.Grace <= 0 {
		opt.Grace = time.Hour
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	ok, err := s.store.AcquireLease(ctx, BlobSweepLease, opt.Holder, s.now(), opt.LeaseTTL)
	if err != nil || !ok {
		return rep, err
	}
	rep.Ran = true
	token := ""
	for {
		objs, next, err := s.files.Blobs.List(ctx, "", token, opt.BatchSize)
		if err != nil {
			return rep, err
		}
		cutoff := s.now().Add(-opt.Grace)
		byTenant := map[strongroom.TenantID][]strongroom.FileID{}
		for _, o := range objs {
			t, id, ok := strings.Cut(o.Key, "/")
			if !ok || !ValidID(t) || !ValidID(id) || o.ModTime.After(cutoff) {
				continue
			}
			rep.Examined++
			byTenant[strongroom.TenantID(t)] = append(byTenant[strongroom.TenantID(t)], strongroom.FileID(id))
		}
		for t, ids := range byTenant {
			var exist map[strongroom.FileID]bool
			if err := s.store.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
				var err error
				exist, err = tx.FilesExist(ctx, ids)
				return err
			}); err != nil {
				return rep, fmt.Errorf("blob sweep of %s: %w", t, err)
			}
			for _, id := range ids {
				if exist[id] {
					continue
				}
				if err := s.files.Blobs.Delete(ctx, blobKey(t, id)); err != nil {
					return rep, err
				}
				rep.Deleted++
			}
		}
		if next == "" {
			break
		}
		token = next
		ok, err := s.store.AcquireLease(ctx, BlobSweepLease, opt.Holder, s.now(), opt.LeaseTTL)
		if err != nil {
			return rep, err
		}
		if !ok {
			return rep, errors.New("lost the blob-sweeper lease to another replica")
		}
	}
	return rep, s.store.ReleaseLease(ctx, BlobSweepLease, opt.Holder)
}

// RunBlobSweeper sweeps orphan blobs every interval until ctx ends, as
// holder ("": this process).
func (s *Service) RunBlobSweeper(ctx context.Context, holder string, interval time.Duration) {
	if s.files.Blobs == nil {
		return
	}
	if interval <= 0 {
		interval = time.Hour
	}
	if holder == "" {
		holder = processHolder()
	}
	runEvery(ctx, interval, func() {
		s.runJob(ctx, "blob_sweeper", "blob sweep", func(ctx context.Context) ([]any, error) {
			rep, err := s.SweepOrphanBlobs(ctx, BlobSweepOptions{Holder: holder})
			if err != nil || rep.Deleted == 0 {
				return nil, err
			}
			return []any{"examined", rep.Examined, "deleted", rep.Deleted}, nil
		})
	})
}
