package authn

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// Session tokens are 256 random bits, shown once to the client as
// "srs_<base64url>", and stored only as SHA-256 hashes (security invariant 3). A
// fast hash is right here: the token has full entropy, so it cannot be guessed
// offline, and lookups happen on every request.

// SessionTokenPrefix marks a session token, so that leaked tokens are recognizable
// by secret scanners.
const SessionTokenPrefix = "srs_"

// Prefixes of the other bearer secrets, each stored only as its SHA-256.
const (
	APIKeyPrefix     = "srk_" // organization API keys
	ChallengePrefix  = "src_" // the MFA step after a first factor, and ceremonies
	LinkPrefix       = "srl_" // e-mailed sign-in and address-verification links
	ResetPrefix      = "srp_" // e-mailed password-reset links
	InvitationPrefix = "sri_" // invitation links
)

// NewToken returns a new token with prefix and its hash.
func NewToken(r io.Reader, prefix string) (token string, hash []byte, err error) {
	if r == nil {
		r = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", nil, fmt.Errorf("reading token randomness: %w", err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken returns the stored form of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// WellFormed reports whether token looks like one of ours with prefix, so junk is
// refused before any lookup.
func WellFormed(token, prefix string) bool {
	rest, ok := strings.CutPrefix(token, prefix)
	if !ok || len(rest) != 43 {
		return false
	}
	// The decoder skips \r and \n, so check the decoded length too: 43 characters
	// of the alphabet are exactly 32 bytes.
	b, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil && len(b) == 32
}
