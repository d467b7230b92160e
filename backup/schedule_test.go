package backup_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// newScheduler makes holder's scheduler of cfg backing src's store (also the
// store it records in) up for src's identity once a day.
func newScheduler(t *testing.T, src *source, holder string, cfg backup.SchedulerConfig) *backup.Scheduler {
	t.Helper()
	cfg.Store, cfg.Source, cfg.Holder = src.st, src.st, holder
	cfg.Recipients, cfg.Every = []age.Recipient{src.id.Recipient()}, 24*time.Hour
	s, err := backup.NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScheduler: one holder of the lease backs up when due (the first tick,
// then every interval), writes the keyring backup, applies retention, drills
// the newest backup when due and records the result; another replica does
// nothing while the lease is held. Backups and drills are recorded in the
// store (also the one backed up): an archive holds the records of the backups
// before it, never its own, and a restore adds its own, marked restored.
func TestScheduler(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			src, loc := newSource(t, engine), testkit.OpenBackupLocation(t)
			kloc, err := backup.OpenKeyringLocation(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer kloc.Close()
			now := created
			clock := func() time.Time { return now }
			mk := func(holder string) *backup.Scheduler {
				return newScheduler(t, src, holder, backup.SchedulerConfig{Location: loc, KeyringLocation: kloc, Keep: 48 * time.Hour,
					Drill:      backup.DrillConfig{Identities: []age.Identity{src.id}, PublicKey: src.key.Public().(ed25519.PublicKey), ScratchDir: t.TempDir()},
					DrillEvery: 72 * time.Hour, Now: clock})
			}
			a, b := mk("replica-a"), mk("replica-b")
			res, err := a.Tick(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Backup == nil || res.Drill == nil || !res.Drill.OK {
				t.Fatalf("first tick: %+v %+v", res.Backup, res.Drill)
			}
			if res, err := b.Tick(ctx); err != nil || res.Backup != nil || res.Drill != nil {
				t.Fatalf("the other replica worked while the lease is held: %+v %v", res, err)
			}
			if res, err := a.Tick(ctx); err != nil || res.Backup != nil || res.Drill != nil {
				t.Fatalf("a second tick at once did work: %+v %v", res, err)
			}
			for day := 1; day <= 4; day++ {
				now = created.Add(time.Duration(day) * 24 * time.Hour)
				res, err := a.Tick(ctx)
				if err != nil || res.Backup == nil {
					t.Fatalf("day %d: %+v %v", day, res, err)
				}
				if (res.Drill != nil) != (day == 3) {
					t.Errorf("day %d: drill %+v", day, res.Drill)
				}
			}
			list, _ := loc.List(ctx)
			if len(list) != 3 { // days 2, 3, 4: older than 48h deleted
				t.Errorf("%d backups kept, want 3", len(list))
			}
			klist, _ := kloc.List(ctx)
			if len(klist) != 3 {
				t.Errorf("%d keyring backups kept, want 3", len(klist))
			}
			var backups []store.BackupRecord
			var drills []store.DrillRecord
			if err := src.st.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
				var err error
				if backups, err = tx.Backups(ctx, 100); err != nil {
					return err
				}
				drills, err = tx.Drills(ctx, 100)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			// Every backup is recorded, pruned ones too (newest first).
			if len(backups) != 5 || backups[0].Name != list[2].Name || backups[0].Outcome != store.OutcomeSucceeded ||
				backups[0].ArchiveSHA256 != list[2].ArchiveSHA256 || backups[0].ManifestSHA256 == "" || backups[0].Location != loc.String() ||
				backups[0].Rows != list[2].Rows || !backups[0].StartedAt.Equal(list[2].CreatedAt) || backups[0].RestoredAt != nil {
				t.Errorf("backups recorded: %+v", backups)
			}
			if len(drills) != 2 || drills[0].Outcome != store.OutcomeSucceeded || drills[0].Backup != list[1].Name ||
				drills[0].Tables == 0 || drills[0].Chains == 0 || drills[0].Location != loc.String() {
				t.Errorf("drills recorded: %+v", drills)
			}

			// The newest archive holds the rows of the backups before it, never
			// its own; the restore records it, marked restored.
			dst := openStore(t, engine)
			r, err := loc.Open(ctx, list[2].Name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := backup.Restore(ctx, dst, nil, r, []age.Identity{src.id})
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got := backup.ManifestDigest(m); got != list[2].ManifestSHA256 {
				t.Errorf("restored manifest digest %s, index %s", got, list[2].ManifestSHA256)
			}
			names := func() map[string]*time.Time {
				out := map[string]*time.Time{}
				if err := dst.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
					all, err := tx.Backups(ctx, 100)
					for _, b := range all {
						out[b.Name] = b.RestoredAt
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return out
			}
			got := names()
			if _, ok := got[list[2].Name]; ok || len(got) != 4 {
				t.Errorf("the restored store's backups: %v", got)
			}
			restoredAt := now.Add(time.Hour)
			if err := backup.RecordRestore(ctx, dst, loc.String(), list[2].Name, m, &list[2], restoredAt); err != nil {
				t.Fatal(err)
			}
			got = names()
			if at := got[list[2].Name]; len(got) != 5 || at == nil || !at.Equal(restoredAt) {
				t.Errorf("after recording the restore: %v", got)
			}
		})
	}
}

// TestRunDrillCouldNotRun: a drill that cannot run (no backup in the
// location) is recorded too, as an error with why, and the schedule does not
// try it again before DrillRetry, then does.
func TestRunDrillCouldNotRun(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			st, loc := openStore(t, engine), testkit.OpenBackupLocation(t)
			id := newIdentity(t)
			now := created
			cfg := backup.DrillConfig{Location: loc, Identities: []age.Identity{id}, PublicKey: newKey(t).Public().(ed25519.PublicKey),
				ScratchDir: t.TempDir(), Now: func() time.Time { return now }}
			if res, err := backup.RunDrill(ctx, st, cfg); err == nil || res != nil {
				t.Fatalf("a drill of an empty location: %+v, %v", res, err)
			}
			last, err := backup.LastDrill(ctx, st)
			if err != nil || last == nil || last.Outcome != store.OutcomeError || last.Error != "backup: no backup to drill" ||
				!last.StartedAt.Equal(created) || last.Location != loc.String() || last.Backup != "" {
				t.Fatalf("recorded: %+v, %v", last, err)
			}
			// The schedule (whose first tick takes a backup) waits DrillRetry
			// after a drill that could not run, not DrillEvery.
			s, err := backup.NewScheduler(backup.SchedulerConfig{Store: st, Source: st, Location: loc, Recipients: []age.Recipient{id.Recipient()},
				Every: 24 * time.Hour, Drill: cfg, DrillEvery: 7 * 24 * time.Hour, Holder: "a", Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			now = created.Add(backup.DrillRetry - time.Minute)
			if res, err := s.Tick(ctx); err != nil || res.Backup == nil || res.Drill != nil {
				t.Fatalf("tick before the retry: %+v, %v", res, err)
			}
			now = created.Add(backup.DrillRetry)
			if res, err := s.Tick(ctx); err != nil || res.Drill == nil || !res.Drill.OK {
				t.Fatalf("tick at the retry: %+v, %v", res, err)
			}
		})
	}
}
