package store_test

import (
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// TestBackupRuns, on both engines as the application role: a run is started,
// updated and finished only in transactions bound to the platform tenant; a
// second unfinished run is ECONFLICT (and nothing is written); a stale one is
// closed as abandoned when the next starts; the running run is the last one
// while it runs; malformed runs and progress are refused; a finished run
// takes no more progress.
func TestBackupRuns(t *testing.T) {
	onEachEngine(t, func(t *testing.T, f platformFixture) {
		st, ctx, base, platform, write := f.st, f.ctx, f.base, f.platform, f.write
		last := func() *store.BackupRun {
			t.Helper()
			var r *store.BackupRun
			if err := st.Read(ctx, platform, func(tx *store.Tx) (err error) { r, err = tx.LastBackupRun(ctx); return err }); err != nil {
				t.Fatal(err)
			}
			return r
		}
		if r := last(); r != nil {
			t.Fatalf("a new store has a run: %+v", r)
		}
		start := func(r store.BackupRun, at time.Time) error {
			return write(func(tx *store.Tx) error { return tx.StartBackupRun(ctx, &r, at.Add(-5*time.Minute)) })
		}
		one := store.BackupRun{ID: "run-1", Trigger: store.BackupByOperator, StartedBy: "0194c2f0-0000-7000-8000-0000000000aa",
			Location: "/backups", StartedAt: base, Phase: "starting", RowsTotal: 500}
		if err := start(one, base); err != nil {
			t.Fatal(err)
		}
		// Refused: another binding, an unbound one.
		for name, scope := range otherBindings() {
			r := one
			r.ID = "run-x"
			if err := st.Write(ctx, scope, func(tx *store.Tx) error { return tx.StartBackupRun(ctx, &r, base) }); err == nil {
				t.Errorf("%s binding started a run", name)
			}
			if err := st.Write(ctx, scope, func(tx *store.Tx) error {
				return tx.UpdateBackupRun(ctx, "run-1", "table x", 1, 1, 0, base)
			}); err == nil {
				t.Errorf("%s binding updated a run", name)
			}
		}
		// A second run while one runs, however it was started.
		two := store.BackupRun{ID: "run-2", Trigger: store.BackupBySchedule, Location: "/backups", StartedAt: base.Add(time.Minute), Phase: "starting"}
		if err := start(two, base.Add(time.Minute)); strongroom.ErrorCode(err) != strongroom.ECONFLICT || !strings.Contains(err.Error(), "already running") {
			t.Errorf("a second run: %v", err)
		}
		// Malformed runs.
		for name, r := range map[string]store.BackupRun{
			"no id":        {Trigger: store.BackupBySchedule, Location: "/b", StartedAt: base, Phase: "p"},
			"bad trigger":  {ID: "r", Trigger: "cron", Location: "/b", StartedAt: base, Phase: "p"},
			"no location":  {ID: "r", Trigger: store.BackupBySchedule, StartedAt: base, Phase: "p"},
			"no start":     {ID: "r", Trigger: store.BackupBySchedule, Location: "/b", Phase: "p"},
			"no phase":     {ID: "r", Trigger: store.BackupBySchedule, Location: "/b", StartedAt: base},
			"long phase":   {ID: "r", Trigger: store.BackupBySchedule, Location: "/b", StartedAt: base, Phase: strings.Repeat("p", 201)},
			"negative est": {ID: "r", Trigger: store.BackupBySchedule, Location: "/b", StartedAt: base, Phase: "p", RowsTotal: -1},
		} {
			if err := start(r, base); err == nil || strongroom.ErrorCode(err) == strongroom.ECONFLICT {
				t.Errorf("%s: %v", name, err)
			}
		}
		// Progress.
		if err := write(func(tx *store.Tx) error {
			return tx.UpdateBackupRun(ctx, "run-1", "table records", 120, 4096, 1<<20, base.Add(2*time.Second))
		}); err != nil {
			t.Fatal(err)
		}
		for name, fn := range map[string]func(tx *store.Tx) error{
			"no phase":       func(tx *store.Tx) error { return tx.UpdateBackupRun(ctx, "run-1", "", 1, 1, 0, base) },
			"negative rows":  func(tx *store.Tx) error { return tx.UpdateBackupRun(ctx, "run-1", "p", -1, 1, 0, base) },
			"negative bytes": func(tx *store.Tx) error { return tx.UpdateBackupRun(ctx, "run-1", "p", 1, -1, 0, base) },
			"negative total": func(tx *store.Tx) error { return tx.UpdateBackupRun(ctx, "run-1", "p", 1, 1, -1, base) },
			"unknown run":    func(tx *store.Tx) error { return tx.UpdateBackupRun(ctx, "run-9", "p", 1, 1, 0, base) },
			"bad outcome":    func(tx *store.Tx) error { return tx.FinishBackupRun(ctx, "run-1", "error", "", "", 1, 1, base) },
		} {
			if err := write(fn); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		r := last()
		if r == nil || r.ID != "run-1" || !r.Running() || r.Phase != "table records" || r.RowsDone != 120 || r.BytesDone != 4096 || r.BytesTotal != 1<<20 ||
			r.RowsTotal != 500 || r.StartedBy != one.StartedBy || r.Trigger != store.BackupByOperator || !r.UpdatedAt.Equal(base.Add(2*time.Second)) {
			t.Fatalf("running run %+v", r)
		}
		// Finished.
		end := base.Add(time.Minute)
		if err := write(func(tx *store.Tx) error {
			return tx.FinishBackupRun(ctx, "run-1", store.OutcomeSucceeded, "strongroom-backup-1.srbk", "", 510, 9000, end)
		}); err != nil {
			t.Fatal(err)
		}
		r = last()
		if r.Running() || r.Outcome != store.OutcomeSucceeded || r.Name != "strongroom-backup-1.srbk" || r.RowsDone != 510 || !r.FinishedAt.Equal(end) || r.Phase != "finished" {
			t.Errorf("finished run %+v", r)
		}
		if err := write(func(tx *store.Tx) error { return tx.UpdateBackupRun(ctx, "run-1", "p", 1, 1, 0, end) }); strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
			t.Errorf("progress after the end: %v", err)
		}
		// The next run starts; its server dies; the one after finds it
		// stale and closes it.
		two.StartedAt = base.Add(time.Hour)
		if err := start(two, two.StartedAt); err != nil {
			t.Fatal(err)
		}
		three := store.BackupRun{ID: "run-3", Trigger: store.BackupBySchedule, Location: "/backups", StartedAt: base.Add(2 * time.Hour), Phase: "starting"}
		if err := start(three, three.StartedAt); err != nil {
			t.Fatalf("after a stale run: %v", err)
		}
		var got *store.BackupRun
		if err := st.Read(ctx, platform, func(tx *store.Tx) (err error) { got, err = tx.BackupRunByID(ctx, "run-2"); return err }); err != nil {
			t.Fatal(err)
		}
		if got.Running() || got.Outcome != store.OutcomeFailed || !strings.Contains(got.Error, "abandoned") {
			t.Errorf("stale run %+v", got)
		}
		if r := last(); r.ID != "run-3" || !r.Running() {
			t.Errorf("last run %+v", r)
		}
	})
}
