package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestBackupRecordLayoutAndBlobs, on both engines as the application role:
// a backup's layout and blob counts and a drill's verified blobs are kept
// and read back (also through a restore's record); an unknown layout is
// refused and nothing is written.
func TestBackupRecordLayoutAndBlobs(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			ctx := context.Background()
			base := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
			platform := store.TenantScope(strongroom.PlatformTenant)
			write := func(fn func(tx *store.Tx) error) error { return st.Write(ctx, platform, fn) }
			taken := store.BackupRecord{Location: "/backups", Name: "strongroom-backup-1.srbk", StartedAt: base, FinishedAt: base.Add(time.Minute),
				Outcome: store.OutcomeSucceeded, Engine: e.Name, SchemaVersion: 19, Tables: 30, Rows: 1234, PlainBytes: 9000, ArchiveBytes: 4000,
				ArchiveSHA256: strings.Repeat("a", 64), ManifestSHA256: strings.Repeat("b", 64),
				Layout: "sqlite-file", Blobs: 7, BlobBytes: 1 << 33, BlobsMissing: 2}
			restored := store.BackupRecord{Location: "/elsewhere", Name: "strongroom-backup-0.srbk", StartedAt: base.Add(-time.Hour),
				FinishedAt: base.Add(-time.Hour), Engine: e.Name, SchemaVersion: 19, Tables: 30, Rows: 10, ManifestSHA256: strings.Repeat("c", 64),
				Layout: "logical", Blobs: 3, BlobBytes: 300, BlobsMissing: 1}
			drill := store.DrillRecord{ID: "strongroom-drill-1", Location: "/backups", Backup: taken.Name, StartedAt: base.Add(time.Hour),
				Duration: time.Second, Outcome: store.OutcomeSucceeded, Tables: 30, Rows: 1234, Chains: 2, Events: 40,
				Blobs: 5, BlobBytes: 5000, BlobsMissing: 2}
			restoredAt := base.Add(2 * time.Hour)
			if err := write(func(tx *store.Tx) error {
				if err := tx.RecordBackup(ctx, &taken); err != nil {
					return err
				}
				if err := tx.RecordRestore(ctx, &restored, restoredAt); err != nil {
					return err
				}
				return tx.RecordDrill(ctx, &drill)
			}); err != nil {
				t.Fatal(err)
			}
			bad := taken
			bad.Name, bad.Layout = "strongroom-backup-2.srbk", "tarball"
			if err := write(func(tx *store.Tx) error { return tx.RecordBackup(ctx, &bad) }); err == nil {
				t.Error("a backup with an unknown layout was recorded")
			}
			if err := write(func(tx *store.Tx) error { return tx.RecordRestore(ctx, &bad, restoredAt) }); err == nil {
				t.Error("a restore of an unknown layout was recorded")
			}
			var backups []store.BackupRecord
			var drills []store.DrillRecord
			if err := st.Read(ctx, platform, func(tx *store.Tx) error {
				var err error
				if backups, err = tx.Backups(ctx, 10); err != nil {
					return err
				}
				drills, err = tx.Drills(ctx, 10)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			restored.Outcome, restored.RestoredAt = store.OutcomeSucceeded, &restoredAt
			if d := cmp.Diff([]store.BackupRecord{taken, restored}, backups); d != "" {
				t.Errorf("backups (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]store.DrillRecord{drill}, drills); d != "" {
				t.Errorf("drills (-want +got):\n%s", d)
			}
		})
	}
}

// TestBackupLayoutMigration: migration 0019 adds the layout and blob columns
// to backups and backup_drills on SQLite, keeping the rows recorded before
// it, which read back with no layout and zero blobs.
func TestBackupLayoutMigration(t *testing.T) {
	ctx := context.Background()
	var version int
	ms, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "0019_backup_layout_blobs.sql" {
			version = m.Version
		}
	}
	if version == 0 {
		t.Fatal("no migration 0019_backup_layout_blobs.sql")
	}
	path := filepath.Join(t.TempDir(), "strongroom.db")
	st := openSQLite(t, path)
	if _, err := st.MigrateTo(ctx, version-1); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	started := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	if _, err := raw.ExecContext(ctx, `INSERT INTO backups (location, name, started_at, finished_at, outcome, engine, schema_version, row_count)
		VALUES ('/backups', 'strongroom-backup-old.srbk', $1, $1, 'succeeded', 'sqlite', 18, 42)`, started.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO backup_drills (id, location, backup, started_at, duration_us, outcome, row_count)
		VALUES ('strongroom-drill-old', '/backups', 'strongroom-backup-old.srbk', $1, 1000, 'succeeded', 42)`, started.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		t.Fatalf("migrating: %v", err)
	}
	if len(applied) == 0 || applied[0] != version {
		t.Fatalf("applied %v, want %d first", applied, version)
	}
	platform := store.TenantScope(strongroom.PlatformTenant)
	var b *store.BackupRecord
	var d *store.DrillRecord
	if err := st.Read(ctx, platform, func(tx *store.Tx) error {
		var err error
		if b, err = tx.LastBackup(ctx, ""); err != nil {
			return err
		}
		d, err = tx.LastDrill(ctx, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b == nil || b.Name != "strongroom-backup-old.srbk" || b.Rows != 42 || b.Layout != "" || b.Blobs != 0 || b.BlobBytes != 0 || b.BlobsMissing != 0 {
		t.Errorf("the backup recorded before the migration: %+v", b)
	}
	if d == nil || d.ID != "strongroom-drill-old" || d.Rows != 42 || d.Blobs != 0 || d.BlobBytes != 0 || d.BlobsMissing != 0 {
		t.Errorf("the drill recorded before the migration: %+v", d)
	}
	// The new column's check holds for rows written by hand too.
	if _, err := raw.ExecContext(ctx, `UPDATE backups SET layout = 'tarball'`); err == nil {
		t.Error("an unknown layout was stored")
	}
}
