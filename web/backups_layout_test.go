package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestBackupsPageLayoutAndBlobs: the backups page shows each backup's
// layout and file blobs (with the files missing a blob) and what each drill
// verified of the blobs.
func TestBackupsPageLayoutAndBlobs(t *testing.T) {
	ctx := context.Background()
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	when := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	taken := store.BackupRecord{Location: "/backups", Name: "strongroom-backup-layout.srbk", StartedAt: when, FinishedAt: when.Add(time.Minute),
		Outcome: store.OutcomeSucceeded, Engine: "sqlite", SchemaVersion: 19, Tables: 40, Rows: 12, ArchiveSHA256: strings.Repeat("a", 64),
		Layout: "sqlite-file", Blobs: 31, BlobBytes: 3 << 20, BlobsMissing: 2}
	drill := store.DrillRecord{ID: "strongroom-drill-layout", Location: "/backups", Backup: taken.Name, StartedAt: when.Add(time.Hour),
		Duration: time.Second, Outcome: store.OutcomeSucceeded, Tables: 40, Rows: 12, Chains: 1, Events: 5, Blobs: 29, BlobBytes: 2 << 20, BlobsMissing: 2}
	if err := srv.Store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.RecordBackup(ctx, &taken); err != nil {
			return err
		}
		return tx.RecordDrill(ctx, &drill)
	}); err != nil {
		t.Fatal(err)
	}
	op := operatorSession(t, srv, "op-layout@example.com")
	r := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: "/operator/backups", Header: map[string]string{"Cookie": cookieOf(op)}}), http.StatusOK)
	page := string(r.Body)
	for _, want := range []string{
		`<td data-label="Layout">sqlite-file</td>`,
		`<td data-label="File blobs">31 (3.0 MiB) <span class="badge warn">2 missing</span></td>`,
		`5 events), 29 file blobs (2.0 MiB), 2 files without a blob</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the backups page lacks %s", want)
		}
	}
}
