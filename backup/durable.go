package backup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"gocloud.dev/gcerrors"
)

// Durable folder backups. gocloud's fileblob writes an object to a temporary
// file and renames it into place on Close, without fsync: after a crash the
// renamed file may be empty or absent although Put reported the backup taken,
// and retention may already have deleted the older backups. So Put (and
// PutKeyring) sync each object they write to a folder, and then the folder
// that names it. Buckets (s3://) make an object durable before they
// acknowledge its upload; nothing to do there.

// fileURLFolder returns the folder of a file:// location URL and its key
// prefix (the URL's prefix parameter, which gocloud applies to every key);
// "" for any other URL.
func fileURLFolder(where string) (dir, prefix string) {
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

// syncArchive syncs an archive just written (syncObject); one that cannot
// be synced is deleted, so that no listing, schedule or restore takes it for
// a backup.
func (l *Location) syncArchive(ctx context.Context, name string) error {
	err := l.syncObject(name)
	if err == nil {
		return nil
	}
	if derr := l.bucket.Delete(context.WithoutCancel(ctx), name); derr != nil && gcerrors.Code(derr) != gcerrors.NotFound {
		err = errors.Join(err, fmt.Errorf("deleting the unsynced %s: %w", name, derr))
	}
	return err
}

// syncObject syncs an object just written to a folder location, and the
// folder holding it; nothing for a bucket.
func (l *Location) syncObject(key string) error {
	if l.dir == "" {
		return nil
	}
	path := filepath.Join(l.dir, filepath.FromSlash(l.prefix+key))
	if err := syncPath(path); err != nil {
		return fmt.Errorf("syncing %s to disk: %w", key, err)
	}
	if runtime.GOOS == "windows" { // a folder cannot be opened for sync there; NTFS journals renames
		return nil
	}
	if err := syncPath(filepath.Dir(path)); err != nil {
		return fmt.Errorf("syncing the folder of %s to disk: %w", key, err)
	}
	return nil
}

// syncPath fsyncs a file or a folder.
func syncPath(path string) error {
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
