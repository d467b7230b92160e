package testkit

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3Server is an S3-compatible server run in-process (gofakes3 on an
// in-memory backend behind httptest), stopped when the test ends.
type S3Server struct {
	// Endpoint is the server's base URL (http://127.0.0.1:port).
	Endpoint string
	backend  *s3mem.Backend
}

// NewS3Server starts an S3-compatible server. The fake credentials it needs
// are set in the environment for the test (t.Setenv), so tests using it
// cannot run in parallel.
func NewS3Server(t testing.TB) *S3Server {
	t.Helper()
	be := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(be, gofakes3.WithAutoBucket(false)).Server())
	t.Cleanup(srv.Close)
	if tt, ok := t.(interface{ Setenv(k, v string) }); ok {
		tt.Setenv("AWS_ACCESS_KEY_ID", "test")
		tt.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	}
	return &S3Server{Endpoint: srv.URL, backend: be}
}

// Bucket creates a bucket and returns its gocloud.dev s3blob URL
// (s3://name?endpoint=…&use_path_style=true&region=us-east-1, checksums only
// when required, which the fake server does not all speak).
func (s *S3Server) Bucket(t testing.TB, name string) string {
	t.Helper()
	if err := s.backend.CreateBucket(name); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	q := url.Values{}
	q.Set("endpoint", s.Endpoint)
	q.Set("use_path_style", "true")
	q.Set("region", "us-east-1")
	q.Set("request_checksum_calculation", "when_required")
	q.Set("response_checksum_validation", "when_required")
	return "s3://" + name + "?" + q.Encode()
}

// Objects lists the keys in a bucket, straight from the server.
func (s *S3Server) Objects(t testing.TB, bucket string) []string {
	t.Helper()
	res, err := s.backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatalf("listing bucket %s: %v", bucket, err)
	}
	var keys []string
	for _, c := range res.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}
