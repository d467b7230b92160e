package backup_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestLayoutAndBlobsRecorded: each layout a store can write is named in the
// index beside the archive (and in List), and recorded with the blob counts
// in the backups table; a drill of it records the blobs it verified; a
// restore records the restored backup's layout and blobs. A PostgreSQL store
// refuses the sqlite-file layout and records the failure.
func TestLayoutAndBlobsRecorded(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			f := newFileFixture(t, engine, folderBlobs(t))
			platform := store.TenantScope(strongroom.PlatformTenant)
			layouts := map[backup.Layout]backup.Layout{backup.LayoutAuto: backup.LayoutLogical, backup.LayoutLogical: backup.LayoutLogical}
			if engine == "sqlite" {
				layouts[backup.LayoutAuto], layouts[backup.LayoutSQLiteFile] = backup.LayoutSQLiteFile, backup.LayoutSQLiteFile
			}
			for i, asked := range []backup.Layout{backup.LayoutAuto, backup.LayoutLogical, backup.LayoutSQLiteFile} {
				want, ok := layouts[asked]
				dir := t.TempDir()
				loc, err := backup.OpenLocation(ctx, dir)
				if err != nil {
					t.Fatal(err)
				}
				defer loc.Close()
				loc.Layout = asked
				when := created.Add(time.Duration(i) * time.Hour)
				idx, err := loc.Put(ctx, f.st, f.blobs, []age.Recipient{f.id.Recipient()}, when)
				if !ok {
					if err == nil {
						t.Fatalf("%q: a %s store wrote it", asked, engine)
					}
					if rerr := backup.RecordBackup(ctx, f.st, loc, when, when, nil, err); rerr != nil {
						t.Fatal(rerr)
					}
					var last *store.BackupRecord
					if err := f.st.Read(ctx, platform, func(tx *store.Tx) (err error) { last, err = tx.LastBackup(ctx, ""); return err }); err != nil {
						t.Fatal(err)
					}
					if last.Outcome != store.OutcomeFailed || last.Layout != "" || last.Blobs != 0 {
						t.Errorf("%q: the failed attempt recorded as %+v", asked, last)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%q: %v", asked, err)
				}
				if idx.Layout != want || idx.Blobs != 8 || idx.BlobBytes == 0 || idx.BlobsMissing != 0 {
					t.Errorf("%q: index layout %q, %d blobs (%d bytes), %d missing", asked, idx.Layout, idx.Blobs, idx.BlobBytes, idx.BlobsMissing)
				}
				b, err := os.ReadFile(filepath.Join(dir, idx.Name+".json"))
				if err != nil {
					t.Fatal(err)
				}
				var onDisk map[string]any
				if err := json.Unmarshal(b, &onDisk); err != nil || onDisk["layout"] != string(want) {
					t.Errorf("%q: the index file says layout %v (%v)", asked, onDisk["layout"], err)
				}
				if list, err := loc.List(ctx); err != nil || len(list) != 1 || list[0].Layout != want {
					t.Errorf("%q: listed %+v (%v)", asked, list, err)
				}
				if err := backup.RecordBackup(ctx, f.st, loc, when, when.Add(time.Minute), idx, nil); err != nil {
					t.Fatal(err)
				}
				var rec *store.BackupRecord
				if err := f.st.Read(ctx, platform, func(tx *store.Tx) (err error) { rec, err = tx.LastBackup(ctx, store.OutcomeSucceeded); return err }); err != nil {
					t.Fatal(err)
				}
				if rec.Name != idx.Name || rec.Layout != string(want) || rec.Blobs != idx.Blobs || rec.BlobBytes != idx.BlobBytes || rec.BlobsMissing != 0 {
					t.Errorf("%q: recorded %+v, index %+v", asked, rec, idx)
				}
				res, err := backup.RunDrill(ctx, f.st, backup.DrillConfig{Location: loc, Identities: []age.Identity{f.id}, PublicKey: signingKey(t, f.keys),
					ScratchDir: t.TempDir(), Now: func() time.Time { return when.Add(2 * time.Minute) }})
				if err != nil || !res.OK {
					t.Fatalf("%q: drill %+v %v", asked, res, err)
				}
				var drill *store.DrillRecord
				if err := f.st.Read(ctx, platform, func(tx *store.Tx) (err error) { drill, err = tx.LastDrill(ctx, ""); return err }); err != nil {
					t.Fatal(err)
				}
				if drill.Backup != idx.Name || drill.Blobs != idx.Blobs || drill.BlobBytes != idx.BlobBytes || drill.BlobsMissing != 0 {
					t.Errorf("%q: drill recorded %+v, index %+v", asked, drill, idx)
				}
				// The restore of it records it, with its layout and blobs.
				dst := openStore(t, engine)
				r, err := loc.Open(ctx, idx.Name)
				if err != nil {
					t.Fatal(err)
				}
				m, err := backup.Restore(ctx, dst, folderBlobs(t), r, []age.Identity{f.id})
				r.Close()
				if err != nil {
					t.Fatal(err)
				}
				if err := backup.RecordRestore(ctx, dst, loc.String(), idx.Name, m, idx, when.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				var restored *store.BackupRecord
				if err := dst.Read(ctx, platform, func(tx *store.Tx) (err error) { restored, err = tx.LastBackup(ctx, ""); return err }); err != nil {
					t.Fatal(err)
				}
				if restored.Name != idx.Name || restored.RestoredAt == nil || restored.Layout != string(want) || restored.Blobs != idx.Blobs ||
					restored.BlobBytes != idx.BlobBytes {
					t.Errorf("%q: restore recorded %+v, index %+v", asked, restored, idx)
				}
			}
		})
	}
}

// TestScheduleLayout: the location's layout is the one of both the
// scheduled backups and an operator's "Back up now", and is recorded.
func TestScheduleLayout(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, "sqlite")
	loc, err := backup.OpenLocation(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	loc.Layout = backup.LayoutLogical // the SQLite store's default is its file
	now := created
	s, err := backup.NewScheduler(backup.SchedulerConfig{Store: src.st, Source: src.st, Location: loc, Recipients: []age.Recipient{src.id.Recipient()},
		Every: time.Hour, Holder: "replica-a", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Tick(ctx)
	if err != nil || res.Backup == nil {
		t.Fatalf("tick: %+v %v", res, err)
	}
	if res.Backup.Layout != backup.LayoutLogical {
		t.Errorf("scheduled backup: layout %q", res.Backup.Layout)
	}
	now = now.Add(time.Minute)
	const operator = strongroom.UserID("0194c2f0-0000-7000-8000-0000000000aa")
	octx := strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: operator, Operator: true, RequestID: "req-1"})
	run, err := s.StartBackup(octx, operator)
	if err != nil {
		t.Fatal(err)
	}
	platform := store.TenantScope(strongroom.PlatformTenant)
	var last *store.BackupRun
	testkit.WaitFor(t, time.Minute, func() bool {
		if err := src.st.Read(ctx, platform, func(tx *store.Tx) (err error) { last, err = tx.LastBackupRun(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		return last.ID == run.ID && !last.Running()
	})
	if last.Outcome != store.OutcomeSucceeded {
		t.Fatalf("Back up now: %+v", last)
	}
	list, err := loc.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("%d backups (%v), want 2", len(list), err)
	}
	var recs []store.BackupRecord
	if err := src.st.Read(ctx, platform, func(tx *store.Tx) (err error) { recs, err = tx.Backups(ctx, 10); return err }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d backups recorded, want 2", len(recs))
	}
	for i, idx := range list {
		if idx.Layout != backup.LayoutLogical {
			t.Errorf("%s: layout %q", idx.Name, idx.Layout)
		}
		if rec := recs[len(recs)-1-i]; rec.Name != idx.Name || rec.Layout != string(backup.LayoutLogical) {
			t.Errorf("recorded %+v for %s", rec, idx.Name)
		}
	}
}
