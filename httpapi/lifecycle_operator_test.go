package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/retention"
	"strongroom.dev/strongroom/store"
)

// TestTerminationByOperator: an operator signed in with a second factor
// terminates an organization (audited in its log and the platform's), lists
// terminations, cancels one, and after the window reads the signed deletion
// certificate; callers who are not operators are refused, bad input changes
// nothing.
func TestTerminationByOperator(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			plain := env.srv.Signup(t, "pia@ops.example", "Plain Org")
			op := env.srv.Signup(t, "otto@ops.example", "Ops Org")
			if err := env.st.Write(context.Background(), store.Scope{}, func(tx *store.Tx) error {
				return tx.SetOperator(context.Background(), strongroom.UserID(op.UserID), true)
			}); err != nil {
				t.Fatal(err)
			}
			f := env.enrolTOTP(t, op.Token)
			signIn := func() string {
				ch := env.challenge(t, op.Email, "totp", "recovery")
				return mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/mfa", map[string]string{"challenge": ch, "code": env.totp(t, f.Secret)}), http.StatusOK).Token
			}
			opTok := signIn()
			path := "/api/v1/operator/orgs/" + plain.OrgID + "/termination"

			// Not operators: refused.
			mfaTProblem(t, env.do(t, plain.Token, "POST", path, map[string]string{"confirm": "Plain Org"}), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, "", "GET", "/api/v1/operator/terminations", nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			// Bad input.
			mfaTProblem(t, env.do(t, opTok, "POST", path, map[string]string{"confirm": "Plain"}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			mfaTProblem(t, env.do(t, opTok, "POST", path, `{"confirm":"Plain Org","now":true}`), http.StatusBadRequest, strongroom.EINVALID)
			mfaTProblem(t, env.do(t, opTok, "POST", "/api/v1/operator/orgs/00000000-0000-7000-8000-000000000000/termination",
				map[string]string{"confirm": "Plain Org"}), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, opTok, "POST", "/api/v1/operator/orgs/not-an-id/termination",
				map[string]string{"confirm": "Plain Org"}), http.StatusNotFound, strongroom.ENOTFOUND)
			testkit.MustStatus(t, env.do(t, plain.Token, "GET", "/api/v1/orgs/"+plain.OrgID+"/members", nil), http.StatusOK)

			// Terminate, list, cancel, terminate again.
			r := testkit.MustStatus(t, env.do(t, opTok, "POST", path, map[string]string{"confirm": "Plain Org"}), http.StatusAccepted)
			if r.JSON(t)["requested_by"] != op.UserID {
				t.Errorf("termination %s", r.Body)
			}
			mfaTProblem(t, env.do(t, plain.Token, "GET", "/api/v1/orgs/"+plain.OrgID+"/members", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			l := testkit.MustStatus(t, env.do(t, opTok, "GET", "/api/v1/operator/terminations", nil), http.StatusOK).JSON(t)
			if items := l["items"].([]any); len(items) != 1 || items[0].(map[string]any)["status"] != "terminated" {
				t.Errorf("terminations %v", l)
			}
			mfaTProblem(t, env.do(t, opTok, "GET", "/api/v1/operator/orgs/"+plain.OrgID+"/deletion-certificate", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			testkit.MustStatus(t, env.do(t, opTok, "DELETE", path, nil), http.StatusNoContent)
			testkit.MustStatus(t, env.do(t, plain.Token, "GET", "/api/v1/orgs/"+plain.OrgID+"/members", nil), http.StatusOK)
			testkit.MustStatus(t, env.do(t, opTok, "POST", path, map[string]string{"confirm": "Plain Org"}), http.StatusAccepted)
			var platform []string
			for _, ev := range env.events(t, mfaTPlatform, 0) {
				if ev.TargetID == plain.OrgID {
					platform = append(platform, ev.Action)
				}
			}
			if len(platform) != 2 || platform[0] != "org.terminate" {
				t.Errorf("platform log %v, want two org.terminate events", platform)
			}

			// After the window: purged; the operator reads the certificate.
			env.clock.Advance(31 * 24 * time.Hour)
			if rep, err := env.srv.Service.PurgeTerminated(t.Context(), "replica", time.Minute); err != nil || len(rep.Purged) != 1 {
				t.Fatalf("purge: %+v, %v", rep, err)
			}
			opTok = signIn()
			c := testkit.MustStatus(t, env.do(t, opTok, "GET", "/api/v1/operator/orgs/"+plain.OrgID+"/deletion-certificate", nil), http.StatusOK)
			key, err := env.srv.Keyring.ExistingSigningKey(t.Context())
			if err != nil || key == nil {
				t.Fatal(err)
			}
			cert, err := retention.VerifyCertificate(c.Body, key.PublicKey())
			if err != nil || cert.Organization != "Plain Org" || cert.RequestedBy != op.UserID {
				t.Errorf("certificate %+v, %v", cert, err)
			}
			mfaTProblem(t, env.do(t, opTok, "DELETE", path, nil), http.StatusNotFound, strongroom.ENOTFOUND)
		})
	}
}
