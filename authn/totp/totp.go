// Package totp enrols and checks time-based one-time passwords (RFC 6238), one of
// the second factors of DESIGN.md's MFA control. It fixes the configuration every
// authenticator app understands — HMAC-SHA-1, six digits, 30-second steps — and
// adds what the library leaves to the caller: single use of each code (the caller
// stores the step Validate returns) and strict input checks before any work.
//
// The code generation itself is github.com/pquerna/otp; this package only chooses
// its options, searches the three steps of the window and decides.
package totp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The fixed parameters. Changing any of them invalidates every enrolled
// authenticator, so they are constants, not options.
const (
	// Digits is the length of a code.
	Digits = 6
	// Period is the length of a time step.
	Period = 30 * time.Second
	// SecretSize is the number of random bytes in a new secret (160 bits, the
	// size RFC 4226 recommends for HMAC-SHA-1).
	SecretSize = 20
)

const (
	period        = 30      // seconds, as pquerna/otp wants it
	skew          = 1       // steps accepted on either side of now
	minSecretSize = 16      // RFC 4226 R6: at least 128 bits
	maxSecretSize = 64      // more is not a secret we issued
	maxCodeLen    = 16      // longer input is refused before any work
	maxStep       = 1 << 40 // about 1e6 years; keeps step*period exact in float64, as pquerna/otp computes it
	maxURILen     = 2048    // far more than an otpauth URI needs
	minQRSize     = 128     // pixels; smaller does not scan reliably
	maxQRSize     = 1024    // pixels; bounds the image we allocate
	uriPrefix     = "otpauth://totp/"
)

// ErrInvalid is returned for a code that is malformed or does not match any step
// of the window. Show the user one message for both.
var ErrInvalid = errors.New("totp: invalid code")

// ErrReplayed is returned for a correct code whose step is not after the last
// step accepted for this secret: the code, or an earlier one of the same window,
// was already used. It is distinct so the service can audit it; the user should
// see the same message as for ErrInvalid.
var ErrReplayed = errors.New("totp: code already used")

var validateOpts = totp.ValidateOpts{
	Period:    period,
	Skew:      0, // the window is searched here, one step at a time
	Digits:    otp.DigitsSix,
	Algorithm: otp.AlgorithmSHA1,
}

// Key is a new TOTP enrolment.
type Key struct {
	// Secret is the shared secret, base32 without padding. It is a secret:
	// store it encrypted with the tenant's data key (security invariant 3),
	// never log it, and show it to the user only during enrolment.
	Secret string
	// URI is the otpauth:// key URI for QR codes; it contains Secret.
	URI string
}

// Generate returns a new key with a 160-bit random secret for account (the user's
// e-mail) at issuer (the name shown in the authenticator app). Neither may
// contain a colon, which the key URI format uses as the separator.
func Generate(issuer, account string) (Key, error) {
	return generate(rand.Reader, issuer, account)
}

func generate(r io.Reader, issuer, account string) (Key, error) {
	if issuer == "" || account == "" {
		return Key{}, errors.New("totp: issuer and account are required")
	}
	if strings.ContainsRune(issuer, ':') || strings.ContainsRune(account, ':') {
		return Key{}, errors.New("totp: issuer and account may not contain a colon")
	}
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      period,
		SecretSize:  SecretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        r,
	})
	if err != nil {
		return Key{}, fmt.Errorf("totp: generating key: %w", err)
	}
	return Key{Secret: k.Secret(), URI: k.String()}, nil
}

// QRPNG renders an otpauth:// URI (Key.URI) as a square PNG QR code of size
// pixels, for the console's enrolment page. The image contains the secret: serve
// it with Cache-Control: no-store.
func QRPNG(uri string, size int) ([]byte, error) {
	if !strings.HasPrefix(uri, uriPrefix) || len(uri) > maxURILen {
		return nil, errors.New("totp: not an otpauth://totp/ URI")
	}
	if size < minQRSize || size > maxQRSize {
		return nil, fmt.Errorf("totp: QR code size %d outside %d..%d", size, minQRSize, maxQRSize)
	}
	k, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, fmt.Errorf("totp: parsing key URI: %w", err)
	}
	img, err := k.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("totp: rendering QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// Validate checks code against secret at now and returns the time step it
// matched (Unix time / 30 s). The caller stores that step with the secret, in the
// same transaction that accepts the sign-in, and passes it back as lastStep next
// time; pass 0 for a secret that was never used (step 0 is in 1970).
//
// Codes of the current step and of one step on either side are accepted. A code
// is exactly six ASCII digits; spaces are ignored ("123 456"). A malformed or
// wrong code gives ErrInvalid; a correct code whose step is not after lastStep
// gives ErrReplayed, which also refuses an earlier code of the window once a
// later one was used. The codes are compared in constant time, and all three
// steps are always computed. Any other error means the stored secret is unusable.
func Validate(secret, code string, now time.Time, lastStep int64) (step int64, err error) {
	digits, ok := normalize(code)
	if !ok {
		return 0, ErrInvalid
	}
	canonical, err := canonicalSecret(secret)
	if err != nil {
		return 0, err
	}

	current := floorDiv(now.Unix(), period)
	var (
		matched  int64 = -1
		replayed bool
	)
	for s := current - skew; s <= current+skew; s++ {
		if s < 0 || s > maxStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(canonical, time.Unix(s*period, 0), validateOpts)
		if err != nil {
			return 0, fmt.Errorf("totp: computing code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), digits) != 1 {
			continue
		}
		// Several steps can match the same six digits (one chance in a million
		// per pair). Take the earliest step that is still unused, so a rare
		// collision never burns a future step.
		switch {
		case s <= lastStep:
			replayed = true
		case matched < 0:
			matched = s
		}
	}
	switch {
	case matched >= 0:
		return matched, nil
	case replayed:
		return 0, ErrReplayed
	default:
		return 0, ErrInvalid
	}
}

// normalize returns the six digits of code with spaces removed, or false.
func normalize(code string) ([]byte, bool) {
	if len(code) > maxCodeLen {
		return nil, false
	}
	digits := make([]byte, 0, Digits)
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == ' ':
		case c >= '0' && c <= '9' && len(digits) < Digits:
			digits = append(digits, c)
		default:
			return nil, false
		}
	}
	return digits, len(digits) == Digits
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// canonicalSecret checks that secret decodes to a secret of a sensible size and
// returns it in the form pquerna/otp decodes (upper case, no padding).
func canonicalSecret(secret string) (string, error) {
	if len(secret) > 2*maxSecretSize {
		return "", errors.New("totp: stored secret is too long")
	}
	s := strings.TrimRight(strings.ToUpper(strings.TrimSpace(secret)), "=")
	if strings.ContainsAny(s, "\r\n") { // the decoder would skip them
		return "", errors.New("totp: stored secret is not base32")
	}
	key, err := b32.DecodeString(s)
	if err != nil {
		return "", errors.New("totp: stored secret is not base32")
	}
	if len(key) < minSecretSize || len(key) > maxSecretSize {
		return "", fmt.Errorf("totp: stored secret has %d bytes, want %d to %d", len(key), minSecretSize, maxSecretSize)
	}
	return s, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
