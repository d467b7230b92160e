package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// Backup runs (the platform table backup_runs): the progress of the backup
// being taken and the result of the last ones. At most one run is unfinished
// at a time, on every replica (a partial unique index); the running backup
// updates its row every second or so.

// Who started a backup run.
const (
	BackupBySchedule = "schedule"
	BackupByOperator = "operator"
)

// BackupRun is one backup run.
type BackupRun struct {
	ID        string
	Trigger   string // BackupBySchedule or BackupByOperator
	StartedBy strongroom.UserID
	Location  string
	StartedAt time.Time
	UpdatedAt time.Time
	Phase     string
	RowsDone  int64
	RowsTotal int64 // an estimate; 0 when unknown
	BytesDone int64
	// BytesTotal is what BytesDone grows to when the backup knows it (the
	// database file of the sqlite-file layout); 0 when unknown.
	BytesTotal int64
	// FinishedAt is nil while the run is running.
	FinishedAt *time.Time
	Outcome    string // "" while running, then OutcomeSucceeded or OutcomeFailed
	Name       string // the archive's name
	Error      string
}

// Running reports whether the run has not finished.
func (r *BackupRun) Running() bool { return r.FinishedAt == nil }

// maxPhase bounds a run's phase text.
const maxPhase = 200

// StartBackupRun inserts a running backup run. A run still unfinished whose
// last update is older than staleBefore is first closed as failed (its
// process stopped); a fresh unfinished run is ECONFLICT, with when it started.
// The transaction must be bound to the platform tenant.
func (tx *Tx) StartBackupRun(ctx context.Context, r *BackupRun, staleBefore time.Time) error {
	if _, err := tx.platform(); err != nil {
		return err
	}
	if r.ID == "" || r.Location == "" || r.StartedAt.IsZero() || r.Phase == "" || len(r.Phase) > maxPhase ||
		(r.Trigger != BackupBySchedule && r.Trigger != BackupByOperator) || r.RowsTotal < 0 {
		return errors.New("store: a backup run needs an id, a trigger, a location, a start and a phase")
	}
	if _, err := tx.exec(ctx, `UPDATE backup_runs SET finished_at = updated_at, outcome = 'failed',
		error = 'abandoned: no progress reported since this time (its server stopped)'
		WHERE finished_at IS NULL AND updated_at < $1`, micros(staleBefore)); err != nil {
		return fmt.Errorf("closing abandoned backup runs: %w", err)
	}
	running, err := tx.RunningBackupRun(ctx)
	if err != nil {
		return err
	}
	if running != nil {
		return strongroom.Errorf(strongroom.ECONFLICT, "a backup is already running (started %s): wait for it to finish",
			running.StartedAt.UTC().Format(time.RFC3339))
	}
	_, err = tx.exec(ctx, `INSERT INTO backup_runs (id, trigger, started_by, location, started_at, updated_at, phase, rows_total)
		VALUES ($1, $2, $3, $4, $5, $5, $6, $7)`,
		r.ID, r.Trigger, string(r.StartedBy), r.Location, micros(r.StartedAt), r.Phase, r.RowsTotal)
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "a backup is already running: wait for it to finish")
	}
	if err != nil {
		return fmt.Errorf("starting backup run: %w", err)
	}
	r.UpdatedAt = r.StartedAt
	return nil
}

// UpdateBackupRun records a running run's progress. A run already finished
// (closed as abandoned) is ENOTFOUND.
func (tx *Tx) UpdateBackupRun(ctx context.Context, id, phase string, rows, bytes, bytesTotal int64, at time.Time) error {
	if _, err := tx.platform(); err != nil {
		return err
	}
	if phase == "" || len(phase) > maxPhase || rows < 0 || bytes < 0 || bytesTotal < 0 {
		return errors.New("store: a backup run's progress needs a phase and counts")
	}
	res, err := tx.exec(ctx, `UPDATE backup_runs SET phase = $2, rows_done = $3, bytes_done = $4, bytes_total = $5, updated_at = $6
		WHERE id = $1 AND finished_at IS NULL`, id, phase, rows, bytes, bytesTotal, micros(at))
	if err != nil {
		return fmt.Errorf("updating backup run: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return strongroom.Errorf(strongroom.ENOTFOUND, "no running backup run %s", id)
	}
	return nil
}

// FinishBackupRun ends a run with its outcome (OutcomeSucceeded with the
// archive's name, or OutcomeFailed with why).
func (tx *Tx) FinishBackupRun(ctx context.Context, id, outcome, name, failure string, rows, bytes int64, at time.Time) error {
	if _, err := tx.platform(); err != nil {
		return err
	}
	if !validOutcome(outcome, false) || rows < 0 || bytes < 0 {
		return errors.New("store: a finished backup run needs an outcome and counts")
	}
	res, err := tx.exec(ctx, `UPDATE backup_runs SET phase = 'finished', outcome = $2, name = $3, error = $4, rows_done = $5, bytes_done = $6,
		updated_at = $7, finished_at = $7 WHERE id = $1 AND finished_at IS NULL`, id, outcome, name, clip(failure), rows, bytes, micros(at))
	if err != nil {
		return fmt.Errorf("finishing backup run: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return strongroom.Errorf(strongroom.ENOTFOUND, "no running backup run %s", id)
	}
	return nil
}

const backupRunColumns = "id, trigger, started_by, location, started_at, updated_at, phase, rows_done, rows_total, bytes_done, bytes_total, " +
	"finished_at, outcome, name, error"

func scanBackupRun(row interface{ Scan(...any) error }) (*BackupRun, error) {
	var r BackupRun
	var started, updated int64
	var finished sql.NullInt64
	var by string
	if err := row.Scan(&r.ID, &r.Trigger, &by, &r.Location, &started, &updated, &r.Phase, &r.RowsDone, &r.RowsTotal, &r.BytesDone, &r.BytesTotal,
		&finished, &r.Outcome, &r.Name, &r.Error); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "backup run not found")
		}
		return nil, fmt.Errorf("reading backup run: %w", err)
	}
	r.StartedBy, r.StartedAt, r.UpdatedAt, r.FinishedAt = strongroom.UserID(by), fromMicros(started), fromMicros(updated), optMicros(finished)
	return &r, nil
}

// RunningBackupRun returns the unfinished run, or nil.
func (tx *Tx) RunningBackupRun(ctx context.Context) (*BackupRun, error) {
	if _, err := tx.platform(); err != nil {
		return nil, err
	}
	r, err := scanBackupRun(tx.q.QueryRowContext(ctx, "SELECT "+backupRunColumns+" FROM backup_runs WHERE finished_at IS NULL"))
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return nil, nil
	}
	return r, err
}

// LastBackupRun returns the newest run (running or not), or nil.
func (tx *Tx) LastBackupRun(ctx context.Context) (*BackupRun, error) {
	if _, err := tx.platform(); err != nil {
		return nil, err
	}
	r, err := scanBackupRun(tx.q.QueryRowContext(ctx, "SELECT "+backupRunColumns+
		" FROM backup_runs ORDER BY (finished_at IS NULL) DESC, started_at DESC, id DESC LIMIT 1"))
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return nil, nil
	}
	return r, err
}

// BackupRunByID returns one run (ENOTFOUND when there is none).
func (tx *Tx) BackupRunByID(ctx context.Context, id string) (*BackupRun, error) {
	if _, err := tx.platform(); err != nil {
		return nil, err
	}
	return scanBackupRun(tx.q.QueryRowContext(ctx, "SELECT "+backupRunColumns+" FROM backup_runs WHERE id = $1", id))
}
