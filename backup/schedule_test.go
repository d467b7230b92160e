package backup_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom/backup"
)

// TestScheduler: one holder of the lease backs up when due (the first tick,
// then every interval), writes the keyring backup, applies retention, drills
// the newest backup when due and records the result; another replica does
// nothing while the lease is held.
func TestScheduler(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			src := newSource(t, engine)
			loc, err := backup.OpenLocation(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer loc.Close()
			kloc, err := backup.OpenKeyringLocation(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer kloc.Close()
			now := created
			clock := func() time.Time { return now }
			mk := func(holder string) *backup.Scheduler {
				s, err := backup.NewScheduler(backup.SchedulerConfig{Store: src.st, Source: src.st, Location: loc, KeyringLocation: kloc,
					Recipients: []age.Recipient{src.id.Recipient()}, Every: 24 * time.Hour, Keep: 48 * time.Hour,
					Drill:      backup.DrillConfig{Identities: []age.Identity{src.id}, PublicKey: src.key.Public().(ed25519.PublicKey), ScratchDir: t.TempDir()},
					DrillEvery: 72 * time.Hour, Holder: holder, Now: clock})
				if err != nil {
					t.Fatal(err)
				}
				return s
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
			drills, err := backup.Drills(ctx, loc)
			if err != nil || len(drills) != 2 || !drills[1].OK || drills[1].Backup != list[1].Name {
				t.Errorf("drills recorded: %+v %v", drills, err)
			}
		})
	}
}
