package backup_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
)

// TestRetention: Prune deletes exactly the backups (archive and index) older
// than the retention, keeps the newer ones, and never the newest.
func TestRetention(t *testing.T) {
	st := openStore(t, "sqlite")
	dir := t.TempDir()
	ctx := context.Background()
	loc, err := backup.OpenLocation(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	id := newIdentity(t)
	now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	var names []string
	for _, age_ := range []int{45, 31, 30, 29, 1, 0} { // days before now
		idx, err := loc.Put(ctx, st, nil, []age.Recipient{id.Recipient()}, now.Add(-time.Duration(age_)*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, idx.Name)
	}
	// Something else in the folder is left alone.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	deleted, err := loc.Prune(ctx, 30*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := names[:2]; !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	list, err := loc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, idx := range list {
		left = append(left, idx.Name)
		if idx.Engine != "sqlite" || idx.ArchiveSHA256 == "" || idx.SchemaVersion == 0 {
			t.Errorf("index %+v", idx)
		}
	}
	if want := names[2:]; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 2*4+1 {
		var fs []string
		for _, f := range files {
			fs = append(fs, f.Name())
		}
		t.Errorf("files left: %v", fs)
	}
	// The newest is kept even when everything is old.
	deleted, err = loc.Prune(ctx, time.Hour, now.Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 3 {
		t.Errorf("deleted %v, want the three older ones", deleted)
	}
	if l, _ := loc.Latest(ctx); l == nil || l.Name != names[5] {
		t.Errorf("latest = %+v, want %s", l, names[5])
	}
	if _, err := loc.Open(ctx, "../etc/passwd"); err == nil {
		t.Error("opened a name that is not a backup's")
	}
}

// TestS3RoundTrip: a backup put into an S3-compatible bucket (in-process
// server) lists, restores intact, and is pruned there.
func TestS3RoundTrip(t *testing.T) {
	s3 := testkit.NewS3Server(t)
	url := s3.Bucket(t, "backups")
	src := newSource(t, "sqlite")
	ctx := context.Background()
	loc, err := backup.OpenLocation(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	old, err := loc.Put(ctx, src.st, nil, []age.Recipient{src.id.Recipient()}, created.Add(-40*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := loc.Put(ctx, src.st, nil, []age.Recipient{src.id.Recipient()}, created)
	if err != nil {
		t.Fatal(err)
	}
	keys := s3.Objects(t, "backups")
	if len(keys) != 4 || !slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, ".srbk.json") }) {
		t.Fatalf("objects in the bucket: %v", keys)
	}
	r, err := loc.Open(ctx, idx.Name)
	if err != nil {
		t.Fatal(err)
	}
	dst := openStore(t, "postgres")
	m, err := backup.Restore(ctx, dst, nil, r, []age.Identity{src.id})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := backup.SameData(src.manifest, m); err != nil {
		t.Fatal(err)
	}
	if m.Rows() != idx.Rows {
		t.Errorf("index says %d rows, archive %d", idx.Rows, m.Rows())
	}
	deleted, err := loc.Prune(ctx, 30*24*time.Hour, created)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deleted, []string{old.Name}) {
		t.Errorf("pruned %v, want %s", deleted, old.Name)
	}
	if keys := s3.Objects(t, "backups"); len(keys) != 2 {
		t.Errorf("objects after pruning: %v", keys)
	}
	rc, err := loc.Open(ctx, idx.Name)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, rc)
	rc.Close()
	if n != idx.ArchiveBytes {
		t.Errorf("archive is %d bytes, index says %d", n, idx.ArchiveBytes)
	}
}
