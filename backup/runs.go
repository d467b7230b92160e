package backup

import (
	"context"
	"errors"
	"sync"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// Backup runs: every backup the scheduler takes, on schedule or because an
// operator asked for one now, is a row in backup_runs that the running backup
// updates about once a second (phase, rows and bytes written), so that the
// console can show its progress. At most one run is unfinished at a time
// across replicas (the store refuses a second), and only the holder of the
// backup lease starts one: a scheduled backup due while an operator's runs is
// skipped, and an operator's request while any backup runs is refused.

// StaleRun is how long an unfinished run may go without an update before it
// is taken for abandoned (its server stopped) and closed as failed.
const StaleRun = 5 * time.Minute

// runUpdateEvery is how often a running backup's row is updated.
const runUpdateEvery = time.Second

// runHeartbeat is how often the row is updated without new progress.
const runHeartbeat = 30 * time.Second

// manualRuns are the backups started by operators, which run in the
// background until they end or the scheduler stops.
type manualRuns struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	closed bool
	wg     sync.WaitGroup
}

// start returns the context of a new background run, or nil when the
// scheduler has stopped. The caller must call wg.Done when the run ends.
func (m *manualRuns) start() context.Context {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	if m.ctx == nil {
		m.ctx, m.cancel = context.WithCancel(context.Background())
	}
	m.wg.Add(1)
	return m.ctx
}

// close cancels the background runs and waits for them to record their end.
func (m *manualRuns) close() {
	m.mu.Lock()
	m.closed = true
	if m.cancel != nil {
		m.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// StartBackup starts a backup now for an operator (by, the principal in ctx,
// who is named in the backup.start platform audit event) and returns its run
// at once; the backup runs in the background, reporting its progress in the
// run. It is ECONFLICT when a backup is running (on any replica) or another
// replica holds the backup lease, EUNAVAILABLE when the scheduler has stopped.
func (s *Scheduler) StartBackup(ctx context.Context, by strongroom.UserID) (*store.BackupRun, error) {
	c := s.cfg
	now := c.Now()
	held, err := c.Store.AcquireLease(ctx, LeaseName, c.Holder, now, 2*time.Hour)
	if err != nil {
		return nil, err
	}
	if !held {
		return nil, strongroom.Errorf(strongroom.ECONFLICT,
			"another server holds the backup lease (it takes the scheduled backups): start the backup there, or try again later")
	}
	bg := s.manual.start()
	if bg == nil {
		return nil, strongroom.Errorf(strongroom.EUNAVAILABLE, "the server is stopping: try again on another one")
	}
	run, err := s.openRun(ctx, now, store.BackupByOperator, by)
	if err != nil {
		s.manual.wg.Done()
		return nil, err
	}
	bg = strongroom.WithPrincipal(bg, &strongroom.Principal{Kind: strongroom.PrincipalSystem, RequestID: "backup-now"})
	go func() {
		defer s.manual.wg.Done()
		if _, _, err := s.runBackup(bg, run, now); err != nil {
			c.Logger.Error("backup started by an operator failed", "run", run.ID, "err", err)
		}
	}()
	return run, nil
}

// scheduledBackup takes a due backup as a run, or skips it when a backup is
// already running.
func (s *Scheduler) scheduledBackup(ctx context.Context, now time.Time) (*Index, []string, error) {
	run, err := s.openRun(ctx, now, store.BackupBySchedule, "")
	if strongroom.ErrorCode(err) == strongroom.ECONFLICT {
		s.cfg.Logger.Info("scheduled backup skipped: a backup is already running")
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return s.runBackup(ctx, run, now)
}

// runID names the run of a backup started at t.
func runID(t time.Time) string { return "run-" + t.UTC().Format(nameTime) }

// openRun records a run starting now, with an estimate of its rows (the last
// successful backup's), and for an operator's run the backup.start event.
func (s *Scheduler) openRun(ctx context.Context, now time.Time, trigger string, by strongroom.UserID) (*store.BackupRun, error) {
	c := s.cfg
	run := &store.BackupRun{ID: runID(now), Trigger: trigger, StartedBy: by, Location: c.Location.String(), StartedAt: now.UTC(), Phase: "starting"}
	var e *strongroom.AuditEvent
	if trigger == store.BackupByOperator {
		var err error
		if e, err = platformEvent(ctx, "backup.start", "backup", ArchiveName(now), strongroom.ResultSuccess,
			map[string]any{"location": run.Location, "run": run.ID}); err != nil {
			return nil, err
		}
	}
	err := c.Store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		last, err := tx.LastBackup(ctx, store.OutcomeSucceeded)
		if err != nil {
			return err
		}
		if last != nil {
			run.RowsTotal = last.Rows
		}
		if err := tx.StartBackupRun(ctx, run, now.Add(-StaleRun)); err != nil {
			return err
		}
		if e != nil {
			return tx.AppendAudit(ctx, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// runBackup takes the backup of run, reporting its progress, and records
// how it ended.
func (s *Scheduler) runBackup(ctx context.Context, run *store.BackupRun, now time.Time) (*Index, []string, error) {
	t := newRunTracker(s, run.ID)
	idx, pruned, err := s.backup(WithProgress(ctx, t.set), now)
	rows, bytes := t.stop()
	outcome, name, failure := store.OutcomeSucceeded, "", ""
	switch {
	case idx != nil:
		name, rows, bytes = idx.Name, idx.Rows, idx.PlainBytes
		if err != nil {
			failure = "taken, but what follows failed: " + err.Error()
		}
	case err != nil:
		outcome, failure = store.OutcomeFailed, err.Error()
	default:
		outcome, failure = store.OutcomeFailed, "no backup was taken"
	}
	// Recorded even when ctx was cancelled (the server is stopping).
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	ferr := s.cfg.Store.Write(wctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		return tx.FinishBackupRun(wctx, run.ID, outcome, name, failure, rows, bytes, s.cfg.Now())
	})
	if ferr != nil {
		s.cfg.Logger.Error("recording the end of a backup run", "run", run.ID, "err", ferr)
	}
	return idx, pruned, errors.Join(err, ferr)
}

// runTracker writes a run's latest progress to its row, about once a second,
// from its own goroutine: a slow store never slows the backup.
type runTracker struct {
	s    *Scheduler
	id   string
	mu   sync.Mutex
	cur  Progress
	new  bool
	quit chan struct{}
	done chan struct{}
}

func newRunTracker(s *Scheduler, id string) *runTracker {
	t := &runTracker{s: s, id: id, quit: make(chan struct{}), done: make(chan struct{})}
	go t.loop()
	return t
}

// set is the backup's ProgressFunc.
func (t *runTracker) set(p Progress) {
	t.mu.Lock()
	t.cur, t.new = p, true
	t.mu.Unlock()
}

// stop ends the updates and returns the last rows and bytes reported.
func (t *runTracker) stop() (rows, bytes int64) {
	close(t.quit)
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur.Rows, t.cur.Bytes
}

func (t *runTracker) loop() {
	defer close(t.done)
	tick := time.NewTicker(runUpdateEvery)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-t.quit:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		p, fresh := t.cur, t.new
		t.new = false
		t.mu.Unlock()
		now := t.s.cfg.Now()
		if !fresh && now.Sub(last) < runHeartbeat {
			continue
		}
		if p.Phase == "" {
			p.Phase = "starting"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := t.s.cfg.Store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
			return tx.UpdateBackupRun(ctx, t.id, p.Phase, p.Rows, p.Bytes, p.BytesTotal, now)
		})
		cancel()
		if err != nil {
			t.s.cfg.Logger.Warn("recording a backup's progress", "run", t.id, "err", err)
			continue
		}
		last = now
	}
}

// Close stops the backups started by operators and waits for each to record
// its end; no more can start. Run calls it when its context ends.
func (s *Scheduler) Close() { s.manual.close() }
