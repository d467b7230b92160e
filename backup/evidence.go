package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// The evidence of backups and drills (LIF-05, LIF-06) is kept in the store's
// platform tables backups and backup_drills, each row written with its event
// in the platform audit chain in one transaction, when the backup or drill
// ends. Beside the backups, the location keeps only what a restore from the
// folder needs without a database: the archives and their index files.
//
// A row is never written while its backup runs, so an archive never holds a
// row about itself, and a store restored from it has rows about earlier
// backups only; the restore then records the backup it came from
// (RecordRestore), marked restored. Backups are named by location and archive
// name, which outlive any one database: a restored row about a backup since
// pruned still names the right object, and never one taken after it.

// ManifestDigest is the SHA-256 (hex) of a manifest's JSON encoding: one value
// standing for every table's row count and checksum. The restore of an
// archive computes the same digest from the manifest it authenticated.
func ManifestDigest(m *Manifest) string {
	b, err := json.Marshal(m)
	if err != nil { // a Manifest always encodes; keep the digest honest anyway
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// RecordBackup records a backup attempt in the platform table backups, with
// its backup.create event, in one transaction: idx for a backup written, or
// failure for one that was not (its name is then the one it would have had).
func RecordBackup(ctx context.Context, st *store.Store, loc *Location, started, finished time.Time, idx *Index, failure error) error {
	rec := &store.BackupRecord{Location: loc.String(), Name: ArchiveName(started), StartedAt: started.UTC(), FinishedAt: finished.UTC(),
		Outcome: store.OutcomeFailed}
	result := strongroom.ResultFailure
	meta := map[string]any{"location": rec.Location}
	switch {
	case failure != nil:
		rec.Error = failure.Error()
	case idx == nil:
		return errors.New("backup: recording a backup that neither succeeded nor failed")
	default:
		rec.Name, rec.Outcome, result = idx.Name, store.OutcomeSucceeded, strongroom.ResultSuccess
		rec.Engine, rec.SchemaVersion, rec.Tables, rec.Rows = idx.Engine, idx.SchemaVersion, len(idx.Tables), idx.Rows
		rec.PlainBytes, rec.ArchiveBytes, rec.ArchiveSHA256, rec.ManifestSHA256 = idx.PlainBytes, idx.ArchiveBytes, idx.ArchiveSHA256, idx.ManifestSHA256
		rec.Layout, rec.Blobs, rec.BlobBytes, rec.BlobsMissing = string(idx.ArchiveLayout()), idx.Blobs, idx.BlobBytes, int64(idx.BlobsMissing)
		meta["layout"] = rec.Layout
		meta["rows"], meta["bytes"], meta["sha256"], meta["manifest_sha256"], meta["schema_version"] =
			idx.Rows, idx.ArchiveBytes, idx.ArchiveSHA256, idx.ManifestSHA256, idx.SchemaVersion
		if idx.Format >= 2 {
			meta["blobs"], meta["blob_bytes"], meta["blobs_missing"] = idx.Blobs, idx.BlobBytes, idx.BlobsMissing
		}
	}
	e, err := platformEvent(ctx, "backup.create", "backup", rec.Name, result, meta)
	if err != nil {
		return err
	}
	err = st.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.RecordBackup(ctx, rec); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, e)
	})
	if err != nil {
		return fmt.Errorf("recording backup %s: %w", rec.Name, err)
	}
	return nil
}

// manifestLayout is the layout of an archive with manifest m: format 1 and
// 2 archives, which name none, hold rows.
func manifestLayout(m *Manifest) Layout {
	if m.Layout == "" {
		return LayoutLogical
	}
	return m.Layout
}

// ArchiveLayout is the layout of the archive an index describes:
// LayoutLogical for format 1 and 2 archives, "" when the index does not say
// (written before it named the layout, or missing).
func (idx Index) ArchiveLayout() Layout {
	if idx.Layout == "" && idx.Format >= 1 && idx.Format < 3 {
		return LayoutLogical
	}
	return idx.Layout
}

// RecordRestore records, in the store just restored from the backup whose
// manifest is m (named name in the location where: a folder, a redacted
// bucket URL, or the folder of a backup file), that it was restored at at,
// with the backup.restore event, in one transaction. idx is the location's
// index of the backup, when there is one.
func RecordRestore(ctx context.Context, st *store.Store, where, name string, m *Manifest, idx *Index, at time.Time) error {
	rec := &store.BackupRecord{Location: where, Name: name, StartedAt: m.CreatedAt, FinishedAt: m.CreatedAt, Engine: m.Engine,
		SchemaVersion: m.SchemaVersion, Tables: len(m.Tables), Rows: m.Rows(), PlainBytes: m.PlainBytes, ManifestSHA256: ManifestDigest(m),
		Layout: string(manifestLayout(m))}
	if m.Blobs != nil {
		rec.Blobs, rec.BlobBytes, rec.BlobsMissing = m.Blobs.Count, m.Blobs.Bytes, int64(len(m.Blobs.Missing))
	}
	if idx != nil && idx.Name == name && idx.ManifestSHA256 == rec.ManifestSHA256 {
		// The index is not authenticated: its archive size and digest are
		// taken only when it describes the manifest just verified.
		rec.ArchiveBytes, rec.ArchiveSHA256 = idx.ArchiveBytes, idx.ArchiveSHA256
	}
	meta := map[string]any{"location": where, "rows": m.Rows(), "engine": m.Engine, "schema_version": m.SchemaVersion, "created_at": m.CreatedAt,
		"manifest_sha256": rec.ManifestSHA256}
	if m.Blobs != nil {
		meta["blobs"], meta["blob_bytes"], meta["blobs_missing"] = m.Blobs.Count, m.Blobs.Bytes, len(m.Blobs.Missing)
	}
	e, err := platformEvent(ctx, "backup.restore", "backup", name, strongroom.ResultSuccess, meta)
	if err != nil {
		return err
	}
	err = st.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.RecordRestore(ctx, rec, at.UTC()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, e)
	})
	if err != nil {
		return fmt.Errorf("recording the restore: %w", err)
	}
	return nil
}

// DrillID names a drill started at t.
func DrillID(t time.Time) string { return drillPrefix + t.UTC().Format(nameTime) }

// RecordDrill keeps a drill's result as evidence: a row in the platform table
// backup_drills and the backup.drill event in the platform audit chain, in
// one transaction. res is the drill's result; failure, when res is nil, why
// the drill could not run (started is then when it was tried).
func RecordDrill(ctx context.Context, st *store.Store, loc *Location, started time.Time, res *DrillResult, failure error) error {
	rec := &store.DrillRecord{ID: DrillID(started), Location: loc.String(), StartedAt: started.UTC(), Outcome: store.OutcomeError}
	result := strongroom.ResultFailure
	var meta map[string]any
	switch {
	case res != nil:
		rec.ID, rec.StartedAt = DrillID(res.StartedAt), res.StartedAt.UTC()
		rec.Backup, rec.Duration, rec.Tables, rec.Rows, rec.Chains, rec.Events, rec.Error =
			res.Backup, res.Duration, res.Tables, res.Rows, res.Chains, res.Events, res.Problem
		rec.Blobs, rec.BlobBytes, rec.BlobsMissing = res.Blobs, res.BlobBytes, int64(res.BlobsMissing)
		rec.Outcome = store.OutcomeFailed
		if res.OK {
			rec.Outcome, result = store.OutcomeSucceeded, strongroom.ResultSuccess
		}
		meta = map[string]any{"rows": res.Rows, "tables": res.Tables, "chains": res.Chains, "events": res.Events,
			"duration_ms": res.Duration.Milliseconds(), "ok": res.OK}
		if res.BlobsInArchive {
			meta["blobs"], meta["blob_bytes"], meta["blobs_missing"] = res.Blobs, res.BlobBytes, res.BlobsMissing
		}
	case failure != nil:
		rec.Error = failure.Error()
		meta = map[string]any{"error": "drill could not run"}
	default:
		return errors.New("backup: recording a drill without a result or a failure")
	}
	meta["drill"], meta["location"] = rec.ID, rec.Location
	e, err := platformEvent(ctx, "backup.drill", "backup", rec.Backup, result, meta)
	if err != nil {
		return err
	}
	err = st.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.RecordDrill(ctx, rec); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, e)
	})
	if err != nil {
		return fmt.Errorf("recording drill %s: %w", rec.ID, err)
	}
	return nil
}

// RunDrill runs a drill and records its outcome (RecordDrill), also when it
// could not run. The error is the drill's when it could not run, else the
// recording's.
func RunDrill(ctx context.Context, st *store.Store, cfg DrillConfig) (*DrillResult, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	res, err := Drill(ctx, cfg)
	if err != nil {
		if rerr := RecordDrill(ctx, st, cfg.Location, started, nil, err); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	return res, RecordDrill(ctx, st, cfg.Location, started, res, nil)
}

// LastDrill returns the newest drill recorded in st (any outcome), or nil.
func LastDrill(ctx context.Context, st *store.Store) (*store.DrillRecord, error) {
	var d *store.DrillRecord
	err := st.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		d, err = tx.LastDrill(ctx, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the last drill: %w", err)
	}
	return d, nil
}

// platformEvent builds an event of the platform's audit chain for backup
// work, attributed to the principal in ctx.
func platformEvent(ctx context.Context, action, targetType, targetID string, result strongroom.AuditResult, meta any) (*strongroom.AuditEvent, error) {
	p := strongroom.PrincipalFrom(ctx)
	if p == nil {
		p = &strongroom.Principal{Kind: strongroom.PrincipalSystem}
	}
	e := strongroom.NewAuditEvent(p, strongroom.PlatformTenant, action, targetType, targetID, result)
	if meta != nil {
		b, err := json.Marshal(meta)
		if err != nil {
			return nil, fmt.Errorf("encoding audit metadata: %w", err)
		}
		e.Metadata = b
	}
	return &e, nil
}
