package backup

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/store"
)

// DrillResult is the evidence of one restore drill.
type DrillResult struct {
	Backup    string        `json:"backup"`
	StartedAt time.Time     `json:"started_at"`
	Duration  time.Duration `json:"duration"`
	Tables    int           `json:"tables"`
	Rows      int64         `json:"rows"`
	Chains    int           `json:"chains"`
	Events    int64         `json:"events"`
	// Blobs is the number of file blobs verified (length and SHA-256),
	// BlobBytes their size;
	// BlobsMissing the file rows whose blob the backup did not find (deleted
	// after its snapshot); BlobsInArchive is false for a format 1 archive.
	Blobs          int64  `json:"blobs"`
	BlobBytes      int64  `json:"blob_bytes"`
	BlobsMissing   int    `json:"blobs_missing"`
	BlobsInArchive bool   `json:"blobs_in_archive"`
	OK             bool   `json:"ok"`
	Problem        string `json:"problem,omitempty"`
}

// DrillConfig says what a drill restores and how it checks it.
type DrillConfig struct {
	Location   *Location
	Identities []age.Identity
	// PublicKey verifies the restored audit checkpoints (the platform's
	// signing key); required.
	PublicKey ed25519.PublicKey
	// ScratchDir is where the scratch SQLite store is made (and removed);
	// empty: the system's temporary folder.
	ScratchDir string
	Now        func() time.Time
	Logger     *slog.Logger
}

// Drill restores the newest backup of the location into a scratch SQLite
// store, checks every table's row count and checksum against the archive's
// manifest, verifies the blob section (each blob's length and SHA-256, the
// section's count and checksum, every file row with its blob or listed
// missing; the blobs are not kept) and every audit chain, then removes the
// scratch store. A
// failed check is a result with OK false and the problem, not an error;
// errors are for drills that could not run (no backup, no scratch space).
func Drill(ctx context.Context, cfg DrillConfig) (*DrillResult, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(cfg.PublicKey) != ed25519.PublicKeySize {
		return nil, errors.New("backup: a drill needs the audit signing public key")
	}
	latest, err := cfg.Location.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if latest == nil {
		return nil, errors.New("backup: no backup to drill")
	}
	res := &DrillResult{Backup: latest.Name, StartedAt: now().UTC()}
	start := time.Now()
	dir, err := os.MkdirTemp(cfg.ScratchDir, "strongroom-drill-")
	if err != nil {
		return nil, fmt.Errorf("making the scratch folder: %w", err)
	}
	defer os.RemoveAll(dir)
	problem := func(err error) (*DrillResult, error) {
		res.Duration = time.Since(start)
		res.Problem = err.Error()
		log.Error("restore drill failed", "backup", latest.Name, "err", err)
		return res, nil
	}
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "strongroom.db"), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("opening the scratch store: %w", err)
	}
	defer st.Close()
	r, err := cfg.Location.Open(ctx, latest.Name)
	if err != nil {
		return problem(err)
	}
	m, err := Restore(ctx, st, nil, r, cfg.Identities)
	r.Close()
	if err != nil {
		return problem(err)
	}
	got, err := Summarize(ctx, st)
	if err != nil {
		return problem(err)
	}
	if err := SameData(m, got); err != nil {
		return problem(fmt.Errorf("the restored store differs from the backup: %w", err))
	}
	res.Tables, res.Rows = len(m.Tables), m.Rows()
	if m.Blobs != nil {
		res.BlobsInArchive, res.Blobs, res.BlobBytes, res.BlobsMissing = true, m.Blobs.Count, m.Blobs.Bytes, len(m.Blobs.Missing)
		if len(m.Blobs.Missing) > 0 {
			log.Warn("the backup lacks the blobs of some files (deleted after its snapshot, or lost)", "backup", latest.Name, "missing", len(m.Blobs.Missing))
		}
	}
	reports, err := audit.Verify(ctx, audit.VerifyConfig{Store: st, PublicKey: cfg.PublicKey}, nil)
	if err != nil {
		return problem(err)
	}
	var bad []error
	for _, rep := range reports {
		res.Chains++
		res.Events += rep.Events
		for _, p := range rep.Problems {
			bad = append(bad, fmt.Errorf("audit chain %s: %w", rep.Tenant, p))
		}
	}
	if len(bad) > 0 {
		return problem(errors.Join(bad...))
	}
	res.OK = true
	res.Duration = time.Since(start)
	return res, nil
}

// AuditPlatform appends an event to the platform's audit chain for backup
// work (backup.prune, keys.backup), attributed to the principal in ctx.
func AuditPlatform(ctx context.Context, st *store.Store, action, targetType, targetID string, result strongroom.AuditResult, meta any) error {
	e, err := platformEvent(ctx, action, targetType, targetID, result, meta)
	if err != nil {
		return err
	}
	return st.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error { return tx.AppendAudit(ctx, e) })
}
