package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/store"
)

// The access fixture's identity helpers: sessions, second factors,
// invitations and keys for the route matrix, and the e-mail and authenticator
// app a person would read codes from.

// send is call without following redirects (a redirect is the answer of
// some routes), carrying f.cookie once if set.
func (f *fixture) send(t *testing.T, method, path, token string, body any) testkit.Response {
	t.Helper()
	var rd io.Reader
	up, isUpload := body.(fileUpload)
	switch {
	case isUpload:
		rd = bytes.NewReader(up.data)
	case body != nil:
		rd = bytes.NewReader(mustJSON(t, body))
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case isUpload:
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Disposition", up.disposition())
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if f.cookie != "" {
		req.Header.Set("Cookie", f.cookie)
		f.cookie = ""
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return testkit.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// fileUpload is the body of a file upload: raw bytes, named by the
// Content-Disposition header.
type fileUpload struct {
	name string
	data []byte
}

func (u fileUpload) disposition() string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": u.name})
}

// newFile attaches a small file to a fresh record as A's Admin and returns
// both IDs.
func (f *fixture) newFile(t *testing.T) (record, file string) {
	t.Helper()
	record = f.newRecord(t)
	r := testkit.MustStatus(t, f.send(t, "POST", f.org("/collections/"+f.collection+"/records/"+record+"/files"), f.admin.Token,
		fileUpload{name: "notes.txt", data: []byte("hello, file")}), http.StatusCreated)
	return record, r.JSON(t)["id"].(string)
}

// redirects are the routes that answer success with a redirect.
var redirects = map[string]int{
	"GET /api/v1/auth/oidc/{provider}/start":    http.StatusFound,    // to the provider
	"GET /api/v1/auth/oidc/{provider}/callback": http.StatusSeeOther, // to the console, signed in
}

// sessionOf opens a new session of acct (an account without a second factor)
// with its password, and returns its token and ID.
func (f *fixture) sessionOf(t *testing.T, acct testkit.Account) (token, id string) {
	t.Helper()
	r := testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/auth/password",
		map[string]string{"email": acct.Email, "password": password}), http.StatusOK).JSON(t)
	tok, ok := r["token"].(string)
	if !ok {
		t.Fatalf("signing %s in: no session: %v", acct.Email, r)
	}
	return tok, r["session"].(map[string]any)["id"].(string)
}

// enrolTOTP starts an authenticator-app enrolment with a recent session and
// returns the factor's ID and secret.
func (f *fixture) enrolTOTP(t *testing.T, token string) (id, secret string) {
	t.Helper()
	r := testkit.MustStatus(t, call(t, f.srv, token, "POST", "/api/v1/me/mfa/totp", map[string]string{"name": "Phone"}),
		http.StatusCreated).JSON(t)
	return r["id"].(string), r["secret"].(string)
}

// signInWithFactor opens a session of acct at AAL2 (the assurance that
// changing second factors needs) with its password and its authenticator
// app's secret, or without one its passkey in f.passkeys. An account without
// a second factor gets its password-only session.
func (f *fixture) signInWithFactor(t *testing.T, acct testkit.Account, totpSecret string) string {
	t.Helper()
	r := testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/auth/password",
		map[string]string{"email": acct.Email, "password": password}), http.StatusOK).JSON(t)
	if tok, ok := r["token"].(string); ok {
		return tok
	}
	in := map[string]any{"challenge": r["challenge"]}
	if totpSecret != "" {
		// The next time step's code: the current one may have been used.
		in["code"] = totpAt(t, totpSecret, time.Now().Add(30*time.Second))
	} else {
		c := testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/auth/mfa/webauthn",
			map[string]any{"challenge": r["challenge"]}), http.StatusOK).JSON(t)
		resp, err := f.passkeys.Assert(mustJSON(t, c["options"]), nil)
		if err != nil {
			t.Fatal(err)
		}
		in["ceremony"], in["webauthn"] = c["ceremony"], json.RawMessage(resp)
	}
	return testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/auth/mfa", in), http.StatusOK).JSON(t)["token"].(string)
}

// dropFactors removes every second factor of the session's user.
func (f *fixture) dropFactors(t *testing.T, token string) {
	t.Helper()
	r := call(t, f.srv, token, "GET", "/api/v1/me/mfa", nil)
	if r.Status != http.StatusOK {
		t.Errorf("listing factors to remove them: status %d: %s", r.Status, r.Body)
		return
	}
	for _, v := range r.JSON(t)["factors"].([]any) {
		id := v.(map[string]any)["id"].(string)
		if d := call(t, f.srv, token, "DELETE", "/api/v1/me/mfa/factors/"+id, nil); d.Status != http.StatusNoContent {
			t.Errorf("removing factor %s: status %d: %s", id, d.Status, d.Body)
		}
	}
}

// mfaAccount is an account of its own organization with an authenticator
// app, a passkey (in f.passkeys) and recovery codes.
func (f *fixture) mfaAccount(t *testing.T) testkit.Account {
	t.Helper()
	if f.mfa != nil {
		return *f.mfa
	}
	u := f.newUser(t)
	id, secret := f.enrolTOTP(t, u.Token)
	r := testkit.MustStatus(t, call(t, f.srv, u.Token, "POST", "/api/v1/me/mfa/totp/"+id+"/confirm",
		map[string]string{"code": totpAt(t, secret, time.Now())}), http.StatusOK).JSON(t)
	for _, c := range r["recovery_codes"].([]any) {
		f.recovery = append(f.recovery, c.(string))
	}
	u.Token = r["token"].(string)
	start := testkit.MustStatus(t, call(t, f.srv, u.Token, "POST", "/api/v1/me/mfa/webauthn/start", nil), http.StatusOK).JSON(t)
	resp, err := f.passkeys.Register(mustJSON(t, start["options"]))
	if err != nil {
		t.Fatal(err)
	}
	r = testkit.MustStatus(t, call(t, f.srv, u.Token, "POST", "/api/v1/me/mfa/webauthn/finish",
		map[string]any{"ceremony": start["ceremony"], "name": "Passkey", "response": json.RawMessage(resp)}), http.StatusOK).JSON(t)
	u.Token = r["token"].(string)
	f.mfa = &u
	return u
}

// mfaChallenge signs the MFA account in with its password: the answer is the
// challenge of the second step.
func (f *fixture) mfaChallenge(t *testing.T) string {
	t.Helper()
	u := f.mfaAccount(t)
	r := testkit.MustStatus(t, call(t, f.srv, "", "POST", "/api/v1/auth/password",
		map[string]string{"email": u.Email, "password": password}), http.StatusOK).JSON(t)
	if r["mfa_required"] != true {
		t.Fatalf("the MFA account signed in without a second factor: %v", r)
	}
	return r["challenge"].(string)
}

// recoveryCode spends one of the MFA account's recovery codes.
func (f *fixture) recoveryCode(t *testing.T) string {
	t.Helper()
	f.mfaAccount(t)
	if len(f.recovery) == 0 {
		t.Fatal("the MFA account has no recovery codes left")
	}
	c := f.recovery[0]
	f.recovery = f.recovery[1:]
	return c
}

// inviteToC has the Admin of organization C invite email as a Viewer and
// returns the e-mailed token.
func (f *fixture) inviteToC(t *testing.T, email string) string {
	t.Helper()
	if f.inviter == nil {
		u := f.newUser(t)
		f.inviter = &u
	}
	testkit.MustStatus(t, call(t, f.srv, f.inviter.Token, "POST", "/api/v1/orgs/"+f.inviter.OrgID+"/invitations",
		map[string]string{"email": email, "role": "viewer"}), http.StatusCreated)
	return mailedToken(t, mailed(t, f.srv, email, "invitation"), "sri_")
}

// newAPIKey creates a Viewer key in A and returns its ID.
func (f *fixture) newAPIKey(t *testing.T) string {
	return f.create(t, "/api-keys", map[string]string{"name": fmt.Sprintf("key %d", f.next()), "role": "viewer"})["key"].(map[string]any)["id"].(string)
}

// newInvitation invites a new address to A and returns the invitation's ID.
func (f *fixture) newInvitation(t *testing.T) string {
	return f.create(t, "/invitations", map[string]string{"email": fmt.Sprintf("guest%d@a.example", f.next()), "role": "viewer"})["id"].(string)
}

// newAlert stores an open mass-read alert in A, with its evidence event, as
// the monitor would, and returns its ID.
func (f *fixture) newAlert(t *testing.T) string {
	t.Helper()
	return storeAlert(t, f.srv.Store, strongroom.TenantID(f.admin.OrgID), fmt.Sprintf("user:reader-%d", f.next()))
}

// storeAlert stores an open mass-read alert about subject in tenant, with one
// evidence event appended for it, and returns the alert's ID.
func storeAlert(t *testing.T, st *store.Store, tenant strongroom.TenantID, subject string) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	err := st.Write(t.Context(), store.TenantScope(tenant), func(tx *store.Tx) error {
		e := strongroom.NewAuditEvent(nil, tenant, "record.list", "collection", "c", strongroom.ResultSuccess)
		if err := tx.AppendAudit(t.Context(), &e); err != nil {
			return err
		}
		_, _, err := tx.RecordAlert(t.Context(), id, store.AlertHit{Kind: strongroom.AlertMassRead, Severity: strongroom.SeverityHigh,
			Subject: subject, Summary: "test alert", Seqs: []int64{e.Seq}, First: e.Time, Last: e.Time, Window: time.Hour})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mailed waits for the e-mail handed to the mailer and returns the newest
// message of kind to the address.
func mailed(t *testing.T, srv *testkit.Server, to, kind string) mail.OutboxMessage {
	t.Helper()
	srv.Service.WaitMail()
	for _, m := range srv.Outbox.List(0) {
		if m.To == to && m.Kind == kind {
			return m
		}
	}
	t.Fatalf("no %s e-mail to %s in the outbox", kind, to)
	return mail.OutboxMessage{}
}

var mailedCodeRE = regexp.MustCompile(`code is ([0-9]{6})\b`)

// mailedCode is the one-time code of a message.
func mailedCode(t *testing.T, m mail.OutboxMessage) string {
	t.Helper()
	c := mailedCodeRE.FindStringSubmatch(m.Text)
	if c == nil {
		t.Fatalf("no code in the %s e-mail", m.Kind)
	}
	return c[1]
}

// mailedToken is the token (with prefix) of the link in a message.
func mailedToken(t *testing.T, m mail.OutboxMessage, prefix string) string {
	t.Helper()
	tok := regexp.MustCompile(`[?&]token=(` + regexp.QuoteMeta(prefix) + `[A-Za-z0-9_-]{43})`).FindStringSubmatch(m.Text)
	if tok == nil {
		t.Fatalf("no %s… link token in the %s e-mail", prefix, m.Kind)
	}
	return tok[1]
}

// totpAt is what an authenticator app shows for secret at a time.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
