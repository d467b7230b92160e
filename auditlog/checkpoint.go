package auditlog

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// CheckpointVersion is the version byte of the checkpoint body.
const CheckpointVersion = 1

const (
	checkpointLabel = "strongroom/auditlog/checkpoint/v1\x00"
	// pruneLabel signs prune markers: the same body under another label, so
	// that no ordinary checkpoint's signature can pass for a marker.
	pruneLabel = "strongroom/auditlog/prune/v1\x00"
	keyIDLabel = "strongroom/auditlog/key-id/v1\x00"
	// maxCheckpointSize bounds what ParseCheckpoint reads: tenant and key id are
	// short identifiers.
	maxCheckpointSize = 4096
	maxIDLength       = 1024
)

// Checkpoint says, under the platform's signing key, that Tenant's chain had
// Head as the seal of its event Seq at Time. Fields never change meaning; see
// the package documentation for the signed bytes and their evolution rules.
type Checkpoint struct {
	Tenant    strongroom.TenantID
	Seq       int64
	Head      [HashSize]byte
	Time      time.Time // microsecond precision, UTC
	KeyID     string    // KeyID of the public key that verifies Signature
	Signature []byte    // Ed25519
	// Prune makes the checkpoint a prune marker: besides stating the head, it
	// allows the chain's events through Seq to be deleted (retention), and
	// verification starts the chain from it. It is signed under its own label.
	Prune bool
}

// ErrSignature is returned for a checkpoint whose signature does not verify.
var ErrSignature = errors.New("auditlog: checkpoint signature does not verify")

// KeyID names an Ed25519 public key: "ed25519:" and the first 8 bytes of the
// SHA-256 of a label and the key, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(append([]byte(keyIDLabel), pub...))
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

func appendLP(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// body is the signed part of the binary form.
func (c *Checkpoint) body() []byte {
	b := make([]byte, 0, 1+4+len(c.Tenant)+8+HashSize+8+4+len(c.KeyID))
	b = append(b, CheckpointVersion)
	b = appendLP(b, string(c.Tenant))
	b = binary.BigEndian.AppendUint64(b, uint64(c.Seq))
	b = append(b, c.Head[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixMicro()))
	return appendLP(b, c.KeyID)
}

func (c *Checkpoint) message() []byte {
	if c.Prune {
		return append([]byte(pruneLabel), c.body()...)
	}
	return append([]byte(checkpointLabel), c.body()...)
}

// Sign sets the checkpoint's key id from signer's public key, which must be
// Ed25519, truncates its time to microseconds, and signs it.
func (c *Checkpoint) Sign(signer crypto.Signer) error {
	pub, ok := signer.Public().(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("auditlog: checkpoints are signed with Ed25519, not %T", signer.Public())
	}
	c.Time = c.Time.UTC().Truncate(time.Microsecond)
	c.KeyID = KeyID(pub)
	sig, err := signer.Sign(nil, c.message(), crypto.Hash(0))
	if err != nil {
		return fmt.Errorf("signing checkpoint: %w", err)
	}
	c.Signature = sig
	return nil
}

// Verify checks that the checkpoint was signed by pub.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return errors.New("auditlog: not an Ed25519 public key")
	}
	if want := KeyID(pub); c.KeyID != want {
		return fmt.Errorf("%w: signed by key %q, not %q", ErrSignature, c.KeyID, want)
	}
	if len(c.Signature) != ed25519.SignatureSize || !ed25519.Verify(pub, c.message(), c.Signature) {
		return ErrSignature
	}
	return nil
}

// Expect is the head the checkpoint requires, for a Verifier; source names the
// checkpoint in reports.
func (c *Checkpoint) Expect(source string) Expect {
	return Expect{Seq: c.Seq, Head: c.Head, Source: fmt.Sprintf("%s (signed %s)", source, c.Time.Format(time.RFC3339))}
}

// MarshalBinary returns body ‖ lp(signature).
func (c Checkpoint) MarshalBinary() ([]byte, error) {
	if c.Prune {
		return nil, errors.New("auditlog: prune markers have a JSON form only")
	}
	return appendLP(c.body(), string(c.Signature)), nil
}

// ParseCheckpoint decodes MarshalBinary's output, refusing anything else. It
// does not verify the signature.
func ParseCheckpoint(b []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(b) > maxCheckpointSize {
		return c, encodingError("checkpoint larger than %d bytes", maxCheckpointSize)
	}
	r := reader{b: b}
	if v := r.byte(); r.err == nil && v != CheckpointVersion {
		return c, encodingError("checkpoint version %d (this version reads %d)", v, CheckpointVersion)
	}
	c.Tenant = strongroom.TenantID(r.lp())
	c.Seq = int64(r.uint64())
	copy(c.Head[:], r.fixed(HashSize))
	c.Time = time.UnixMicro(int64(r.uint64())).UTC()
	c.KeyID = string(r.lp())
	c.Signature = bytes.Clone(r.lp())
	switch {
	case r.err != nil:
		return Checkpoint{}, r.err
	case len(r.b) != 0:
		return Checkpoint{}, encodingError("%d bytes after the checkpoint", len(r.b))
	case c.Seq <= 0:
		return Checkpoint{}, encodingError("checkpoint seq %d", c.Seq)
	}
	return c, nil
}

// reader reads a checkpoint's fields; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fixed(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = encodingError("checkpoint truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if v := r.fixed(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) uint64() uint64 {
	if v := r.fixed(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *reader) lp() []byte {
	n := r.fixed(4)
	if n == nil {
		return nil
	}
	l := binary.BigEndian.Uint32(n)
	if l > maxIDLength {
		r.err = encodingError("checkpoint field of %d bytes", l)
		return nil
	}
	return r.fixed(int(l))
}

// checkpointJSON is the JSON form of a checkpoint: one line of a checkpoint
// file. Evolution: "v" names the body version; fields are never renamed.
type checkpointJSON struct {
	V         int    `json:"v"`
	Tenant    string `json:"tenant"`
	Seq       int64  `json:"seq"`
	Head      string `json:"head"`            // hex
	Time      string `json:"time"`            // RFC 3339 in UTC with microseconds
	KeyID     string `json:"key_id"`          // KeyID of the signing key
	Signature string `json:"signature"`       // standard base64
	Prune     bool   `json:"prune,omitempty"` // a prune marker (signed under its own label)
}

const jsonTime = "2006-01-02T15:04:05.000000Z07:00"

// MarshalJSON writes the checkpoint as one JSON object.
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(checkpointJSON{V: CheckpointVersion, Tenant: string(c.Tenant), Seq: c.Seq,
		Head: hex.EncodeToString(c.Head[:]), Time: c.Time.UTC().Format(jsonTime), KeyID: c.KeyID,
		Signature: base64.StdEncoding.EncodeToString(c.Signature), Prune: c.Prune})
}

// UnmarshalJSON reads MarshalJSON's output strictly: unknown fields, another
// version and malformed values are refused.
func (c *Checkpoint) UnmarshalJSON(b []byte) error {
	var j checkpointJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	if j.V != CheckpointVersion {
		return encodingError("checkpoint version %d (this version reads %d)", j.V, CheckpointVersion)
	}
	head, err := hex.DecodeString(j.Head)
	if err != nil || len(head) != HashSize {
		return encodingError("head must be %d bytes in hex", HashSize)
	}
	tm, err := time.Parse(jsonTime, j.Time)
	if err != nil {
		return encodingError("time: %v", err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(j.Signature)
	if err != nil {
		return encodingError("signature: %v", err)
	}
	if j.Seq <= 0 || len(j.Tenant) > maxIDLength || len(j.KeyID) > maxIDLength {
		return encodingError("checkpoint seq %d or identifiers out of range", j.Seq)
	}
	*c = Checkpoint{Tenant: strongroom.TenantID(j.Tenant), Seq: j.Seq, Time: tm.UTC(), KeyID: j.KeyID, Signature: sig, Prune: j.Prune}
	copy(c.Head[:], head)
	return nil
}
