package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// KeySize is the size in bytes of the material of a [Key] and of an
// [IndexKey]: 256 bits.
const KeySize = 32

var errZeroKey = errors.New("envelope: zero key")

// Key is an AES-256 key with the 32-bit id under which the keyring stores it.
// The id is written into every envelope and stream so that the right key can
// be found for it (see [KeyID] and [PeekStreamKeyID]).
//
// The material is unexported and shared by copies of the Key, which are cheap.
// Key cannot be compared with == (that does not compile); use [Key.Equal].
// Every fmt verb prints only the id ("envelope.Key(id=7)"), as do String and
// GoString, so a Key that reaches a log or an error message reveals nothing.
// The zero Key is no key: Seal, Open and NewWriter refuse it.
//
// A Key is safe for concurrent use.
type Key struct {
	_  [0]func() // not comparable
	id uint32
	s  *keyState
}

type keyState struct {
	material [KeySize]byte
	aead     cipher.AEAD // AES-256-GCM; immutable, safe for concurrent use
}

// NewKey returns the Key with the given id and material, which must be
// exactly [KeySize] bytes and not all zero. The material is copied.
func NewKey(id uint32, material []byte) (Key, error) {
	s, err := newKeyState(material, true)
	if err != nil {
		return Key{}, err
	}
	return Key{id: id, s: s}, nil
}

// GenerateKey returns a new random Key with the given id, reading its material
// from r, or from crypto/rand if r is nil.
func GenerateKey(id uint32, r io.Reader) (Key, error) {
	var m [KeySize]byte
	defer clear(m[:])
	if err := readRandom(r, m[:]); err != nil {
		return Key{}, fmt.Errorf("envelope: generating key: %w", err)
	}
	return NewKey(id, m[:])
}

// ID returns the key id.
func (k Key) ID() uint32 { return k.id }

// Material returns a copy of the key's bytes, or nil for the zero Key.
//
// It exists for one caller: the keyring, which wraps data keys under the
// master key to store them. Nothing else needs a key's bytes; do not log,
// store or send them.
func (k Key) Material() []byte {
	if k.s == nil {
		return nil
	}
	return append([]byte(nil), k.s.material[:]...)
}

// Equal reports whether k and o have the same id and the same material,
// comparing the material in constant time. Two zero Keys are equal.
func (k Key) Equal(o Key) bool {
	if k.s == nil || o.s == nil {
		return k.s == nil && o.s == nil
	}
	return subtle.ConstantTimeCompare(k.s.material[:], o.s.material[:])&
		subtle.ConstantTimeEq(int32(k.id), int32(o.id)) == 1
}

// IsZero reports whether k is the zero Key, which holds no key.
func (k Key) IsZero() bool { return k.s == nil }

// String returns "envelope.Key(id=N)", never the key's bytes.
func (k Key) String() string {
	if k.s == nil {
		return "envelope.Key(zero)"
	}
	return fmt.Sprintf("envelope.Key(id=%d)", k.id)
}

// GoString returns the same as String, so %#v does not print the bytes.
func (k Key) GoString() string { return k.String() }

// Format prints the same as String for every verb, so that no verb (%x and
// %d included) can reach the key's bytes.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// IndexKey is a 256-bit HMAC-SHA256 key for blind indexes ([IndexKey.Term]).
// It is separate from every [Key]: an index key never encrypts and a data key
// never computes index terms. It has the same hygiene as Key: bytes
// unexported, no ==, nothing but its type name printed by any fmt verb.
// The zero IndexKey is no key.
//
// An IndexKey is safe for concurrent use.
type IndexKey struct {
	_ [0]func() // not comparable
	s *keyState
}

// NewIndexKey returns the IndexKey with the given material, which must be
// exactly [KeySize] bytes and not all zero. The material is copied.
func NewIndexKey(material []byte) (IndexKey, error) {
	s, err := newKeyState(material, false) // an index key never encrypts
	if err != nil {
		return IndexKey{}, err
	}
	return IndexKey{s: s}, nil
}

// GenerateIndexKey returns a new random IndexKey, reading its material from
// r, or from crypto/rand if r is nil.
func GenerateIndexKey(r io.Reader) (IndexKey, error) {
	var m [KeySize]byte
	defer clear(m[:])
	if err := readRandom(r, m[:]); err != nil {
		return IndexKey{}, fmt.Errorf("envelope: generating index key: %w", err)
	}
	return NewIndexKey(m[:])
}

// Material returns a copy of the key's bytes, or nil for the zero IndexKey.
// Like [Key.Material], it is for the keyring, to wrap the key for storage.
func (k IndexKey) Material() []byte {
	if k.s == nil {
		return nil
	}
	return append([]byte(nil), k.s.material[:]...)
}

// Equal reports whether k and o have the same material, comparing in
// constant time. Two zero IndexKeys are equal.
func (k IndexKey) Equal(o IndexKey) bool {
	if k.s == nil || o.s == nil {
		return k.s == nil && o.s == nil
	}
	return subtle.ConstantTimeCompare(k.s.material[:], o.s.material[:]) == 1
}

// IsZero reports whether k is the zero IndexKey, which holds no key.
func (k IndexKey) IsZero() bool { return k.s == nil }

// String returns "envelope.IndexKey", never the key's bytes.
func (k IndexKey) String() string {
	if k.s == nil {
		return "envelope.IndexKey(zero)"
	}
	return "envelope.IndexKey"
}

// GoString returns the same as String.
func (k IndexKey) GoString() string { return k.String() }

// Format prints the same as String for every verb.
func (k IndexKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// newKeyState checks and copies material; with encrypts, it also prepares
// AES-256-GCM under it.
func newKeyState(material []byte, encrypts bool) (*keyState, error) {
	if len(material) != KeySize {
		return nil, fmt.Errorf("envelope: key material is %d bytes, want %d", len(material), KeySize)
	}
	var zero [KeySize]byte
	if subtle.ConstantTimeCompare(material, zero[:]) == 1 {
		return nil, errors.New("envelope: key material is all zeros")
	}
	s := &keyState{}
	copy(s.material[:], material)
	if encrypts {
		aead, err := newAEAD(s.material[:])
		if err != nil {
			return nil, err
		}
		s.aead = aead
	}
	return s, nil
}

// newAEAD returns AES-256-GCM with 12-byte nonces and 16-byte tags.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return aead, nil
}

// readRandom fills b from r, or from crypto/rand if r is nil.
func readRandom(r io.Reader, b []byte) error {
	if r == nil {
		r = rand.Reader
	}
	_, err := io.ReadFull(r, b)
	return err
}
