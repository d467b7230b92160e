package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// End-to-end tests of password sign-in, rate limits and lockout, sessions and
// their lifetimes, cookie sessions, password change, organization settings and
// an Admin's remote sign-out (IAM-02, IAM-04, IAM-07, IAM-10..13), on both
// engines, with the service's clock under the test's control. The server
// trusts 127.0.0.0/8 as a proxy, so a test picks the client address of each
// request with X-Forwarded-For.

// sessTChrome is a real desktop Chrome User-Agent.
const sessTChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// sessTClock is a stopped clock that moves only when the test says.
type sessTClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *sessTClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sessTClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type sessT struct {
	srv   *testkit.Server
	st    *store.Store
	clock *sessTClock
}

// sessTEngines runs fn on a fresh store of each engine.
func sessTEngines(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t)) })
	}
}

// newSessT starts a server on st with a stopped clock; tweak adjusts the
// service's configuration.
func newSessT(t *testing.T, st *store.Store, tweak func(cfg *service.Config)) *sessT {
	t.Helper()
	f := &sessT{st: st, clock: &sessTClock{now: time.Now().UTC().Truncate(time.Second)}}
	f.srv = testkit.NewServerWithConfig(t, st, testkit.ServerConfig{
		Options: httpapi.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Service: func(_ string, cfg *service.Config) {
			cfg.Now = f.clock.Now
			if tweak != nil {
				tweak(cfg)
			}
		},
	})
	return f
}

// do sends a request; hdr are header name and value pairs.
func (f *sessT) do(t *testing.T, method, path, token string, body any, hdr ...string) testkit.Response {
	t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	return f.srv.Do(t, testkit.Request{Method: method, Path: path, Token: token, Body: body, Header: h})
}

// signIn signs in with a password from Chrome at ip.
func (f *sessT) signIn(t *testing.T, email, pw, ip string) testkit.Response {
	t.Helper()
	return f.do(t, "POST", "/api/v1/auth/password", "", map[string]string{"email": email, "password": pw},
		"User-Agent", sessTChrome, "X-Forwarded-For", ip)
}

// session signs in and returns the session's token and ID.
func (f *sessT) session(t *testing.T, email, pw, ip string) (token, id string) {
	t.Helper()
	v := testkit.MustStatus(t, f.signIn(t, email, pw, ip), http.StatusOK).JSON(t)
	return v["token"].(string), v["session"].(map[string]any)["id"].(string)
}

// status is the status of GET path with token.
func (f *sessT) status(t *testing.T, token, path string) int {
	t.Helper()
	return f.do(t, "GET", path, token, nil).Status
}

// member signs a new account up and adds it to org with role.
func (f *sessT) member(t *testing.T, admin testkit.Account, email, role string) testkit.Account {
	t.Helper()
	a := f.srv.Signup(t, email, "Own org of "+email)
	testkit.MustStatus(t, f.do(t, "POST", "/api/v1/orgs/"+admin.OrgID+"/members", admin.Token,
		map[string]string{"email": email, "role": role}), http.StatusCreated)
	return a
}

// events lists a tenant's audit events with the action.
func (f *sessT) events(t *testing.T, tenant strongroom.TenantID, action string) []strongroom.AuditEvent {
	t.Helper()
	var out []strongroom.AuditEvent
	ctx := context.Background()
	err := f.st.Read(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
		for after := int64(0); ; {
			evs, err := tx.AuditEvents(ctx, after, 1000)
			if err != nil || len(evs) == 0 {
				return err
			}
			for _, e := range evs {
				if e.Action == action {
					out = append(out, e)
				}
			}
			after = evs[len(evs)-1].Seq
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// eventOf returns the one event with the action that the request of r wrote.
func (f *sessT) eventOf(t *testing.T, tenant strongroom.TenantID, action string, r testkit.Response) strongroom.AuditEvent {
	t.Helper()
	var found []strongroom.AuditEvent
	for _, e := range f.events(t, tenant, action) {
		if e.RequestID == r.Header.Get("X-Request-Id") {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("request %s (status %d) wrote %d %s events, want 1", r.Header.Get("X-Request-Id"), r.Status, len(found), action)
	}
	return found[0]
}

// rows returns a user's sessions as stored.
func (f *sessT) rows(t *testing.T, user string) map[string]strongroom.Session {
	t.Helper()
	out := map[string]strongroom.Session{}
	ctx := context.Background()
	err := f.st.Read(ctx, store.Scope{User: strongroom.UserID(user)}, func(tx *store.Tx) error {
		list, err := tx.Sessions(ctx, strongroom.UserID(user))
		for _, s := range list {
			out[string(s.ID)] = s
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type sessTProblem struct {
	Type      string                  `json:"type"`
	Title     string                  `json:"title"`
	Status    int                     `json:"status"`
	Detail    string                  `json:"detail"`
	Instance  string                  `json:"instance"`
	RequestID string                  `json:"request_id"`
	Errors    []strongroom.FieldError `json:"errors"`
}

// refused checks that r is a problem with status and code, and, when paths are
// given, exactly those field errors; it returns the problem without its
// request ID, for comparing answers.
func sessTRefused(t *testing.T, r testkit.Response, status int, code string, paths ...string) sessTProblem {
	t.Helper()
	var p sessTProblem
	if r.Status != status || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d (%s), want %d problem: %s", r.Status, r.Header.Get("Content-Type"), status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != httpapi.ProblemTypeBase+code {
		t.Errorf("problem type %q, want %q: %s", p.Type, httpapi.ProblemTypeBase+code, r.Body)
	}
	if paths != nil {
		var got []string
		for _, e := range p.Errors {
			got = append(got, e.Path)
		}
		if d := cmp.Diff(paths, got); d != "" {
			t.Errorf("error paths (-want +got):\n%s", d)
		}
	}
	p.RequestID = ""
	return p
}

// sessTRetryAfter checks that r is a 429 rate_limited problem and returns its
// Retry-After in whole seconds (at least 1).
func sessTRetryAfter(t *testing.T, r testkit.Response) int {
	t.Helper()
	sessTRefused(t, r, http.StatusTooManyRequests, strongroom.ERATELIMIT)
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q: want whole seconds, at least 1", r.Header.Get("Retry-After"))
	}
	return n
}

// TestSessionsSignInPassword: a password sign-in opens a session described by
// the device it came from; a wrong password, an unknown address and a
// malformed address get one identical answer; every attempt is audited in
// the platform log with its result, address and device type.
func TestSessionsSignInPassword(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		f := newSessT(t, st, nil)
		alice := f.srv.Signup(t, "alice@signin.example", "Sign-in Org")
		const ip = "203.0.113.7"

		ok := testkit.MustStatus(t, f.signIn(t, "Alice@Signin.Example", password, ip), http.StatusOK)
		if cc := ok.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		v := ok.JSON(t)
		token, _ := v["token"].(string)
		if !strings.HasPrefix(token, authn.SessionTokenPrefix) {
			t.Fatalf("token %q lacks the session prefix", token)
		}
		sess := v["session"].(map[string]any)
		got := map[string]any{"user": v["user"].(map[string]any)["id"], "current": sess["current"], "device": sess["device_type"],
			"os": sess["os"], "browser": sess["browser"], "ip": sess["ip"], "aal": sess["aal"], "methods": sess["methods"],
			"browser_session": sess["browser_session"], "expires_at": v["expires_at"]}
		want := map[string]any{"user": alice.UserID, "current": true, "device": "desktop", "os": "Windows", "browser": "Chrome 131",
			"ip": ip, "aal": 1.0, "methods": []any{"password"}, "browser_session": false,
			"expires_at": f.clock.Now().Add(12 * time.Hour).Format(time.RFC3339)}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("sign-in answer (-want +got):\n%s", d)
		}
		me := testkit.MustStatus(t, f.do(t, "GET", "/api/v1/me", token, nil), http.StatusOK).JSON(t)
		if me["user"].(map[string]any)["id"] != alice.UserID {
			t.Errorf("the token signs in as %v, want %s", me["user"], alice.UserID)
		}

		wrong := f.signIn(t, "alice@signin.example", "not the password at all", ip)
		unknown := f.signIn(t, "nobody@signin.example", password, ip)
		malformed := f.signIn(t, "not an address", password, ip)
		first := sessTRefused(t, wrong, http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		for name, r := range map[string]testkit.Response{"unknown e-mail": unknown, "malformed e-mail": malformed} {
			if d := cmp.Diff(first, sessTRefused(t, r, http.StatusUnauthorized, strongroom.EUNAUTHORIZED)); d != "" {
				t.Errorf("%s answers differently from a wrong password (-wrong +%s):\n%s", name, name, d)
			}
			if r.Header.Get("WWW-Authenticate") != wrong.Header.Get("WWW-Authenticate") {
				t.Errorf("%s: WWW-Authenticate %q differs", name, r.Header.Get("WWW-Authenticate"))
			}
		}

		type attempt struct {
			Actor, Target, IP, Device, Reason string
			Kind                              strongroom.PrincipalKind
			Result                            strongroom.AuditResult
		}
		for _, c := range []struct {
			name string
			r    testkit.Response
			want attempt
		}{
			{"success", ok, attempt{alice.UserID, alice.UserID, ip, "desktop", "", strongroom.PrincipalUser, strongroom.ResultSuccess}},
			// A failed attempt is not the account's act: anonymous actor, the account as target.
			{"wrong password", wrong, attempt{"", alice.UserID, ip, "desktop", "bad credentials", strongroom.PrincipalAnonymous, strongroom.ResultFailure}},
			{"unknown e-mail", unknown, attempt{"", "", ip, "desktop", "bad credentials", strongroom.PrincipalAnonymous, strongroom.ResultFailure}},
			{"malformed e-mail", malformed, attempt{"", "", ip, "desktop", "malformed", strongroom.PrincipalAnonymous, strongroom.ResultFailure}},
		} {
			e := f.eventOf(t, strongroom.PlatformTenant, "auth.signin.password", c.r)
			got := attempt{e.ActorID, e.TargetID, e.IP, e.DeviceType, e.Reason, e.ActorType, e.Result}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("%s: audit event (-want +got):\n%s", c.name, d)
			}
		}
	})
}

// TestSessionsPasswordRehash: signing in through a server whose argon2id
// parameters are stronger than the stored hash's upgrades the hash.
func TestSessionsPasswordRehash(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		weak := newSessT(t, st, nil)
		alice := weak.srv.Signup(t, "alice@rehash.example", "Rehash Org")
		stored := func() string {
			var u *strongroom.User
			err := st.Read(context.Background(), store.Scope{}, func(tx *store.Tx) error {
				var err error
				u, err = tx.UserByEmail(context.Background(), alice.Email)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return u.PasswordHash
		}
		before := stored()
		stronger := testkit.FastHashParams
		stronger.Memory, stronger.Time = 2*stronger.Memory, 2
		h, err := authn.NewHasher(stronger)
		if err != nil {
			t.Fatal(err)
		}
		strong := newSessT(t, st, func(cfg *service.Config) { cfg.Hasher = h })
		if !h.NeedsRehash(before) {
			t.Fatal("the stronger hasher does not want the stored hash rehashed; the test would prove nothing")
		}
		testkit.MustStatus(t, strong.signIn(t, alice.Email, password, "203.0.113.8"), http.StatusOK)
		after := stored()
		if after == before || h.NeedsRehash(after) {
			t.Errorf("hash after sign-in %q: want one made with the stronger parameters (was %q)", after, before)
		}
		testkit.MustStatus(t, weak.signIn(t, alice.Email, password, "203.0.113.8"), http.StatusOK)
		if stored() != after {
			t.Error("a server with weaker parameters downgraded the hash")
		}
	})
}

// TestSessionsAuthRateLimit: sign-in attempts are limited per client address
// (429 with Retry-After, even with the right password; other addresses are
// unaffected; the limit refills with time), and API requests per session.
func TestSessionsAuthRateLimit(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		f := newSessT(t, st, func(cfg *service.Config) {
			cfg.Limits = testkit.GenerousLimits
			cfg.Limits.AuthPerIPRate, cfg.Limits.AuthPerIPBurst = 0.01, 3
			cfg.Limits.APIRate, cfg.Limits.APIBurst = 0.01, 4
		})
		alice := f.srv.Signup(t, "alice@limits.example", "Limits Org")
		const flood, other = "198.51.100.1", "198.51.100.2"
		for range 3 {
			sessTRefused(t, f.signIn(t, alice.Email, "not the password at all", flood), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		}
		wait := sessTRetryAfter(t, f.signIn(t, alice.Email, password, flood))
		if wait > 100 {
			t.Errorf("Retry-After %d s; one attempt refills in 100 s", wait)
		}
		sessTRetryAfter(t, f.signIn(t, "nobody@limits.example", password, flood))
		token, _ := f.session(t, alice.Email, password, other) // the limit is per address
		f.clock.Advance(time.Duration(wait) * time.Second)
		testkit.MustStatus(t, f.signIn(t, alice.Email, password, flood), http.StatusOK)

		// API requests: a burst of 4 per session, then 429 for that session only.
		for i := range 4 {
			if s := f.status(t, token, "/api/v1/me"); s != http.StatusOK {
				t.Fatalf("request %d: status %d, want 200", i+1, s)
			}
		}
		wait = sessTRetryAfter(t, f.do(t, "GET", "/api/v1/me", token, nil))
		if s := f.status(t, alice.Token, "/api/v1/me"); s != http.StatusOK {
			t.Errorf("another session of the same user: status %d, want 200", s)
		}
		f.clock.Advance(time.Duration(wait) * time.Second)
		if s := f.status(t, token, "/api/v1/me"); s != http.StatusOK {
			t.Errorf("after Retry-After: status %d, want 200", s)
		}
	})
}

// TestSessionsLockout: failures lock an account out from the network they come
// from, with the same answer for an unknown address; the lock refuses even
// the right password, doubles on further failures and expires. Failures from
// other networks never lock the real user's network, and spread over many
// networks they delay the account only up to the short account-wide cap.
func TestSessionsLockout(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		const base, acctCap = 2 * time.Second, 4 * time.Second
		f := newSessT(t, st, func(cfg *service.Config) {
			cfg.Limits = testkit.GenerousLimits
			cfg.Limits.LockoutFree, cfg.Limits.LockoutBase, cfg.Limits.LockoutMax = 3, base, 15*time.Minute
			cfg.Limits.AccountLockoutFree, cfg.Limits.AccountLockoutMax = 8, acctCap
		})
		alice := f.srv.Signup(t, "alice@lockout.example", "Lockout Org")
		const bad = "not the password at all"
		// Addresses vary inside a network: the lockout keys on the /24.
		ip := func(network, host int) string { return "10." + strconv.Itoa(network) + ".0." + strconv.Itoa(host) }
		fail := func(email string, network, n int) testkit.Response {
			t.Helper()
			var r testkit.Response
			for i := range n {
				r = f.signIn(t, email, bad, ip(network, 10+i))
				sessTRefused(t, r, http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			}
			return r
		}
		retry := func(r testkit.Response, want time.Duration) sessTProblem {
			t.Helper()
			if got := sessTRetryAfter(t, r); got != int(want/time.Second) {
				t.Errorf("Retry-After %d, want %d", got, int(want/time.Second))
			}
			return sessTRefused(t, r, http.StatusTooManyRequests, strongroom.ERATELIMIT)
		}

		// Three free failures, the fourth starts a lock of base.
		last := fail(alice.Email, 1, 4)
		if e := f.eventOf(t, strongroom.PlatformTenant, "auth.signin.password", last); e.Reason != "bad credentials; locked for 2s" {
			t.Errorf("audited reason %q, want the lock noted", e.Reason)
		}
		locked := retry(f.signIn(t, alice.Email, password, ip(1, 99)), base)
		// An unknown address is locked exactly alike: no enumeration.
		fail("ghost@lockout.example", 1, 4)
		if d := cmp.Diff(locked, retry(f.signIn(t, "ghost@lockout.example", password, ip(1, 99)), base)); d != "" {
			t.Errorf("an unknown account's lock answers differently (-known +unknown):\n%s", d)
		}
		// The lock expires; another failure doubles it; then the right
		// password works.
		f.clock.Advance(base)
		fail(alice.Email, 1, 1)
		retry(f.signIn(t, alice.Email, password, ip(1, 99)), 2*base)
		f.clock.Advance(2 * base)
		testkit.MustStatus(t, f.signIn(t, alice.Email, password, ip(1, 99)), http.StatusOK)

		// An attacker's network locks itself, not Alice's.
		fail(alice.Email, 2, 4)
		retry(f.signIn(t, alice.Email, bad, ip(2, 99)), base)
		testkit.MustStatus(t, f.signIn(t, alice.Email, password, ip(1, 99)), http.StatusOK)
		retry(f.signIn(t, alice.Email, bad, ip(2, 99)), base)

		// Failures spread over networks (none locked on its own) pass the
		// account-wide threshold: Alice waits, but never longer than the cap.
		fail(alice.Email, 3, 3)
		fail(alice.Email, 4, 3)
		fail(alice.Email, 5, 2) // 8 failures: still free
		fail(alice.Email, 6, 1)
		retry(f.signIn(t, alice.Email, password, ip(1, 99)), base)
		f.clock.Advance(base)
		fail(alice.Email, 7, 1)
		retry(f.signIn(t, alice.Email, password, ip(1, 99)), 2*base)
		f.clock.Advance(2 * base)
		fail(alice.Email, 8, 1) // would be 4×base: capped
		retry(f.signIn(t, alice.Email, password, ip(1, 99)), acctCap)
		f.clock.Advance(acctCap)
		testkit.MustStatus(t, f.signIn(t, alice.Email, password, ip(1, 99)), http.StatusOK)
	})
}

// TestSessionsManage: a user lists their sessions (the current one marked),
// ends one, all others, or all; an ended session's very next request is 401;
// another user's session or a malformed ID is not found; logout ends the
// current session. Each end is audited in the platform log.
func TestSessionsManage(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		f := newSessT(t, st, nil)
		alice := f.srv.Signup(t, "alice@manage.example", "Manage Org")
		bob := f.srv.Signup(t, "bob@manage.example", "Bob Org")
		a := alice.Token
		b, bID := f.session(t, alice.Email, password, "203.0.113.10")
		c, cID := f.session(t, alice.Email, password, "203.0.113.11")

		list := testkit.MustStatus(t, f.do(t, "GET", "/api/v1/me/sessions", b, nil), http.StatusOK).JSON(t)["items"].([]any)
		got := map[string]string{}
		for _, it := range list {
			s := it.(map[string]any)
			got[s["id"].(string)] = s["device_type"].(string) + " " + s["ip"].(string) + " current=" + strconv.FormatBool(s["current"].(bool))
		}
		var aID string
		for id := range got {
			if id != bID && id != cID {
				aID = id
			}
		}
		// A session's address is that of its latest request: b listed from 127.0.0.1.
		want := map[string]string{aID: "api-client 127.0.0.1 current=false", bID: "desktop 127.0.0.1 current=true",
			cID: "desktop 203.0.113.11 current=false"}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("sessions (-want +got):\n%s", d)
		}

		// One session.
		end := testkit.MustStatus(t, f.do(t, "DELETE", "/api/v1/me/sessions/"+cID, b, nil), http.StatusNoContent)
		sessTRefused(t, f.do(t, "GET", "/api/v1/me", c, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		if e := f.eventOf(t, strongroom.PlatformTenant, "session.end", end); e.TargetID != cID || e.ActorID != alice.UserID {
			t.Errorf("session.end event: target %s by %s, want %s by %s", e.TargetID, e.ActorID, cID, alice.UserID)
		}
		// Someone else's session, a missing one, a malformed ID: not found.
		for _, id := range []string{aID, "0193a7f0-0000-7000-8000-000000000000", "not-a-session", "%20"} {
			sessTRefused(t, f.do(t, "DELETE", "/api/v1/me/sessions/"+id, bob.Token, nil), http.StatusNotFound, strongroom.ENOTFOUND)
		}
		if s := f.status(t, a, "/api/v1/me"); s != http.StatusOK {
			t.Fatalf("Alice's session after Bob tried to end it: status %d", s)
		}

		// All others: the current one stays.
		d, _ := f.session(t, alice.Email, password, "203.0.113.12")
		sessTRefused(t, f.do(t, "DELETE", "/api/v1/me/sessions?include_current=maybe", b, nil), http.StatusBadRequest, strongroom.EINVALID)
		all := testkit.MustStatus(t, f.do(t, "DELETE", "/api/v1/me/sessions", b, nil), http.StatusNoContent)
		for name, tok := range map[string]string{"a": a, "d": d} {
			if s := f.status(t, tok, "/api/v1/me"); s != http.StatusUnauthorized {
				t.Errorf("session %s after ending all others: status %d, want 401", name, s)
			}
		}
		if s := f.status(t, b, "/api/v1/me"); s != http.StatusOK {
			t.Errorf("the current session after ending all others: status %d, want 200", s)
		}
		if e := f.eventOf(t, strongroom.PlatformTenant, "session.end_all", all); string(e.Metadata) != `{"sessions_ended":2}` {
			t.Errorf("session.end_all metadata %s, want 2 sessions ended", e.Metadata)
		}

		// All, the current one included.
		e2, _ := f.session(t, alice.Email, password, "203.0.113.13")
		testkit.MustStatus(t, f.do(t, "DELETE", "/api/v1/me/sessions?include_current=true", b, nil), http.StatusNoContent)
		for name, tok := range map[string]string{"b": b, "e": e2} {
			if s := f.status(t, tok, "/api/v1/me"); s != http.StatusUnauthorized {
				t.Errorf("session %s after ending all: status %d, want 401", name, s)
			}
		}

		// Logout.
		g, gID := f.session(t, alice.Email, password, "203.0.113.14")
		out := testkit.MustStatus(t, f.do(t, "POST", "/api/v1/auth/logout", g, nil), http.StatusNoContent)
		sessTRefused(t, f.do(t, "GET", "/api/v1/me", g, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		sessTRefused(t, f.do(t, "POST", "/api/v1/auth/logout", g, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		if e := f.eventOf(t, strongroom.PlatformTenant, "session.end", out); e.TargetID != gID {
			t.Errorf("logout audited for session %s, want %s", e.TargetID, gID)
		}
		if rows := f.rows(t, alice.UserID); len(rows) != 0 {
			t.Errorf("%d sessions of Alice left in the store, want none", len(rows))
		}
		if s := f.status(t, bob.Token, "/api/v1/me"); s != http.StatusOK {
			t.Errorf("Bob's session after Alice's sign-outs: status %d, want 200", s)
		}
	})
}

// TestSessionsLifetimes: a session ends after its idle lifetime without
// requests (deleted, audited as session.expire) and after its absolute
// lifetime whatever its activity; requests within the idle window keep it
// alive, recording activity at most once a minute.
func TestSessionsLifetimes(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		const idle, ttl = 10 * time.Minute, time.Hour
		f := newSessT(t, st, func(cfg *service.Config) { cfg.SessionIdle, cfg.SessionTTL = idle, ttl })
		alice := f.srv.Signup(t, "alice@lifetimes.example", "Lifetimes Org")
		tok, id := f.session(t, alice.Email, password, "203.0.113.20")
		lastSeen := func() time.Time {
			t.Helper()
			s, ok := f.rows(t, alice.UserID)[id]
			if !ok {
				t.Fatal("the session is not stored")
			}
			return s.LastSeenAt
		}
		me := func(want int) {
			t.Helper()
			if s := f.status(t, tok, "/api/v1/me"); s != want {
				t.Fatalf("at %s: status %d, want %d", f.clock.Now(), s, want)
			}
		}

		f.clock.Advance(idle - time.Second)
		me(http.StatusOK)
		if got := lastSeen(); !got.Equal(f.clock.Now()) {
			t.Errorf("last seen %s, want the request's time %s", got, f.clock.Now())
		}
		touched := f.clock.Now()
		f.clock.Advance(30 * time.Second)
		me(http.StatusOK)
		if got := lastSeen(); !got.Equal(touched) {
			t.Errorf("last seen %s after a request within the minute, want it unchanged at %s", got, touched)
		}
		f.clock.Advance(idle - 31*time.Second)
		me(http.StatusOK) // 9m59s after the last recorded activity
		f.clock.Advance(idle)
		sessTRefused(t, f.do(t, "GET", "/api/v1/me", tok, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		if _, ok := f.rows(t, alice.UserID)[id]; ok {
			t.Error("the idle session is still stored")
		}
		var expired []string
		for _, e := range f.events(t, strongroom.PlatformTenant, "session.expire") {
			if e.ActorType != strongroom.PrincipalSystem {
				t.Errorf("session.expire by %s, want system", e.ActorType)
			}
			expired = append(expired, e.TargetID)
		}
		if d := cmp.Diff([]string{id}, expired); d != "" {
			t.Errorf("session.expire events (-want +got):\n%s", d)
		}

		// The absolute lifetime ends a busy session.
		tok, id = f.session(t, alice.Email, password, "203.0.113.20")
		for range 6 {
			f.clock.Advance(9 * time.Minute)
			me(http.StatusOK)
		}
		f.clock.Advance(ttl - 54*time.Minute)
		me(http.StatusUnauthorized)
		if _, ok := f.rows(t, alice.UserID)[id]; ok {
			t.Error("the session past its absolute lifetime is still stored")
		}
		if n := len(f.events(t, strongroom.PlatformTenant, "session.expire")); n != 2 {
			t.Errorf("%d session.expire events, want 2", n)
		}
	})
}

// TestSessionsCookie: a browser session lives only in a __Host- cookie
// (Secure, HttpOnly, SameSite=Lax, Path=/), authenticates requests, is
// protected from cross-origin unsafe requests, and logout clears it.
func TestSessionsCookie(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		f := newSessT(t, st, nil)
		alice := f.srv.Signup(t, "alice@cookie.example", "Cookie Org")
		r := testkit.MustStatus(t, f.do(t, "POST", "/api/v1/auth/password", "",
			map[string]any{"email": alice.Email, "password": password, "cookie": true}, "User-Agent", sessTChrome), http.StatusOK)
		cookies := (&http.Response{Header: r.Header}).Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%d cookies set, want 1: %v", len(cookies), r.Header["Set-Cookie"])
		}
		c := cookies[0]
		got := map[string]any{"name": c.Name, "secure": c.Secure, "httponly": c.HttpOnly, "samesite": c.SameSite,
			"path": c.Path, "domain": c.Domain, "value is a session token": strings.HasPrefix(c.Value, authn.SessionTokenPrefix)}
		want := map[string]any{"name": "__Host-strongroom_session", "secure": true, "httponly": true, "samesite": http.SameSiteLaxMode,
			"path": "/", "domain": "", "value is a session token": true}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("session cookie (-want +got):\n%s", d)
		}
		v := r.JSON(t)
		if _, ok := v["token"]; ok || strings.Contains(string(r.Body), c.Value) {
			t.Errorf("the body carries the session token: %s", r.Body)
		}
		if v["session"].(map[string]any)["browser_session"] != true {
			t.Errorf("session %v is not marked as a browser session", v["session"])
		}
		cookie := c.Name + "=" + c.Value
		me := testkit.MustStatus(t, f.do(t, "GET", "/api/v1/me", "", nil, "Cookie", cookie), http.StatusOK).JSON(t)
		if me["user"].(map[string]any)["id"] != alice.UserID {
			t.Errorf("the cookie signs in as %v", me["user"])
		}

		// Unsafe requests from another origin are refused; the session lives on.
		for _, req := range []struct{ method, path string }{{"POST", "/api/v1/auth/logout"}, {"DELETE", "/api/v1/me/sessions"},
			{"PUT", "/api/v1/me/password"}} {
			sessTRefused(t, f.do(t, req.method, req.path, "", map[string]string{}, "Cookie", cookie,
				"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), http.StatusForbidden, strongroom.EFORBIDDEN)
		}
		if s := f.do(t, "GET", "/api/v1/me", "", nil, "Cookie", cookie).Status; s != http.StatusOK {
			t.Fatalf("the cookie after refused cross-origin requests: status %d, want 200", s)
		}

		out := testkit.MustStatus(t, f.do(t, "POST", "/api/v1/auth/logout", "", nil, "Cookie", cookie,
			"Origin", f.srv.URL, "Sec-Fetch-Site", "same-origin"), http.StatusNoContent)
		cleared := (&http.Response{Header: out.Header}).Cookies()
		if len(cleared) != 1 || cleared[0].Name != c.Name || cleared[0].Value != "" || cleared[0].MaxAge >= 0 ||
			!cleared[0].Secure || !cleared[0].HttpOnly || cleared[0].Path != "/" {
			t.Errorf("logout's Set-Cookie %v: want the session cookie cleared", out.Header["Set-Cookie"])
		}
		sessTRefused(t, f.do(t, "GET", "/api/v1/me", "", nil, "Cookie", cookie), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
	})
}

// TestSessionsPasswordChange: changing the password needs the current one and
// a new one that meets the policy; it ends every other session, keeps the
// current one, retires the old password, and is audited.
func TestSessionsPasswordChange(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		f := newSessT(t, st, nil)
		alice := f.srv.Signup(t, "alice@change.example", "Change Org")
		b, _ := f.session(t, alice.Email, password, "203.0.113.30")
		c, _ := f.session(t, alice.Email, password, "203.0.113.31")
		const next = "a new passphrase for the vault"
		put := func(current, next string) testkit.Response {
			return f.do(t, "PUT", "/api/v1/me/password", alice.Token, map[string]string{"current_password": current, "new_password": next})
		}

		wrong := put("not the password at all", next)
		sessTRefused(t, wrong, http.StatusUnprocessableEntity, strongroom.EVALIDATION, "/current_password")
		if e := f.eventOf(t, strongroom.PlatformTenant, "user.password.change", wrong); e.Result != strongroom.ResultFailure {
			t.Errorf("a wrong current password audited as %s, want failure", e.Result)
		}
		for _, bad := range []string{"short", "qwertyuiopasdfghjkl", "my name is alice@change.example"} {
			sessTRefused(t, put(password, bad), http.StatusUnprocessableEntity, strongroom.EVALIDATION, "/new_password")
		}
		for _, tok := range []string{alice.Token, b, c} {
			if s := f.status(t, tok, "/api/v1/me"); s != http.StatusOK {
				t.Fatalf("a refused change ended a session: status %d", s)
			}
		}

		ok := testkit.MustStatus(t, put(password, next), http.StatusNoContent)
		if s := f.status(t, alice.Token, "/api/v1/me"); s != http.StatusOK {
			t.Errorf("the session that changed the password: status %d, want 200", s)
		}
		for _, tok := range []string{b, c} {
			sessTRefused(t, f.do(t, "GET", "/api/v1/me", tok, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		}
		sessTRefused(t, f.signIn(t, alice.Email, password, "203.0.113.32"), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		testkit.MustStatus(t, f.signIn(t, alice.Email, next, "203.0.113.32"), http.StatusOK)
		e := f.eventOf(t, strongroom.PlatformTenant, "user.password.change", ok)
		if e.Result != strongroom.ResultSuccess || e.ActorID != alice.UserID || string(e.Metadata) != `{"sessions_ended":2}` {
			t.Errorf("password change audited as %s by %s with %s; want success by %s ending 2 sessions",
				e.Result, e.ActorID, e.Metadata, alice.UserID)
		}
	})
}

// TestSessionsOrgSettings: an organization's security settings are read and
// replaced by Admins only, validated field by field, and enforced on every
// session entering the organization: its own idle and absolute lifetimes
// (401 there, while the account itself still works), its allowed sign-in
// methods, and MFA required.
func TestSessionsOrgSettings(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		f := newSessT(t, st, nil)
		admin := f.srv.Signup(t, "admin@settings.example", "Settings Org")
		editor := f.member(t, admin, "editor@settings.example", "editor")
		settings := "/api/v1/orgs/" + admin.OrgID + "/settings"
		orgPath := "/api/v1/orgs/" + admin.OrgID

		const defaults = `{"mfa_required":false,"email_verify_each_sign_in":false,"sign_in_methods":[],"allowed_email_domains":[],` +
			`"session_idle_minutes":0,"session_absolute_hours":0,"default_retention":null,"audit_retention_days":0}`
		get := func() string {
			t.Helper()
			return strings.TrimSpace(string(testkit.MustStatus(t, f.do(t, "GET", settings, admin.Token, nil), http.StatusOK).Body))
		}
		if got := get(); got != defaults {
			t.Errorf("settings = %s, want %s", got, defaults)
		}
		sessTRefused(t, f.do(t, "GET", settings, editor.Token, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
		sessTRefused(t, f.do(t, "PUT", settings, editor.Token, map[string]any{"mfa_required": true}), http.StatusForbidden, strongroom.EFORBIDDEN)

		for _, c := range []struct {
			name string
			body string
			path string
		}{
			{"unknown method", `{"sign_in_methods":["sms"]}`, "/sign_in_methods/0"},
			{"method twice", `{"sign_in_methods":["password","password"]}`, "/sign_in_methods/1"},
			{"not a domain", `{"allowed_email_domains":["not a domain"]}`, "/allowed_email_domains/0"},
			{"domain without a dot", `{"allowed_email_domains":["settings.example","localhost"]}`, "/allowed_email_domains/1"},
			{"address, not domain", `{"allowed_email_domains":["a@settings.example"]}`, "/allowed_email_domains/0"},
			{"idle too long", `{"session_idle_minutes":1441}`, "/session_idle_minutes"},
			{"idle negative", `{"session_idle_minutes":-1}`, "/session_idle_minutes"},
			{"absolute too long", `{"session_absolute_hours":721}`, "/session_absolute_hours"},
			{"retention without anchor", `{"default_retention":{"days":30}}`, "/default_retention/from"},
			{"retention negative", `{"default_retention":{"days":-1,"from":"created"}}`, "/default_retention/days"},
			{"retention field hostile", `{"default_retention":{"days":1,"from":"field","field":"x; --"}}`, "/default_retention/field"},
			{"audit retention below the legal minimum", `{"audit_retention_days":30}`, "/audit_retention_days"},
			{"audit retention negative", `{"audit_retention_days":-5}`, "/audit_retention_days"},
		} {
			t.Run(c.name, func(t *testing.T) {
				sessTRefused(t, f.do(t, "PUT", settings, admin.Token, c.body), http.StatusUnprocessableEntity, strongroom.EVALIDATION, c.path)
			})
		}
		sessTRefused(t, f.do(t, "PUT", settings, admin.Token, `{"mfa_required":false,"session_timeout":5}`), http.StatusBadRequest, strongroom.EINVALID)
		if got := get(); got != defaults {
			t.Errorf("refused updates changed the settings to %s", got)
		}

		upd := testkit.MustStatus(t, f.do(t, "PUT", settings, admin.Token,
			`{"allowed_email_domains":["Settings.Example"],"session_idle_minutes":15,"session_absolute_hours":2}`), http.StatusOK)
		const updated = `{"mfa_required":false,"email_verify_each_sign_in":false,"sign_in_methods":[],` +
			`"allowed_email_domains":["settings.example"],"session_idle_minutes":15,"session_absolute_hours":2,` +
			`"default_retention":null,"audit_retention_days":0}`
		if got := strings.TrimSpace(string(upd.Body)); got != updated || get() != updated {
			t.Errorf("updated settings = %s, want %s", got, updated)
		}
		if e := f.eventOf(t, strongroom.TenantID(admin.OrgID), "org.settings.update", upd); e.ActorID != admin.UserID {
			t.Errorf("settings update audited for %s, want %s", e.ActorID, admin.UserID)
		}

		// The organization's idle lifetime becomes the session's own when it
		// enters: after 16 idle minutes the session has ended everywhere (a
		// retry cannot get around it), and the end is audited.
		tok, _ := f.session(t, editor.Email, password, "203.0.113.40")
		if s := f.status(t, tok, orgPath); s != http.StatusOK {
			t.Fatalf("entering the organization: status %d", s)
		}
		f.clock.Advance(16 * time.Minute)
		for range 2 {
			sessTRefused(t, f.do(t, "GET", orgPath, tok, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		}
		if s := f.status(t, tok, "/api/v1/me"); s != http.StatusUnauthorized {
			t.Errorf("/api/v1/me after the organization's idle lifetime: status %d, want 401", s)
		}
		// The organization's absolute lifetime, however busy the session.
		tok, _ = f.session(t, editor.Email, password, "203.0.113.40")
		for range 8 {
			f.clock.Advance(14 * time.Minute)
			if s := f.status(t, tok, orgPath); s != http.StatusOK {
				t.Fatalf("a busy session within the organization's lifetimes: status %d", s)
			}
		}
		f.clock.Advance(8 * time.Minute)
		sessTRefused(t, f.do(t, "GET", orgPath, tok, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		if s := f.status(t, tok, "/api/v1/me"); s != http.StatusUnauthorized {
			t.Errorf("/api/v1/me after the organization's absolute lifetime: status %d, want 401", s)
		}
		// A session idle past the organization's lifetime before it first
		// enters is refused there (audited in the organization's log) and ended.
		tok, _ = f.session(t, editor.Email, password, "203.0.113.40")
		f.clock.Advance(16 * time.Minute)
		sessTRefused(t, f.do(t, "GET", orgPath, tok, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		if s := f.status(t, tok, "/api/v1/me"); s != http.StatusUnauthorized {
			t.Errorf("/api/v1/me after a refused late entry: status %d, want 401", s)
		}
		denied, expired := 0, 0
		for _, e := range f.events(t, strongroom.TenantID(admin.OrgID), "access.denied") {
			if e.ActorID == editor.UserID && strings.HasPrefix(e.Reason, "organization ") {
				denied++
			}
		}
		for _, e := range f.events(t, strongroom.PlatformTenant, "session.expire") {
			if e.Reason == "lifetime reached" {
				expired++
			}
		}
		if denied != 1 || expired < 3 {
			t.Errorf("%d lifetime refusals in the organization's log (want 1), %d session ends (want at least 3)", denied, expired)
		}

		// Allowed sign-in methods: a password session cannot enter an
		// OIDC-only organization.
		oidc := f.srv.Signup(t, "admin@oidc-only.example", "OIDC Only Org")
		member := f.member(t, oidc, "member@oidc-only.example", "editor")
		// The password-session Admin cannot shut itself out...
		sessTRefused(t, f.do(t, "PUT", "/api/v1/orgs/"+oidc.OrgID+"/settings", oidc.Token, `{"sign_in_methods":["oidc"]}`),
			http.StatusUnprocessableEntity, strongroom.EVALIDATION, "/sign_in_methods")
		// ...so the setting is made as an OIDC-signed-in Admin would.
		f.srv.SetOrgSettings(t, strongroom.TenantID(oidc.OrgID), strongroom.OrgSettings{SignInMethods: []string{"oidc"}})
		sessTRefused(t, f.do(t, "GET", "/api/v1/orgs/"+oidc.OrgID, member.Token, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
		if s := f.status(t, member.Token, "/api/v1/me"); s != http.StatusOK {
			t.Errorf("/api/v1/me of a refused method: status %d, want 200", s)
		}
		if s := f.status(t, member.Token, "/api/v1/orgs/"+member.OrgID); s != http.StatusOK {
			t.Errorf("the member's own organization: status %d, want 200", s)
		}

		// MFA required: a member without a second factor must enrol first.
		mfa := f.srv.Signup(t, "admin@mfa-org.example", "MFA Org")
		plain := f.member(t, mfa, "plain@mfa-org.example", "viewer")
		testkit.MustStatus(t, f.do(t, "PUT", "/api/v1/orgs/"+mfa.OrgID+"/settings", mfa.Token, `{"mfa_required":true}`), http.StatusOK)
		for _, path := range []string{"", "/members", "/collections"} {
			sessTRefused(t, f.do(t, "GET", "/api/v1/orgs/"+mfa.OrgID+path, plain.Token, nil), http.StatusForbidden, strongroom.EMFAENROLL)
		}
		if s := f.status(t, plain.Token, "/api/v1/me"); s != http.StatusOK {
			t.Errorf("/api/v1/me without MFA: status %d, want 200", s)
		}
	})
}

// TestSessionsAdminSignOut: an organization's Admin lists a member's sessions
// and signs the member out everywhere (audited in the organization's log as
// member.sessions.end); Editors cannot, and users outside the organization
// are not found.
func TestSessionsAdminSignOut(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		f := newSessT(t, st, nil)
		admin := f.srv.Signup(t, "admin@signout.example", "Sign-out Org")
		member := f.member(t, admin, "member@signout.example", "editor")
		outsider := f.srv.Signup(t, "outsider@signout.example", "Outside Org")
		b, bID := f.session(t, member.Email, password, "203.0.113.50")
		c, cID := f.session(t, member.Email, password, "203.0.113.51")
		sessions := func(user string) string { return "/api/v1/orgs/" + admin.OrgID + "/members/" + user + "/sessions" }

		list := testkit.MustStatus(t, f.do(t, "GET", sessions(member.UserID), admin.Token, nil), http.StatusOK).JSON(t)["items"].([]any)
		got := map[string]string{}
		for _, it := range list {
			s := it.(map[string]any)
			got[s["id"].(string)] = s["ip"].(string) + " current=" + strconv.FormatBool(s["current"].(bool))
		}
		if len(got) != 3 || got[bID] != "203.0.113.50 current=false" || got[cID] != "203.0.113.51 current=false" {
			t.Errorf("member's sessions = %v, want the sign-up session and %s, %s, none current", got, bID, cID)
		}

		for _, m := range []string{"GET", "DELETE"} {
			sessTRefused(t, f.do(t, m, sessions(admin.UserID), member.Token, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			for _, user := range []string{outsider.UserID, "0193a7f0-0000-7000-8000-000000000000", "not-a-user"} {
				sessTRefused(t, f.do(t, m, sessions(user), admin.Token, nil), http.StatusNotFound, strongroom.ENOTFOUND)
			}
		}
		if s := f.status(t, outsider.Token, "/api/v1/me"); s != http.StatusOK {
			t.Fatalf("the outsider's session: status %d, want 200", s)
		}
		if s := f.status(t, admin.Token, "/api/v1/me"); s != http.StatusOK {
			t.Fatalf("the Admin's session after an Editor's attempt: status %d, want 200", s)
		}

		end := testkit.MustStatus(t, f.do(t, "DELETE", sessions(member.UserID), admin.Token, nil), http.StatusOK)
		if got := strings.TrimSpace(string(end.Body)); got != `{"sessions_ended":3}` {
			t.Errorf("answer %s, want 3 sessions ended", got)
		}
		for _, tok := range []string{member.Token, b, c} {
			sessTRefused(t, f.do(t, "GET", "/api/v1/me", tok, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
		}
		e := f.eventOf(t, strongroom.TenantID(admin.OrgID), "member.sessions.end", end)
		if e.ActorID != admin.UserID || e.TargetID != member.UserID || string(e.Metadata) != `{"sessions_ended":3}` {
			t.Errorf("member.sessions.end event: %s on %s with %s; want %s on %s ending 3",
				e.ActorID, e.TargetID, e.Metadata, admin.UserID, member.UserID)
		}
		if s := f.status(t, admin.Token, "/api/v1/me"); s != http.StatusOK {
			t.Errorf("the Admin's own session: status %d, want 200", s)
		}
	})
}

// TestSessionsEndWhileInUse: a session ended while requests of it are in
// flight (each recording its activity) answers 401 from then on. The embedded
// engine caches sessions; a request that loaded or touched the session
// before it ended must not put it back in the cache.
func TestSessionsEndWhileInUse(t *testing.T) {
	sessTEngines(t, func(t *testing.T, st *store.Store) {
		f := newSessT(t, st, nil)
		alice := f.srv.Signup(t, "alice@inflight.example", "In-flight Org")
		for i := range 20 {
			tok, id := f.session(t, alice.Email, password, "203.0.113.60")
			f.clock.Advance(time.Minute) // every request below records activity
			if s := f.status(t, alice.Token, "/api/v1/me"); s != http.StatusOK {
				t.Fatalf("status %d", s)
			}
			var wg sync.WaitGroup
			errs := make([]error, 5)
			for j := range 4 {
				wg.Go(func() { _, errs[j] = sessTSend(f.srv.URL, "GET", "/api/v1/me", tok) })
			}
			var ended int
			wg.Go(func() { ended, errs[4] = sessTSend(f.srv.URL, "DELETE", "/api/v1/me/sessions/"+id, alice.Token) })
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if ended != http.StatusNoContent {
				t.Fatalf("ending the session: status %d", ended)
			}
			if s := f.status(t, tok, "/api/v1/me"); s != http.StatusUnauthorized {
				t.Fatalf("round %d: the ended session answers %d, want 401", i, s)
			}
		}
	})
}

// sessTSend sends a request without a body from a goroutine other than the
// test's (where t.Fatal must not be called) and returns the status.
func sessTSend(base, method, path, token string) (int, error) {
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}
