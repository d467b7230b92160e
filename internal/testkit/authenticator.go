package testkit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Authenticator is a software WebAuthn client and authenticator in one: it plays
// the browser (clientDataJSON, the JSON the page posts back) and a platform
// authenticator holding ES256 (ECDSA P-256) discoverable credentials, so the
// passkey ceremonies can run end to end without a browser. Registration gives
// "none" attestation; flags are UP, UV (unless turned off), BE and BS (a synced
// passkey), and AT at registration.
//
// It is faithful where a relying party's checks look, and deliberately
// trusting where a test needs to play an attacker: it signs for its own origin
// and RP ID whatever the options say (a phishing page, a misconfigured
// client), and uses a credential named in allowCredentials whatever RP ID it
// was created for. SetSignCount plays a cloned authenticator and
// SetUserVerification(false) one that does not verify the user.
//
// It is safe for concurrent use. It imports nothing of Strongroom's, so any
// package's tests can use it.
type Authenticator struct {
	mu       sync.Mutex
	origin   string
	rpID     string
	noUV     bool
	creds    []*softCredential
	lastCred []byte
}

type softCredential struct {
	id         []byte
	rpID       string
	userHandle []byte
	key        *ecdsa.PrivateKey
	signCount  uint32
}

// Errors of the authenticator, as a browser would raise them.
var (
	// ErrCredentialExcluded: Register found one of its credentials in
	// excludeCredentials (the browser's InvalidStateError).
	ErrCredentialExcluded = errors.New("testkit: authenticator already holds an excluded credential")
	// ErrNoCredential: Assert has no credential to offer (NotAllowedError).
	ErrNoCredential = errors.New("testkit: authenticator has no matching credential")
)

// NewAuthenticator returns an authenticator without credentials for pages of
// origin ("https://strongroom.test") and RP ID rpID ("strongroom.test").
func NewAuthenticator(origin, rpID string) *Authenticator {
	return &Authenticator{origin: origin, rpID: rpID}
}

// SetOrigin changes the origin the client reports in clientDataJSON.
func (a *Authenticator) SetOrigin(origin string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.origin = origin
}

// SetRPID changes the RP ID whose hash the authenticator puts in authenticator
// data, and for which new credentials are created and discoverable ones found.
func (a *Authenticator) SetRPID(rpID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rpID = rpID
}

// SetUserVerification turns the UV flag on (the default) or off. Off, the
// authenticator answers even when the options require user verification, as a
// broken or malicious one would, so the relying party's check can be tested.
func (a *Authenticator) SetUserVerification(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.noUV = !on
}

// SetSignCount sets the signature counter of credential credID to n; the next
// assertion reports n+1. Setting it below what the relying party last saw plays
// a cloned authenticator.
func (a *Authenticator) SetSignCount(credID []byte, n uint32) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if bytes.Equal(c.id, credID) {
			c.signCount = n
			return nil
		}
	}
	return ErrNoCredential
}

// SignCount returns the signature counter of credential credID.
func (a *Authenticator) SignCount(credID []byte) (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if bytes.Equal(c.id, credID) {
			return c.signCount, nil
		}
	}
	return 0, ErrNoCredential
}

// LastCredentialID returns the ID of the credential last created or used.
func (a *Authenticator) LastCredentialID() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return bytes.Clone(a.lastCred)
}

// b64 is how WebAuthn's JSON forms carry bytes.
var b64 = base64.RawURLEncoding

// b64Bytes decodes base64url with or without padding.
type b64Bytes []byte

func (b *b64Bytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := b64.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

type credParam struct {
	Type string `json:"type"`
	Alg  int    `json:"alg"`
}

type credentialDescriptor struct {
	Type string   `json:"type"`
	ID   b64Bytes `json:"id"`
}

// creationOptions is the part of PublicKeyCredentialCreationOptionsJSON the
// authenticator reads.
type creationOptions struct {
	RP struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID b64Bytes `json:"id"`
	} `json:"user"`
	Challenge              b64Bytes               `json:"challenge"`
	PubKeyCredParams       []credParam            `json:"pubKeyCredParams"`
	ExcludeCredentials     []credentialDescriptor `json:"excludeCredentials"`
	AuthenticatorSelection struct {
		UserVerification string `json:"userVerification"`
	} `json:"authenticatorSelection"`
}

// requestOptions is the part of PublicKeyCredentialRequestOptionsJSON the
// authenticator reads.
type requestOptions struct {
	Challenge        b64Bytes               `json:"challenge"`
	RPID             string                 `json:"rpId"`
	AllowCredentials []credentialDescriptor `json:"allowCredentials"`
	UserVerification string                 `json:"userVerification"`
}

// unwrapOptions accepts {"publicKey": {...}}, as the relying party sends it for
// navigator.credentials, or the bare options.
func unwrapOptions(optionsJSON []byte, v any) error {
	var wrapper struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(optionsJSON, &wrapper); err != nil {
		return fmt.Errorf("testkit: decoding options: %w", err)
	}
	if wrapper.PublicKey != nil {
		optionsJSON = wrapper.PublicKey
	}
	if err := json.Unmarshal(optionsJSON, v); err != nil {
		return fmt.Errorf("testkit: decoding options: %w", err)
	}
	return nil
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40

	algES256 = -7
)

// Register answers navigator.credentials.create: it creates a credential for
// the options' user and returns the JSON of the PublicKeyCredential the page
// posts back (RegistrationResponseJSON).
func (a *Authenticator) Register(optionsJSON []byte) ([]byte, error) {
	var opts creationOptions
	if err := unwrapOptions(optionsJSON, &opts); err != nil {
		return nil, err
	}
	if len(opts.Challenge) == 0 || len(opts.User.ID) == 0 {
		return nil, errors.New("testkit: creation options without challenge or user ID")
	}
	if !slices.Contains(opts.PubKeyCredParams, credParam{"public-key", algES256}) {
		return nil, errors.New("testkit: options do not allow ES256")
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ex := range opts.ExcludeCredentials {
		for _, c := range a.creds {
			if c.rpID == a.rpID && bytes.Equal(c.id, ex.ID) {
				return nil, ErrCredentialExcluded
			}
		}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testkit: generating key: %w", err)
	}
	cred := &softCredential{id: make([]byte, 32), rpID: a.rpID, userHandle: bytes.Clone(opts.User.ID), key: key}
	if _, err := rand.Read(cred.id); err != nil {
		return nil, err
	}
	coseKey, err := coseES256(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}

	// A credential of the same user for the same RP replaces the old one, as
	// on a real authenticator.
	a.creds = slices.DeleteFunc(a.creds, func(c *softCredential) bool {
		return c.rpID == cred.rpID && bytes.Equal(c.userHandle, cred.userHandle)
	})
	a.creds = append(a.creds, cred)
	a.lastCred = bytes.Clone(cred.id)

	authData := a.authData(a.flags(opts.AuthenticatorSelection.UserVerification)|flagAT, cred.signCount)
	authData = append(authData, make([]byte, 16)...) // AAGUID: none
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(cred.id)))
	authData = append(authData, cred.id...)
	authData = append(authData, coseKey...)

	attObj := cborMap(
		cborText("fmt"), cborText("none"),
		cborText("attStmt"), cborMap(),
		cborText("authData"), cborBytes(authData),
	)
	clientData, err := a.clientData("webauthn.create", opts.Challenge)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id":                      b64.EncodeToString(cred.id),
		"rawId":                   b64.EncodeToString(cred.id),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":     b64.EncodeToString(clientData),
			"attestationObject":  b64.EncodeToString(attObj),
			"authenticatorData":  b64.EncodeToString(authData),
			"publicKey":          b64.EncodeToString(spki),
			"publicKeyAlgorithm": algES256,
			"transports":         []string{"internal", "hybrid"},
		},
	})
}

// Assert answers navigator.credentials.get and returns the JSON of the
// PublicKeyCredential the page posts back (AuthenticationResponseJSON), with the
// signature counter incremented.
//
// With allowCredentials in the options it uses the first listed credential it
// holds; without (a discoverable login) it uses a credential of its RP ID, the
// one created last. userHandle, when not nil, limits the choice to the
// credentials of that user, as a person picking an account would. The response
// always carries the credential's user handle.
func (a *Authenticator) Assert(optionsJSON []byte, userHandle []byte) ([]byte, error) {
	var opts requestOptions
	if err := unwrapOptions(optionsJSON, &opts); err != nil {
		return nil, err
	}
	if len(opts.Challenge) == 0 {
		return nil, errors.New("testkit: request options without challenge")
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	cred := a.pick(opts.AllowCredentials, userHandle)
	if cred == nil {
		return nil, ErrNoCredential
	}
	cred.signCount++
	a.lastCred = bytes.Clone(cred.id)

	authData := a.authData(a.flags(opts.UserVerification), cred.signCount)
	clientData, err := a.clientData("webauthn.get", opts.Challenge)
	if err != nil {
		return nil, err
	}
	hash := sha256.Sum256(clientData)
	digest := sha256.Sum256(slices.Concat(authData, hash[:]))
	sig, err := ecdsa.SignASN1(rand.Reader, cred.key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("testkit: signing assertion: %w", err)
	}
	return json.Marshal(map[string]any{
		"id":                      b64.EncodeToString(cred.id),
		"rawId":                   b64.EncodeToString(cred.id),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(cred.userHandle),
		},
	})
}

// pick chooses the credential for an assertion; a.mu is held.
func (a *Authenticator) pick(allow []credentialDescriptor, userHandle []byte) *softCredential {
	ok := func(c *softCredential) bool {
		return userHandle == nil || bytes.Equal(c.userHandle, userHandle)
	}
	if len(allow) > 0 {
		for _, d := range allow {
			for _, c := range a.creds {
				if bytes.Equal(c.id, d.ID) && ok(c) {
					return c
				}
			}
		}
		return nil
	}
	for i := len(a.creds) - 1; i >= 0; i-- {
		if c := a.creds[i]; c.rpID == a.rpID && ok(c) {
			return c
		}
	}
	return nil
}

// flags returns the flags of an answer; a.mu is held.
func (a *Authenticator) flags(userVerification string) byte {
	f := byte(flagUP | flagBE | flagBS)
	if !a.noUV && userVerification != "discouraged" {
		f |= flagUV
	}
	return f
}

// authData returns rpIdHash ‖ flags ‖ signCount; a.mu is held.
func (a *Authenticator) authData(flags byte, signCount uint32) []byte {
	h := sha256.Sum256([]byte(a.rpID))
	d := append(h[:], flags)
	return binary.BigEndian.AppendUint32(d, signCount)
}

// clientData returns the CollectedClientData JSON; a.mu is held.
func (a *Authenticator) clientData(typ string, challenge []byte) ([]byte, error) {
	return json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, b64.EncodeToString(challenge), a.origin, false})
}

// coseES256 encodes an EC2 P-256 public key as a COSE_Key (RFC 9053), in the
// CTAP2 canonical order of its labels: kty, alg, crv, x, y.
func coseES256(pub *ecdsa.PublicKey) ([]byte, error) {
	point, err := pub.Bytes() // 0x04 ‖ x ‖ y
	if err != nil || len(point) != 65 {
		return nil, fmt.Errorf("testkit: encoding public key: %v", err)
	}
	return cborMap(
		cborInt(1), cborInt(2), // kty: EC2
		cborInt(3), cborInt(algES256), // alg: ES256
		cborInt(-1), cborInt(1), // crv: P-256
		cborInt(-2), cborBytes(point[1:33]), // x
		cborInt(-3), cborBytes(point[33:65]), // y
	), nil
}

// The few CBOR items (RFC 8949) the authenticator writes, hand-encoded so that
// the relying party's decoder is checked against an independent encoder.

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n <= 0xff:
		return []byte{major<<5 | 24, byte(n)}
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
	default:
		return binary.BigEndian.AppendUint64([]byte{major<<5 | 27}, n)
	}
}

func cborInt(i int64) []byte {
	if i >= 0 {
		return cborHead(0, uint64(i))
	}
	return cborHead(1, uint64(-1-i))
}

func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }

func cborText(s string) []byte { return append(cborHead(3, uint64(len(s))), s...) }

// cborMap encodes a map from alternating encoded keys and values, in the order
// given.
func cborMap(kv ...[]byte) []byte {
	if len(kv)%2 != 0 {
		panic("testkit: cborMap needs key-value pairs")
	}
	return slices.Concat(append([][]byte{cborHead(5, uint64(len(kv)/2))}, kv...)...)
}
