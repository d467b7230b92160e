package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/store"
)

// WebAuthn ceremonies run in two requests: Begin answers the options for the
// browser and stores the ceremony's state server-side as a single-use
// challenge (5 minutes); Finish takes that challenge and verifies the
// browser's response against it.

var errNoPasskeys = strongroom.Errorf(strongroom.EUNAVAILABLE, "passkeys are not configured on this server (set the public URL)")

type ceremonyState struct {
	Kind  string `json:"kind"` // register, mfa, passwordless
	State []byte `json:"state"`
}

func (s *Service) beginCeremony(ctx context.Context, kind string, user *strongroom.User, options, state []byte) (*Ceremony, error) {
	var uid *strongroom.UserID
	email := ""
	if user != nil {
		uid, email = &user.ID, user.Email
	}
	token, c, err := s.newChallenge(purposeWebAuthn, uid, email, s.clock(), passkey.StateLifetime)
	if err != nil {
		return nil, err
	}
	if c.Data, err = json.Marshal(ceremonyState{Kind: kind, State: state}); err != nil {
		return nil, fmt.Errorf("encoding ceremony: %w", err)
	}
	if err := s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.CreateChallenge(ctx, c) }); err != nil {
		return nil, err
	}
	return &Ceremony{ID: token, Options: options, ExpiresAt: c.ExpiresAt}, nil
}

// finishCeremony takes a ceremony (single use) of the expected kind.
func (s *Service) finishCeremony(ctx context.Context, token, kind string) (*ceremonyState, *strongroom.User, error) {
	c, user, err := s.takeChallenge(ctx, purposeWebAuthn, token)
	if err != nil {
		return nil, nil, err
	}
	if err := s.useChallenge(ctx, c); err != nil {
		return nil, nil, errBadChallenge
	}
	var st ceremonyState
	if err := json.Unmarshal(c.Data, &st); err != nil || st.Kind != kind {
		return nil, nil, errBadChallenge
	}
	return &st, user, nil
}

// BeginWebAuthnRegistration starts registering a security key or passkey for
// the signed-in user (a recent sign-in is required).
func (s *Service) BeginWebAuthnRegistration(ctx context.Context) (*Ceremony, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	_, user, err := s.mfaChange(ctx)
	if err != nil {
		return nil, err
	}
	pu, err := s.passkeyUser(ctx, user)
	if err != nil {
		return nil, err
	}
	options, state, err := s.passkeys.BeginRegistration(pu)
	if err != nil {
		return nil, fmt.Errorf("beginning registration: %w", err)
	}
	return s.beginCeremony(ctx, "register", user, options, state)
}

// FinishWebAuthnRegistration verifies the browser's registration response and
// stores the credential as a confirmed factor.
func (s *Service) FinishWebAuthnRegistration(ctx context.Context, ceremony, name string, response []byte) (*MFAConfirmation, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	p, user, err := s.mfaChange(ctx)
	if err != nil {
		return nil, err
	}
	if name, err = validName("/name", defaultString(name, "Passkey"), 100); err != nil {
		return nil, err
	}
	st, cuser, err := s.finishCeremony(ctx, ceremony, "register")
	if err != nil {
		return nil, err
	}
	if cuser == nil || cuser.ID != user.ID {
		return nil, errBadChallenge
	}
	pu, err := s.passkeyUser(ctx, user)
	if err != nil {
		return nil, err
	}
	cred, err := s.passkeys.FinishRegistration(pu, st.State, response)
	if err != nil {
		s.auditSignIn(ctx, "mfa.webauthn.register", user.ID, strongroom.ResultFailure, passkeyReason(err))
		return nil, validation("/response", "the authenticator's response was not accepted")
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	f := strongroom.MFAFactor{ID: id, UserID: p.UserID, Kind: strongroom.MethodWebAuthn, Name: name,
		CredentialID: cred.ID, CreatedAt: now, ConfirmedAt: &now}
	if err := s.sealCredential(keys, &f, cred); err != nil {
		return nil, err
	}
	return s.confirmFactor(ctx, &f, "mfa.webauthn.register", func(tx *store.Tx) error { return tx.CreateFactor(ctx, &f) })
}

// BeginWebAuthnMFA answers the WebAuthn options for an MFA challenge.
func (s *Service) BeginWebAuthnMFA(ctx context.Context, challenge string) (*Ceremony, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	if err := s.guards.admitAuth(strongroom.PrincipalFrom(ctx).IP, ""); err != nil {
		return nil, err
	}
	_, user, err := s.takeChallenge(ctx, purposeMFA, challenge)
	if err != nil {
		return nil, err
	}
	pu, err := s.passkeyUser(ctx, user)
	if err != nil {
		return nil, err
	}
	if len(pu.Credentials) == 0 {
		return nil, strongroom.Errorf(strongroom.ECONFLICT, "this account has no security key or passkey")
	}
	options, state, err := s.passkeys.BeginLogin(pu)
	if err != nil {
		return nil, fmt.Errorf("beginning sign-in: %w", err)
	}
	return s.beginCeremony(ctx, "mfa", user, options, state)
}

// checkWebAuthn verifies a WebAuthn assertion as the second factor of user.
func (s *Service) checkWebAuthn(ctx context.Context, user *strongroom.User, ceremony string, response []byte) error {
	if s.passkeys == nil {
		return errNoPasskeys
	}
	st, cuser, err := s.finishCeremony(ctx, ceremony, "mfa")
	if err != nil {
		return err
	}
	if cuser == nil || cuser.ID != user.ID {
		return errBadChallenge
	}
	pu, err := s.passkeyUser(ctx, user)
	if err != nil {
		return err
	}
	cred, err := s.passkeys.FinishLogin(pu, st.State, response)
	if err != nil {
		return fmt.Errorf("%w: webauthn: %w", errFactorRejected, err)
	}
	return s.storeAssertion(ctx, user.ID, cred)
}

// storeAssertion records a credential's new sign count after an assertion.
func (s *Service) storeAssertion(ctx context.Context, user strongroom.UserID, cred passkey.Credential) error {
	var f *strongroom.MFAFactor
	err := s.store.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
		var err error
		f, err = tx.FactorByCredentialID(ctx, cred.ID)
		return err
	})
	if err != nil {
		return err
	}
	if f.UserID != user {
		return errors.New("credential belongs to another user")
	}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return err
	}
	if err := s.sealCredential(keys, f, cred); err != nil {
		return err
	}
	return s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error {
		return tx.UpdateWebAuthnFactor(ctx, user, f.ID, f.Secret, s.clock())
	})
}

// BeginPasskeySignIn starts a passwordless sign-in with a discoverable
// credential (a passkey).
func (s *Service) BeginPasskeySignIn(ctx context.Context) (*Ceremony, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	if err := s.guards.admitAuth(strongroom.PrincipalFrom(ctx).IP, ""); err != nil {
		return nil, err
	}
	options, state, err := s.passkeys.BeginDiscoverableLogin()
	if err != nil {
		return nil, fmt.Errorf("beginning passkey sign-in: %w", err)
	}
	return s.beginCeremony(ctx, "passwordless", nil, options, state)
}

// FinishPasskeySignIn verifies a passkey assertion (with user verification)
// and opens a session at AAL2: a passkey with user verification is
// multi-factor (something you have, unlocked by something you know or are).
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremony string, response []byte, cookie bool) (*SessionGrant, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	p := strongroom.PrincipalFrom(ctx)
	if err := s.guards.admitAuth(p.IP, ""); err != nil {
		return nil, err
	}
	st, _, err := s.finishCeremony(ctx, ceremony, "passwordless")
	if err != nil {
		return nil, err
	}
	var found *strongroom.User
	_, cred, err := s.passkeys.FinishDiscoverableLogin(st.State, response, func(userHandle, credentialID []byte) (passkey.User, error) {
		var f *strongroom.MFAFactor
		err := s.store.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
			var err error
			if f, err = tx.FactorByCredentialID(ctx, credentialID); err != nil {
				return err
			}
			found, err = tx.UserByID(ctx, f.UserID)
			return err
		})
		if err != nil {
			return passkey.User{}, err
		}
		if !bytes.Equal(userHandle, []byte(found.ID)) {
			return passkey.User{}, errors.New("user handle does not match the credential's user")
		}
		return s.passkeyUser(ctx, found)
	})
	if err != nil {
		uid := strongroom.UserID("")
		if found != nil {
			uid = found.ID
			s.guards.failed(p.IP, found.Email)
		}
		s.auditSignIn(ctx, "auth.signin.passkey", uid, strongroom.ResultFailure, passkeyReason(err))
		return nil, strongroom.Errorf(strongroom.EUNAUTHORIZED, "the passkey was not accepted")
	}
	if err := s.storeAssertion(ctx, found.ID, cred); err != nil {
		return nil, err
	}
	s.guards.succeeded(p.IP, found.Email)
	return s.openSession(ctx, found, SessionOptions{Methods: []string{strongroom.MethodPasskey}, AAL: 2, Cookie: cookie},
		"auth.signin.passkey", "")
}

// passkeyReason names a WebAuthn failure for the audit log without echoing
// anything the client sent.
func passkeyReason(err error) string {
	for _, k := range []struct {
		err    error
		reason string
	}{
		{passkey.ErrTooLarge, "response too large"},
		{passkey.ErrMalformed, "malformed response"},
		{passkey.ErrRecord, "stored credential damaged"},
		{passkey.ErrSignCount, "signature counter went backwards: possible cloned authenticator"},
		{passkey.ErrExpired, "ceremony expired"},
		{passkey.ErrState, "invalid ceremony state"},
		{passkey.ErrExists, "credential already registered"},
		{passkey.ErrRefused, "assertion or attestation refused"},
	} {
		if errors.Is(err, k.err) {
			return k.reason
		}
	}
	return "assertion or attestation not verified"
}
