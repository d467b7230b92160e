package testkit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/google/go-cmp/cmp"
)

const (
	testOrigin = "https://strongroom.test"
	testRPID   = "strongroom.test"
)

var (
	testChallenge  = []byte("0123456789abcdef0123456789abcdef")
	testUserHandle = []byte("018f3a52-7c1e-7d4b-9a61-3b2c1d0e9f8a")
)

// creationOptionsJSON returns options as a relying party sends them; extra
// members are added to publicKey.
func creationOptionsJSON(t *testing.T, extra map[string]any) []byte {
	t.Helper()
	pk := map[string]any{
		"rp":               map[string]any{"id": testRPID, "name": "Strongroom"},
		"user":             map[string]any{"id": b64.EncodeToString(testUserHandle), "name": "alice@example.com", "displayName": "Alice"},
		"challenge":        b64.EncodeToString(testChallenge),
		"pubKeyCredParams": []any{map[string]any{"type": "public-key", "alg": -8}, map[string]any{"type": "public-key", "alg": -7}},
		"authenticatorSelection": map[string]any{
			"residentKey": "preferred", "userVerification": "preferred",
		},
	}
	for k, v := range extra {
		pk[k] = v
	}
	b, err := json.Marshal(map[string]any{"publicKey": pk})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func requestOptionsJSON(t *testing.T, uv string, allow ...[]byte) []byte {
	t.Helper()
	pk := map[string]any{"challenge": b64.EncodeToString(testChallenge), "rpId": testRPID, "userVerification": uv}
	var list []any
	for _, id := range allow {
		list = append(list, map[string]any{"type": "public-key", "id": b64.EncodeToString(id)})
	}
	if list != nil {
		pk["allowCredentials"] = list
	}
	b, err := json.Marshal(map[string]any{"publicKey": pk})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// registered is what a relying party learns from a registration.
type registered struct {
	id     []byte
	key    *ecdsa.PublicKey
	parsed *protocol.ParsedCredentialCreationData
}

func register(t *testing.T, a *Authenticator, options []byte) registered {
	t.Helper()
	resp, err := a.Register(options)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		t.Fatalf("parsing the registration response: %v\n%s", err, resp)
	}
	spki, err := x509.ParsePKIXPublicKey(parsed.Raw.AttestationResponse.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := spki.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("public key is %T", spki)
	}
	return registered{id: parsed.RawID, key: key, parsed: parsed}
}

func TestAuthenticatorRegister(t *testing.T) {
	a := NewAuthenticator(testOrigin, testRPID)
	reg := register(t, a, creationOptionsJSON(t, nil))
	p := reg.parsed

	rpHash := sha256.Sum256([]byte(testRPID))
	ad := p.Response.AttestationObject.AuthData
	got := map[string]any{
		"type":        p.Response.CollectedClientData.Type,
		"challenge":   p.Response.CollectedClientData.Challenge,
		"origin":      p.Response.CollectedClientData.Origin,
		"fmt":         p.Response.AttestationObject.Format,
		"attStmt":     len(p.Response.AttestationObject.AttStatement),
		"rpIdHash":    hex.EncodeToString(ad.RPIDHash),
		"flags":       ad.Flags,
		"signCount":   ad.Counter,
		"aaguid":      hex.EncodeToString(ad.AttData.AAGUID),
		"credIDLen":   len(ad.AttData.CredentialID),
		"sameCredID":  bytes.Equal(ad.AttData.CredentialID, reg.id),
		"transports":  fmt.Sprint(p.Response.Transports),
		"attachment":  p.AuthenticatorAttachment,
		"algorithm":   p.Raw.AttestationResponse.PublicKeyAlgorithm,
		"lastCredID":  bytes.Equal(a.LastCredentialID(), reg.id),
		"extraAuthDt": bytes.Equal(p.Raw.AttestationResponse.AuthenticatorData, p.Response.AttestationObject.RawAuthData),
	}
	want := map[string]any{
		"type":        protocol.CreateCeremony,
		"challenge":   b64.EncodeToString(testChallenge),
		"origin":      testOrigin,
		"fmt":         "none",
		"attStmt":     0,
		"rpIdHash":    hex.EncodeToString(rpHash[:]),
		"flags":       protocol.FlagUserPresent | protocol.FlagUserVerified | protocol.FlagBackupEligible | protocol.FlagBackupState | protocol.FlagAttestedCredentialData,
		"signCount":   uint32(0),
		"aaguid":      hex.EncodeToString(make([]byte, 16)),
		"credIDLen":   32,
		"sameCredID":  true,
		"transports":  "[internal hybrid]",
		"attachment":  protocol.Platform,
		"algorithm":   int64(-7),
		"lastCredID":  true,
		"extraAuthDt": true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("registration response (-want +got):\n%s", diff)
	}

	// The COSE key in the authenticator data is the key the response's
	// publicKey member (SubjectPublicKeyInfo) carries.
	cose, err := webauthncose.ParsePublicKey(ad.AttData.CredentialPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ec, ok := cose.(webauthncose.EC2PublicKeyData)
	if !ok {
		t.Fatalf("COSE key is %T", cose)
	}
	point, err := reg.key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if ec.Algorithm != -7 || ec.Curve != 1 || !bytes.Equal(ec.XCoord, point[1:33]) || !bytes.Equal(ec.YCoord, point[33:]) {
		t.Errorf("COSE key %+v does not match the SPKI key", ec)
	}
}

func TestAuthenticatorRegisterBareOptions(t *testing.T) {
	var wrapped map[string]json.RawMessage
	if err := json.Unmarshal(creationOptionsJSON(t, nil), &wrapped); err != nil {
		t.Fatal(err)
	}
	a := NewAuthenticator(testOrigin, testRPID)
	register(t, a, wrapped["publicKey"])
}

func TestAuthenticatorRegisterRefuses(t *testing.T) {
	a := NewAuthenticator(testOrigin, testRPID)
	existing := register(t, a, creationOptionsJSON(t, nil))
	for _, tc := range []struct {
		name    string
		options []byte
		want    error
	}{
		{"excluded credential", creationOptionsJSON(t, map[string]any{
			"excludeCredentials": []any{map[string]any{"type": "public-key", "id": b64.EncodeToString(existing.id)}},
		}), ErrCredentialExcluded},
		{"no ES256", creationOptionsJSON(t, map[string]any{
			"pubKeyCredParams": []any{map[string]any{"type": "public-key", "alg": -257}},
		}), nil},
		{"no challenge", creationOptionsJSON(t, map[string]any{"challenge": ""}), nil},
		{"not base64url", creationOptionsJSON(t, map[string]any{"challenge": "***"}), nil},
		{"not JSON", []byte("{"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Register(tc.options)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Register = %v, want %v", err, tc.want)
			}
		})
	}
}

// assert runs an assertion and checks its signature with key; it returns the
// parsed response.
func assert(t *testing.T, a *Authenticator, options, userHandle []byte, key *ecdsa.PublicKey) *protocol.ParsedCredentialAssertionData {
	t.Helper()
	resp, err := a.Assert(options, userHandle)
	if err != nil {
		t.Fatal(err)
	}
	p, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		t.Fatalf("parsing the assertion: %v\n%s", err, resp)
	}
	cdHash := sha256.Sum256(p.Raw.AssertionResponse.ClientDataJSON)
	digest := sha256.Sum256(slices.Concat([]byte(p.Raw.AssertionResponse.AuthenticatorData), cdHash[:]))
	if !ecdsa.VerifyASN1(key, digest[:], p.Response.Signature) {
		t.Error("assertion signature does not verify")
	}
	return p
}

func TestAuthenticatorAssert(t *testing.T) {
	a := NewAuthenticator(testOrigin, testRPID)
	reg := register(t, a, creationOptionsJSON(t, nil))

	rpHash := sha256.Sum256([]byte(testRPID))
	for i, options := range [][]byte{
		requestOptionsJSON(t, "preferred", []byte("unknown credential"), reg.id), // second factor
		requestOptionsJSON(t, "required"),                                        // discoverable
	} {
		p := assert(t, a, options, nil, reg.key)
		ad := p.Response.AuthenticatorData
		got := map[string]any{
			"id":         p.RawID,
			"type":       p.Response.CollectedClientData.Type,
			"challenge":  p.Response.CollectedClientData.Challenge,
			"origin":     p.Response.CollectedClientData.Origin,
			"rpIdHash":   ad.RPIDHash,
			"flags":      ad.Flags,
			"signCount":  ad.Counter,
			"userHandle": p.Response.UserHandle,
		}
		want := map[string]any{
			"id":         reg.id,
			"type":       protocol.AssertCeremony,
			"challenge":  b64.EncodeToString(testChallenge),
			"origin":     testOrigin,
			"rpIdHash":   rpHash[:],
			"flags":      protocol.FlagUserPresent | protocol.FlagUserVerified | protocol.FlagBackupEligible | protocol.FlagBackupState,
			"signCount":  uint32(i + 1),
			"userHandle": testUserHandle,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("assertion %d (-want +got):\n%s", i, diff)
		}
	}
	if n, err := a.SignCount(reg.id); err != nil || n != 2 {
		t.Errorf("SignCount = %d, %v; want 2", n, err)
	}
}

func TestAuthenticatorAssertChoosesCredential(t *testing.T) {
	a := NewAuthenticator(testOrigin, testRPID)
	alice := register(t, a, creationOptionsJSON(t, nil))
	bobHandle := []byte("bob")
	bob := register(t, a, creationOptionsJSON(t, map[string]any{
		"user": map[string]any{"id": b64.EncodeToString(bobHandle), "name": "bob@example.com", "displayName": "Bob"},
	}))

	// Discoverable: the last created, unless a user is picked.
	if p := assert(t, a, requestOptionsJSON(t, "required"), nil, bob.key); !bytes.Equal(p.RawID, bob.id) {
		t.Error("discoverable login did not use the newest credential")
	}
	if p := assert(t, a, requestOptionsJSON(t, "required"), testUserHandle, alice.key); !bytes.Equal(p.RawID, alice.id) {
		t.Error("picking Alice's user handle did not use her credential")
	}
	// Allowed credentials decide; a user handle that does not own them leaves none.
	if p := assert(t, a, requestOptionsJSON(t, "preferred", alice.id), nil, alice.key); !bytes.Equal(p.RawID, alice.id) {
		t.Error("allowCredentials was not honoured")
	}
	if _, err := a.Assert(requestOptionsJSON(t, "preferred", alice.id), bobHandle); !errors.Is(err, ErrNoCredential) {
		t.Errorf("Assert with a user who does not own the allowed credential: %v", err)
	}
	if _, err := a.Assert(requestOptionsJSON(t, "preferred", []byte("nobody's")), nil); !errors.Is(err, ErrNoCredential) {
		t.Errorf("Assert with an unknown credential: %v", err)
	}
	// Discoverable credentials are per RP ID.
	other := NewAuthenticator("https://other.test", "other.test")
	if _, err := other.Assert(requestOptionsJSON(t, "required"), nil); !errors.Is(err, ErrNoCredential) {
		t.Errorf("Assert on an empty authenticator: %v", err)
	}
	a.SetRPID("other.test")
	if _, err := a.Assert(requestOptionsJSON(t, "required"), nil); !errors.Is(err, ErrNoCredential) {
		t.Errorf("discoverable Assert for another RP ID: %v", err)
	}
}

func TestAuthenticatorKnobs(t *testing.T) {
	a := NewAuthenticator(testOrigin, testRPID)
	reg := register(t, a, creationOptionsJSON(t, nil))

	// A cloned authenticator: the counter starts again lower.
	if err := a.SetSignCount(reg.id, 41); err != nil {
		t.Fatal(err)
	}
	if p := assert(t, a, requestOptionsJSON(t, "preferred", reg.id), nil, reg.key); p.Response.AuthenticatorData.Counter != 42 {
		t.Errorf("counter after SetSignCount(41): %d, want 42", p.Response.AuthenticatorData.Counter)
	}
	if err := a.SetSignCount([]byte("unknown"), 1); !errors.Is(err, ErrNoCredential) {
		t.Errorf("SetSignCount of an unknown credential: %v", err)
	}

	// No user verification: when turned off, or when the options discourage it.
	a.SetUserVerification(false)
	if p := assert(t, a, requestOptionsJSON(t, "required", reg.id), nil, reg.key); p.Response.AuthenticatorData.Flags.HasUserVerified() {
		t.Error("UV flag set with user verification off")
	}
	a.SetUserVerification(true)
	if p := assert(t, a, requestOptionsJSON(t, "discouraged", reg.id), nil, reg.key); p.Response.AuthenticatorData.Flags.HasUserVerified() {
		t.Error("UV flag set when discouraged")
	}

	// A phishing page: another origin and RP ID, signed all the same.
	a.SetOrigin("https://strongroom.test.evil")
	a.SetRPID("strongroom.test.evil")
	p := assert(t, a, requestOptionsJSON(t, "preferred", reg.id), nil, reg.key)
	evilHash := sha256.Sum256([]byte("strongroom.test.evil"))
	if p.Response.CollectedClientData.Origin != "https://strongroom.test.evil" || !bytes.Equal(p.Response.AuthenticatorData.RPIDHash, evilHash[:]) {
		t.Errorf("origin %q and RP ID hash %x after SetOrigin and SetRPID", p.Response.CollectedClientData.Origin, p.Response.AuthenticatorData.RPIDHash)
	}
}

func TestAuthenticatorAssertRefusesBadOptions(t *testing.T) {
	a := NewAuthenticator(testOrigin, testRPID)
	register(t, a, creationOptionsJSON(t, nil))
	for _, options := range []string{`{`, `{"publicKey":{}}`, `{"publicKey":{"challenge":"!"}}`, `[]`} {
		if _, err := a.Assert([]byte(options), nil); err == nil {
			t.Errorf("Assert(%s) succeeded", options)
		}
	}
}

// TestAuthenticatorCBOR checks the encoder against RFC 8949 Appendix A.
func TestAuthenticatorCBOR(t *testing.T) {
	for _, tc := range []struct {
		got  []byte
		want string
	}{
		{cborInt(0), "00"},
		{cborInt(23), "17"},
		{cborInt(24), "1818"},
		{cborInt(100), "1864"},
		{cborInt(1000), "1903e8"},
		{cborInt(1000000), "1a000f4240"},
		{cborInt(1000000000000), "1b000000e8d4a51000"},
		{cborInt(-1), "20"},
		{cborInt(-10), "29"},
		{cborInt(-100), "3863"},
		{cborInt(-1000), "3903e7"},
		{cborBytes([]byte{1, 2, 3, 4}), "4401020304"},
		{cborText("a"), "6161"},
		{cborText("IETF"), "6449455446"},
		{cborMap(), "a0"},
		{cborMap(cborInt(1), cborInt(2), cborInt(3), cborInt(4)), "a201020304"},
	} {
		if got := hex.EncodeToString(tc.got); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}
