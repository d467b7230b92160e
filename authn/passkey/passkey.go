// Package passkey runs the WebAuthn ceremonies of DESIGN.md's MFA control:
// registering a passkey, using it as a second factor, and signing in with it
// alone (a discoverable credential with user verification). It wraps
// github.com/go-webauthn/webauthn so that the service handles only bytes and the
// types declared here: options go to the browser as JSON, state is kept
// server-side as an opaque blob, responses come back as JSON, and a Credential is
// what the store keeps.
//
// The package holds no state: the caller keeps each ceremony's state for at
// most StateLifetime, uses it once, and stores the Credential every Finish
// returns in place of the one it had.
package passkey

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// MaxResponseSize bounds a client's response. Real responses are a few
// kilobytes; attestation certificate chains, which we do not ask for, are the
// largest thing a client could send.
const MaxResponseSize = 64 << 10

// StateLifetime is how long a ceremony's state is valid: the options tell the
// browser to give up after it, and Finish refuses older state. Keep state no
// longer than this.
const StateLifetime = 5 * time.Minute

// Errors. Every failure a client can cause wraps one of the first six, with
// the library's reason after it for the log (it may quote what the client sent);
// the service shows the user one message for all of them (STYLE.md: one opaque
// error for attacker-facing failures). The last three concern the user's
// stored passkeys.
var (
	// ErrTooLarge: the response is over MaxResponseSize.
	ErrTooLarge = errors.New("passkey: response too large")
	// ErrMalformed: the response is not a WebAuthn response (JSON, base64url,
	// CBOR, authenticator data).
	ErrMalformed = errors.New("passkey: malformed response")
	// ErrRefused: the response is well formed but fails verification: wrong
	// challenge, origin, RP ID, signature, user, credential, or missing user
	// presence or verification.
	ErrRefused = errors.New("passkey: response refused")
	// ErrSignCount: the signature counter went backwards, so the credential's
	// private key may have been cloned. The credential should be disabled and
	// the event audited.
	ErrSignCount = errors.New("passkey: signature counter went backwards")
	// ErrState: the state is not one this package wrote for this ceremony.
	ErrState = errors.New("passkey: invalid ceremony state")
	// ErrExpired: the state is older than StateLifetime.
	ErrExpired = errors.New("passkey: ceremony expired")
	// ErrNoCredentials: BeginLogin for a user without passkeys.
	ErrNoCredentials = errors.New("passkey: user has no passkeys")
	// ErrExists: FinishRegistration produced a credential the user already has.
	ErrExists = errors.New("passkey: credential already registered")
	// ErrRecord: a stored Credential cannot be used: Raw does not decode or does
	// not agree with the other fields. Not caused by the client.
	ErrRecord = errors.New("passkey: stored credential is damaged")
)

// Config is the relying party.
type Config struct {
	// RPID is the relying party ID: the host name credentials are bound to,
	// e.g. "strongroom.example.com". It cannot change without invalidating every
	// passkey.
	RPID string
	// RPDisplayName is shown by the browser during registration.
	RPDisplayName string
	// Origins are the web origins allowed to run ceremonies, e.g.
	// "https://strongroom.example.com". Each must be https (http only for
	// localhost) on RPID or a subdomain of it, with no path.
	Origins []string
	// Now is the clock that dates and expires ceremony state; nil means
	// time.Now.
	Now func() time.Time
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if err := protocol.ValidateRPID(c.RPID); err != nil || strings.Contains(c.RPID, "/") {
		return fmt.Errorf("passkey: RP ID %q is not a host name", c.RPID)
	}
	if strings.TrimSpace(c.RPDisplayName) == "" {
		return errors.New("passkey: RP display name is required")
	}
	if len(c.Origins) == 0 {
		return errors.New("passkey: at least one origin is required")
	}
	for _, o := range c.Origins {
		if err := checkOrigin(o, c.RPID); err != nil {
			return err
		}
	}
	return nil
}

func checkOrigin(origin, rpID string) error {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("passkey: origin %q is not scheme://host[:port]", origin)
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && host == "localhost":
	default:
		return fmt.Errorf("passkey: origin %q is not https", origin)
	}
	rp := strings.ToLower(rpID)
	if host != rp && !strings.HasSuffix(host, "."+rp) {
		return fmt.Errorf("passkey: origin %q is not on RP ID %q", origin, rpID)
	}
	return nil
}

// Passkeys runs the ceremonies for one relying party. It is safe for concurrent
// use.
type Passkeys struct {
	wa  *webauthn.WebAuthn
	now func() time.Time
}

// New returns Passkeys for cfg.
func New(cfg Config) (*Passkeys, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The timeouts go to the browser; expiry is enforced on our own clock by
	// decodeState, so the library does not enforce it a second time on its own.
	timeout := webauthn.TimeoutConfig{Timeout: StateLifetime, TimeoutUVD: StateLifetime}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPDisplayName,
		RPOrigins:             append([]string(nil), cfg.Origins...),
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts:              webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: configuring WebAuthn: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Passkeys{wa: wa, now: now}, nil
}

// checkSize refuses an empty or oversized response before it is parsed.
func checkSize(response []byte) error {
	if len(response) > MaxResponseSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(response), MaxResponseSize)
	}
	if len(response) == 0 {
		return fmt.Errorf("%w: empty", ErrMalformed)
	}
	return nil
}

// fail wraps a library error under kind, keeping the library's debug detail,
// which its Error method leaves out, for the log.
func fail(kind error, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w: %w (%s)", kind, err, pe.DevInfo)
	}
	return fmt.Errorf("%w: %w", kind, err)
}
