package auditstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/s3blob"   // s3:// buckets (AWS S3 and S3-compatible servers)
	"gocloud.dev/gcerrors"
)

// BlobSink writes each batch of events as one new JSON Lines object in a blob
// bucket (S3 or S3-compatible storage, or a folder through file://), named by
// the batch's first and last sequence numbers under a prefix:
//
//	<prefix>00000000000000000001-00000000000000000512.jsonl
//
// so that listing the prefix in name order lists the events in seq order. The
// sink never overwrites or deletes an object: it writes with "if not exists",
// and when a retried batch finds its object already there (the first attempt
// stored it but the streamer did not learn so), it reads it back and accepts
// it only if the bytes are the same. Immutability beyond that (object lock,
// versioning, a write-only credential) is the bucket's configuration; see
// docs/audit-log.md.
type BlobSink struct {
	bucket *blob.Bucket
	name   string
	log    *slog.Logger
}

// maxBlobRead bounds how much of an existing object a retried batch reads back
// to compare: far above any batch the streamer sends.
const maxBlobRead = 64 << 20

// OpenBlob opens the bucket at rawURL (gocloud.dev/blob URL syntax: s3://bucket
// ?region=…&endpoint=…, file:///path); a "prefix" query parameter, as
// gocloud.dev defines it, puts the objects under that prefix.
func OpenBlob(ctx context.Context, rawURL string, log *slog.Logger) (*BlobSink, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, errors.New("audit blob sink: the destination must be a URL such as s3://bucket?region=eu-west-1&prefix=audit/ or file:///var/lib/strongroom/audit")
	}
	if u.User != nil {
		return nil, errors.New("audit blob sink: put no credentials in the URL; the S3 driver reads them from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the instance role")
	}
	if u.Scheme == "file" {
		// A folder as a bucket: created like the file sink's, for the
		// operator only.
		if err := os.MkdirAll(u.Path, 0o700); err != nil {
			return nil, fmt.Errorf("audit blob sink: creating %s: %w", u.Path, err)
		}
	}
	bucket, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("audit blob sink: opening %s: %w", redactQuery(u), err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &BlobSink{bucket: bucket, name: "blob:" + redactQuery(u), log: log}, nil
}

// redactQuery is the URL without its query: where the objects go, without
// parameters that could one day carry something sensitive.
func redactQuery(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment = "", ""
	return c.String()
}

// Name is "blob:" and the bucket URL without its query.
func (s *BlobSink) Name() string { return s.name }

// Key is the object name of a batch from seq first to last.
func (s *BlobSink) Key(first, last int64) string {
	return fmt.Sprintf("%020d-%020d.jsonl", first, last)
}

// Deliver writes the events as one new object and returns once the bucket
// has acknowledged it.
func (s *BlobSink) Deliver(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for i := range events {
		line, err := json.Marshal(&events[i])
		if err != nil {
			return fmt.Errorf("encoding audit event %d: %w", events[i].Seq, err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	key := s.Key(events[0].Seq, events[len(events)-1].Seq)
	sum := sha256.Sum256(buf.Bytes())
	err := s.bucket.WriteAll(ctx, key, buf.Bytes(), &blob.WriterOptions{
		ContentType: "application/x-ndjson",
		Metadata:    map[string]string{"sha256": fmt.Sprintf("%x", sum)},
		IfNotExist:  true,
	})
	if err == nil {
		return nil
	}
	if code := gcerrors.Code(err); code != gcerrors.FailedPrecondition && code != gcerrors.AlreadyExists {
		return fmt.Errorf("audit blob sink: writing %s: %w", key, err)
	}
	// The object exists: a retry of a batch that was stored, or a conflict.
	same, rerr := s.sameObject(ctx, key, buf.Bytes())
	if rerr != nil {
		return fmt.Errorf("audit blob sink: %s exists and could not be read back: %w", key, rerr)
	}
	if !same {
		return fmt.Errorf("audit blob sink: %s exists with other contents; refusing to overwrite it (another deployment writes to this bucket and prefix?)", key)
	}
	return nil
}

func (s *BlobSink) sameObject(ctx context.Context, key string, want []byte) (bool, error) {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return false, err
	}
	defer r.Close()
	got, err := io.ReadAll(io.LimitReader(r, maxBlobRead))
	if err != nil {
		return false, err
	}
	return bytes.Equal(got, want), nil
}

// Keys lists the sink's objects in name (and so seq) order; for tests and
// tools.
func (s *BlobSink) Keys(ctx context.Context) ([]string, error) {
	var keys []string
	it := s.bucket.List(nil)
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("audit blob sink: listing: %w", err)
		}
		if strings.HasSuffix(obj.Key, ".jsonl") {
			keys = append(keys, obj.Key)
		}
	}
}

// Read returns an object's bytes; for tests and tools.
func (s *BlobSink) Read(ctx context.Context, key string) ([]byte, error) {
	b, err := s.bucket.ReadAll(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("audit blob sink: reading %s: %w", key, err)
	}
	return b, nil
}

// Close closes the bucket.
func (s *BlobSink) Close() error { return s.bucket.Close() }
