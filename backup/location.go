package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob" // s3:// locations
	"gocloud.dev/gcerrors"

	sblob "strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/store"
)

// A Location is a folder or an S3-compatible bucket of backups. Each backup is
// two objects: NAME.srbk, the encrypted archive, and NAME.srbk.json, its
// index: what a listing needs without the restore identity (created at,
// engine, schema version, row counts, size and SHA-256 of the archive). The
// index is not authenticated (it is for listing and retention); restores
// trust only the archive, whose manifest age authenticates.
type Location struct {
	bucket *blob.Bucket
	kind   objectKind
	label  string
	// dir is the folder of a folder location (a path or a file:// URL),
	// with the URL's key prefix; "" for a bucket. Put syncs what it
	// writes there (durable.go).
	dir, prefix string

	// Layout is the layout Put writes data backups in (WriteLayout);
	// LayoutAuto by default.
	Layout Layout
}

// objectKind names the objects of one kind of backup.
type objectKind struct{ prefix, ext string }

var (
	dataKind    = objectKind{"strongroom-backup-", ".srbk"}
	keyringKind = objectKind{"strongroom-keyring-", ".srkr"}
)

const nameTime = "20060102T150405.000000Z"

func (k objectKind) name(t time.Time) string  { return k.prefix + t.UTC().Format(nameTime) + k.ext }
func (k objectKind) index(name string) string { return name + ".json" }

// parse returns the creation time in an object's name.
func (k objectKind) parse(name string) (time.Time, bool) {
	s, ok := strings.CutPrefix(name, k.prefix)
	if !ok {
		return time.Time{}, false
	}
	s, ok = strings.CutSuffix(s, k.ext)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(nameTime, s)
	return t, err == nil
}

// Index is the listing entry written beside each archive.
type Index struct {
	Name   string `json:"name"`
	Format int    `json:"format"`
	// Layout is the archive's layout (LayoutLogical or LayoutSQLiteFile;
	// absent from indexes of format 1 and 2 archives, which are logical,
	// and from indexes written before it was added).
	Layout        Layout         `json:"layout,omitempty"`
	Engine        string         `json:"engine"`
	SchemaVersion int            `json:"schema_version"`
	CreatedAt     time.Time      `json:"created_at"`
	Rows          int64          `json:"rows"`
	Tables        []TableSummary `json:"tables"`
	PlainBytes    int64          `json:"plain_bytes"`
	ArchiveBytes  int64          `json:"archive_bytes"`
	ArchiveSHA256 string         `json:"archive_sha256"`
	// ManifestSHA256 is ManifestDigest of the archive's manifest (absent
	// from indexes written before it was added).
	ManifestSHA256 string `json:"manifest_sha256,omitempty"`
	// Blobs, BlobBytes and BlobsMissing count the file blobs in the archive
	// and the files whose blob was gone when it was copied (formats 2 and 3).
	Blobs        int64 `json:"blobs,omitempty"`
	BlobBytes    int64 `json:"blob_bytes,omitempty"`
	BlobsMissing int   `json:"blobs_missing,omitempty"`
}

// OpenLocation opens a folder (a path, created 0700 if missing) or a bucket
// URL (s3://bucket?region=…&endpoint=…, file:///path) of data backups.
func OpenLocation(ctx context.Context, where string) (*Location, error) {
	return openLocation(ctx, where, dataKind)
}

// OpenKeyringLocation opens a folder or bucket of keyring backups
// (strongroom-keyring-TIME.srkr). Keep it apart from the data backups.
func OpenKeyringLocation(ctx context.Context, where string) (*Location, error) {
	return openLocation(ctx, where, keyringKind)
}

func openLocation(ctx context.Context, where string, kind objectKind) (*Location, error) {
	if where == "" {
		return nil, errors.New("backup: no location (a folder or an s3:// or file:// URL)")
	}
	var b *blob.Bucket
	var err error
	var label, dir, prefix string
	if strings.Contains(where, "://") {
		label = redactURL(where)
		dir, prefix = sblob.FileURLFolder(where)
		b, err = blob.OpenBucket(ctx, where)
	} else {
		if dir, err = filepath.Abs(where); err == nil {
			label = dir
			b, err = fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, DirFileMode: 0o700, NoTempDir: true,
				Metadata: fileblob.MetadataDontWrite})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening backup location: %w", err)
	}
	return &Location{bucket: b, kind: kind, label: label, dir: dir, prefix: prefix}, nil
}

// String names the location in records and listings: the folder's absolute
// path, or the bucket URL without credentials, query or fragment (an S3
// endpoint or region in the query is configuration, and a secret could hide
// there).
// A nil location is "".
func (l *Location) String() string {
	if l == nil {
		return ""
	}
	return l.label
}

// redactURL keeps a location URL's scheme, host and path.
func redactURL(where string) string {
	u, err := url.Parse(where)
	if err != nil {
		return "(unparsable location URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Close closes the location.
func (l *Location) Close() error { return l.bucket.Close() }

// ArchiveName is the object name of a data backup created at t.
func ArchiveName(t time.Time) string { return dataKind.name(t) }

type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

// Put writes a backup of st taken now, with the blobs of its files from
// blobs (see Write), then its index. An archive is only
// visible under its name once complete (the bucket's writer commits on
// Close; a failed backup is abandoned, never left half-written). In a folder,
// the archive and its index are synced to disk, with the folder's entries,
// before Put returns: a backup reported taken survives a crash, and only then
// may retention delete older ones. An archive that cannot be synced is
// deleted and the backup fails.
func (l *Location) Put(ctx context.Context, st *store.Store, blobs *sblob.Store, recipients []age.Recipient, now time.Time) (*Index, error) {
	if l.kind != dataKind {
		return nil, errors.New("backup: a data backup put into a keyring location")
	}
	name := ArchiveName(now)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := l.bucket.NewWriter(wctx, name, writerOptions("application/octet-stream"))
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", name, err)
	}
	ch := &countingHash{h: sha256.New()}
	out := newTee(w, ch) // the archive hashed while it is written
	m, err := WriteLayout(ctx, st, blobs, out, recipients, now, l.Layout)
	out.Close()
	if err != nil {
		cancel() // abandons the upload
		_ = w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", name, err)
	}
	if err := l.syncArchive(ctx, name); err != nil {
		return nil, err
	}
	idx := &Index{Name: name, Format: m.Format, Layout: m.Layout, Engine: m.Engine, SchemaVersion: m.SchemaVersion, CreatedAt: m.CreatedAt,
		Rows: m.Rows(), Tables: m.Tables, PlainBytes: m.PlainBytes, ArchiveBytes: ch.n, ArchiveSHA256: hex.EncodeToString(ch.h.Sum(nil)),
		ManifestSHA256: ManifestDigest(m)}
	if m.Blobs != nil {
		idx.Blobs, idx.BlobBytes, idx.BlobsMissing = m.Blobs.Count, m.Blobs.Bytes, len(m.Blobs.Missing)
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the index: %w", err)
	}
	if err := l.bucket.WriteAll(ctx, l.kind.index(name), b, writerOptions("application/json")); err != nil {
		return nil, fmt.Errorf("writing the index of %s: %w", name, err)
	}
	if err := l.syncObject(l.kind.index(name)); err != nil {
		return nil, err
	}
	return idx, nil
}

// maxIndex bounds an index file read from the location.
const maxIndex = 1 << 20

// List returns the backups in the location, oldest first: each archive with
// its index, or with only the time in its name when the index is missing or
// unreadable.
func (l *Location) List(ctx context.Context) ([]Index, error) {
	var out []Index
	it := l.bucket.List(&blob.ListOptions{Prefix: l.kind.prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("listing backups: %w", err)
		}
		created, ok := l.kind.parse(obj.Key)
		if !ok || obj.IsDir {
			continue
		}
		idx := Index{Name: obj.Key, CreatedAt: created, ArchiveBytes: obj.Size}
		if r, err := l.bucket.NewReader(ctx, l.kind.index(obj.Key), nil); err == nil {
			b, rerr := io.ReadAll(io.LimitReader(r, maxIndex))
			r.Close()
			var got Index
			if rerr == nil && json.Unmarshal(b, &got) == nil && got.Name == obj.Key {
				got.ArchiveBytes = obj.Size
				idx = got
			}
		}
		out = append(out, idx)
	}
	slices.SortFunc(out, func(a, b Index) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Latest returns the newest backup, or nil.
func (l *Location) Latest(ctx context.Context) (*Index, error) {
	all, err := l.List(ctx)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	return &all[len(all)-1], nil
}

// Open opens an archive by name.
func (l *Location) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if _, ok := l.kind.parse(name); !ok {
		return nil, fmt.Errorf("backup: %q is not a backup's name", name)
	}
	r, err := l.bucket.NewReader(ctx, name, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, fmt.Errorf("backup %s: not found", name)
		}
		return nil, fmt.Errorf("opening backup %s: %w", name, err)
	}
	return r, nil
}

// Prune deletes the backups created before now-keep (the archive and its
// index), never the newest one, and returns the names deleted.
func (l *Location) Prune(ctx context.Context, keep time.Duration, now time.Time) ([]string, error) {
	return l.pruneBefore(ctx, now.Add(-keep))
}

func (l *Location) pruneBefore(ctx context.Context, cutoff time.Time) ([]string, error) {
	all, err := l.List(ctx)
	if err != nil {
		return nil, err
	}
	if len(all) > 0 {
		all = all[:len(all)-1] // the newest stays, however old
	}
	var deleted []string
	for _, idx := range all {
		created, _ := l.kind.parse(idx.Name) // by the name: an index can be edited
		if !created.Before(cutoff) {
			continue
		}
		if err := l.bucket.Delete(ctx, idx.Name); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return deleted, fmt.Errorf("deleting backup %s: %w", idx.Name, err)
		}
		if err := l.bucket.Delete(ctx, l.kind.index(idx.Name)); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return deleted, fmt.Errorf("deleting the index of %s: %w", idx.Name, err)
		}
		deleted = append(deleted, idx.Name)
	}
	return deleted, nil
}
