package web

import (
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// TestBackupRunViewProgress: a running backup's bar follows the bytes of a
// database file when the backup knows its size, else the rows against the
// estimate; a finished one is full.
func TestBackupRunViewProgress(t *testing.T) {
	now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	run := func(r store.BackupRun) *backupRunView {
		r.ID, r.StartedAt, r.UpdatedAt = "run-1", now.Add(-time.Minute), now
		return toBackupRunView(&service.BackupRunStatus{Run: &r}, now)
	}
	file := run(store.BackupRun{Phase: "database file", BytesDone: 256 << 20, BytesTotal: 1 << 30, RowsTotal: 9000})
	if file.Progress != 256<<20 || file.Max != 1<<30 || !strings.Contains(file.Detail, "of 1.0 GiB") {
		t.Errorf("file layout: %+v", file)
	}
	rows := run(store.BackupRun{Phase: "table records", RowsDone: 300, RowsTotal: 900, BytesDone: 4096})
	if rows.Progress != 300 || rows.Max != 900 || !strings.Contains(rows.Detail, "300 of about 900 rows") {
		t.Errorf("rows: %+v", rows)
	}
	fin := now
	done := run(store.BackupRun{Phase: "finished", RowsDone: 900, BytesDone: 1 << 30, BytesTotal: 1 << 30, FinishedAt: &fin, Outcome: store.OutcomeSucceeded})
	if done.Progress != done.Max || done.Label != "Taken" {
		t.Errorf("finished: %+v", done)
	}
}
