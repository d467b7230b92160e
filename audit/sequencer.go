// Package audit runs Strongroom's tamper-evident audit log over the store: the
// sequencer that seals committed events into each tenant's hash chain and signs
// checkpoints of the chain heads (into the database and a folder outside it),
// the verification of everything stored, and exports of a tenant's chain with
// its checkpoints and their verification away from the server (export.go).
// The construction itself is package auditlog; docs/audit-log.md describes
// both.
package audit

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
	"strongroom.dev/strongroom/store"
)

// LeaseName is the lease that makes one sequencer seal at a time across
// processes and replicas.
const LeaseName = "audit-sequencer"

// Config configures a Sequencer.
type Config struct {
	Store *store.Store
	// Signer signs checkpoints: the keyring's Ed25519 signing key.
	Signer crypto.Signer
	// Folder receives a copy of every checkpoint; nil: the database only.
	Folder *Folder
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
	// Holder names this sequencer in the lease (default: host, process and a
	// random suffix).
	Holder string
	// LeaseTTL is how long the lease lasts unless renewed (default 15s); a
	// replica takes over that long after the holder stops.
	LeaseTTL time.Duration
	// SealInterval is how often Run seals (default 200ms).
	SealInterval time.Duration
	// CheckpointInterval is how often Run signs the heads that advanced
	// (default 10s). Events sealed since the last checkpoint are protected by
	// their seals only: see docs/audit-log.md.
	CheckpointInterval time.Duration
	// BatchSize is how many events one transaction seals (default 1000).
	BatchSize int
	// Observe, when set, is told of every round this sequencer runs while it
	// holds (or fails to reach) the lease: JobSeal or JobCheckpoint, its
	// duration and error (metrics). It must be cheap and must not block.
	Observe func(job string, d time.Duration, err error)
}

// Sequencer seals committed audit events into their tenants' chains in seq
// order and writes signed checkpoints of the chain heads. One sequencer works
// at a time, the holder of the lease LeaseName; the others wait to take over.
// Its methods are safe for concurrent use.
type Sequencer struct {
	st        *store.Store
	signer    crypto.Signer
	pub       ed25519.PublicKey
	folder    *Folder
	log       *slog.Logger
	now       func() time.Time
	holder    string
	ttl       time.Duration
	sealEvery time.Duration
	cpEvery   time.Duration
	batch     int
	horizon   *store.AuditHorizon
	observeFn func(job string, d time.Duration, err error)
	lag       lagState

	mu            sync.Mutex
	holding       bool
	leaseUntil    time.Time
	catchUp       bool  // on taking the lease: look at every chain
	sealedThrough int64 // every event with seq ≤ this is sealed
	cleanThrough  int64 // sealedThrough as of the last round in which every chain sealed
	// heads are chain heads this sequencer computed (by sealing) or verified
	// (from a checkpoint) and has not checkpointed yet: only these are signed.
	heads        map[strongroom.TenantID]auditlog.Head
	checkpointed map[strongroom.TenantID]int64
	retry        map[strongroom.TenantID]bool // chains whose sealing failed, tried again each round
	lastCP       time.Time
	chainer      auditlog.Chainer
}

// NewSequencer returns a sequencer; Run starts it.
func NewSequencer(cfg Config) (*Sequencer, error) {
	if cfg.Store == nil || cfg.Signer == nil {
		return nil, errors.New("audit: a sequencer needs a store and a signer")
	}
	pub, ok := cfg.Signer.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("audit: checkpoints are signed with Ed25519")
	}
	s := &Sequencer{st: cfg.Store, signer: cfg.Signer, pub: pub, folder: cfg.Folder, log: cfg.Logger, now: cfg.Now,
		holder: cfg.Holder, ttl: cfg.LeaseTTL, sealEvery: cfg.SealInterval, cpEvery: cfg.CheckpointInterval,
		batch: cfg.BatchSize, horizon: cfg.Store.NewAuditHorizon(), observeFn: cfg.Observe,
		heads: map[strongroom.TenantID]auditlog.Head{}, checkpointed: map[strongroom.TenantID]int64{},
		retry: map[strongroom.TenantID]bool{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.holder == "" {
		host, _ := os.Hostname()
		var b [6]byte
		_, _ = rand.Read(b[:])
		s.holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if s.ttl <= 0 {
		s.ttl = 15 * time.Second
	}
	if s.sealEvery <= 0 {
		s.sealEvery = 200 * time.Millisecond
	}
	if s.cpEvery <= 0 {
		s.cpEvery = 10 * time.Second
	}
	if s.batch <= 0 {
		s.batch = 1000
	}
	return s, nil
}

// Holder is the name this sequencer holds the lease under.
func (s *Sequencer) Holder() string { return s.holder }

// Run seals every SealInterval and checkpoints every CheckpointInterval while
// it holds the lease, until ctx ends; then it seals and checkpoints once more
// (within a few seconds) and releases the lease so that another replica takes
// over at once.
func (s *Sequencer) Run(ctx context.Context) {
	t := time.NewTicker(s.sealEvery)
	defer t.Stop()
	var lastErr string
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil && err.Error() != lastErr {
			s.log.Warn("audit sequencer", "err", err)
			lastErr = err.Error()
		} else if err == nil {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := s.Stop(sctx); err != nil {
				s.log.Warn("audit sequencer: final seal and checkpoint", "err", err)
			}
			return
		case <-t.C:
		}
	}
}

// Tick does one round: it takes or renews the lease and, holding it, seals
// what is pending and writes the checkpoints that are due. It reports whether
// this sequencer holds the lease.
func (s *Sequencer) Tick(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	start := time.Now()
	if err := s.holdLease(ctx, now); err != nil || !s.holding {
		if err != nil {
			s.observe(JobSeal, time.Since(start), err)
		}
		s.noteLag(now)
		return false, err
	}
	err := s.seal(ctx)
	s.observe(JobSeal, time.Since(start), err)
	s.noteLag(now)
	if err != nil {
		return true, err
	}
	if now.Sub(s.lastCP) >= s.cpEvery {
		start := time.Now()
		_, err := s.checkpoint(ctx)
		s.observe(JobCheckpoint, time.Since(start), err)
		if err != nil {
			return true, err
		}
		s.lastCP = now
	}
	return true, nil
}

// Stop seals and checkpoints once more if this sequencer holds the lease, and
// releases it.
func (s *Sequencer) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.holding {
		return nil
	}
	err := s.seal(ctx)
	if _, cerr := s.checkpoint(ctx); cerr != nil {
		err = errors.Join(err, cerr)
	}
	s.holding = false
	s.noteLag(s.now())
	return errors.Join(err, s.st.ReleaseLease(ctx, LeaseName, s.holder))
}

// holdLease takes the lease or renews it once a third of its lifetime is used.
func (s *Sequencer) holdLease(ctx context.Context, now time.Time) error {
	if s.holding && s.leaseUntil.Sub(now) > s.ttl*2/3 {
		return nil
	}
	ok, err := s.st.AcquireLease(ctx, LeaseName, s.holder, now, s.ttl)
	if err != nil {
		return err
	}
	switch {
	case ok && !s.holding:
		s.log.Info("audit sequencer: holding the lease", "holder", s.holder)
		s.catchUp = true
		clear(s.heads)
		clear(s.checkpointed)
	case !ok && s.holding:
		s.log.Warn("audit sequencer: lost the lease to another replica", "holder", s.holder)
	}
	s.holding = ok
	if ok {
		s.leaseUntil = now.Add(s.ttl)
	}
	return nil
}

// seal extends every chain with events up to the horizon.
func (s *Sequencer) seal(ctx context.Context) error {
	through, err := s.horizon.Final(ctx)
	if err != nil {
		return err
	}
	var tenants []strongroom.TenantID
	switch {
	case s.catchUp:
		if tenants, err = s.st.AuditChainTenants(ctx); err != nil {
			return err
		}
		for _, t := range tenants {
			if err := s.resume(ctx, t); err != nil {
				s.log.Error("audit sequencer: not checkpointing a chain that fails verification", "tenant", t, "err", err)
			}
		}
	case through > s.sealedThrough:
		if tenants, err = s.st.AuditTenantsBetween(ctx, s.sealedThrough, through); err != nil {
			return err
		}
	}
	for t := range s.retry {
		tenants = append(tenants, t)
	}
	clear(s.retry)
	var errs []error
	for _, t := range tenants {
		if s.retry[t] {
			continue // listed twice
		}
		if err := s.sealTenant(ctx, t, through); err != nil {
			s.retry[t] = true
			errs = append(errs, fmt.Errorf("sealing the chain of %s: %w", t, err))
		}
	}
	// Chains that failed are tried again next round on their own; the others
	// need not be looked at again below the horizon.
	s.sealedThrough, s.catchUp = max(s.sealedThrough, through), false
	if len(errs) == 0 {
		s.cleanThrough = s.sealedThrough
	}
	return errors.Join(errs...)
}

// resume verifies a chain from its newest valid checkpoint (or prune marker) in the database to
// its last seal, so that heads sealed by a previous holder but not yet
// checkpointed get their checkpoint, from verified data only.
func (s *Sequencer) resume(ctx context.Context, t strongroom.TenantID) error {
	start := auditlog.Start(t)
	cps, err := dbCheckpoints(ctx, s.st, t)
	if err != nil {
		return err
	}
	for i := len(cps) - 1; i >= 0; i-- {
		if cps[i].Verify(s.pub) == nil {
			start = auditlog.Head{Tenant: t, Seq: cps[i].Seq, Hash: cps[i].Head}
			break
		}
	}
	// A prune marker newer than every checkpoint is a verified head too (the
	// events below it may be gone).
	markers, err := dbPruneMarkers(ctx, s.st, t)
	if err != nil {
		return err
	}
	if m := chainStart(t, s.pub, markers); m.Seq > start.Seq {
		start = m
	}
	s.checkpointed[t] = start.Seq
	r, err := walkChain(ctx, s.st, start, nil, 0)
	if err != nil {
		return err
	}
	if len(r.Problems) > 0 {
		return r.Problems[0]
	}
	if r.Head.Seq > start.Seq {
		s.heads[t] = r.Head
	}
	return nil
}

// sealTenant seals a tenant's events after its last seal up to through.
func (s *Sequencer) sealTenant(ctx context.Context, t strongroom.TenantID, through int64) error {
	for {
		var last store.AuditSeal
		var events []strongroom.AuditEvent
		err := s.st.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			var err error
			if last, err = tx.LastAuditSeal(ctx); err != nil {
				return err
			}
			events, err = tx.AuditEventsBetween(ctx, last.Seq, through, s.batch)
			return err
		})
		if err != nil || len(events) == 0 {
			return err
		}
		head := auditlog.Start(t)
		if last.Seq > 0 {
			if len(last.Hash) != auditlog.HashSize {
				return fmt.Errorf("the seal at seq %d has %d bytes", last.Seq, len(last.Hash))
			}
			head = auditlog.Head{Tenant: t, Seq: last.Seq, Hash: [auditlog.HashSize]byte(last.Hash)}
		}
		seals := make([]store.AuditSeal, len(events))
		for i := range events {
			if head, err = s.chainer.Next(head, &events[i]); err != nil {
				return err
			}
			h := head.Hash // a new array each time: head is overwritten
			seals[i] = store.AuditSeal{Seq: head.Seq, Hash: h[:]}
		}
		err = s.st.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			return tx.AppendAuditSeals(ctx, last.Seq, seals)
		})
		if err != nil {
			return err
		}
		s.heads[t] = head
		if len(events) < s.batch {
			return nil
		}
	}
}

// Checkpoint signs and stores, now, the head of every chain this sequencer
// sealed or verified since its last checkpoint. It returns the checkpoints.
func (s *Sequencer) Checkpoint(ctx context.Context) ([]auditlog.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpoint(ctx)
}

func (s *Sequencer) checkpoint(ctx context.Context) ([]auditlog.Checkpoint, error) {
	var out []auditlog.Checkpoint
	var errs []error
	for t, h := range s.heads {
		if h.Seq <= s.checkpointed[t] {
			delete(s.heads, t)
			continue
		}
		c, err := WriteCheckpoint(ctx, s.st, s.folder, s.signer, h, s.now())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, c)
		s.checkpointed[t] = h.Seq
		delete(s.heads, t)
	}
	return out, errors.Join(errs...)
}

// WriteCheckpoint signs head at now and stores the checkpoint in the folder
// (when there is one; first, synced) and in the database. A checkpoint already
// stored at that seq in the database is kept.
func WriteCheckpoint(ctx context.Context, st *store.Store, folder *Folder, signer crypto.Signer, head auditlog.Head, now time.Time) (auditlog.Checkpoint, error) {
	c := auditlog.Checkpoint{Tenant: head.Tenant, Seq: head.Seq, Head: head.Hash, Time: now}
	if err := c.Sign(signer); err != nil {
		return c, err
	}
	if folder != nil {
		if err := folder.Append(c); err != nil {
			return c, fmt.Errorf("checkpoint of %s: %w", head.Tenant, err)
		}
	}
	err := st.Write(ctx, store.TenantScope(head.Tenant), func(tx *store.Tx) error {
		return tx.AppendAuditCheckpoint(ctx, &store.AuditCheckpoint{Tenant: c.Tenant, Seq: c.Seq, Head: c.Head[:],
			SignedAt: c.Time, KeyID: c.KeyID, Signature: c.Signature})
	})
	if err != nil && strongroom.ErrorCode(err) != strongroom.ECONFLICT {
		return c, fmt.Errorf("checkpoint of %s: %w", head.Tenant, err)
	}
	return c, nil
}
