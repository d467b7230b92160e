package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"filippo.io/age"
	"gocloud.dev/blob"

	"strongroom.dev/strongroom"
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
	Source     *store.Store
	Location   *Location
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

// Scheduler takes backups and runs drills when they are due. What is due is
// read from the location itself (the newest backup's and drill's times), so
// replicas and restarts agree; the lease makes one replica do it.
type Scheduler struct{ cfg SchedulerConfig }

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
		if res.Backup, res.Pruned, err = s.backup(ctx, now); err != nil {
			return res, err
		}
	}
	if len(c.Drill.Identities) > 0 && c.DrillEvery > 0 {
		last, err := LastDrill(ctx, c.Location)
		if err != nil {
			return res, err
		}
		if last == nil || now.Sub(last.StartedAt) >= c.DrillEvery {
			if res.Drill, err = s.drill(ctx); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

func (s *Scheduler) backup(ctx context.Context, now time.Time) (*Index, []string, error) {
	c := s.cfg
	idx, err := c.Location.Put(ctx, c.Source, c.Recipients, now)
	if err != nil {
		_ = AuditPlatform(ctx, c.Store, "backup.create", "backup", ArchiveName(now), strongroom.ResultFailure, nil)
		return nil, nil, err
	}
	if err := AuditPlatform(ctx, c.Store, "backup.create", "backup", idx.Name, strongroom.ResultSuccess,
		map[string]any{"rows": idx.Rows, "bytes": idx.ArchiveBytes, "sha256": idx.ArchiveSHA256, "schema_version": idx.SchemaVersion}); err != nil {
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
	c := s.cfg
	res, err := Drill(ctx, c.Drill)
	if err != nil {
		_ = AuditPlatform(ctx, c.Store, "backup.drill", "backup", "", strongroom.ResultFailure, map[string]string{"error": "drill could not run"})
		return nil, err
	}
	if err := RecordDrill(ctx, c.Store, c.Location, res); err != nil {
		return res, err
	}
	return res, nil
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
			_ = s.cfg.Store.ReleaseLease(context.WithoutCancel(ctx), LeaseName, s.cfg.Holder)
			return
		case <-t.C:
		}
	}
}

const drillPrefix = "strongroom-drill-"

// RecordDrill keeps a drill's result as evidence: a JSON object in the
// location beside the backups (strongroom-drill-TIME.json) and an event in
// the platform audit chain.
func RecordDrill(ctx context.Context, st *store.Store, loc *Location, res *DrillResult) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding drill result: %w", err)
	}
	name := drillPrefix + res.StartedAt.UTC().Format(nameTime) + ".json"
	if err := loc.bucket.WriteAll(ctx, name, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("writing drill result: %w", err)
	}
	result := strongroom.ResultSuccess
	if !res.OK {
		result = strongroom.ResultFailure
	}
	return AuditPlatform(ctx, st, "backup.drill", "backup", res.Backup, result,
		map[string]any{"rows": res.Rows, "tables": res.Tables, "chains": res.Chains, "duration_ms": res.Duration.Milliseconds(), "ok": res.OK})
}

// Drills returns the recorded drill results in the location, oldest first.
func Drills(ctx context.Context, loc *Location) ([]DrillResult, error) {
	var out []DrillResult
	it := loc.bucket.List(&blob.ListOptions{Prefix: drillPrefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("listing drills: %w", err)
		}
		r, err := loc.bucket.NewReader(ctx, obj.Key, nil)
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(r, maxIndex))
		r.Close()
		if err != nil {
			continue
		}
		var d DrillResult
		if json.Unmarshal(b, &d) == nil {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b DrillResult) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, nil
}

// LastDrill returns the newest recorded drill, or nil.
func LastDrill(ctx context.Context, loc *Location) (*DrillResult, error) {
	all, err := Drills(ctx, loc)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	return &all[len(all)-1], nil
}

// Catalog lists a location's backups and drills (for the operator API).
type Catalog struct{ Location *Location }

// List lists the backups, oldest first.
func (c Catalog) List(ctx context.Context) ([]Index, error) { return c.Location.List(ctx) }

// Drills lists the recorded drills, oldest first.
func (c Catalog) Drills(ctx context.Context) ([]DrillResult, error) { return Drills(ctx, c.Location) }
