package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"slices"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
	"strongroom.dev/strongroom/store"
)

// VerifyConfig says what Verify checks.
type VerifyConfig struct {
	Store *store.Store
	// PublicKey verifies the checkpoints: the platform's signing key, or better
	// a copy pinned earlier (`strongroom audit public-key`).
	PublicKey ed25519.PublicKey
	// Folder is the checkpoint folder; nil checks the database's checkpoints
	// only.
	Folder *Folder
	// PageSize is how many links are read per transaction (default 5000).
	PageSize int
}

// ChainReport is what verification found in one tenant's chain.
type ChainReport struct {
	Tenant strongroom.TenantID
	auditlog.Result
	// Checkpoints that verified and were compared with the chain.
	DBCheckpoints, FileCheckpoints int
	// PrunedThrough is the seq of the newest valid prune marker, where
	// verification started (0: from the genesis).
	PrunedThrough int64
}

// OK reports whether the chain has no problem. Unsealed events at its end are
// not a problem.
func (r *ChainReport) OK() bool { return len(r.Problems) == 0 && r.Dropped == 0 }

// Verify checks every chain (or the tenants given): it recomputes each from
// its genesis, compares every stored seal, and checks every checkpoint, in the
// database and in the folder, against the public key and the chain. The error
// is for failures to read at all; what is wrong with the chains is in the
// reports.
func Verify(ctx context.Context, cfg VerifyConfig, tenants []strongroom.TenantID) ([]ChainReport, error) {
	if len(cfg.PublicKey) != ed25519.PublicKeySize {
		return nil, errors.New("audit: verifying needs the Ed25519 public key of the checkpoints")
	}
	var folderProblem *auditlog.Problem
	if tenants == nil {
		all, err := cfg.Store.AuditChainTenants(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, strongroom.PlatformTenant)
		if cfg.Folder != nil {
			inFolder, err := cfg.Folder.Tenants()
			switch {
			case errors.Is(err, os.ErrNotExist):
				folderProblem = &auditlog.Problem{Tenant: strongroom.PlatformTenant, Kind: auditlog.ProblemRead,
					Detail: fmt.Sprintf("the checkpoint folder %s does not exist", cfg.Folder.Dir())}
			case err != nil:
				return nil, err
			}
			all = append(all, inFolder...)
		}
		slices.Sort(all)
		tenants = slices.Compact(all)
	}
	var out []ChainReport
	for _, t := range tenants {
		r, err := VerifyChain(ctx, cfg, t)
		if err != nil {
			return out, err
		}
		if folderProblem != nil && t == strongroom.PlatformTenant {
			r.Problems = append([]*auditlog.Problem{folderProblem}, r.Problems...)
		}
		out = append(out, r)
	}
	return out, nil
}

// VerifyChain checks one tenant's chain (see Verify) from its newest prune
// marker that verifies, or from its genesis.
func VerifyChain(ctx context.Context, cfg VerifyConfig, t strongroom.TenantID) (ChainReport, error) {
	r := ChainReport{Tenant: t}
	var pre []*auditlog.Problem
	var expects []auditlog.Expect
	var markers []auditlog.Checkpoint
	var markerSources []string
	dbcps, err := dbCheckpoints(ctx, cfg.Store, t)
	if err != nil {
		return r, err
	}
	for _, c := range dbcps {
		if err := c.Verify(cfg.PublicKey); err != nil {
			pre = append(pre, &auditlog.Problem{Tenant: t, Seq: c.Seq, Kind: auditlog.ProblemSignature,
				Detail: fmt.Sprintf("the database checkpoint at seq %d: %v", c.Seq, err)})
			continue
		}
		expects = append(expects, c.Expect("the database checkpoint"))
		r.DBCheckpoints++
	}
	dbms, err := dbPruneMarkers(ctx, cfg.Store, t)
	if err != nil {
		return r, err
	}
	for _, m := range dbms {
		if err := m.Verify(cfg.PublicKey); err != nil {
			pre = append(pre, &auditlog.Problem{Tenant: t, Seq: m.Seq, Kind: auditlog.ProblemSignature,
				Detail: fmt.Sprintf("the database prune marker at seq %d: %v", m.Seq, err)})
			continue
		}
		markers = append(markers, m)
		markerSources = append(markerSources, "the database prune marker")
	}
	if cfg.Folder != nil {
		fcps, problems, err := cfg.Folder.Read(t)
		if err != nil {
			return r, err
		}
		pre = append(pre, problems...)
		if len(fcps) == 0 && len(dbcps)+len(dbms) > 0 {
			pre = append(pre, &auditlog.Problem{Tenant: t, Kind: auditlog.ProblemRead, Detail: fmt.Sprintf(
				"the database has %d checkpoints and %d prune markers but %s has no checkpoint file for this chain",
				len(dbcps), len(dbms), cfg.Folder.Dir())})
		}
		for _, c := range fcps {
			if err := c.Verify(cfg.PublicKey); err != nil {
				pre = append(pre, &auditlog.Problem{Tenant: t, Seq: c.Seq, Kind: auditlog.ProblemSignature,
					Detail: fmt.Sprintf("%s: %v", c.Source, err)})
				continue
			}
			if c.Prune {
				markers = append(markers, c.Checkpoint)
				markerSources = append(markerSources, "prune marker "+c.Source)
				continue
			}
			expects = append(expects, c.Expect(c.Source))
			r.FileCheckpoints++
		}
	}
	// The chain starts at its newest valid marker: what is below it may have
	// been deleted. Every checkpoint and marker at the same seq must agree
	// with it; those below it are no longer compared with anything.
	start := chainStart(t, cfg.PublicKey, markers)
	r.PrunedThrough = start.Seq
	for i, m := range markers {
		if m.Seq == start.Seq && m.Head != start.Hash {
			pre = append(pre, &auditlog.Problem{Tenant: t, Seq: m.Seq, Kind: auditlog.ProblemCheckpoint,
				Detail: fmt.Sprintf("%s contradicts the newest prune marker", markerSources[i])})
		}
	}
	kept := expects[:0]
	for _, x := range expects {
		switch {
		case x.Seq > start.Seq:
			kept = append(kept, x)
		case x.Seq == start.Seq && x.Head != start.Hash:
			pre = append(pre, &auditlog.Problem{Tenant: t, Seq: x.Seq, Kind: auditlog.ProblemCheckpoint,
				Detail: fmt.Sprintf("%s contradicts the prune marker at the same seq", x.Source)})
		}
	}
	res, err := walkChain(ctx, cfg.Store, start, kept, cfg.PageSize)
	if err != nil {
		return r, err
	}
	r.Result = res
	r.Problems = append(pre, res.Problems...)
	return r, nil
}

// dbCheckpoints reads a tenant's checkpoints from the database.
func dbCheckpoints(ctx context.Context, st *store.Store, t strongroom.TenantID) ([]auditlog.Checkpoint, error) {
	var out []auditlog.Checkpoint
	var after int64
	for {
		var page []store.AuditCheckpoint
		err := st.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			var err error
			page, err = tx.AuditCheckpoints(ctx, after, 5000)
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return out, nil
		}
		for _, c := range page {
			out = append(out, fromStored(c))
			after = c.Seq
		}
	}
}

func fromStored(c store.AuditCheckpoint) auditlog.Checkpoint {
	cp := auditlog.Checkpoint{Tenant: c.Tenant, Seq: c.Seq, Time: c.SignedAt, KeyID: c.KeyID, Signature: c.Signature}
	copy(cp.Head[:], c.Head) // a head of another size fails the signature
	if len(c.Head) != auditlog.HashSize {
		cp.Signature = nil
	}
	return cp
}

// walkChain streams a tenant's stored chain after start through a Verifier.
func walkChain(ctx context.Context, st *store.Store, start auditlog.Head, expects []auditlog.Expect, pageSize int) (auditlog.Result, error) {
	if pageSize <= 0 {
		pageSize = 5000
	}
	v := auditlog.NewVerifier(start, expects)
	after := start.Seq
	for {
		var page []store.AuditLink
		err := st.Read(ctx, store.TenantScope(start.Tenant), func(tx *store.Tx) error {
			var err error
			page, err = tx.AuditChainPage(ctx, after, pageSize)
			return err
		})
		if err != nil {
			return auditlog.Result{}, err
		}
		if len(page) == 0 {
			return v.Finish(), nil
		}
		for _, l := range page {
			v.Add(auditlog.Link{Seq: l.Seq, Event: l.Event, Seal: l.Seal})
			after = l.Seq
		}
		if err := ctx.Err(); err != nil {
			return auditlog.Result{}, err
		}
	}
}
