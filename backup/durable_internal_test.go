package backup

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom/store"
)

// durableStore is an empty embedded store to back up.
func durableStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "strongroom.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// putFixture puts data and keyring backups of an empty store.
type putFixture struct {
	ctx context.Context
	st  *store.Store
	rcp []age.Recipient
	now time.Time
}

func newPutFixture(t *testing.T) *putFixture {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return &putFixture{ctx: context.Background(), st: durableStore(t), rcp: []age.Recipient{id.Recipient()},
		now: time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)}
}

// open opens a data or keyring location, closed at the test's end.
func (f *putFixture) open(t *testing.T, keyring bool, where string) *Location {
	t.Helper()
	open := OpenLocation
	if keyring {
		open = OpenKeyringLocation
	}
	loc, err := open(f.ctx, where)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { loc.Close() })
	return loc
}

// put takes a data or a keyring backup into loc.
func (f *putFixture) put(loc *Location, keyring bool) (*Index, error) {
	if keyring {
		return loc.PutKeyring(f.ctx, f.st, f.rcp, f.now)
	}
	return loc.Put(f.ctx, f.st, nil, f.rcp, f.now)
}

// TestPutSyncs: Put and PutKeyring into a file:// URL with a key prefix sync
// the objects where fileblob put them (a wrong path would fail the put), and
// the archives and indexes are complete on disk when they return.
func TestPutSyncs(t *testing.T) {
	f := newPutFixture(t)
	for _, keyring := range []bool{false, true} {
		dir := t.TempDir()
		loc := f.open(t, keyring, "file://"+filepath.ToSlash(dir)+"?prefix=nightly/&create_dir=1")
		if loc.dir != dir || loc.prefix != "nightly/" {
			t.Fatalf("folder %q prefix %q", loc.dir, loc.prefix)
		}
		idx, err := f.put(loc, keyring)
		if err != nil {
			t.Fatalf("keyring %v: %v", keyring, err)
		}
		archive, err := os.ReadFile(filepath.Join(dir, "nightly", idx.Name))
		if err != nil || int64(len(archive)) != idx.ArchiveBytes || idx.ArchiveBytes == 0 {
			t.Errorf("keyring %v: archive of %d bytes (%v), index says %d", keyring, len(archive), err, idx.ArchiveBytes)
		}
		b, err := os.ReadFile(filepath.Join(dir, "nightly", idx.Name+".json"))
		var got Index
		if err != nil || json.Unmarshal(b, &got) != nil || got.Name != idx.Name || got.ArchiveSHA256 != idx.ArchiveSHA256 {
			t.Errorf("keyring %v: index on disk %q (%v)", keyring, b, err)
		}
	}
}

// TestPutSyncFailure: when what was written cannot be synced (here, the
// folder the location syncs is gone), Put and PutKeyring fail and delete the
// archive, so that no listing, schedule or drill takes it for a backup.
func TestPutSyncFailure(t *testing.T) {
	f := newPutFixture(t)
	for _, keyring := range []bool{false, true} {
		dir := t.TempDir()
		loc := f.open(t, keyring, dir)
		if loc.dir != dir {
			t.Fatalf("folder %q, want %q", loc.dir, dir)
		}
		loc.dir = filepath.Join(dir, "gone")
		if _, err := f.put(loc, keyring); err == nil || !strings.Contains(err.Error(), "syncing") {
			t.Errorf("keyring %v: a put that could not sync: %v", keyring, err)
		}
		if list, err := loc.List(f.ctx); err != nil || len(list) != 0 {
			t.Errorf("keyring %v: %d backups listed after a failed sync (%v)", keyring, len(list), err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 0 {
			t.Errorf("keyring %v: left in the folder: %v (%v)", keyring, entries, err)
		}
	}
}

// TestPutFilesOwnerOnly: in a folder others may list (mode 0755, as an
// operator might have made it), the archives and indexes of data and keyring
// backups are readable by their owner only.
func TestPutFilesOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes on Windows")
	}
	f := newPutFixture(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, keyring := range []bool{false, true} {
		idx, err := f.put(f.open(t, keyring, dir), keyring)
		if err != nil {
			t.Fatalf("keyring %v: %v", keyring, err)
		}
		for _, name := range []string{idx.Name, idx.Name + ".json"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s: mode %v, want -rw-------", name, m)
			}
		}
	}
}
