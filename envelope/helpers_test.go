package envelope_test

import (
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"strongroom.dev/strongroom/envelope"
)

// Sizes of the version-1 formats, written out independently of the package's
// own constants.
const (
	envOverhead      = 1 + 4 + 12 + 16 // version ‖ key id ‖ nonce ‖ … ‖ tag
	streamHeaderSize = 1 + 4 + 32      // version ‖ key id ‖ salt
	segCT            = envelope.SegmentSize + 16
)

// detReader returns an endless deterministic byte stream named by seed, for
// keys, nonces and salts in tests.
func detReader(seed string) io.Reader {
	return rand.NewChaCha8(sha256.Sum256([]byte(seed)))
}

// detBytes returns n deterministic bytes named by seed.
func detBytes(seed string, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(detReader(seed), b); err != nil {
		panic(err)
	}
	return b
}

func testKey(t testing.TB, id uint32, seed string) envelope.Key {
	t.Helper()
	k, err := envelope.NewKey(id, detBytes("key:"+seed, envelope.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var testAD = envelope.AD{Tenant: "t_acme", Table: "records", Row: "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11", Field: "payload"}

// wantErrOpen fails unless err is exactly envelope.ErrOpen (by == and by
// errors.Is) and no plaintext came with it.
func wantErrOpen(t *testing.T, pt []byte, err error) {
	t.Helper()
	if err != envelope.ErrOpen || !errors.Is(err, envelope.ErrOpen) {
		t.Errorf("err = %v, want envelope.ErrOpen", err)
	}
	if pt != nil {
		t.Errorf("got %d bytes of plaintext with the error, want nil", len(pt))
	}
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// errWriter fails every write with err.
type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }
