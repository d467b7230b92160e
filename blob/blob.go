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
}

// Open opens a folder (a path, created 0700 if missing; objects are written
// 0600 through a temporary file and a rename) or a bucket URL
// (s3://bucket?region=…&endpoint=…, file:///path).
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
		return &Store{bucket: b, kind: kind}, nil
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
	return &Store{bucket: b, kind: "folder"}, nil
}

// Kind names the kind of store: "folder", "s3", "file" (a file:// URL) or
// another URL scheme gocloud.dev knows.
func (s *Store) Kind() string { return s.kind }

// Close closes the store.
func (s *Store) Close() error { return s.bucket.Close() }

// NewWriter returns a writer of a new object named key. The object appears
// only when Close returns nil; cancelling ctx before Close abandons it (a
// folder keeps no partial file; a bucket keeps no partial object).
func (s *Store) NewWriter(ctx context.Context, key string) (io.WriteCloser, error) {
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
