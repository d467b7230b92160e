// Package authn holds Strongroom's authentication primitives: argon2id password
// hashing with stored parameters, the password policy, and opaque bearer tokens
// of which only hashes are stored.
package authn

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters. They are stored with every hash, so raising them
// later still verifies old hashes (and NeedsRehash tells when to upgrade).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams meet OWASP's argon2id minimum (m=19 MiB, t=2, p=1).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Hasher hashes and verifies passwords.
type Hasher struct {
	Params Params
	Rand   io.Reader // nil: crypto/rand
	dummy  string
}

// NewHasher returns a hasher with p, and precomputes the dummy hash used to spend
// the same time on unknown accounts.
func NewHasher(p Params) (*Hasher, error) {
	h := &Hasher{Params: p}
	d, err := h.Hash("strongroom dummy password for unknown accounts")
	if err != nil {
		return nil, err
	}
	h.dummy = d
	return h, nil
}

var b64 = base64.RawStdEncoding

// Hash returns the PHC string of password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h *Hasher) Hash(password string) (string, error) {
	r := h.Rand
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, h.Params.SaltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("reading salt: %w", err)
	}
	p := h.Params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrMismatch is returned when a password does not match.
var ErrMismatch = errors.New("authn: password does not match")

// Verify checks password against a PHC hash. An empty hash (unknown account) is
// verified against a dummy hash so that it costs the same time, then fails.
func (h *Hasher) Verify(hash, password string) error {
	if hash == "" {
		_ = h.verify(h.dummy, password)
		return ErrMismatch
	}
	return h.verify(hash, password)
}

func (h *Hasher) verify(hash, password string) error {
	p, salt, key, err := parsePHC(hash)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

// NeedsRehash reports whether hash was made with weaker parameters than h's.
func (h *Hasher) NeedsRehash(hash string) bool {
	p, _, key, err := parsePHC(hash)
	if err != nil {
		return true
	}
	return p.Memory < h.Params.Memory || p.Time < h.Params.Time || p.Threads != h.Params.Threads ||
		uint32(len(key)) < h.Params.KeyLen
}

// Upper bounds on stored parameters, so a corrupted or hostile hash cannot make
// verification allocate without limit.
const (
	maxMemory = 1024 * 1024 // 1 GiB in KiB
	maxTime   = 16
)

func parsePHC(s string) (Params, []byte, []byte, error) {
	bad := errors.New("authn: malformed password hash")
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, bad
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, bad
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, bad
	}
	if p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
		return Params{}, nil, nil, bad
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, bad
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return Params{}, nil, nil, bad
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
