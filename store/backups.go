package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// Backup and restore-drill evidence (LIF-05, LIF-06): the platform tables
// backups and backup_drills. Rows are written when a backup or drill ends,
// with their audit event in the same transaction (bound to the platform
// tenant), and read by operators and the trust page.

// Backup outcomes and drill outcomes.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed" // a backup that failed; a drill whose checks failed
	OutcomeError     = "error"  // a drill that could not run
)

// BackupRecord is one backup attempt.
type BackupRecord struct {
	Location       string // the folder or bucket, without credentials or query
	Name           string // the archive's name in the location
	StartedAt      time.Time
	FinishedAt     time.Time
	Outcome        string // OutcomeSucceeded or OutcomeFailed
	Error          string // why it failed, for operators
	Engine         string
	SchemaVersion  int
	Tables         int
	Rows           int64
	PlainBytes     int64
	ArchiveBytes   int64
	ArchiveSHA256  string
	ManifestSHA256 string
	// Layout is the archive's layout ("logical" or "sqlite-file"); "" for
	// a failed attempt and for rows recorded before it was kept.
	Layout string
	// Blobs, BlobBytes and BlobsMissing count the file blobs in the archive
	// and the files whose blob was gone when the backup copied it.
	Blobs        int64
	BlobBytes    int64
	BlobsMissing int64
	// RestoredAt is when this store was restored from the backup.
	RestoredAt *time.Time
}

// DrillRecord is one restore drill.
type DrillRecord struct {
	ID        string // strongroom-drill-TIME
	Location  string
	Backup    string // the archive restored; "" when none could be opened
	StartedAt time.Time
	Duration  time.Duration
	Outcome   string // OutcomeSucceeded, OutcomeFailed or OutcomeError
	Tables    int
	Rows      int64
	Chains    int
	Events    int64
	// Blobs and BlobBytes count the file blobs the drill verified,
	// BlobsMissing the files the backup listed without a blob.
	Blobs        int64
	BlobBytes    int64
	BlobsMissing int64
	Error        string
}

// maxEvidenceText bounds the error text kept with a backup or drill.
const maxEvidenceText = 2000

func clip(s string) string {
	if len(s) <= maxEvidenceText {
		return s
	}
	cut := maxEvidenceText
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

func validLayout(l string) bool { return l == "" || l == "logical" || l == "sqlite-file" }

func validOutcome(o string, drill bool) bool {
	return o == OutcomeSucceeded || o == OutcomeFailed || (drill && o == OutcomeError)
}

// RecordBackup inserts a backup attempt. The transaction must be bound to the
// platform tenant (the caller appends the backup.create event in it). A
// record for the same location and name is ECONFLICT.
func (tx *Tx) RecordBackup(ctx context.Context, b *BackupRecord) error {
	if _, err := tx.platform(); err != nil {
		return err
	}
	if b.Location == "" || b.Name == "" || !validOutcome(b.Outcome, false) || b.StartedAt.IsZero() || b.FinishedAt.IsZero() {
		return errors.New("store: a backup record needs a location, a name, an outcome and its times")
	}
	if !validLayout(b.Layout) {
		return fmt.Errorf("store: unknown backup layout %q", b.Layout)
	}
	_, err := tx.exec(ctx, "INSERT INTO backups (location, name, started_at, finished_at, outcome, error, engine, schema_version, "+
		"table_count, row_count, plain_bytes, archive_bytes, archive_sha256, manifest_sha256, restored_at, layout, blob_count, blob_bytes, blobs_missing) "+
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
		b.Location, b.Name, micros(b.StartedAt), micros(b.FinishedAt), b.Outcome, clip(b.Error), b.Engine, b.SchemaVersion,
		b.Tables, b.Rows, b.PlainBytes, b.ArchiveBytes, b.ArchiveSHA256, b.ManifestSHA256, nullMicros(b.RestoredAt),
		b.Layout, b.Blobs, b.BlobBytes, b.BlobsMissing)
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "the backup is already recorded")
	}
	if err != nil {
		return fmt.Errorf("recording backup: %w", err)
	}
	return nil
}

// RecordRestore records that this store was restored at the given time from
// the backup b: the backup's row (which its own archive cannot hold) is
// inserted, or, when a row about it came back with the data, marked restored.
// The transaction must be bound to the platform tenant.
func (tx *Tx) RecordRestore(ctx context.Context, b *BackupRecord, at time.Time) error {
	if _, err := tx.platform(); err != nil {
		return err
	}
	if b.Location == "" || b.Name == "" {
		return errors.New("store: a restore record needs the backup's location and name")
	}
	if !validLayout(b.Layout) {
		return fmt.Errorf("store: unknown backup layout %q", b.Layout)
	}
	_, err := tx.exec(ctx, "INSERT INTO backups (location, name, started_at, finished_at, outcome, error, engine, schema_version, "+
		"table_count, row_count, plain_bytes, archive_bytes, archive_sha256, manifest_sha256, restored_at, layout, blob_count, blob_bytes, blobs_missing) "+
		`VALUES ($1, $2, $3, $4, 'succeeded', '', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		 ON CONFLICT (location, name) DO UPDATE SET restored_at = excluded.restored_at`,
		b.Location, b.Name, micros(b.StartedAt), micros(b.FinishedAt), b.Engine, b.SchemaVersion,
		b.Tables, b.Rows, b.PlainBytes, b.ArchiveBytes, b.ArchiveSHA256, b.ManifestSHA256, micros(at),
		b.Layout, b.Blobs, b.BlobBytes, b.BlobsMissing)
	if err != nil {
		return fmt.Errorf("recording the restore: %w", err)
	}
	return nil
}

// RecordDrill inserts a restore drill's result. The transaction must be bound
// to the platform tenant (the caller appends the backup.drill event in it).
func (tx *Tx) RecordDrill(ctx context.Context, d *DrillRecord) error {
	if _, err := tx.platform(); err != nil {
		return err
	}
	if d.ID == "" || d.Location == "" || !validOutcome(d.Outcome, true) || d.StartedAt.IsZero() || d.Duration < 0 {
		return errors.New("store: a drill record needs an id, a location, an outcome and its start")
	}
	_, err := tx.exec(ctx, `INSERT INTO backup_drills (id, location, backup, started_at, duration_us, outcome, table_count, row_count, chains, events, error,
		blob_count, blob_bytes, blobs_missing)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		d.ID, d.Location, d.Backup, micros(d.StartedAt), d.Duration.Microseconds(), d.Outcome, d.Tables, d.Rows, d.Chains, d.Events, clip(d.Error),
		d.Blobs, d.BlobBytes, d.BlobsMissing)
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "the drill is already recorded")
	}
	if err != nil {
		return fmt.Errorf("recording drill: %w", err)
	}
	return nil
}

const backupColumns = "location, name, started_at, finished_at, outcome, error, engine, schema_version, table_count, row_count, " +
	"plain_bytes, archive_bytes, archive_sha256, manifest_sha256, restored_at, layout, blob_count, blob_bytes, blobs_missing"

func scanBackup(row interface{ Scan(...any) error }) (*BackupRecord, error) {
	var b BackupRecord
	var started, finished int64
	var restored sql.NullInt64
	if err := row.Scan(&b.Location, &b.Name, &started, &finished, &b.Outcome, &b.Error, &b.Engine, &b.SchemaVersion, &b.Tables, &b.Rows,
		&b.PlainBytes, &b.ArchiveBytes, &b.ArchiveSHA256, &b.ManifestSHA256, &restored, &b.Layout, &b.Blobs, &b.BlobBytes, &b.BlobsMissing); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "backup not found")
		}
		return nil, fmt.Errorf("reading backup: %w", err)
	}
	b.StartedAt, b.FinishedAt, b.RestoredAt = fromMicros(started), fromMicros(finished), optMicros(restored)
	return &b, nil
}

const drillColumns = "id, location, backup, started_at, duration_us, outcome, table_count, row_count, chains, events, error, " +
	"blob_count, blob_bytes, blobs_missing"

func scanDrill(row interface{ Scan(...any) error }) (*DrillRecord, error) {
	var d DrillRecord
	var started, dur int64
	if err := row.Scan(&d.ID, &d.Location, &d.Backup, &started, &dur, &d.Outcome, &d.Tables, &d.Rows, &d.Chains, &d.Events, &d.Error,
		&d.Blobs, &d.BlobBytes, &d.BlobsMissing); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "drill not found")
		}
		return nil, fmt.Errorf("reading drill: %w", err)
	}
	d.StartedAt, d.Duration = fromMicros(started), time.Duration(dur)*time.Microsecond
	return &d, nil
}

// Backups lists the recorded backups, newest first, at most limit (1 to
// 1000). The transaction must be bound to the platform tenant.
func (tx *Tx) Backups(ctx context.Context, limit int) ([]BackupRecord, error) {
	if _, err := tx.platform(); err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "backups", scanBackup,
		"SELECT "+backupColumns+" FROM backups ORDER BY started_at DESC, name DESC LIMIT $1", min(max(limit, 1), 1000))
}

// LastBackup returns the newest backup with the given outcome ("" for any),
// or nil.
func (tx *Tx) LastBackup(ctx context.Context, outcome string) (*BackupRecord, error) {
	if _, err := tx.platform(); err != nil {
		return nil, err
	}
	b, err := scanBackup(tx.q.QueryRowContext(ctx, "SELECT "+backupColumns+
		" FROM backups WHERE ($1 = '' OR outcome = $1) ORDER BY started_at DESC, name DESC LIMIT 1", outcome))
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return nil, nil
	}
	return b, err
}

// Drills lists the recorded drills, newest first, at most limit (1 to 1000).
// The transaction must be bound to the platform tenant.
func (tx *Tx) Drills(ctx context.Context, limit int) ([]DrillRecord, error) {
	if _, err := tx.platform(); err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "drills", scanDrill,
		"SELECT "+drillColumns+" FROM backup_drills ORDER BY started_at DESC, id DESC LIMIT $1", min(max(limit, 1), 1000))
}

// LastDrill returns the newest drill with the given outcome ("" for any), or
// nil.
func (tx *Tx) LastDrill(ctx context.Context, outcome string) (*DrillRecord, error) {
	if _, err := tx.platform(); err != nil {
		return nil, err
	}
	d, err := scanDrill(tx.q.QueryRowContext(ctx, "SELECT "+drillColumns+
		" FROM backup_drills WHERE ($1 = '' OR outcome = $1) ORDER BY started_at DESC, id DESC LIMIT 1", outcome))
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return nil, nil
	}
	return d, err
}
