package backup_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestBackupNow: an operator's backup runs in the background under the
// backup lease, records its run (phase, rows, outcome, archive) and the
// backup.start event naming the operator; while a backup runs (on any
// replica) another is refused and a due scheduled backup is skipped; a
// replica without the lease refuses; a closed scheduler refuses.
func TestBackupNow(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			src, loc := newSource(t, engine), testkit.OpenBackupLocation(t)
			var mu sync.Mutex
			now := created
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			cfg := backup.SchedulerConfig{Location: loc, Now: clock}
			a, b := newScheduler(t, src, "replica-a", cfg), newScheduler(t, src, "replica-b", cfg)
			defer a.Close()
			const operator = strongroom.UserID("0194c2f0-0000-7000-8000-0000000000aa")
			octx := strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: operator, Operator: true, RequestID: "req-1"})
			platform := store.TenantScope(strongroom.PlatformTenant)
			lastRun := func() *store.BackupRun {
				t.Helper()
				var r *store.BackupRun
				if err := src.st.Read(ctx, platform, func(tx *store.Tx) (err error) { r, err = tx.LastBackupRun(ctx); return err }); err != nil {
					t.Fatal(err)
				}
				return r
			}

			run, err := a.StartBackup(octx, operator)
			if err != nil {
				t.Fatal(err)
			}
			if run.Trigger != store.BackupByOperator || run.StartedBy != operator || run.Location != loc.String() {
				t.Errorf("run %+v", run)
			}
			testkit.WaitFor(t, time.Minute, func() bool { return !lastRun().Running() })
			got := lastRun()
			latest, err := loc.Latest(ctx)
			if err != nil || latest == nil {
				t.Fatalf("no backup in the location: %v", err)
			}
			if got.ID != run.ID || got.Outcome != store.OutcomeSucceeded || got.Name != latest.Name || got.Name != backup.ArchiveName(created) ||
				got.RowsDone != latest.Rows || got.RowsDone == 0 || got.BytesDone != latest.PlainBytes || got.Error != "" {
				t.Errorf("finished run %+v, backup %+v", got, latest)
			}
			var events []strongroom.AuditEvent
			if err := src.st.Read(ctx, platform, func(tx *store.Tx) (err error) { events, err = tx.AuditEvents(ctx, 0, 1000); return err }); err != nil {
				t.Fatal(err)
			}
			var started, created bool
			for _, e := range events {
				switch e.Action {
				case "backup.start":
					started = e.ActorID == string(operator) && e.TargetID == latest.Name && strings.Contains(string(e.Metadata), run.ID)
				case "backup.create":
					created = created || e.TargetID == latest.Name
				}
			}
			if !started || !created {
				t.Errorf("audit: backup.start by the operator %v, backup.create %v", started, created)
			}

			// A backup running elsewhere: refused, and the due schedule skips.
			mu.Lock()
			now = now.Add(48 * time.Hour)
			mu.Unlock()
			other := &store.BackupRun{ID: "run-elsewhere", Trigger: store.BackupBySchedule, Location: loc.String(), StartedAt: clock().Add(-time.Minute), Phase: "starting"}
			if err := src.st.Write(ctx, platform, func(tx *store.Tx) error { return tx.StartBackupRun(ctx, other, clock().Add(-time.Minute)) }); err != nil {
				t.Fatal(err)
			}
			if _, err := a.StartBackup(octx, operator); strongroom.ErrorCode(err) != strongroom.ECONFLICT || !strings.Contains(err.Error(), "already running") {
				t.Errorf("a second backup: %v", err)
			}
			res, err := a.Tick(ctx)
			if err != nil || res.Backup != nil {
				t.Errorf("a due scheduled backup while one runs: %+v %v", res, err)
			}
			if list, _ := loc.List(ctx); len(list) != 1 {
				t.Errorf("%d backups in the location, want 1", len(list))
			}
			if err := src.st.Write(ctx, platform, func(tx *store.Tx) error {
				return tx.FinishBackupRun(ctx, other.ID, store.OutcomeFailed, "", "test", 0, 0, clock())
			}); err != nil {
				t.Fatal(err)
			}
			// Now the schedule's backup runs, and is a run too.
			if res, err = a.Tick(ctx); err != nil || res.Backup == nil {
				t.Fatalf("the scheduled backup: %+v %v", res, err)
			}
			if r := lastRun(); r.Trigger != store.BackupBySchedule || r.Outcome != store.OutcomeSucceeded || r.StartedBy != "" || r.Name != res.Backup.Name {
				t.Errorf("scheduled run %+v", r)
			}
			// Another replica, without the lease.
			if _, err := b.StartBackup(octx, operator); strongroom.ErrorCode(err) != strongroom.ECONFLICT || !strings.Contains(err.Error(), "lease") {
				t.Errorf("a replica without the lease: %v", err)
			}
			a.Close()
			if _, err := a.StartBackup(octx, operator); strongroom.ErrorCode(err) != strongroom.EUNAVAILABLE {
				t.Errorf("after Close: %v", err)
			}
		})
	}
}

// TestProgress: Write reports each table as it starts, and rows and bytes
// that only grow, up to the archive's; then the blob section.
func TestProgress(t *testing.T) {
	src := newSource(t, "sqlite")
	var reports []backup.Progress
	ctx := backup.WithProgress(context.Background(), func(p backup.Progress) { reports = append(reports, p) })
	var sink strings.Builder
	m, err := backup.WriteLayout(ctx, src.st, nil, &sink, []age.Recipient{src.id.Recipient()}, created, backup.LayoutLogical)
	if err != nil {
		t.Fatal(err)
	}
	if last := reports[len(reports)-1]; last.Phase != "file blobs" {
		t.Errorf("last report %+v, want the blob section's", last)
	}
	reports = reports[:len(reports)-1]
	if len(reports) < len(m.Tables) {
		t.Fatalf("%d reports for %d tables", len(reports), len(m.Tables))
	}
	var prev backup.Progress
	tables := 0
	for _, p := range reports {
		if p.Rows < prev.Rows || p.Bytes < prev.Bytes || p.Rows > m.Rows() || p.Bytes > m.PlainBytes {
			t.Errorf("report %+v after %+v (archive: %d rows)", p, prev, m.Rows())
		}
		if p.Phase != prev.Phase {
			if p.Phase != "table "+m.Tables[tables].Name {
				t.Errorf("phase %q, want table %s", p.Phase, m.Tables[tables].Name)
			}
			tables++
		}
		prev = p
	}
	if tables != len(m.Tables) {
		t.Errorf("%d table phases, want %d", tables, len(m.Tables))
	}
}

// TestProgressFileLayout: a sqlite-file backup reports the database file's
// bytes against its size, which only grow up to the file's, then all rows
// and the blob section.
func TestProgressFileLayout(t *testing.T) {
	src := newSource(t, "sqlite")
	var reports []backup.Progress
	ctx := backup.WithProgress(context.Background(), func(p backup.Progress) { reports = append(reports, p) })
	var sink strings.Builder
	m, err := backup.WriteLayout(ctx, src.st, nil, &sink, []age.Recipient{src.id.Recipient()}, created, backup.LayoutSQLiteFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) < 3 {
		t.Fatalf("reports %+v", reports)
	}
	var prev backup.Progress
	for _, p := range reports[:len(reports)-1] {
		if p.Phase != "database file" || p.BytesTotal != m.File.Bytes || p.Bytes < prev.Bytes || p.Bytes > p.BytesTotal || p.Rows != 0 {
			t.Errorf("report %+v after %+v (file: %d bytes)", p, prev, m.File.Bytes)
		}
		prev = p
	}
	if prev.Bytes != m.File.Bytes {
		t.Errorf("the file's last report says %d bytes, the file has %d", prev.Bytes, m.File.Bytes)
	}
	if last := reports[len(reports)-1]; last.Phase != "file blobs" || last.Rows != m.Rows() || last.BytesTotal != 0 {
		t.Errorf("last report %+v, want the blob section's with all %d rows", last, m.Rows())
	}
}
