// Package blob stores opaque objects (the sealed content of files) in a local
// folder or an S3-compatible bucket, through gocloud.dev/blob. It knows
// nothing of encryption: callers hand it ciphertext (docs/files.md).
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob" // s3:// stores
	"gocloud.dev/gcerrors"
)

// ErrNotFound is returned when an object does not exist.
var ErrNotFound = errors.New("blob: object not found")

// Store is a folder or a bucket of objects.
type Store struct {
	bucket *gcblob.Bucket
	kind   string
	// dir is the folder of a folder store (a path or a file:// URL), whose
	// objects are synced to disk as they are written, and prefix the key
	// prefix a file:// URL gives; dir is "" for a bucket.
	dir, prefix string
}

// Open opens a folder (a path, created 0700 if missing; objects are written
// 0600 through a temporary file and a rename, and synced to disk) or a bucket
// URL (s3://bucket?region=…&endpoint=…, file:///path).
func Open(ctx context.Context, where string) (*Store, error) {
	if where == "" {
		return nil, errors.New("blob: no store (a folder or an s3:// or file:// URL)")
	}
	if strings.Contains(where, "://") {
		b, err := gcblob.OpenBucket(ctx, where)
		if err != nil {
			return nil, fmt.Errorf("opening blob store: %w", err)
		}
		kind, _, _ := strings.Cut(where, "://")
		dir, prefix := FileURLFolder(where)
		return &Store{bucket: b, kind: kind, dir: dir, prefix: prefix}, nil
	}
	dir, err := filepath.Abs(where)
	if err != nil {
		return nil, fmt.Errorf("opening blob folder: %w", err)
	}
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, DirFileMode: 0o700, NoTempDir: true,
		Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, fmt.Errorf("opening blob folder: %w", err)
	}
	return &Store{bucket: b, kind: "folder", dir: dir}, nil
}

// Kind names the kind of store: "folder", "s3", "file" (a file:// URL) or
// another URL scheme gocloud.dev knows.
func (s *Store) Kind() string { return s.kind }

// Close closes the store.
func (s *Store) Close() error { return s.bucket.Close() }

// NewWriter returns a writer of a new object named key. The object appears
// only when Close returns nil, and is then durable: a folder's file and the
// folders naming it are synced to disk (a bucket acknowledges an upload once
// it has stored it), so a database row committed after Close cannot outlive
// its blob in a crash. Cancelling ctx before Close abandons the object (a
// folder keeps no partial file; a bucket keeps no partial object), and so
// does a failed sync, whose object is deleted.
func (s *Store) NewWriter(ctx context.Context, key string) (io.WriteCloser, error) {
	w, err := s.NewUnsyncedWriter(ctx, key)
	switch {
	case err != nil:
		return nil, err
	case s.dir == "":
		return w, nil
	}
	return &syncedWriter{Writer: w, ctx: ctx, s: s, key: key}, nil
}

// NewUnsyncedWriter is NewWriter without the sync on Close, for a caller that
// writes many objects and makes them durable with a Syncer before it relies
// on them (a restore, before its rows commit).
func (s *Store) NewUnsyncedWriter(ctx context.Context, key string) (*gcblob.Writer, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	w, err := s.bucket.NewWriter(ctx, key, &gcblob.WriterOptions{
		ContentType: "application/octet-stream",
		// A folder's objects are the owner's alone (fileblob creates them
		// with the umask's mode).
		BeforeWrite: func(as func(any) bool) error {
			var f *os.File
			if as(&f) && f != nil {
				if err := f.Chmod(0o600); err != nil {
					return fmt.Errorf("restricting blob file: %w", err)
				}
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("writing blob: %w", err)
	}
	return w, nil
}

// A Syncer makes objects written with NewUnsyncedWriter durable: Add starts
// syncing an object's file in the background (a few at a time) as soon as it
// is written, Wait waits for those and then syncs each folder naming one. A
// bucket's Syncer does nothing. A Syncer is used from one goroutine.
type Syncer struct {
	prefix string
	y      *folderSyncer // nil for a bucket
}

// NewSyncer returns a Syncer of the store's objects; ctx stops the syncs not
// started yet.
func (s *Store) NewSyncer(ctx context.Context) *Syncer {
	if s.dir == "" {
		return &Syncer{}
	}
	return &Syncer{prefix: s.prefix, y: newFolderSyncer(ctx, s.dir)}
}

// Add starts syncing the object key, whose writer was closed; it may wait
// while the syncs started before are under way.
func (y *Syncer) Add(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if y.y != nil {
		y.y.add(y.prefix + key)
	}
	return nil
}

// Wait returns once every object added and the folders naming them are on
// disk, or with the first error.
func (y *Syncer) Wait() error {
	if y.y == nil {
		return nil
	}
	if err := y.y.wait(); err != nil {
		return fmt.Errorf("syncing blobs: %w", err)
	}
	return nil
}

// syncedWriter is a folder store's writer: fileblob renames the finished
// temporary file into place on Close without syncing anything, so after a
// crash the object could be empty or gone although Close returned nil.
type syncedWriter struct {
	*gcblob.Writer
	ctx context.Context
	s   *Store
	key string
}

func (w *syncedWriter) Close() error {
	if err := w.Writer.Close(); err != nil {
		return err
	}
	err := SyncObject(w.s.dir, w.s.prefix+w.key)
	if err == nil {
		return nil
	}
	err = fmt.Errorf("storing blob: %w", err)
	if derr := w.s.bucket.Delete(context.WithoutCancel(w.ctx), w.key); derr != nil && gcerrors.Code(derr) != gcerrors.NotFound {
		err = errors.Join(err, fmt.Errorf("deleting the unsynced blob: %w", derr))
	}
	return err
}

// NewReader returns a reader of the object named key; ErrNotFound if there
// is none.
func (s *Store) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading blob: %w", err)
	}
	return r, nil
}

// Delete removes the object named key; a missing object is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.bucket.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("deleting blob: %w", err)
	}
	return nil
}

// FileKey names the blob of an organization's file: "<organization>/<file>".
// The file service writes blobs under it, the orphan sweeper parses it and
// backups copy the blobs of the file rows they hold by it.
func FileKey(tenant, file string) string { return tenant + "/" + file }

// Empty reports whether the store holds no object (a restore writes blobs
// only into an empty store).
func (s *Store) Empty(ctx context.Context) (bool, error) {
	objs, _, err := s.List(ctx, "", "", 1)
	if err != nil {
		return false, err
	}
	return len(objs) == 0, nil
}

// Object is a listing entry.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// List returns up to n objects whose keys start with prefix, in key order,
// from the page named by token ("" for the first), and the token of the next
// page ("" after the last).
func (s *Store) List(ctx context.Context, prefix, token string, n int) ([]Object, string, error) {
	opts := &gcblob.ListOptions{Prefix: prefix}
	var page []byte
	if token != "" {
		page = []byte(token)
	} else {
		page = gcblob.FirstPageToken
	}
	objs, next, err := s.bucket.ListPage(ctx, page, n, opts)
	if err != nil {
		return nil, "", fmt.Errorf("listing blobs: %w", err)
	}
	out := make([]Object, 0, len(objs))
	for _, o := range objs {
		if o.IsDir {
			continue
		}
		out = append(out, Object{Key: o.Key, Size: o.Size, ModTime: o.ModTime})
	}
	return out, string(next), nil
}

// checkKey refuses keys that are empty, absolute, or climb out of the store
// ("..", "." segments, backslashes, control characters). Callers build keys
// from IDs they validated; this is the second line.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\") {
		return fmt.Errorf("blob: bad key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("blob: bad key %q", key)
		}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("blob: bad key %q", key)
		}
	}
	return nil
}
