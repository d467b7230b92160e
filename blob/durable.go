package blob

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Durable folders. gocloud's fileblob writes an object to a temporary file
// and renames it into place on Close, without fsync: after a crash the
// renamed file may be empty or absent although the write was reported done.
// A folder store (Store) and a folder backup location (package backup) sync
// each object they write, and the folders that name it, before they report
// it written. Buckets (s3://) make an object durable before they acknowledge
// its upload; nothing to do there.

// FileURLFolder returns the folder of a file:// URL and its key prefix (the
// URL's prefix parameter, which gocloud applies to every key); "" for any
// other URL.
func FileURLFolder(where string) (dir, prefix string) {
	u, err := url.Parse(where)
	if err != nil || u.Scheme != "file" {
		return "", ""
	}
	// As fileblob reads the URL: host "." is a relative path.
	p := u.Path
	if u.Host == "." || os.PathSeparator != '/' {
		p = strings.TrimPrefix(p, "/")
	}
	if p == "" {
		return "", ""
	}
	return filepath.FromSlash(p), u.Query().Get("prefix")
}

// SyncObject syncs the file of the object key (slash-separated, as fileblob
// stores it) in the folder dir, and every folder from the file's up to dir,
// which a write may have created.
func SyncObject(dir, key string) error {
	y := newFolderSyncer(context.Background(), dir)
	y.add(key)
	return y.wait()
}

// syncWorkers is how many files a syncer syncs at once: the device serves
// several flushes together, and a restore's thousands of blobs should not
// wait on each other one by one.
const syncWorkers = 4

// A folderSyncer syncs files of a folder in the background as they are
// added, and then, in wait, every folder from theirs up to the folder, each
// once (after the files: a folder's entry for a file is only worth syncing
// once the file's content is on disk). It is used from one goroutine.
type folderSyncer struct {
	root    string
	g       *errgroup.Group
	ctx     context.Context
	seen    map[string]bool
	folders []string
}

func newFolderSyncer(ctx context.Context, dir string) *folderSyncer {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(syncWorkers)
	return &folderSyncer{root: filepath.Clean(dir), g: g, ctx: gctx, seen: map[string]bool{}}
}

// add starts syncing the file of key (waiting while syncWorkers syncs are
// under way) and notes its folders.
func (y *folderSyncer) add(key string) {
	path := filepath.Join(y.root, filepath.FromSlash(key))
	y.g.Go(func() error {
		if err := y.ctx.Err(); err != nil {
			return err
		}
		if err := syncPath(path); err != nil {
			return fmt.Errorf("syncing %s to disk: %w", key, err)
		}
		return nil
	})
	for d := filepath.Dir(path); !y.seen[d]; d = filepath.Dir(d) {
		y.seen[d] = true
		y.folders = append(y.folders, d)
		if d == y.root || d == filepath.Dir(d) || !strings.HasPrefix(d, y.root) {
			break
		}
	}
}

// wait waits for the files' syncs, then syncs the folders, and returns the
// first error.
func (y *folderSyncer) wait() error {
	if err := y.g.Wait(); err != nil {
		return err
	}
	if runtime.GOOS == "windows" { // a folder cannot be opened for sync there; NTFS journals renames
		return nil
	}
	for _, d := range y.folders {
		if err := syncPath(d); err != nil {
			rel, _ := filepath.Rel(y.root, d)
			return fmt.Errorf("syncing the folder %q of the store to disk: %w", filepath.ToSlash(rel), err)
		}
	}
	return nil
}

// syncPath fsyncs a file or a folder (a variable so that tests can see what
// is synced).
var syncPath = fsyncPath

func fsyncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
