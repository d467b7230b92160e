package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// platformFixture is where the backup-record tests start on each engine: a
// new store opened as the application role, the time their records start
// at, and the platform tenant's binding, which alone may write them.
type platformFixture struct {
	engine   string
	st       *store.Store
	ctx      context.Context
	base     time.Time
	platform store.Scope
}

// write runs fn in a transaction bound to the platform tenant.
func (f platformFixture) write(fn func(tx *store.Tx) error) error {
	return f.st.Write(f.ctx, f.platform, fn)
}

// onEachEngine runs body as a subtest on each engine with a new fixture.
func onEachEngine(t *testing.T, body func(t *testing.T, f platformFixture)) {
	t.Helper()
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			body(t, platformFixture{engine: e.Name, st: e.Open(t), ctx: context.Background(),
				base: time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC), platform: store.TenantScope(strongroom.PlatformTenant)})
		})
	}
}

// otherBindings are the bindings that may not touch the platform's backup
// records, by name: an organization's and none.
func otherBindings() map[string]store.Scope {
	return map[string]store.Scope{"organization": store.TenantScope("0194c2f0-0000-7000-8000-00000000000a"), "unbound": {}}
}

// TestBackupRecords (LIF-05, LIF-06), on both engines as the application
// role: backups and drills are recorded only in transactions bound to the
// platform tenant; a backup is identified by location and name (a second
// record is ECONFLICT); the newest by outcome is found; a restore inserts the
// restored backup's row or marks the existing one, keeping what it said;
// malformed records are refused and nothing is written.
func TestBackupRecords(t *testing.T) {
	onEachEngine(t, func(t *testing.T, f platformFixture) {
		st, ctx, base, platform, write := f.st, f.ctx, f.base, f.platform, f.write
		ok := store.BackupRecord{Location: "/backups", Name: "strongroom-backup-1.srbk", StartedAt: base, FinishedAt: base.Add(time.Minute),
			Outcome: store.OutcomeSucceeded, Engine: f.engine, SchemaVersion: 15, Tables: 30, Rows: 1234, PlainBytes: 9000, ArchiveBytes: 4000,
			ArchiveSHA256: strings.Repeat("a", 64), ManifestSHA256: strings.Repeat("b", 64)}
		failed := store.BackupRecord{Location: "/backups", Name: "strongroom-backup-2.srbk", StartedAt: base.Add(time.Hour),
			FinishedAt: base.Add(time.Hour + time.Second), Outcome: store.OutcomeFailed, Error: strings.Repeat("é", 3000)}
		for _, b := range []store.BackupRecord{ok, failed} {
			if err := write(func(tx *store.Tx) error { return tx.RecordBackup(ctx, &b) }); err != nil {
				t.Fatal(err)
			}
		}
		if err := write(func(tx *store.Tx) error { return tx.RecordBackup(ctx, &ok) }); strongroom.ErrorCode(err) != strongroom.ECONFLICT {
			t.Errorf("recording a backup twice: %v", err)
		}
		// Refused: another tenant's binding, an unbound one, malformed rows.
		for name, scope := range otherBindings() {
			other := ok
			other.Name = "strongroom-backup-9.srbk"
			if err := st.Write(ctx, scope, func(tx *store.Tx) error { return tx.RecordBackup(ctx, &other) }); err == nil {
				t.Errorf("%s binding recorded a backup", name)
			}
			d := store.DrillRecord{ID: "strongroom-drill-9", Location: "/backups", StartedAt: base, Outcome: store.OutcomeError}
			if err := st.Write(ctx, scope, func(tx *store.Tx) error { return tx.RecordDrill(ctx, &d) }); err == nil {
				t.Errorf("%s binding recorded a drill", name)
			}
		}
		for name, b := range map[string]store.BackupRecord{
			"no location": {Name: "x", StartedAt: base, FinishedAt: base, Outcome: store.OutcomeSucceeded},
			"no name":     {Location: "/b", StartedAt: base, FinishedAt: base, Outcome: store.OutcomeSucceeded},
			"bad outcome": {Location: "/b", Name: "x", StartedAt: base, FinishedAt: base, Outcome: store.OutcomeError},
			"no times":    {Location: "/b", Name: "x", Outcome: store.OutcomeSucceeded},
		} {
			if err := write(func(tx *store.Tx) error { return tx.RecordBackup(ctx, &b) }); err == nil {
				t.Errorf("%s: recorded", name)
			}
		}
		drills := []store.DrillRecord{
			{ID: "strongroom-drill-1", Location: "/backups", Backup: ok.Name, StartedAt: base.Add(2 * time.Hour), Duration: 1500 * time.Millisecond,
				Outcome: store.OutcomeSucceeded, Tables: 30, Rows: 1234, Chains: 3, Events: 99},
			{ID: "strongroom-drill-2", Location: "/backups", Backup: ok.Name, StartedAt: base.Add(3 * time.Hour), Duration: time.Second,
				Outcome: store.OutcomeFailed, Error: "table records: 3 rows, the archive says 4"},
			{ID: "strongroom-drill-3", Location: "/backups", StartedAt: base.Add(4 * time.Hour), Outcome: store.OutcomeError, Error: "no backup to drill"},
		}
		for _, d := range drills {
			if err := write(func(tx *store.Tx) error { return tx.RecordDrill(ctx, &d) }); err != nil {
				t.Fatal(err)
			}
		}
		bad := store.DrillRecord{ID: "strongroom-drill-4", Location: "/backups", StartedAt: base, Outcome: "passed"}
		if err := write(func(tx *store.Tx) error { return tx.RecordDrill(ctx, &bad) }); err == nil {
			t.Error("a drill with an unknown outcome was recorded")
		}

		var backups []store.BackupRecord
		var lastOK, lastAny *store.BackupRecord
		var list []store.DrillRecord
		var drillOK, drillAny *store.DrillRecord
		read := func() {
			t.Helper()
			if err := st.Read(ctx, platform, func(tx *store.Tx) error {
				var err error
				if backups, err = tx.Backups(ctx, 10); err != nil {
					return err
				}
				if lastOK, err = tx.LastBackup(ctx, store.OutcomeSucceeded); err != nil {
					return err
				}
				if lastAny, err = tx.LastBackup(ctx, ""); err != nil {
					return err
				}
				if list, err = tx.Drills(ctx, 10); err != nil {
					return err
				}
				if drillOK, err = tx.LastDrill(ctx, store.OutcomeSucceeded); err != nil {
					return err
				}
				drillAny, err = tx.LastDrill(ctx, "")
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		read()
		if len(backups) != 2 || backups[0].Name != failed.Name || backups[1].Name != ok.Name {
			t.Fatalf("backups %+v", backups)
		}
		if got := backups[1]; got.ArchiveSHA256 != ok.ArchiveSHA256 || got.ManifestSHA256 != ok.ManifestSHA256 || got.Rows != 1234 || got.Tables != 30 ||
			!got.StartedAt.Equal(base) || !got.FinishedAt.Equal(base.Add(time.Minute)) || got.RestoredAt != nil || got.SchemaVersion != 15 {
			t.Errorf("backup read back %+v", got)
		}
		if e := backups[0].Error; len(e) > 2010 || !strings.HasSuffix(e, "…") || !strings.HasPrefix(e, "éé") {
			t.Errorf("a long error is kept clipped on a character boundary: %d bytes", len(e))
		}
		if lastOK == nil || lastOK.Name != ok.Name || lastAny == nil || lastAny.Name != failed.Name {
			t.Errorf("last backup %+v, any %+v", lastOK, lastAny)
		}
		if len(list) != 3 || list[0].ID != "strongroom-drill-3" || drillOK == nil || drillOK.ID != "strongroom-drill-1" ||
			drillOK.Duration != 1500*time.Millisecond || drillOK.Events != 99 || drillAny == nil || drillAny.Outcome != store.OutcomeError {
			t.Errorf("drills %+v, last ok %+v, last %+v", list, drillOK, drillAny)
		}

		// A restore marks the backup it came from; one it has no row about is
		// inserted as a succeeded backup.
		at := base.Add(24 * time.Hour)
		mark := ok
		mark.ArchiveSHA256 = "changed"
		restored := store.BackupRecord{Location: "/elsewhere", Name: "strongroom-backup-0.srbk", StartedAt: base.Add(-time.Hour),
			FinishedAt: base.Add(-time.Hour), Engine: "sqlite", SchemaVersion: 14, Rows: 7, ManifestSHA256: "c"}
		for _, b := range []store.BackupRecord{mark, restored} {
			if err := write(func(tx *store.Tx) error { return tx.RecordRestore(ctx, &b, at) }); err != nil {
				t.Fatal(err)
			}
		}
		read()
		if len(backups) != 3 {
			t.Fatalf("after the restores: %+v", backups)
		}
		for _, b := range backups {
			switch b.Name {
			case ok.Name:
				if b.RestoredAt == nil || !b.RestoredAt.Equal(at) || b.ArchiveSHA256 != ok.ArchiveSHA256 {
					t.Errorf("restored backup %+v", b)
				}
			case restored.Name:
				if b.RestoredAt == nil || b.Outcome != store.OutcomeSucceeded || b.Location != "/elsewhere" || b.Rows != 7 {
					t.Errorf("inserted restored backup %+v", b)
				}
			case failed.Name:
				if b.RestoredAt != nil {
					t.Errorf("failed backup marked restored %+v", b)
				}
			}
		}
	})
}
