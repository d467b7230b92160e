package passkey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// User is the account a ceremony is for.
type User struct {
	// ID is the WebAuthn user handle: 1 to 64 bytes that identify the account
	// and nothing else (no e-mail or name). The authenticator stores it with a
	// discoverable credential and returns it at passwordless sign-in, where it
	// is how the account is found. It must never change.
	ID []byte
	// Name is the account name the authenticator shows (the e-mail).
	Name string
	// DisplayName is the person's name, shown beside Name.
	DisplayName string
	// Credentials are the user's registered passkeys.
	Credentials []Credential
}

// The library's user interface. The methods are for the library; the service
// uses the fields.
var _ webauthn.User = User{}

// WebAuthnID returns u.ID.
func (u User) WebAuthnID() []byte { return u.ID }

// WebAuthnName returns u.Name.
func (u User) WebAuthnName() string { return u.Name }

// WebAuthnDisplayName returns u.DisplayName, or Name when it is empty.
func (u User) WebAuthnDisplayName() string {
	if u.DisplayName == "" {
		return u.Name
	}
	return u.DisplayName
}

// WebAuthnCredentials returns the library's form of u.Credentials, leaving out
// any that are damaged. The ceremonies in this package do not call it: they
// convert the credentials themselves and refuse damaged ones with ErrRecord.
func (u User) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(u.Credentials))
	for _, c := range u.Credentials {
		if lc, err := c.library(); err == nil {
			out = append(out, lc)
		}
	}
	return out
}

// libraryUser is a User whose credentials were converted, strictly, once.
type libraryUser struct {
	User
	creds []webauthn.Credential
}

func (u libraryUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// library checks u and converts its credentials, refusing damaged ones.
func (u User) library() (libraryUser, error) {
	if len(u.ID) < protocol.MinimumUserHandleLength || len(u.ID) > protocol.MaximumUserHandleLength {
		return libraryUser{}, fmt.Errorf("passkey: user ID has %d bytes, want 1 to 64", len(u.ID))
	}
	if u.Name == "" {
		return libraryUser{}, fmt.Errorf("passkey: user name is required")
	}
	lu := libraryUser{User: u, creds: make([]webauthn.Credential, 0, len(u.Credentials))}
	for i, c := range u.Credentials {
		lc, err := c.library()
		if err != nil {
			return libraryUser{}, fmt.Errorf("credential %d: %w", i, err)
		}
		lu.creds = append(lu.creds, lc)
	}
	return lu, nil
}

// Credential is a registered passkey as the store keeps it: store every field,
// and after each Finish replace the whole stored record with the Credential it
// returns.
//
// Raw is the authoritative record: the library's credential (public key, flags,
// counter, attestation, extensions) serialized as JSON. The other fields are
// copies of parts of it for the store and the console — ID for lookups and a
// unique index, the rest for display and policy — and must agree with it: a
// record whose fields and Raw disagree is refused with ErrRecord rather than
// trusted half-way.
type Credential struct {
	// ID is the credential ID, unique across all users (index it).
	ID []byte
	// PublicKey is the credential public key (a COSE_Key).
	PublicKey []byte
	// AttestationType is the attestation the authenticator gave; "none", as we
	// ask for none.
	AttestationType string
	// Transports are the authenticator's transport hints ("internal",
	// "hybrid", "usb", ...).
	Transports []string
	// SignCount is the authenticator's signature counter; 0 for authenticators
	// without one (most synced passkeys).
	SignCount uint32
	// BackupEligible and BackupState say whether the passkey can be, and is,
	// synced to other devices.
	BackupEligible bool
	BackupState    bool
	// AAGUID names the authenticator model (all zeros when unknown).
	AAGUID []byte
	// Raw is the library's credential record as JSON.
	Raw []byte
}

// newCredential makes the stored form of a library credential.
func newCredential(lc *webauthn.Credential) (Credential, error) {
	raw, err := json.Marshal(lc)
	if err != nil {
		return Credential{}, fmt.Errorf("passkey: encoding credential: %w", err)
	}
	c := project(lc)
	c.Raw = raw
	return c, nil
}

// project returns the fields of Credential that copy parts of lc.
func project(lc *webauthn.Credential) Credential {
	transports := make([]string, len(lc.Transport))
	for i, t := range lc.Transport {
		transports[i] = string(t)
	}
	return Credential{
		ID:              slices.Clone(lc.ID),
		PublicKey:       slices.Clone(lc.PublicKey),
		AttestationType: lc.AttestationType,
		Transports:      transports,
		SignCount:       lc.Authenticator.SignCount,
		BackupEligible:  lc.Flags.BackupEligible,
		BackupState:     lc.Flags.BackupState,
		AAGUID:          slices.Clone(lc.Authenticator.AAGUID),
	}
}

// library decodes c.Raw and checks that it agrees with c's other fields.
func (c Credential) library() (webauthn.Credential, error) {
	var lc webauthn.Credential
	if err := json.Unmarshal(c.Raw, &lc); err != nil {
		return webauthn.Credential{}, fmt.Errorf("%w: decoding Raw: %w", ErrRecord, err)
	}
	if len(lc.ID) == 0 || len(lc.PublicKey) == 0 {
		return webauthn.Credential{}, fmt.Errorf("%w: Raw has no ID or public key", ErrRecord)
	}
	if !c.agrees(project(&lc)) {
		return webauthn.Credential{}, fmt.Errorf("%w: fields disagree with Raw (store the Credential Finish returns as a whole)", ErrRecord)
	}
	return lc, nil
}

// agrees reports whether c's copied fields equal p's, treating nil and empty
// alike, as a database may.
func (c Credential) agrees(p Credential) bool {
	return bytes.Equal(c.ID, p.ID) &&
		bytes.Equal(c.PublicKey, p.PublicKey) &&
		c.AttestationType == p.AttestationType &&
		slices.Equal(c.Transports, p.Transports) &&
		c.SignCount == p.SignCount &&
		c.BackupEligible == p.BackupEligible &&
		c.BackupState == p.BackupState &&
		bytes.Equal(c.AAGUID, p.AAGUID)
}
