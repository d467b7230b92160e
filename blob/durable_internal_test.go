package blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestFileURLFolder(t *testing.T) {
	for _, c := range []struct{ url, dir, prefix string }{
		{"file:///srv/backups", "/srv/backups", ""},
		{"file:///srv/backups?prefix=nightly/&create_dir=1", "/srv/backups", "nightly/"},
		{"file://./backups", "backups", ""},
		{"s3://bucket?region=eu-central-1", "", ""},
		{"file://", "", ""},
	} {
		dir, prefix := FileURLFolder(c.url)
		if dir != filepath.FromSlash(c.dir) || prefix != c.prefix {
			t.Errorf("%s: folder %q prefix %q, want %q %q", c.url, dir, prefix, c.dir, c.prefix)
		}
	}
}

// recordSyncs records the paths synced until the test ends.
func recordSyncs(t *testing.T) *[]string {
	t.Helper()
	var (
		mu     sync.Mutex
		synced []string
	)
	syncPath = func(p string) error {
		mu.Lock()
		synced = append(synced, p)
		mu.Unlock()
		return fsyncPath(p)
	}
	t.Cleanup(func() { syncPath = fsyncPath })
	return &synced
}

// openFolder opens a folder store in a new temporary folder, closed at the
// test's end.
func openFolder(t testing.TB) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func writeObject(ctx context.Context, s *Store, key string, data []byte) error {
	w, err := s.NewWriter(ctx, key)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

// TestWritesSync: a folder store, opened by path or by a file:// URL with a
// prefix, syncs each object it writes and every folder from the object's up
// to its own before Close returns, in that order.
func TestWritesSync(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("folders are not synced on Windows")
	}
	ctx := context.Background()
	for _, c := range []struct{ name, where, prefix string }{
		{"path", "", ""},
		{"file URL", "file://", "pre/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			where := dir
			if c.where != "" {
				where = c.where + filepath.ToSlash(dir) + "?create_dir=1&prefix=" + c.prefix
			}
			s, err := Open(ctx, where)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			synced := recordSyncs(t)
			if err := writeObject(ctx, s, "org/file", []byte("sealed")); err != nil {
				t.Fatal(err)
			}
			obj := filepath.Join(dir, filepath.FromSlash(c.prefix), "org", "file")
			want := []string{obj, filepath.Dir(obj)}
			for d := filepath.Dir(filepath.Dir(obj)); len(d) >= len(dir); d = filepath.Dir(d) {
				want = append(want, d)
			}
			if !slices.Equal(*synced, want) {
				t.Errorf("synced %q, want %q", *synced, want)
			}
			if b, err := os.ReadFile(obj); err != nil || !bytes.Equal(b, []byte("sealed")) {
				t.Errorf("object on disk: %q (%v)", b, err)
			}
		})
	}
}

// TestSyncFailureDeletes: a write that cannot be synced (here, the folder
// the store syncs is gone) fails, and its object is deleted, so that no row
// committed afterwards points at a blob a crash could take away.
func TestSyncFailureDeletes(t *testing.T) {
	ctx := context.Background()
	s, dir := openFolder(t)
	s.dir = filepath.Join(dir, "gone")
	if err := writeObject(ctx, s, "org/file", []byte("sealed")); err == nil || !strings.Contains(err.Error(), "syncing") {
		t.Fatalf("a write that could not sync: %v", err)
	}
	if _, err := s.NewReader(ctx, "org/file"); err != ErrNotFound {
		t.Errorf("the unsynced object: %v, want ErrNotFound", err)
	}
}

// TestSyncerMany: objects written unsynced are made durable by a Syncer:
// every file once, as it is added, then every folder naming one once, up to
// the store's.
func TestSyncerMany(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("folders are not synced on Windows")
	}
	ctx := context.Background()
	s, dir := openFolder(t)
	synced := recordSyncs(t)
	y := s.NewSyncer(ctx)
	keys := []string{"a/1", "a/2", "b/1", "b/c/1", "top"}
	for _, k := range keys {
		w, err := s.NewUnsyncedWriter(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(k)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := y.Add(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := y.Wait(); err != nil {
		t.Fatal(err)
	}
	var files, folders []string
	for _, k := range keys {
		files = append(files, filepath.Join(dir, filepath.FromSlash(k)))
	}
	for _, f := range []string{"a", "", "b", "b/c"} {
		folders = append(folders, filepath.Join(dir, filepath.FromSlash(f)))
	}
	got := *synced
	if len(got) != len(files)+len(folders) {
		t.Fatalf("synced %q", got)
	}
	gotFiles := slices.Clone(got[:len(files)])
	slices.Sort(gotFiles)
	if !slices.Equal(gotFiles, files) {
		t.Errorf("files synced first: %q, want %q", gotFiles, files)
	}
	if !slices.Equal(got[len(files):], folders) {
		t.Errorf("folders synced then: %q, want %q", got[len(files):], folders)
	}

	y = s.NewSyncer(ctx)
	if err := y.Add("../escape"); err == nil {
		t.Error("a bad key added")
	}
	if err := y.Add("gone"); err != nil {
		t.Fatal(err)
	}
	if err := y.Wait(); err == nil || !strings.Contains(err.Error(), "syncing") {
		t.Errorf("syncing an object never written: %v", err)
	}
}

// TestUnsyncedWritesAreNot: NewUnsyncedWriter's Close syncs nothing.
func TestUnsyncedWritesAreNot(t *testing.T) {
	ctx := context.Background()
	s, _ := openFolder(t)
	synced := recordSyncs(t)
	w, err := s.NewUnsyncedWriter(ctx, "org/file")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(*synced) != 0 {
		t.Errorf("an unsynced write synced %q", *synced)
	}
}

// BenchmarkFolderWrite: writing an object to a folder store, synced (what an
// upload pays) against unsynced (what it paid before).
func BenchmarkFolderWrite(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		data := bytes.Repeat([]byte{0xA5}, size)
		for _, synced := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dKiB/synced=%v", size>>10, synced), func(b *testing.B) {
				ctx := context.Background()
				s, _ := openFolder(b)
				b.SetBytes(int64(size))
				i := 0
				for b.Loop() {
					i++
					key := fmt.Sprintf("org/%d", i)
					var w io.WriteCloser
					var err error
					if synced {
						w, err = s.NewWriter(ctx, key)
					} else {
						w, err = s.NewUnsyncedWriter(ctx, key)
					}
					if err != nil {
						b.Fatal(err)
					}
					if _, err := w.Write(data); err != nil {
						b.Fatal(err)
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
