package service

import (
	"context"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/store"
)

// BackupStarter starts a backup now for an operator (backup.Scheduler). It
// refuses with ECONFLICT while a backup runs.
type BackupStarter interface {
	StartBackup(ctx context.Context, by strongroom.UserID) (*store.BackupRun, error)
}

// OnBackupNow sets what starts a backup when an operator asks for one (the
// server's backup scheduler); without one, StartBackup refuses and the
// console shows no "Back up now" button.
func (s *Service) OnBackupNow(b BackupStarter) {
	if b == nil {
		s.backupNow.Store(nil)
		return
	}
	s.backupNow.Store(&b)
}

// BackupRunStatus is the current or last backup run, as operators see it.
type BackupRunStatus struct {
	// CanStart: this server takes backups (it was started with a backup
	// location), so an operator can start one now.
	CanStart bool
	Location string
	// Run is the running backup, else the last one; nil before the first.
	Run *store.BackupRun
	// StartedBy is the e-mail address of the operator who started Run
	// (DeletedAccount when the account is gone; "" for the schedule).
	StartedBy string
}

// StartBackup starts a backup now, to the configured location, and returns
// its run; it runs in the background (follow it with BackupRun). Operators
// only; the start is audited in the platform log (backup.start), the end as
// every backup (backup.create). ECONFLICT while a backup runs, on any
// replica, or when the server takes no backups.
func (s *Service) StartBackup(ctx context.Context) (*BackupRunStatus, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	b := s.backupNow.Load()
	if b == nil {
		return nil, strongroom.Errorf(strongroom.ECONFLICT,
			"this server takes no backups: start it with --backup-to and --backup-recipients (docs/operations.md)")
	}
	p := strongroom.PrincipalFrom(ctx)
	run, err := (*b).StartBackup(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return s.backupRunStatus(ctx, run)
}

// BackupRun returns the running backup, else the last one, for operators.
// Reading it is not audited: it is the progress of a task, holds no
// organization's data, and the console polls it once a second while a
// backup runs (the backups themselves are listed with an audited read).
func (s *Service) BackupRun(ctx context.Context) (*BackupRunStatus, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	var run *store.BackupRun
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		run, err = tx.LastBackupRun(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.backupRunStatus(ctx, run)
}

func (s *Service) backupRunStatus(ctx context.Context, run *store.BackupRun) (*BackupRunStatus, error) {
	st := &BackupRunStatus{CanStart: s.backupNow.Load() != nil, Location: s.backupLocation, Run: run}
	if run != nil && run.StartedBy != "" {
		names, err := s.emails(ctx, run.StartedBy)
		if err != nil {
			return nil, err
		}
		st.StartedBy = names[run.StartedBy]
	}
	return st, nil
}
