package audit

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
	"strongroom.dev/strongroom/store"
)

// Audit-event retention (docs/audit-log.md, "Retention and pruning"). A chain's
// events older than its retention are deleted, oldest first, once a prune
// marker has been signed at the newest of them: a checkpoint under its own
// label (auditlog.Checkpoint.Prune) stating the head there, written to the
// checkpoint folder and to the database like every checkpoint. Verify starts
// the chain from its newest valid marker, so what follows it is verified as
// before, and a deletion that no valid marker covers is still reported.

// PruneLease is the lease that makes one pruner run at a time across replicas.
const PruneLease = "audit-pruner"

// PruneConfig configures Prune.
type PruneConfig struct {
	Store *store.Store
	// Signer signs the prune markers: the keyring's Ed25519 signing key.
	Signer crypto.Signer
	// Folder receives a copy of every marker (first, synced); nil: the
	// database only.
	Folder *Folder
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
	// Holder names this pruner in the lease; required.
	Holder string
	// LeaseTTL is how long the lease lasts unless renewed (default 5 minutes);
	// it is renewed after every batch.
	LeaseTTL time.Duration
	// MinDays is the legal minimum retention: no event younger than this is
	// ever deleted, whatever the settings say.
	MinDays int
	// PlatformDays is the platform chain's retention (0: MinDays; both 0:
	// forever). An
	// organization's is its audit_retention_days setting (0 keeps its events
	// forever), never less than MinDays.
	PlatformDays int
	// BatchSize is how many events (and seals, and checkpoints) one
	// transaction deletes (default 1000).
	BatchSize int
	// AfterBatch, when set, runs after each committed batch; an error stops the
	// prune there (tests use it to interrupt one).
	AfterBatch func() error
}

// PruneReport says what Prune did.
type PruneReport struct {
	Ran     bool // false: another holder has the lease
	Markers int  // prune markers signed
	Deleted store.AuditPruned
}

// Prune deletes, in every organization's chain and the platform's (and those of
// purged organizations, after the legal minimum), the events
// older than the chain's retention, as the holder of PruneLease. For each
// chain it finds the newest sealed event before the first event within the
// retention, verifies the chain (a chain with any problem is not pruned:
// signing a marker over it would hide the problem), signs a prune marker
// there, and deletes the events, seals and checkpoints at or below its newest
// marker in batches of BatchSize. A prune that stops resumes at the next run
// from the stored marker. Each chain's prune is recorded, with its counts, as
// an audit.prune event in the platform chain.
func Prune(ctx context.Context, cfg PruneConfig) (PruneReport, error) {
	var rep PruneReport
	if cfg.Store == nil || cfg.Signer == nil || cfg.Holder == "" {
		return rep, errors.New("audit prune: a store, a signer and a holder are required")
	}
	pub, ok := cfg.Signer.Public().(ed25519.PublicKey)
	if !ok {
		return rep, fmt.Errorf("audit prune: markers are signed with Ed25519, not %T", cfg.Signer.Public())
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 5 * time.Minute
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	cfg.MinDays = max(cfg.MinDays, 0)
	ok, err := cfg.Store.AcquireLease(ctx, PruneLease, cfg.Holder, cfg.Now(), cfg.LeaseTTL)
	if err != nil || !ok {
		return rep, err
	}
	rep.Ran = true
	// Every chain: organizations', the platform's, and those of organizations
	// since purged after termination (kept for the legal minimum).
	tenants, err := cfg.Store.AuditChainTenants(ctx)
	if err != nil {
		return rep, err
	}
	if !slices.Contains(tenants, strongroom.PlatformTenant) {
		tenants = append(tenants, strongroom.PlatformTenant)
	}
	var errs []error
	for _, t := range tenants {
		if err := pruneChain(ctx, cfg, pub, t, &rep); err != nil {
			if ctx.Err() != nil {
				return rep, err
			}
			if errors.Is(err, errStop) {
				return rep, err
			}
			cfg.Logger.Error("audit prune: chain not pruned", "tenant", t, "err", err)
			errs = append(errs, fmt.Errorf("audit prune of %s: %w", t, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return rep, err
	}
	return rep, cfg.Store.ReleaseLease(ctx, PruneLease, cfg.Holder)
}

// errStop wraps an error from AfterBatch or a lost lease: the run stops.
var errStop = errors.New("audit prune stopped")

// retentionDays returns the chain's retention in days; 0 keeps it forever. A
// chain whose organization is gone (purged after termination) is kept for the
// legal minimum.
func retentionDays(ctx context.Context, cfg PruneConfig, t strongroom.TenantID) (int, error) {
	if t == strongroom.PlatformTenant {
		d := cfg.PlatformDays
		if d <= 0 {
			d = cfg.MinDays
		}
		if d <= 0 {
			return 0, nil
		}
		return max(d, cfg.MinDays), nil
	}
	var days int
	err := cfg.Store.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		if _, err := tx.Organization(ctx); strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			days = cfg.MinDays
			return nil
		} else if err != nil {
			return err
		}
		s, err := tx.OrgSettings(ctx)
		if err == nil {
			days = s.AuditRetentionDays
		}
		return err
	})
	if err != nil || days <= 0 {
		return 0, err
	}
	return max(days, cfg.MinDays), nil
}

func pruneChain(ctx context.Context, cfg PruneConfig, pub ed25519.PublicKey, t strongroom.TenantID, rep *PruneReport) error {
	days, err := retentionDays(ctx, cfg, t)
	if err != nil || days == 0 {
		return err
	}
	now := cfg.Now()
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	var point store.AuditSeal
	var markers []store.AuditCheckpoint
	err = cfg.Store.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		var err error
		if point, err = tx.AuditPrunePoint(ctx, cutoff); err != nil {
			return err
		}
		markers, err = tx.AuditPruneMarkers(ctx)
		return err
	})
	if err != nil {
		return err
	}
	var through int64
	if len(markers) > 0 {
		through = markers[len(markers)-1].Seq
	}
	signed := false
	if point.Seq > through {
		r, err := VerifyChain(ctx, VerifyConfig{Store: cfg.Store, PublicKey: pub, Folder: cfg.Folder}, t)
		if err != nil {
			return err
		}
		if !r.OK() {
			return fmt.Errorf("the chain does not verify (%d problems, the first: %v); no prune marker signed", len(r.Problems), r.Problems[0])
		}
		m := auditlog.Checkpoint{Tenant: t, Seq: point.Seq, Time: now, Prune: true}
		copy(m.Head[:], point.Hash)
		if err := m.Sign(cfg.Signer); err != nil {
			return err
		}
		if cfg.Folder != nil {
			if err := cfg.Folder.Append(m); err != nil {
				return fmt.Errorf("prune marker: %w", err)
			}
		}
		err = cfg.Store.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			return tx.AppendAuditPruneMarker(ctx, &store.AuditCheckpoint{Tenant: t, Seq: m.Seq, Head: m.Head[:],
				SignedAt: m.Time, KeyID: m.KeyID, Signature: m.Signature})
		})
		if err != nil {
			return fmt.Errorf("prune marker: %w", err)
		}
		through, signed = point.Seq, true
		rep.Markers++
	}
	if through == 0 {
		return nil
	}
	var total store.AuditPruned
	for {
		var p store.AuditPruned
		err := cfg.Store.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			var err error
			p, err = tx.PruneAudit(ctx, cfg.BatchSize)
			return err
		})
		if err != nil {
			return err
		}
		if p.Zero() {
			break
		}
		total.Events += p.Events
		total.Seals += p.Seals
		total.Checkpoints += p.Checkpoints
		rep.Deleted.Events += p.Events
		rep.Deleted.Seals += p.Seals
		rep.Deleted.Checkpoints += p.Checkpoints
		if cfg.AfterBatch != nil {
			if err := cfg.AfterBatch(); err != nil {
				return fmt.Errorf("%w: %w", errStop, err)
			}
		}
		ok, err := cfg.Store.AcquireLease(ctx, PruneLease, cfg.Holder, cfg.Now(), cfg.LeaseTTL)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: lost the lease %s to another replica", errStop, PruneLease)
		}
	}
	if !signed && total.Zero() {
		return nil
	}
	meta, err := json.Marshal(map[string]any{"tenant": t, "through_seq": through, "retention_days": days,
		"events": total.Events, "seals": total.Seals, "checkpoints": total.Checkpoints})
	if err != nil {
		return err
	}
	e := strongroom.NewAuditEvent(&strongroom.Principal{Kind: strongroom.PrincipalSystem, RequestID: "audit-prune"},
		strongroom.PlatformTenant, "audit.prune", "organization", string(t), strongroom.ResultSuccess)
	e.Metadata = meta
	err = cfg.Store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		return tx.AppendAudit(ctx, &e)
	})
	if err != nil {
		return err
	}
	cfg.Logger.Info("audit chain pruned", "tenant", t, "through_seq", through, "events", total.Events)
	return nil
}

// chainStart returns where a chain's verification starts: its newest prune
// marker that pub verifies among those given, or its genesis.
func chainStart(t strongroom.TenantID, pub ed25519.PublicKey, markers []auditlog.Checkpoint) auditlog.Head {
	start := auditlog.Start(t)
	for _, m := range markers {
		if m.Prune && m.Tenant == t && m.Seq > start.Seq && m.Verify(pub) == nil {
			start = auditlog.Head{Tenant: t, Seq: m.Seq, Hash: m.Head}
		}
	}
	return start
}

// dbPruneMarkers reads a tenant's prune markers from the database.
func dbPruneMarkers(ctx context.Context, st *store.Store, t strongroom.TenantID) ([]auditlog.Checkpoint, error) {
	var stored []store.AuditCheckpoint
	err := st.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		var err error
		stored, err = tx.AuditPruneMarkers(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]auditlog.Checkpoint, len(stored))
	for i, c := range stored {
		out[i] = fromStored(c)
		out[i].Prune = true
	}
	return out, nil
}

// RunPruner runs Prune every interval (default 1 hour) until ctx ends, logging
// its outcome; the lease lets one replica prune at a time.
func RunPruner(ctx context.Context, cfg PruneConfig, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rep, err := Prune(ctx, cfg)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				cfg.Logger.Error("audit prune", "err", err)
			} else if rep.Markers > 0 || !rep.Deleted.Zero() {
				cfg.Logger.Info("audit prune", "markers", rep.Markers, "events", rep.Deleted.Events)
			}
		}
	}
}
