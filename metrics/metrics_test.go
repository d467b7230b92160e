package metrics_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"strongroom.dev/strongroom/metrics"
)

func TestLabels(t *testing.T) {
	routes := []struct {
		pattern string
		status  int
		want    string
	}{
		{"GET /api/v1/orgs/{org}/records/{id}", 200, "/api/v1/orgs/{org}/records/{id}"},
		{"GET /api/v1/orgs/{org}/records/{id}", 404, "/api/v1/orgs/{org}/records/{id}"}, // a missing record, a known route
		{"/api/v1/me", 405, "/api/v1/me"},
		{"GET /{$}", 200, "/{$}"},
		{"GET /static/", 200, "/static/"},
		{"GET /static/", 404, "unmatched"},
		{"/api/", 404, "unmatched"},
		{"/", 404, "unmatched"},
		{"", 403, "unmatched"}, // refused before routing (CORS, cross-origin)
	}
	for _, tt := range routes {
		if got := metrics.Route(tt.pattern, tt.status); got != tt.want {
			t.Errorf("Route(%q, %d) = %q, want %q", tt.pattern, tt.status, got, tt.want)
		}
	}
	for m, want := range map[string]string{"GET": "GET", "DELETE": "DELETE", "OPTIONS": "OPTIONS", "get": "other",
		"PROPFIND": "other", "": "other", strings.Repeat("X", 100): "other"} {
		if got := metrics.Method(m); got != want {
			t.Errorf("Method(%q) = %q, want %q", m, got, want)
		}
	}
	for s, want := range map[int]string{0: "2xx", 200: "2xx", 204: "2xx", 301: "3xx", 401: "4xx", 429: "4xx", 503: "5xx",
		99: "other", 600: "other"} {
		if got := metrics.StatusClass(s); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", s, got, want)
		}
	}
}

// scrape fetches h's /metrics with an optional token and parses the text
// exposition.
func scrape(t *testing.T, h http.Handler, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return fams
}

// series returns a family's series as "label=value,…" → value (a
// histogram's sample count), sorted labels.
func series(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	f := fams[name]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(ls)
		var v float64
		switch {
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Histogram != nil:
			v = float64(m.GetHistogram().GetSampleCount())
		}
		out[strings.Join(ls, ",")] = v
	}
	return out
}

func TestRegistry(t *testing.T) {
	r := metrics.New()
	r.ObserveHTTP("GET /api/v1/me", "GET", 200, 3*time.Millisecond)
	r.ObserveHTTP("GET /api/v1/me", "GET", 0, time.Millisecond)
	r.ObserveHTTP("GET /api/v1/me", "GET", 401, time.Millisecond)
	r.ObserveHTTP("POST /api/v1/auth/password", "POST", 429, 20*time.Microsecond)
	for i := range 50 {
		r.ObserveHTTP("/", fmt.Sprintf("M%d", i), 404, time.Millisecond)
	}
	r.SignIn("password", "success")
	r.SignIn("password", "failure")
	r.SignIn("password", "failure")
	r.SignIn("mfa", "success")
	r.RateLimited("auth_ip")
	r.Job("session_sweeper", time.Second, nil)
	r.Job("audit_seal", time.Millisecond, errors.New("database down"))
	r.AuditAppend(2 * time.Millisecond)
	r.AuditAppend(time.Millisecond)

	fams := scrape(t, r.Handler(metrics.HandlerOptions{}), "")
	want := map[string]map[string]float64{
		"http_requests_total": {
			"method=GET,route=/api/v1/me,status_class=2xx":             2,
			"method=GET,route=/api/v1/me,status_class=4xx":             1,
			"method=POST,route=/api/v1/auth/password,status_class=4xx": 1,
			"method=other,route=unmatched,status_class=4xx":            50,
		},
		"http_request_duration_seconds": {
			"method=GET,route=/api/v1/me":             3,
			"method=POST,route=/api/v1/auth/password": 1,
			"method=other,route=unmatched":            50,
		},
		"signin_attempts_total": {
			"method=password,result=success": 1, "method=password,result=failure": 2, "method=mfa,result=success": 1,
		},
		"ratelimit_refusals_total":        {"what=auth_ip": 1},
		"background_job_runs_total":       {"job=session_sweeper,result=ok": 1, "job=audit_seal,result=error": 1},
		"background_job_duration_seconds": {"job=session_sweeper": 1, "job=audit_seal": 1},
		"audit_append_duration_seconds":   {"": 2},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, series(fams, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("the standard collectors' %s is missing", name)
		}
	}
	if _, ok := fams["audit_sequencer_lease_held"]; ok {
		t.Error("the seal lag is exported without a sequencer")
	}
	if h := fams["http_request_duration_seconds"]; h.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("http_request_duration_seconds is a %v", h.GetType())
	}
}

func TestWatchAuditSeal(t *testing.T) {
	r := metrics.New()
	lag := metrics.SealLag{}
	if err := r.WatchAuditSeal(func() metrics.SealLag { return lag }); err != nil {
		t.Fatal(err)
	}
	if err := r.WatchAuditSeal(func() metrics.SealLag { return lag }); err == nil {
		t.Error("a second sequencer was accepted")
	}
	h := r.Handler(metrics.HandlerOptions{})
	fams := scrape(t, h, "")
	if got := series(fams, "audit_sequencer_lease_held"); got[""] != 0 || len(got) != 1 {
		t.Errorf("without the lease: %v", got)
	}
	if fams["audit_seal_lag_events"] != nil || fams["audit_seal_lag_seconds"] != nil {
		t.Error("a replica without the lease exports the seal lag")
	}
	lag = metrics.SealLag{Holding: true, Events: 7, Age: 1500 * time.Millisecond}
	fams = scrape(t, h, "")
	got := map[string]float64{}
	for _, name := range []string{"audit_sequencer_lease_held", "audit_seal_lag_events", "audit_seal_lag_seconds"} {
		got[name] = series(fams, name)[""]
	}
	want := map[string]float64{"audit_sequencer_lease_held": 1, "audit_seal_lag_events": 7, "audit_seal_lag_seconds": 1.5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("holding the lease (-want +got):\n%s", diff)
	}
}

func TestHandler(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef-token"
	r := metrics.New()
	tests := []struct {
		name       string
		token      string // the handler's
		method     string
		path       string
		auth       string
		wantStatus int
	}{
		{"open", "", "GET", "/metrics", "", http.StatusOK},
		{"open, HEAD", "", "HEAD", "/metrics", "", http.StatusOK},
		{"open, other path", "", "GET", "/", "", http.StatusNotFound},
		{"open, other path 2", "", "GET", "/api/v1/me", "", http.StatusNotFound},
		{"open, POST", "", "POST", "/metrics", "", http.StatusMethodNotAllowed},
		{"token", token, "GET", "/metrics", "Bearer " + token, http.StatusOK},
		{"token, scheme case", token, "GET", "/metrics", "bearer " + token, http.StatusOK},
		{"token missing", token, "GET", "/metrics", "", http.StatusUnauthorized},
		{"token wrong", token, "GET", "/metrics", "Bearer " + token[:len(token)-1] + "X", http.StatusUnauthorized},
		{"token prefix", token, "GET", "/metrics", "Bearer " + token[:10], http.StatusUnauthorized},
		{"token longer", token, "GET", "/metrics", "Bearer " + token + "x", http.StatusUnauthorized},
		{"token as basic", token, "GET", "/metrics", "Basic " + token, http.StatusUnauthorized},
		{"token, other path", token, "GET", "/debug/pprof/", "Bearer " + token, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := r.Handler(metrics.HandlerOptions{Token: []byte(tt.token)})
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
			}
			switch rec.Code {
			case http.StatusOK:
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type = %q", ct)
				}
				if tt.method == "GET" && !strings.Contains(rec.Body.String(), "# TYPE go_goroutines gauge") {
					t.Errorf("body: %.200s", rec.Body)
				}
			case http.StatusUnauthorized:
				if rec.Header().Get("WWW-Authenticate") == "" || strings.Contains(rec.Body.String(), "go_goroutines") {
					t.Errorf("401 without a challenge, or with metrics: %v %s", rec.Header(), rec.Body)
				}
			}
		})
	}
}

// BenchmarkObserveHTTP is the cost metrics add to every request.
func BenchmarkObserveHTTP(b *testing.B) {
	r := metrics.New()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.ObserveHTTP("GET /api/v1/orgs/{org}/collections/{collection}/records/{id}", "GET", 200, 150*time.Microsecond)
		}
	})
}
