package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// The WebAuthn and operator flows of the identity tests (helpers in
// identity_mfa_test.go).

// TestIdentityFlowWebAuthn: a passkey registered as a second factor completes
// a password sign-in, and alone signs in at AAL2; replayed assertions, a
// cloned authenticator and a wrong origin are refused.
func TestIdentityFlowWebAuthn(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, true)
			a := env.srv.Signup(t, "wes@webauthn.example", "WebAuthn Org")
			auth := testkit.NewAuthenticator(env.origin, "localhost")
			ceremony := func(r testkit.Response) (string, []byte) {
				t.Helper()
				v := testkit.MustStatus(t, r, http.StatusOK).JSON(t)
				opts, err := json.Marshal(v["options"])
				if err != nil || v["ceremony"] == nil {
					t.Fatalf("no ceremony: %s", r.Body)
				}
				return v["ceremony"].(string), opts
			}

			// Registration.
			cer, opts := ceremony(env.do(t, a.Token, "POST", "/api/v1/me/mfa/webauthn/start", nil))
			resp, err := auth.Register(opts)
			if err != nil {
				t.Fatal(err)
			}
			seq := env.seq(t, mfaTPlatform)
			finish := map[string]any{"ceremony": cer, "name": "Laptop", "response": json.RawMessage(resp)}
			reg := mfaTParseGrant(t, env.do(t, a.Token, "POST", "/api/v1/me/mfa/webauthn/finish", finish), http.StatusOK)
			env.checkGrant(t, reg, 2, "password", "webauthn")
			if n := len(mfaTStrings(reg.Body["recovery_codes"])); n != 10 || reg.Body["factor"].(map[string]any)["name"] != "Laptop" {
				t.Errorf("registration: %v", reg.Body)
			}
			env.audited(t, mfaTPlatform, seq, "mfa.webauthn.register success", "session.upgrade success")
			mfaTProblem(t, env.do(t, reg.Token, "POST", "/api/v1/me/mfa/webauthn/finish", finish), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			cred := auth.LastCredentialID()

			// Second factor after a password.
			ch := env.challenge(t, a.Email, "webauthn", "recovery")
			cer, opts = ceremony(env.do(t, "", "POST", "/api/v1/auth/mfa/webauthn", map[string]string{"challenge": ch}))
			assertion, err := auth.Assert(opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			answer := map[string]any{"challenge": ch, "ceremony": cer, "webauthn": json.RawMessage(assertion)}
			env.checkGrant(t, mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/mfa", answer), http.StatusOK), 2, "password", "webauthn")
			// Replayed, on a new challenge.
			answer["challenge"] = env.challenge(t, a.Email, "webauthn", "recovery")
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/auth/mfa", answer), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)

			// Passwordless.
			passkeyIn := func() testkit.Response {
				t.Helper()
				cer, opts := ceremony(env.do(t, "", "POST", "/api/v1/auth/passkey/start", nil))
				assertion, err := auth.Assert(opts, nil)
				if err != nil {
					t.Fatal(err)
				}
				finish = map[string]any{"ceremony": cer, "response": json.RawMessage(assertion)}
				return env.do(t, "", "POST", "/api/v1/auth/passkey/finish", finish)
			}
			seq = env.seq(t, mfaTPlatform)
			env.checkGrant(t, mfaTParseGrant(t, passkeyIn(), http.StatusOK), 2, "passkey")
			seq = env.audited(t, mfaTPlatform, seq, "auth.signin.passkey success")
			// The same ceremony and assertion again; the assertion in a new ceremony.
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/auth/passkey/finish", finish), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			cer, _ = ceremony(env.do(t, "", "POST", "/api/v1/auth/passkey/start", nil))
			finish["ceremony"] = cer
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/auth/passkey/finish", finish), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			seq = env.audited(t, mfaTPlatform, seq, "auth.signin.passkey failure: assertion or attestation refused")

			// A cloned authenticator: its counter went backwards.
			if err := auth.SetSignCount(cred, 0); err != nil {
				t.Fatal(err)
			}
			mfaTProblem(t, passkeyIn(), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			env.audited(t, mfaTPlatform, seq,
				"auth.signin.passkey failure: signature counter went backwards: possible cloned authenticator")
			if err := auth.SetSignCount(cred, 1000); err != nil {
				t.Fatal(err)
			}
			mfaTParseGrant(t, passkeyIn(), http.StatusOK)
			seq = env.seq(t, mfaTPlatform)

			// A page on another origin; an authenticator that skips user
			// verification.
			auth.SetOrigin("https://strongroom.evil.example")
			mfaTProblem(t, passkeyIn(), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			auth.SetOrigin(env.origin)
			auth.SetUserVerification(false)
			mfaTProblem(t, passkeyIn(), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			auth.SetUserVerification(true)
			env.audited(t, mfaTPlatform, seq,
				"auth.signin.passkey failure: assertion or attestation refused",
				"auth.signin.passkey failure: assertion or attestation refused")
			mfaTParseGrant(t, passkeyIn(), http.StatusOK)

			// A wrong origin as the second factor, too.
			ch = env.challenge(t, a.Email, "webauthn", "recovery")
			cer, opts = ceremony(env.do(t, "", "POST", "/api/v1/auth/mfa/webauthn", map[string]string{"challenge": ch}))
			auth.SetOrigin("http://localhost:1")
			if assertion, err = auth.Assert(opts, nil); err != nil {
				t.Fatal(err)
			}
			answer = map[string]any{"challenge": ch, "ceremony": cer, "webauthn": json.RawMessage(assertion)}
			seq = env.seq(t, mfaTPlatform)
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/auth/mfa", answer), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			auth.SetOrigin(env.origin)
			// A cloned authenticator as the second factor: the audit says so.
			if err := auth.SetSignCount(cred, 1); err != nil {
				t.Fatal(err)
			}
			cer, opts = ceremony(env.do(t, "", "POST", "/api/v1/auth/mfa/webauthn", map[string]string{"challenge": ch}))
			if assertion, err = auth.Assert(opts, nil); err != nil {
				t.Fatal(err)
			}
			answer = map[string]any{"challenge": ch, "ceremony": cer, "webauthn": json.RawMessage(assertion)}
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/auth/mfa", answer), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			env.audited(t, mfaTPlatform, seq, "auth.mfa failure: invalid code",
				"auth.mfa failure: signature counter went backwards: possible cloned authenticator")

			// Removed, the passkey signs no one in, and a password is enough again.
			id := reg.Body["factor"].(map[string]any)["id"].(string)
			testkit.MustStatus(t, env.do(t, reg.Token, "DELETE", "/api/v1/me/mfa/factors/"+id, nil), http.StatusNoContent)
			if err := auth.SetSignCount(cred, 5000); err != nil {
				t.Fatal(err)
			}
			mfaTProblem(t, passkeyIn(), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			env.checkGrant(t, mfaTParseGrant(t, env.signIn(t, a.Email, mfaTPassword), http.StatusOK), 1, "password")
		})
	}
}

// TestIdentityFlowOperator: the development outbox is for operators who
// signed in with their second factor, and reading it is audited.
func TestIdentityFlowOperator(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			plain := env.srv.Signup(t, "pia@ops.example", "Plain Org")
			op := env.srv.Signup(t, "otto@ops.example", "Ops Org")
			err := env.st.Write(context.Background(), store.Scope{}, func(tx *store.Tx) error {
				return tx.SetOperator(context.Background(), strongroom.UserID(op.UserID), true)
			})
			if err != nil {
				t.Fatal(err)
			}
			outbox := func(token string) testkit.Response {
				t.Helper()
				return env.do(t, token, "GET", "/api/v1/operator/outbox", nil)
			}

			mfaTProblem(t, outbox(""), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			mfaTProblem(t, outbox(plain.Token), http.StatusForbidden, strongroom.EFORBIDDEN)
			seq := env.seq(t, mfaTPlatform)
			mfaTProblem(t, outbox(op.Token), http.StatusForbidden, strongroom.EMFAENROLL)
			env.audited(t, mfaTPlatform, seq, "access.denied denied: operator without MFA in this session")

			before := mfaTParseGrant(t, env.signIn(t, op.Email, mfaTPassword), http.StatusOK)
			f := env.enrolTOTP(t, op.Token)
			ch := env.challenge(t, op.Email, "totp", "recovery")
			g := mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/mfa", map[string]string{"challenge": ch, "code": env.totp(t, f.Secret)}), http.StatusOK)
			seq = env.seq(t, mfaTPlatform)
			r := testkit.MustStatus(t, outbox(g.Token), http.StatusOK)
			var body struct {
				Items []struct{ To, Kind, Subject, Text string }
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range body.Items {
				got = append(got, m.Kind+" "+m.To)
			}
			if d := cmp.Diff([]string{"verify-address otto@ops.example", "verify-address pia@ops.example"}, got); d != "" {
				t.Errorf("outbox (-want +got):\n%s", d)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("outbox Cache-Control %q", r.Header.Get("Cache-Control"))
			}
			env.audited(t, mfaTPlatform, seq, "outbox.read success")
			evs := env.events(t, mfaTPlatform, seq)
			if evs[0].ActorID != op.UserID || string(evs[0].Metadata) != `{"limit":50}` {
				t.Errorf("outbox.read by %s with %s", evs[0].ActorID, evs[0].Metadata)
			}
			if r := testkit.MustStatus(t, env.do(t, g.Token, "GET", "/api/v1/operator/outbox?limit=1", nil), http.StatusOK); len(r.JSON(t)["items"].([]any)) != 1 {
				t.Errorf("limit=1: %s", r.Body)
			}
			mfaTProblem(t, env.do(t, g.Token, "GET", "/api/v1/operator/outbox?limit=0", nil), http.StatusBadRequest, strongroom.EINVALID)
			// A session of the operator's from before the enrolment is AAL1.
			mfaTProblem(t, outbox(before.Token), http.StatusForbidden, strongroom.EMFAREQUIRED)
		})
	}
}
