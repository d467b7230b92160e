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

	"gocloud.dev/blob"
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

// writerOptions are the options of every object a location writes: a folder
// location's files are readable by their owner only (fileblob creates them
// 0666 less the umask, and an operator may point a backup at a folder others
// can list: the archives are encrypted, but an index tells tables and row
// counts). A bucket's objects are governed by the bucket's policy.
func writerOptions(contentType string) *blob.WriterOptions {
	return &blob.WriterOptions{ContentType: contentType, BeforeWrite: ownerOnly}
}

// ownerOnly makes the file behind a fileblob writer mode 0600 before anything
// is written to it; for other drivers it does nothing.
func ownerOnly(as func(any) bool) error {
	var f *os.File
	if !as(&f) || f == nil {
		return nil
	}
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("making the backup file private: %w", err)
	}
	return nil
}
