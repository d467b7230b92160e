package backup

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/store"
)

// LeaseName is the lease under which one replica runs scheduled backups and
// drills.
const LeaseName = "backup"

// SchedulerConfig configures scheduled backups and drills.
type SchedulerConfig struct {
	// Store holds the lease and receives the platform audit events.
	Store *store.Store
	// Source is the store backed up: Store itself on SQLite; on PostgreSQL a
	// connection as a role that bypasses row-level security.
	Source   *store.Store
	Location *Location
	// Blobs is the blob store of the files' content (the --blobs of
	// serve), copied into each backup; nil only when there are no files.
	Blobs      *blob.Store
	Recipients []age.Recipient
	Every      time.Duration
	Keep       time.Duration
	// KeyringLocation, when set, receives a keyring backup after each data
	// backup (kept as long as Keep, never the newest).
	KeyringLocation *Location
	// Drill, when its Identities are set, is run every DrillEvery on the
	// newest backup; Location is filled in.
	Drill      DrillConfig
	DrillEvery time.Duration
	Holder     string
	Now        func() time.Time
	Logger     *slog.Logger
}

// Scheduler takes backups and runs drills when they are due. A backup is due
// by the newest backup in the location itself, a drill by the newest drill
// recorded in the store (any outcome; one that could not run is retried after
// DrillRetry), so replicas and restarts agree; the lease makes one replica do
// it.
type Scheduler struct {
	cfg    SchedulerConfig
	manual manualRuns // backups started by operators (runs.go)
}

// NewScheduler checks cfg and returns a scheduler.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Store == nil || cfg.Source == nil || cfg.Location == nil || len(cfg.Recipients) == 0 || cfg.Every <= 0 || cfg.Holder == "" {
		return nil, errors.New("backup: a scheduler needs stores, a location, recipients, an interval and a holder")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Drill.Location = cfg.Location
	if cfg.Drill.Logger == nil {
		cfg.Drill.Logger = cfg.Logger
	}
	if cfg.Drill.Now == nil {
		cfg.Drill.Now = cfg.Now
	}
	return &Scheduler{cfg: cfg}, nil
}

// TickResult says what a tick did.
type TickResult struct {
	Backup *Index
	Pruned []string
	Drill  *DrillResult
}

// Tick takes a backup and runs a drill if they are due and this process
// holds the lease.
func (s *Scheduler) Tick(ctx context.Context) (TickResult, error) {
	var res TickResult
	c := s.cfg
	now := c.Now()
	held, err := c.Store.AcquireLease(ctx, LeaseName, c.Holder, now, 2*time.Hour)
	if err != nil || !held {
		return res, err
	}
	ctx = strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem, RequestID: "backup-schedule"})
	latest, err := c.Location.Latest(ctx)
	if err != nil {
		return res, err
	}
	if latest == nil || now.Sub(latest.CreatedAt) >= c.Every {
		if res.Backup, res.Pruned, err = s.scheduledBackup(ctx, now); err != nil {
			return res, err
		}
	}
	if len(c.Drill.Identities) > 0 && c.DrillEvery > 0 {
		last, err := LastDrill(ctx, c.Store)
		if err != nil {
			return res, err
		}
		if last == nil || now.Sub(last.StartedAt) >= c.DrillEvery || (last.Outcome == store.OutcomeError && now.Sub(last.StartedAt) >= DrillRetry) {
			if res.Drill, err = s.drill(ctx); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

func (s *Scheduler) backup(ctx context.Context, now time.Time) (*Index, []string, error) {
	c := s.cfg
	idx, err := c.Location.Put(ctx, c.Source, c.Blobs, c.Recipients, now)
	if err != nil {
		if rerr := RecordBackup(ctx, c.Store, c.Location, now, c.Now(), nil, err); rerr != nil {
			c.Logger.Error("recording a failed backup", "err", rerr)
		}
		return nil, nil, err
	}
	if err := RecordBackup(ctx, c.Store, c.Location, now, c.Now(), idx, nil); err != nil {
		return idx, nil, err
	}
	c.Logger.Info("backup taken", "backup", idx.Name, "rows", idx.Rows, "bytes", idx.ArchiveBytes)
	var pruned []string
	if c.Keep > 0 {
		if pruned, err = c.Location.Prune(ctx, c.Keep, now); err != nil {
			return idx, pruned, err
		}
		if len(pruned) > 0 {
			if err := AuditPlatform(ctx, c.Store, "backup.prune", "backup", idx.Name, strongroom.ResultSuccess, map[string]any{"deleted": pruned}); err != nil {
				return idx, pruned, err
			}
		}
	}
	if c.KeyringLocation != nil {
		kidx, err := c.KeyringLocation.PutKeyring(ctx, c.Source, c.Recipients, now)
		if err != nil {
			return idx, pruned, err
		}
		if err := AuditPlatform(ctx, c.Store, "keys.backup", "keyring", kidx.Name, strongroom.ResultSuccess, map[string]any{"keys": kidx.Rows}); err != nil {
			return idx, pruned, err
		}
		if c.Keep > 0 {
			if _, err := c.KeyringLocation.Prune(ctx, c.Keep, now); err != nil {
				return idx, pruned, err
			}
		}
	}
	return idx, pruned, nil
}

func (s *Scheduler) drill(ctx context.Context) (*DrillResult, error) {
	return RunDrill(ctx, s.cfg.Store, s.cfg.Drill)
}

// Run ticks until ctx ends, every minute (at most as often as Every).
func (s *Scheduler) Run(ctx context.Context) {
	interval := min(time.Minute, s.cfg.Every)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("scheduled backup failed", "err", err)
		}
		select {
		case <-ctx.Done():
			s.Close()
			_ = s.cfg.Store.ReleaseLease(context.WithoutCancel(ctx), LeaseName, s.cfg.Holder)
			return
		case <-t.C:
		}
	}
}

// drillPrefix starts a drill's id (and, before drills were recorded in the
// store, the name of its result file beside the backups).
const drillPrefix = "strongroom-drill-"

// DrillRetry is how soon the schedule tries again a drill that could not run.
const DrillRetry = time.Hour
