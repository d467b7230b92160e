package envelope

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version1 is the first byte of every version-1 envelope and stream header.
const Version1 byte = 1

// Sizes of the parts of a version-1 envelope.
const (
	headerSize   = 1 + 4 // version ‖ key id
	nonceSize    = 12
	tagSize      = 16
	overhead     = headerSize + nonceSize + tagSize
	maxPlaintext = (1<<32 - 2) * 16 // the most one GCM message can hold
)

// Labels that separate the constructions of this package from each other.
const (
	sealLabel   = "strongroom/envelope/v1"
	streamLabel = "strongroom/envelope/stream/v1"
	indexLabel  = "strongroom/envelope/index/v1"
)

// ErrOpen is the one error for an envelope or a stream that does not open:
// too short, an unknown version, another key id, another key, another place,
// or any changed byte. It says nothing more, on purpose.
var ErrOpen = errors.New("envelope: message authentication failed")

var errAD = errors.New("envelope: associated data needs a Table and a Row")

// AD is the place a ciphertext belongs to, bound into it as associated data so
// that a ciphertext copied to another place does not open there.
//
// Table and Row are required: Seal and NewWriter refuse an AD without them.
// Tenant is empty only for data that belongs to no tenant (a user's TOTP
// secret, say, since users are global); Field is empty when the ciphertext is
// a whole record or file rather than one field of it. The four values are
// encoded unambiguously (see the package documentation), so no choice of
// strings makes two different places look alike.
type AD struct {
	Tenant, Table, Row, Field string
}

func (ad AD) valid() bool { return ad.Table != "" && ad.Row != "" }

// appendBinding appends the encoding of a construction's label, the version,
// the key id and the place, as described in the package documentation.
func appendBinding(b []byte, label string, id uint32, ad AD) []byte {
	b = appendLP(b, label)
	b = append(b, Version1)
	b = binary.BigEndian.AppendUint32(b, id)
	b = appendLP(b, ad.Tenant)
	b = appendLP(b, ad.Table)
	b = appendLP(b, ad.Row)
	return appendLP(b, ad.Field)
}

// appendLP appends len(s) as 8 bytes big-endian, then s.
func appendLP(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// Seal encrypts plaintext under k for the place ad and returns the envelope
// version ‖ key id ‖ nonce ‖ ciphertext ‖ tag, 33 bytes longer than plaintext.
// The nonce is read from r, or from crypto/rand if r is nil; tests pass a
// fixed reader, everything else passes nil.
func Seal(k Key, ad AD, plaintext []byte, r io.Reader) ([]byte, error) {
	if k.s == nil {
		return nil, errZeroKey
	}
	if !ad.valid() {
		return nil, errAD
	}
	if uint64(len(plaintext)) > maxPlaintext {
		return nil, errors.New("envelope: plaintext too large for one envelope; use a stream")
	}
	out := make([]byte, headerSize+nonceSize, overhead+len(plaintext))
	out[0] = Version1
	binary.BigEndian.PutUint32(out[1:headerSize], k.id)
	nonce := out[headerSize:]
	if err := readRandom(r, nonce); err != nil {
		return nil, fmt.Errorf("envelope: reading nonce: %w", err)
	}
	var buf [128]byte
	return k.s.aead.Seal(out, nonce, plaintext, appendBinding(buf[:0], sealLabel, k.id, ad)), nil
}

// KeyID returns the id of the key that sealed env, so the caller can fetch
// that key from the keyring: rotate by key id, never by trying every key.
// It returns [ErrOpen] if env cannot be a version-1 envelope.
func KeyID(env []byte) (uint32, error) {
	if len(env) < overhead || env[0] != Version1 {
		return 0, ErrOpen
	}
	return binary.BigEndian.Uint32(env[1:headerSize]), nil
}

// Open decrypts env, which must have been sealed by [Seal] under k for the
// same place ad. Any failure returns nil and [ErrOpen]; a nil error always
// comes with the whole plaintext (a non-nil, possibly empty slice).
func Open(k Key, ad AD, env []byte) ([]byte, error) {
	if k.s == nil || !ad.valid() || len(env) < overhead || env[0] != Version1 ||
		binary.BigEndian.Uint32(env[1:headerSize]) != k.id {
		return nil, ErrOpen
	}
	var buf [128]byte
	nonce, ct := env[headerSize:headerSize+nonceSize], env[headerSize+nonceSize:]
	pt, err := k.s.aead.Open(make([]byte, 0, len(ct)-tagSize), nonce, ct, appendBinding(buf[:0], sealLabel, k.id, ad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
