package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// observed records what the HTTP layer and the service report for metrics.
type observed struct {
	mu       sync.Mutex
	requests map[string]int // "pattern|method|status"
	signIns  map[string]int // "method|result"
	refusals map[string]int
	jobs     map[string]int // "name|ok" or "name|error"
	alerts   map[string]int // by kind
}

func newObserved() *observed {
	return &observed{requests: map[string]int{}, signIns: map[string]int{}, refusals: map[string]int{}, jobs: map[string]int{},
		alerts: map[string]int{}}
}

func (o *observed) Alert(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.alerts[kind]++
}

func (o *observed) request(pattern, method string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests[fmt.Sprintf("%s|%s|%d", pattern, method, status)]++
}

func (o *observed) SignIn(method, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.signIns[method+"|"+result]++
}

func (o *observed) RateLimited(what string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refusals[what]++
}

func (o *observed) Job(name string, _ time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	result := "ok"
	if err != nil {
		result = "error"
	}
	o.jobs[name+"|"+result]++
}

// snapshot copies a map under the lock.
func (o *observed) snapshot(m map[string]int) map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestObservers: every answered request is reported with its route pattern
// (never its path), and the service reports sign-in results by method,
// rate-limit refusals by what refused them, and sweeper runs.
func TestObservers(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) { testObservers(t, e.Open(t)) })
	}
}

func testObservers(t *testing.T, st *store.Store) {
	o := newObserved()
	srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{
		Options: httpapi.Options{Observe: o.request},
		Service: func(_ string, cfg *service.Config) {
			cfg.Observer = o
			cfg.Limits = testkit.GenerousLimits
			cfg.Limits.AuthPerIPRate, cfg.Limits.AuthPerIPBurst = 0.001, 12
		},
	})
	acct := srv.Signup(t, "observed@example.com", "Observed Org")
	do := func(method, path, token string, body any) testkit.Response {
		return srv.Do(t, testkit.Request{Method: method, Path: path, Token: token, Body: body})
	}
	signIn := func(pw string) testkit.Response {
		return do("POST", "/api/v1/auth/password", "", map[string]string{"email": acct.Email, "password": pw})
	}
	testkit.MustStatus(t, signIn("not the password at all"), http.StatusUnauthorized)
	testkit.MustStatus(t, signIn(password), http.StatusOK)

	// A second factor: the password then answers a challenge.
	r := testkit.MustStatus(t, do("POST", "/api/v1/me/mfa/totp", acct.Token, map[string]string{"name": "Phone"}),
		http.StatusCreated).JSON(t)
	id, secret := r["id"].(string), r["secret"].(string)
	testkit.MustStatus(t, do("POST", "/api/v1/me/mfa/totp/"+id+"/confirm", acct.Token,
		map[string]string{"code": totpAt(t, secret, time.Now())}), http.StatusOK)
	challenge := testkit.MustStatus(t, signIn(password), http.StatusOK).JSON(t)["challenge"].(string)
	testkit.MustStatus(t, do("POST", "/api/v1/auth/mfa", "", map[string]string{"challenge": challenge, "code": "000000"}),
		http.StatusUnauthorized)
	testkit.MustStatus(t, do("POST", "/api/v1/auth/mfa", "", map[string]string{"challenge": challenge,
		"code": totpAt(t, secret, time.Now().Add(30*time.Second))}), http.StatusOK)

	// Unknown paths are reported by the catch-all that answered them.
	do("GET", "/no/such/page/srs_notatoken", "", nil)
	do("GET", "/api/v1/no-such-route", "", nil)
	do("PATCH", "/healthz", "", nil)

	// The per-address limit: its burst of 12 admissions runs out.
	failures := 1
	for i := 0; ; i++ {
		if i == 12 {
			t.Fatal("no sign-in was refused")
		}
		if r := signIn("still not the password"); r.Status == http.StatusTooManyRequests {
			break
		}
		failures++
	}

	if diff := cmp.Diff(map[string]int{"password|failure": failures, "password|success": 1, "password|mfa_required": 1,
		"mfa|failure": 1, "mfa|success": 1}, o.snapshot(o.signIns)); diff != "" {
		t.Errorf("sign-ins (-want +got):\n%s", diff)
	}
	if got := o.snapshot(o.refusals); got["auth_ip"] != 1 || len(got) != 1 {
		t.Errorf("refusals: %v", got)
	}
	reqs := o.snapshot(o.requests)
	for _, want := range []string{
		"POST /api/v1/signup|POST|201",
		"POST /api/v1/auth/password|POST|401",
		"POST /api/v1/auth/password|POST|200",
		"POST /api/v1/auth/password|POST|429",
		"POST /api/v1/auth/mfa|POST|401",
		"POST /api/v1/auth/mfa|POST|200",
		"/|GET|404",
		"/api/|GET|404",
		"/healthz|PATCH|405",
	} {
		if reqs[want] == 0 {
			t.Errorf("no request %s reported; reported: %v", want, reqs)
		}
	}
	for k := range reqs {
		if strings.Contains(k, "no-such") || strings.Contains(k, "srs_") {
			t.Errorf("reported %q: a path, not a route pattern", k)
		}
	}

	// The sweeper reports each run.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Service.RunSweeper(ctx, 5*time.Millisecond); close(done) }()
	testkit.WaitFor(t, 10*time.Second, func() bool { return o.snapshot(o.jobs)["session_sweeper|ok"] > 0 })
	cancel()
	<-done
	if got := o.snapshot(o.jobs); got["session_sweeper|error"] != 0 || len(got) != 1 {
		t.Errorf("jobs: %v", got)
	}
}
