package backup

import (
	"context"
	"errors"
	"fmt"
	"os"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	sblob "strongroom.dev/strongroom/blob"
)

// Durable folder backups: gocloud's fileblob syncs nothing (see package
// blob), so after a crash a renamed archive may be empty or absent although
// Put reported the backup taken, and retention may already have deleted the
// older backups. So Put (and PutKeyring) sync each object they write to a
// folder, and the folders that name it (blob.SyncObject).

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
// folders naming it; nothing for a bucket.
func (l *Location) syncObject(key string) error {
	if l.dir == "" {
		return nil
	}
	return sblob.SyncObject(l.dir, l.prefix+key)
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
