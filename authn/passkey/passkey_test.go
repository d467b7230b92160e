package passkey_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/internal/testkit"
)

const (
	origin = "https://strongroom.test"
	rpID   = "strongroom.test"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a relying party, a user and the user's authenticator.
type fixture struct {
	pk    *passkey.Passkeys
	clock *clock
	auth  *testkit.Authenticator
	user  passkey.User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	c := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	pk, err := passkey.New(passkey.Config{RPID: rpID, RPDisplayName: "Strongroom", Origins: []string{origin}, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		pk:    pk,
		clock: c,
		auth:  testkit.NewAuthenticator(origin, rpID),
		user: passkey.User{
			ID:          []byte("018f3a52-7c1e-7d4b-9a61-3b2c1d0e9f8a"),
			Name:        "alice@example.com",
			DisplayName: "Alice Example",
		},
	}
}

// register registers a passkey on f.auth and adds it to f.user.
func (f *fixture) register(t testing.TB) passkey.Credential {
	t.Helper()
	options, state, err := f.pk.BeginRegistration(f.user)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.auth.Register(options)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.pk.FinishRegistration(f.user, state, resp)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	f.user.Credentials = append(f.user.Credentials, c)
	return c
}

// store replaces the stored credential with c, as the service does after a login.
func (f *fixture) store(c passkey.Credential) {
	for i := range f.user.Credentials {
		if bytes.Equal(f.user.Credentials[i].ID, c.ID) {
			f.user.Credentials[i] = c
		}
	}
}

// login runs a second-factor login and stores the result.
func (f *fixture) login(t testing.TB) passkey.Credential {
	t.Helper()
	options, state, err := f.pk.BeginLogin(f.user)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.auth.Assert(options, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.pk.FinishLogin(f.user, state, resp)
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	f.store(c)
	return c
}

// lookup finds users by user handle among users, as the store would, and
// records what it was asked.
func lookup(asked *[][]byte, users ...passkey.User) func(userHandle, credentialID []byte) (passkey.User, error) {
	return func(userHandle, credentialID []byte) (passkey.User, error) {
		if asked != nil {
			*asked = append(*asked, userHandle, credentialID)
		}
		for _, u := range users {
			if bytes.Equal(u.ID, userHandle) {
				return u, nil
			}
		}
		return passkey.User{}, errNoUser
	}
}

var errNoUser = errors.New("no such user")

// jsonPath decodes JSON and returns the value at the path of object keys.
func jsonPath(t *testing.T, b []byte, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestPasskeyCeremonies(t *testing.T) {
	f := newFixture(t)

	// Registration.
	options, state, err := f.pk.BeginRegistration(f.user)
	if err != nil {
		t.Fatal(err)
	}
	gotOpts := map[string]any{
		"rp":          jsonPath(t, options, "publicKey", "rp"),
		"user":        jsonPath(t, options, "publicKey", "user"),
		"selection":   jsonPath(t, options, "publicKey", "authenticatorSelection"),
		"attestation": jsonPath(t, options, "publicKey", "attestation"),
		"exclude":     jsonPath(t, options, "publicKey", "excludeCredentials"),
		"timeout":     jsonPath(t, options, "publicKey", "timeout"),
	}
	wantOpts := map[string]any{
		"rp":          map[string]any{"id": rpID, "name": "Strongroom"},
		"user":        map[string]any{"id": base64.RawURLEncoding.EncodeToString(f.user.ID), "name": "alice@example.com", "displayName": "Alice Example"},
		"selection":   map[string]any{"residentKey": "preferred", "requireResidentKey": false, "userVerification": "preferred"},
		"attestation": "none",
		"exclude":     nil,
		"timeout":     float64(passkey.StateLifetime.Milliseconds()),
	}
	if diff := cmp.Diff(wantOpts, gotOpts); diff != "" {
		t.Errorf("registration options (-want +got):\n%s", diff)
	}
	resp, err := f.auth.Register(options)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := f.pk.FinishRegistration(f.user, state, resp)
	if err != nil {
		t.Fatal(err)
	}
	if len(cred.PublicKey) == 0 || len(cred.Raw) == 0 {
		t.Errorf("credential without public key or record: %+v", cred)
	}
	gotCred := cred
	gotCred.PublicKey, gotCred.Raw = nil, nil
	wantCred := passkey.Credential{
		ID:              f.auth.LastCredentialID(),
		AttestationType: "none",
		Transports:      []string{"internal", "hybrid"},
		SignCount:       0,
		BackupEligible:  true,
		BackupState:     true,
		AAGUID:          make([]byte, 16),
	}
	if diff := cmp.Diff(wantCred, gotCred); diff != "" {
		t.Errorf("registered credential (-want +got):\n%s", diff)
	}
	f.user.Credentials = append(f.user.Credentials, cred)

	// Second factor.
	options, state, err = f.pk.BeginLogin(f.user)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonPath(t, options, "publicKey", "userVerification"), "preferred"; got != want {
		t.Errorf("login userVerification %v, want %v", got, want)
	}
	allow, _ := jsonPath(t, options, "publicKey", "allowCredentials").([]any)
	if len(allow) != 1 || allow[0].(map[string]any)["id"] != base64.RawURLEncoding.EncodeToString(cred.ID) {
		t.Errorf("login allowCredentials %v, want the registered credential", allow)
	}
	resp, err = f.auth.Assert(options, nil)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := f.pk.FinishLogin(f.user, state, resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(updated.ID, cred.ID) || updated.SignCount != 1 || !bytes.Equal(updated.PublicKey, cred.PublicKey) {
		t.Errorf("after login: ID %x, sign count %d; want %x, 1, same key", updated.ID, updated.SignCount, cred.ID)
	}
	f.store(updated)

	// Passwordless.
	options, state, err = f.pk.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonPath(t, options, "publicKey", "userVerification"), "required"; got != want {
		t.Errorf("discoverable userVerification %v, want %v", got, want)
	}
	if got := jsonPath(t, options, "publicKey", "allowCredentials"); got != nil {
		t.Errorf("discoverable options name credentials: %v", got)
	}
	resp, err = f.auth.Assert(options, nil)
	if err != nil {
		t.Fatal(err)
	}
	var asked [][]byte
	u, c, err := f.pk.FinishDiscoverableLogin(state, resp, lookup(&asked, f.user))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]byte{f.user.ID, cred.ID}, asked); diff != "" {
		t.Errorf("lookup asked (-want +got):\n%s", diff)
	}
	if !bytes.Equal(u.ID, f.user.ID) || !bytes.Equal(c.ID, cred.ID) || c.SignCount != 2 {
		t.Errorf("discoverable login: user %q, credential %x, count %d", u.ID, c.ID, c.SignCount)
	}
}

// TestPasskeyCredentialStorage: a credential survives a trip through the store
// (here JSON, with empty slices where there were none), and a record whose
// fields and Raw disagree is refused.
func TestPasskeyCredentialStorage(t *testing.T) {
	f := newFixture(t)
	f.register(t)
	b, err := json.Marshal(f.user.Credentials[0])
	if err != nil {
		t.Fatal(err)
	}
	var stored passkey.Credential
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	f.user.Credentials[0] = stored
	f.login(t)
	f.login(t)

	good := f.user.Credentials[0]
	for _, tc := range []struct {
		name   string
		damage func(c *passkey.Credential)
	}{
		{"sign count updated without Raw", func(c *passkey.Credential) { c.SignCount++ }},
		{"ID changed", func(c *passkey.Credential) { c.ID = []byte("another") }},
		{"backup state changed", func(c *passkey.Credential) { c.BackupState = !c.BackupState }},
		{"Raw not JSON", func(c *passkey.Credential) { c.Raw = []byte("{") }},
		{"Raw empty", func(c *passkey.Credential) { c.Raw = nil }},
		{"Raw of another credential", func(c *passkey.Credential) { c.Raw = []byte(`{"id":"AQID","publicKey":"AQID"}`) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.damage(&c)
			u := f.user
			u.Credentials = []passkey.Credential{c}
			if _, _, err := f.pk.BeginLogin(u); !errors.Is(err, passkey.ErrRecord) {
				t.Errorf("BeginLogin = %v, want ErrRecord", err)
			}
			if _, _, err := f.pk.BeginRegistration(u); !errors.Is(err, passkey.ErrRecord) {
				t.Errorf("BeginRegistration = %v, want ErrRecord", err)
			}
			if got := u.WebAuthnCredentials(); len(got) != 0 {
				t.Errorf("WebAuthnCredentials kept a damaged credential")
			}
		})
	}
}

func TestPasskeyRegistrationExcludesExisting(t *testing.T) {
	f := newFixture(t)
	first := f.register(t)

	options, state, err := f.pk.BeginRegistration(f.user)
	if err != nil {
		t.Fatal(err)
	}
	exclude, _ := jsonPath(t, options, "publicKey", "excludeCredentials").([]any)
	if len(exclude) != 1 || exclude[0].(map[string]any)["id"] != base64.RawURLEncoding.EncodeToString(first.ID) {
		t.Errorf("excludeCredentials %v, want the registered credential", exclude)
	}
	if _, err := f.auth.Register(options); !errors.Is(err, testkit.ErrCredentialExcluded) {
		t.Errorf("same authenticator registered again: %v", err)
	}
	// Another authenticator may add a second passkey.
	resp, err := testkit.NewAuthenticator(origin, rpID).Register(options)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.pk.FinishRegistration(f.user, state, resp)
	if err != nil {
		t.Fatal(err)
	}
	// The same response again, once the credential is stored, is refused.
	withSecond := f.user
	withSecond.Credentials = append(withSecond.Credentials, second)
	if _, err := f.pk.FinishRegistration(withSecond, state, resp); !errors.Is(err, passkey.ErrExists) {
		t.Errorf("registering a stored credential again: %v, want ErrExists", err)
	}
}

func TestPasskeyConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  passkey.Config
		ok   bool
	}{
		{"https", passkey.Config{RPID: rpID, RPDisplayName: "S", Origins: []string{origin}}, true},
		{"subdomain and port", passkey.Config{RPID: rpID, RPDisplayName: "S", Origins: []string{"https://app.strongroom.test:8443"}}, true},
		{"localhost over http", passkey.Config{RPID: "localhost", RPDisplayName: "S", Origins: []string{"http://localhost:8080"}}, true},
		{"no RP ID", passkey.Config{RPDisplayName: "S", Origins: []string{origin}}, false},
		{"RP ID with scheme", passkey.Config{RPID: origin, RPDisplayName: "S", Origins: []string{origin}}, false},
		{"RP ID is an IP address", passkey.Config{RPID: "192.0.2.1", RPDisplayName: "S", Origins: []string{"https://192.0.2.1"}}, false},
		{"no display name", passkey.Config{RPID: rpID, Origins: []string{origin}}, false},
		{"no origins", passkey.Config{RPID: rpID, RPDisplayName: "S"}, false},
		{"http", passkey.Config{RPID: rpID, RPDisplayName: "S", Origins: []string{"http://strongroom.test"}}, false},
		{"other host", passkey.Config{RPID: rpID, RPDisplayName: "S", Origins: []string{"https://strongroom.test.evil"}}, false},
		{"suffix without dot", passkey.Config{RPID: rpID, RPDisplayName: "S", Origins: []string{"https://notstrongroom.test"}}, false},
		{"path", passkey.Config{RPID: rpID, RPDisplayName: "S", Origins: []string{origin + "/login"}}, false},
		{"not a URL", passkey.Config{RPID: rpID, RPDisplayName: "S", Origins: []string{"strongroom.test"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := passkey.New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Errorf("New = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// FuzzFinishLogin: no response panics, and only a response for the registered
// credential is accepted.
func FuzzFinishLogin(f *testing.F) {
	fx := newFixture(f)
	cred := fx.register(f)
	options, state, err := fx.pk.BeginLogin(fx.user)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := fx.auth.Assert(options, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{"id":"AQID","rawId":"AQID","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, response []byte) {
		c, err := fx.pk.FinishLogin(fx.user, state, response)
		if err == nil && !bytes.Equal(c.ID, cred.ID) {
			t.Errorf("accepted a login with credential %x", c.ID)
		}
	})
}
