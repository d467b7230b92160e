package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BeginRegistration starts registering a passkey for u. options is the JSON
// for navigator.credentials.create — {"publicKey": {...}} with binary members
// in base64url, for PublicKeyCredential.parseCreationOptionsFromJSON — and state
// is kept server-side for FinishRegistration. The options ask for a
// discoverable credential and user verification, both "preferred", no
// attestation, and exclude u's existing credentials.
func (p *Passkeys) BeginRegistration(u User) (options, state []byte, err error) {
	lu, err := u.library()
	if err != nil {
		return nil, nil, err
	}
	creation, session, err := p.wa.BeginRegistration(lu,
		webauthn.WithExclusions(webauthn.Credentials(lu.creds).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			RequireResidentKey: protocol.ResidentKeyNotRequired(),
			UserVerification:   protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: beginning registration: %w", err)
	}
	return p.begin(ceremonyRegister, creation, session)
}

// FinishRegistration checks the client's response to BeginRegistration's
// options and returns the new credential to store for u. u must be the user the
// registration began for, with the same credentials.
func (p *Passkeys) FinishRegistration(u User, state, response []byte) (Credential, error) {
	if err := checkSize(response); err != nil {
		return Credential{}, err
	}
	session, err := p.decodeState(state, ceremonyRegister)
	if err != nil {
		return Credential{}, err
	}
	lu, err := u.library()
	if err != nil {
		return Credential{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Credential{}, fail(ErrMalformed, err)
	}
	lc, err := p.wa.CreateCredential(lu, session, parsed)
	if err != nil {
		return Credential{}, fail(ErrRefused, err)
	}
	for _, c := range lu.creds {
		if bytes.Equal(c.ID, lc.ID) {
			return Credential{}, ErrExists
		}
	}
	return newCredential(lc)
}

// BeginLogin starts a second-factor sign-in for u, who has already given a
// password: the options allow only u's credentials and prefer user
// verification. It returns ErrNoCredentials when u has none.
func (p *Passkeys) BeginLogin(u User) (options, state []byte, err error) {
	lu, err := u.library()
	if err != nil {
		return nil, nil, err
	}
	if len(lu.creds) == 0 {
		return nil, nil, ErrNoCredentials
	}
	assertion, session, err := p.wa.BeginLogin(lu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: beginning login: %w", err)
	}
	return p.begin(ceremonyLogin, assertion, session)
}

// FinishLogin checks the client's response to BeginLogin's options for u and
// returns the credential used, with its counter and flags updated: store it in
// place of the old one.
//
// When the counter went backwards it returns ErrSignCount together with the
// stored credential that was used, unchanged, so the service can disable it.
func (p *Passkeys) FinishLogin(u User, state, response []byte) (Credential, error) {
	if err := checkSize(response); err != nil {
		return Credential{}, err
	}
	session, err := p.decodeState(state, ceremonyLogin)
	if err != nil {
		return Credential{}, err
	}
	lu, err := u.library()
	if err != nil {
		return Credential{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Credential{}, fail(ErrMalformed, err)
	}
	lc, err := p.wa.ValidateLogin(lu, session, parsed)
	if err != nil {
		return Credential{}, fail(ErrRefused, err)
	}
	return finish(u, lc, parsed.Response.AuthenticatorData.Counter)
}

// BeginDiscoverableLogin starts a passwordless sign-in: the options name no
// user and no credential, so the browser offers the passkeys it has for the
// RP ID, and user verification is required.
func (p *Passkeys) BeginDiscoverableLogin() (options, state []byte, err error) {
	assertion, session, err := p.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: beginning discoverable login: %w", err)
	}
	return p.begin(ceremonyDiscoverable, assertion, session)
}

// FinishDiscoverableLogin checks the client's response to
// BeginDiscoverableLogin's options. lookup is given the user handle and the
// credential ID from the response and returns the user whose ID is that handle,
// with their credentials; the response is then checked against that user, who
// must own the credential. It returns the user and the credential used, updated
// as by FinishLogin. An error from lookup is returned wrapped, as it is.
func (p *Passkeys) FinishDiscoverableLogin(state, response []byte, lookup func(userHandle, credentialID []byte) (User, error)) (User, Credential, error) {
	if err := checkSize(response); err != nil {
		return User{}, Credential{}, err
	}
	session, err := p.decodeState(state, ceremonyDiscoverable)
	if err != nil {
		return User{}, Credential{}, err
	}
	// Our own state says so, but user verification is what makes a passkey a
	// sign-in on its own: check it is what the library will verify.
	if session.UserVerification != protocol.VerificationRequired {
		return User{}, Credential{}, fmt.Errorf("%w: passwordless state without user verification", ErrState)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return User{}, Credential{}, fail(ErrMalformed, err)
	}

	var (
		found     User
		lookupErr error
	)
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		u, err := lookup(bytes.Clone(userHandle), bytes.Clone(rawID))
		if err != nil {
			lookupErr = fmt.Errorf("passkey: looking up the passkey's user: %w", err)
			return nil, lookupErr
		}
		lu, err := u.library()
		if err != nil {
			lookupErr = err
			return nil, err
		}
		found = u
		return lu, nil
	}
	_, lc, err := p.wa.ValidatePasskeyLogin(handler, session, parsed)
	if lookupErr != nil {
		return User{}, Credential{}, lookupErr
	}
	if err != nil {
		return User{}, Credential{}, fail(ErrRefused, err)
	}
	c, err := finish(found, lc, parsed.Response.AuthenticatorData.Counter)
	if err != nil && !errors.Is(err, ErrSignCount) {
		return User{}, Credential{}, err
	}
	return found, c, err
}

// begin encodes the options and the state of a ceremony.
func (p *Passkeys) begin(c ceremony, options any, session *webauthn.SessionData) ([]byte, []byte, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: encoding options: %w", err)
	}
	st, err := p.encodeState(c, session)
	if err != nil {
		return nil, nil, err
	}
	return opts, st, nil
}

// finish turns the library's verdict on a login into the credential to store,
// refusing a counter that went backwards.
func finish(u User, lc *webauthn.Credential, counter uint32) (Credential, error) {
	if lc.Authenticator.CloneWarning {
		for _, c := range u.Credentials {
			if bytes.Equal(c.ID, lc.ID) {
				return c, fmt.Errorf("%w: counter %d not above the stored %d", ErrSignCount, counter, c.SignCount)
			}
		}
		return Credential{}, ErrSignCount
	}
	return newCredential(lc)
}
