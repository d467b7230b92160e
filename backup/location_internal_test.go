package backup

import "testing"

// TestRedactURL: a location recorded or shown keeps the scheme, host and
// path of its URL, never credentials, query or fragment.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bucket?region=eu-central-1&endpoint=https://minio:9000": "s3://bucket",
		"s3://key:secret@bucket/prefix/?awssdk=v2":                    "s3://bucket/prefix/",
		"file:///srv/backups#frag":                                    "file:///srv/backups",
		"s3://bu cket\x7f":                                            "(unparsable location URL)",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
