package passkey_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/authn/passkey"
)

func TestPasskeyRegistrationRefusals(t *testing.T) {
	bob := passkey.User{ID: []byte("bob"), Name: "bob@example.com"}
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
		user  func(f *fixture) passkey.User // finishing user; nil: f.user
		want  error
	}{
		{"accepted", func(*fixture) {}, nil, nil},
		{"without user verification (preferred)", func(f *fixture) { f.auth.SetUserVerification(false) }, nil, nil},
		{"wrong origin", func(f *fixture) { f.auth.SetOrigin("https://strongroom.test.evil") }, nil, passkey.ErrRefused},
		{"subdomain origin not configured", func(f *fixture) { f.auth.SetOrigin("https://app.strongroom.test") }, nil, passkey.ErrRefused},
		{"wrong RP ID", func(f *fixture) { f.auth.SetRPID("evil.test") }, nil, passkey.ErrRefused},
		{"another user's state", func(*fixture) {}, func(*fixture) passkey.User { return bob }, passkey.ErrRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.setup(f)
			options, state, err := f.pk.BeginRegistration(f.user)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.auth.Register(options)
			if err != nil {
				t.Fatal(err)
			}
			u := f.user
			if tc.user != nil {
				u = tc.user(f)
			}
			_, err = f.pk.FinishRegistration(u, state, resp)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Errorf("FinishRegistration = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPasskeyLoginRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		// run returns the error of a FinishLogin after the fixture has one
		// registered credential and one login behind it.
		run  func(t *testing.T, f *fixture) error
		want error
	}{
		{"wrong origin", func(t *testing.T, f *fixture) error {
			f.auth.SetOrigin("https://strongroom.test.evil")
			return finishLogin(t, f, f.user)
		}, passkey.ErrRefused},
		{"wrong RP ID", func(t *testing.T, f *fixture) error {
			f.auth.SetRPID("strongroom.test.evil")
			return finishLogin(t, f, f.user)
		}, passkey.ErrRefused},
		{"another user", func(t *testing.T, f *fixture) error {
			other := f.user
			other.ID = []byte("018f3a52-0000-7d4b-9a61-3b2c1d0e9f8a")
			return finishLogin(t, f, other)
		}, passkey.ErrRefused},
		{"challenge of another state", func(t *testing.T, f *fixture) error {
			options, _, err := f.pk.BeginLogin(f.user)
			if err != nil {
				t.Fatal(err)
			}
			_, state, err := f.pk.BeginLogin(f.user)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.auth.Assert(options, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.pk.FinishLogin(f.user, state, resp)
			return err
		}, passkey.ErrRefused},
		{"old response replayed with new state", func(t *testing.T, f *fixture) error {
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
				t.Fatal(err)
			}
			f.store(c)
			_, state, err = f.pk.BeginLogin(f.user)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.pk.FinishLogin(f.user, state, resp)
			return err
		}, passkey.ErrRefused},
		{"old response replayed with its state", func(t *testing.T, f *fixture) error {
			// The service deletes state on first use; if it did not, the
			// counter would still catch this authenticator.
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
				t.Fatal(err)
			}
			f.store(c)
			_, err = f.pk.FinishLogin(f.user, state, resp)
			return err
		}, passkey.ErrSignCount},
		{"registration state", func(t *testing.T, f *fixture) error {
			_, state, err := f.pk.BeginRegistration(f.user)
			if err != nil {
				t.Fatal(err)
			}
			options, _, err := f.pk.BeginLogin(f.user)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.auth.Assert(options, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.pk.FinishLogin(f.user, state, resp)
			return err
		}, passkey.ErrState},
		{"passwordless state", func(t *testing.T, f *fixture) error {
			options, state, err := f.pk.BeginDiscoverableLogin()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.auth.Assert(options, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.pk.FinishLogin(f.user, state, resp)
			return err
		}, passkey.ErrState},
		{"expired state", func(t *testing.T, f *fixture) error {
			options, state, err := f.pk.BeginLogin(f.user)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.auth.Assert(options, nil)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(passkey.StateLifetime)
			_, err = f.pk.FinishLogin(f.user, state, resp)
			return err
		}, passkey.ErrExpired},
		{"damaged state", func(t *testing.T, f *fixture) error {
			options, state, err := f.pk.BeginLogin(f.user)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.auth.Assert(options, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.pk.FinishLogin(f.user, state[:len(state)-1], resp)
			return err
		}, passkey.ErrState},
		{"sign count regression", func(t *testing.T, f *fixture) error {
			stored := f.login(t) // count 2
			if err := f.auth.SetSignCount(stored.ID, 0); err != nil {
				t.Fatal(err)
			}
			options, state, err := f.pk.BeginLogin(f.user)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.auth.Assert(options, nil) // count 1
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.pk.FinishLogin(f.user, state, resp)
			if diff := cmp.Diff(stored, c); diff != "" {
				t.Errorf("with ErrSignCount, want the stored credential (-want +got):\n%s", diff)
			}
			return err
		}, passkey.ErrSignCount},
		{"no user verification is fine for a second factor", func(t *testing.T, f *fixture) error {
			f.auth.SetUserVerification(false)
			return finishLogin(t, f, f.user)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(t)
			f.login(t)
			err := tc.run(t, f)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// finishLogin runs a second-factor login of f.user, finishing it as u.
func finishLogin(t *testing.T, f *fixture, u passkey.User) error {
	t.Helper()
	options, state, err := f.pk.BeginLogin(f.user)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.auth.Assert(options, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.pk.FinishLogin(u, state, resp)
	return err
}

func TestPasskeyDiscoverableLoginRefusals(t *testing.T) {
	bob := passkey.User{ID: []byte("018f3a52-bbbb-7d4b-9a61-3b2c1d0e9f8a"), Name: "bob@example.com"}
	errDown := errors.New("database down")
	for _, tc := range []struct {
		name   string
		setup  func(f *fixture)
		tamper func(t *testing.T, resp []byte) []byte
		lookup func(f *fixture) func(userHandle, credentialID []byte) (passkey.User, error)
		want   error
	}{
		{"accepted", nil, nil, nil, nil},
		{"no user verification", func(f *fixture) { f.auth.SetUserVerification(false) }, nil, nil, passkey.ErrRefused},
		{"wrong origin", func(f *fixture) { f.auth.SetOrigin("https://strongroom.test.evil") }, nil, nil, passkey.ErrRefused},
		{"user handle of another user", nil, func(t *testing.T, resp []byte) []byte {
			return setMember(t, resp, "userHandle", base64.RawURLEncoding.EncodeToString(bob.ID))
		}, nil, passkey.ErrRefused},
		{"no user handle", nil, func(t *testing.T, resp []byte) []byte {
			return setMember(t, resp, "userHandle", "")
		}, nil, passkey.ErrRefused},
		{"lookup returns a user without the credential", nil, nil, func(f *fixture) func([]byte, []byte) (passkey.User, error) {
			return func([]byte, []byte) (passkey.User, error) {
				u := f.user
				u.Credentials = nil
				return u, nil
			}
		}, passkey.ErrRefused},
		{"lookup returns another user", nil, nil, func(f *fixture) func([]byte, []byte) (passkey.User, error) {
			return func([]byte, []byte) (passkey.User, error) {
				u := bob
				u.Credentials = f.user.Credentials
				return u, nil
			}
		}, passkey.ErrRefused},
		{"lookup fails", nil, nil, func(*fixture) func([]byte, []byte) (passkey.User, error) {
			return func([]byte, []byte) (passkey.User, error) { return passkey.User{}, errDown }
		}, errDown},
		{"unknown user", nil, nil, func(*fixture) func([]byte, []byte) (passkey.User, error) {
			return lookup(nil, bob)
		}, errNoUser},
		{"client data changed after signing", nil, func(t *testing.T, resp []byte) []byte {
			var m map[string]any
			if err := json.Unmarshal(resp, &m); err != nil {
				t.Fatal(err)
			}
			r := m["response"].(map[string]any)
			cd, err := base64.RawURLEncoding.DecodeString(r["clientDataJSON"].(string))
			if err != nil {
				t.Fatal(err)
			}
			cd = bytes.Replace(cd, []byte(`"webauthn.get"`), []byte(`"webauthn.get" `), 1)
			return setMember(t, resp, "clientDataJSON", base64.RawURLEncoding.EncodeToString(cd))
		}, nil, passkey.ErrRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			options, state, err := f.pk.BeginDiscoverableLogin()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.auth.Assert(options, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.tamper != nil {
				resp = tc.tamper(t, resp)
			}
			look := lookup(nil, f.user, bob)
			if tc.lookup != nil {
				look = tc.lookup(f)
			}
			u, c, err := f.pk.FinishDiscoverableLogin(state, resp, look)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if err != nil && (u.ID != nil || c.ID != nil) {
				t.Errorf("error with user %q and credential %x", u.ID, c.ID)
			}
		})
	}
}

// setMember sets a member of the response's "response" object.
func setMember(t *testing.T, resp []byte, key, value string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatal(err)
	}
	m["response"].(map[string]any)[key] = value
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPasskeyMalformedResponses(t *testing.T) {
	f := newFixture(t)
	f.register(t)
	options, loginState, err := f.pk.BeginLogin(f.user)
	if err != nil {
		t.Fatal(err)
	}
	valid, err := f.auth.Assert(options, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, regState, err := f.pk.BeginRegistration(f.user)
	if err != nil {
		t.Fatal(err)
	}
	_, discState, err := f.pk.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}

	padded := append(bytes.Clone(valid[:len(valid)-1]), []byte(`,"pad":"`+strings.Repeat("x", passkey.MaxResponseSize)+`"}`)...)
	for _, tc := range []struct {
		name     string
		response []byte
		want     error
	}{
		{"empty", nil, passkey.ErrMalformed},
		{"not JSON", []byte("{"), passkey.ErrMalformed},
		{"null", []byte("null"), passkey.ErrMalformed},
		{"array", []byte("[]"), passkey.ErrMalformed},
		{"empty object", []byte("{}"), passkey.ErrMalformed},
		{"trailing data", append(bytes.Clone(valid), " {}"...), passkey.ErrMalformed},
		{"id not base64url", bytes.Replace(valid, []byte(`"id":"`), []byte(`"id":"*`), 1), passkey.ErrMalformed},
		{"wrong type", bytes.Replace(valid, []byte(`"public-key"`), []byte(`"password"`), 1), passkey.ErrMalformed},
		{"clientDataJSON not JSON", setMember(t, valid, "clientDataJSON", base64.RawURLEncoding.EncodeToString([]byte("{"))), passkey.ErrMalformed},
		{"authenticatorData short", setMember(t, valid, "authenticatorData", "AAAA"), passkey.ErrMalformed},
		{"oversized", padded, passkey.ErrTooLarge},
		{"huge", make([]byte, 10<<20), passkey.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.pk.FinishLogin(f.user, loginState, tc.response); !errors.Is(err, tc.want) {
				t.Errorf("FinishLogin = %v, want %v", err, tc.want)
			}
			if _, _, err := f.pk.FinishDiscoverableLogin(discState, tc.response, lookup(nil, f.user)); !errors.Is(err, tc.want) {
				t.Errorf("FinishDiscoverableLogin = %v, want %v", err, tc.want)
			}
			if _, err := f.pk.FinishRegistration(f.user, regState, tc.response); !errors.Is(err, tc.want) {
				t.Errorf("FinishRegistration = %v, want %v", err, tc.want)
			}
		})
	}
	// And the untouched response still works.
	if _, err := f.pk.FinishLogin(f.user, loginState, valid); err != nil {
		t.Errorf("valid response: %v", err)
	}
}

func TestPasskeyBeginRefusals(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.pk.BeginLogin(f.user); !errors.Is(err, passkey.ErrNoCredentials) {
		t.Errorf("BeginLogin without passkeys: %v", err)
	}
	for _, u := range []passkey.User{
		{Name: "no-id@example.com"},
		{ID: make([]byte, 65), Name: "long-id@example.com"},
		{ID: []byte("x")},
	} {
		if _, _, err := f.pk.BeginRegistration(u); err == nil {
			t.Errorf("BeginRegistration(%q, %q) succeeded", u.ID, u.Name)
		}
	}
}
