package passkey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// ceremony names what a state was written for, so that state of one ceremony
// cannot finish another (a registration challenge answered by an assertion, a
// second-factor state used for passwordless sign-in).
type ceremony string

const (
	ceremonyRegister     ceremony = "register"
	ceremonyLogin        ceremony = "login"
	ceremonyDiscoverable ceremony = "discoverable"
)

// stateVersion is the version of the state encoding. State lives minutes, so a
// new version simply refuses the old one.
const stateVersion = 1

// state is the opaque state handed to the caller between Begin and Finish. It
// holds the challenge and what the library needs to check the response; it is
// not secret, but it must stay server-side, or a client could choose its own
// challenge.
type state struct {
	Version  int                  `json:"v"`
	Ceremony ceremony             `json:"ceremony"`
	Expires  time.Time            `json:"expires"`
	Session  webauthn.SessionData `json:"session"`
}

func (p *Passkeys) encodeState(c ceremony, s *webauthn.SessionData) ([]byte, error) {
	b, err := json.Marshal(state{Version: stateVersion, Ceremony: c, Expires: p.now().Add(StateLifetime), Session: *s})
	if err != nil {
		return nil, fmt.Errorf("passkey: encoding state: %w", err)
	}
	return b, nil
}

// decodeState returns the session of a state written for ceremony c that has
// not expired.
func (p *Passkeys) decodeState(b []byte, c ceremony) (webauthn.SessionData, error) {
	if len(b) == 0 || len(b) > MaxResponseSize {
		return webauthn.SessionData{}, fmt.Errorf("%w: %d bytes", ErrState, len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s state
	if err := dec.Decode(&s); err != nil {
		return webauthn.SessionData{}, fmt.Errorf("%w: %w", ErrState, err)
	}
	if dec.More() {
		return webauthn.SessionData{}, fmt.Errorf("%w: trailing data", ErrState)
	}
	switch {
	case s.Version != stateVersion:
		return webauthn.SessionData{}, fmt.Errorf("%w: version %d", ErrState, s.Version)
	case s.Ceremony != c:
		return webauthn.SessionData{}, fmt.Errorf("%w: state of a %s ceremony used for %s", ErrState, s.Ceremony, c)
	case s.Session.Challenge == "":
		return webauthn.SessionData{}, fmt.Errorf("%w: no challenge", ErrState)
	case s.Expires.IsZero():
		return webauthn.SessionData{}, fmt.Errorf("%w: no expiry", ErrState)
	case !p.now().Before(s.Expires):
		return webauthn.SessionData{}, fmt.Errorf("%w: at %s", ErrExpired, s.Expires.Format(time.RFC3339))
	}
	return s.Session, nil
}
