// Package metrics is Strongroom's Prometheus instrumentation: a Registry of
// its own collectors (never the process-wide default registry) for HTTP
// requests, sign-in results, rate-limit refusals, audit appends and sealing
// lag, background jobs, and the Go runtime and process; and the handler of the
// admin listener that serves them. docs/operations.md lists every metric.
//
// The Registry's methods are the hooks the other packages call (through
// small function types and interfaces of their own, wired in cmd/strongroom):
// they are cheap, never block, and keep every label bounded.
package metrics

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Unmatched is the route label of requests no route matched.
const Unmatched = "unmatched"

// Registry holds Strongroom's metrics. Its methods are safe for concurrent use.
type Registry struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	signIns     *prometheus.CounterVec
	refusals    *prometheus.CounterVec
	auditAppend prometheus.Histogram
	jobRuns     *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	alerts      *prometheus.CounterVec

	sealOnce sync.Once
}

// Bucket boundaries in seconds. Requests range from a cached read (well under
// a millisecond) to a password hash that waited for a slot (seconds); audit
// appends are one group commit (around a millisecond to tens of them); jobs
// run from milliseconds to a long sweep.
var (
	requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	appendBuckets  = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}
	jobBuckets     = []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60}
)

// New returns a Registry with Strongroom's collectors and the standard Go
// runtime and process collectors.
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status class.",
		}, []string{"route", "method", "status_class"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its handler, by route pattern and method.",
			Buckets: requestBuckets,
		}, []string{"route", "method"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signin_attempts_total",
			Help: "Sign-in attempts that were checked, by method and result (success, mfa_required, failure); refusals by rate limits are ratelimit_refusals_total.",
		}, []string{"method", "result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ratelimit_refusals_total",
			Help: "Requests refused by a rate limit, lockout or the password-hashing queue, by what refused them.",
		}, []string{"what"}),
		auditAppend: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "audit_append_duration_seconds",
			Help:    "Duration of the store writes that carry audit events, from submission to durable commit (group commit wait included).",
			Buckets: appendBuckets,
		}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "background_job_runs_total",
			Help: "Runs of background jobs, by job and result (ok, error).",
		}, []string{"job", "result"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "background_job_duration_seconds",
			Help:    "Duration of background job runs, by job.",
			Buckets: jobBuckets,
		}, []string{"job"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "security_alerts_total",
			Help: "Security alerts raised, by kind (the monitor's brute_force, credential_stuffing, mass_read, new_device; the trust jobs' incident_overdue); further evidence joining an open alert is not counted.",
		}, []string{"kind"}),
	}
	r.reg.MustRegister(r.requests, r.latency, r.signIns, r.refusals, r.auditAppend, r.jobRuns, r.jobDuration, r.alerts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Gatherer returns the registry, for serving and tests.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// ObserveHTTP records one answered request (httpapi.Options.Observe). pattern
// is the request's mux pattern (http.Request.Pattern), never the raw path, so
// the route label has as many values as the route table has routes.
func (r *Registry) ObserveHTTP(pattern, method string, status int, d time.Duration) {
	route, m := Route(pattern, status), Method(method)
	r.requests.WithLabelValues(route, m, StatusClass(status)).Inc()
	r.latency.WithLabelValues(route, m).Observe(d.Seconds())
}

// SignIn counts a sign-in attempt (service.Observer).
func (r *Registry) SignIn(method, result string) { r.signIns.WithLabelValues(method, result).Inc() }

// RateLimited counts a refusal by a rate limit (service.Observer).
func (r *Registry) RateLimited(what string) { r.refusals.WithLabelValues(what).Inc() }

// Job records one run of a background job (service.Observer, and the audit
// sequencer's rounds).
func (r *Registry) Job(name string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	r.jobRuns.WithLabelValues(name, result).Inc()
	r.jobDuration.WithLabelValues(name).Observe(d.Seconds())
}

// Alert counts a new alert: of the security monitor (monitor.Config.Raised)
// or of the service (service.Observer: incident_overdue).
func (r *Registry) Alert(kind string) { r.alerts.WithLabelValues(kind).Inc() }

// AuditAppend records the duration of a store write that carried audit
// events (store.Store.ObserveAuditWrites).
func (r *Registry) AuditAppend(d time.Duration) { r.auditAppend.Observe(d.Seconds()) }

// Route is the route label of a request: its mux pattern's path (the method
// part of "GET /path" is a label of its own), or Unmatched when no route
// matched: no pattern, or a subtree catch-all ("/", "/api/", "/static/")
// that answered 404.
func Route(pattern string, status int) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	if pattern == "" || (status == 404 && strings.HasSuffix(pattern, "/")) {
		return Unmatched
	}
	return pattern
}

// Method is the method label: the standard methods as they are, anything
// else "other" (a client chooses the method string).
func Method(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "other"
}

// StatusClass is the status_class label: "2xx" and so on. A handler that
// wrote nothing (status 0) was answered 200 by net/http.
func StatusClass(status int) string {
	if status == 0 {
		status = 200
	}
	if status < 100 || status > 599 {
		return "other"
	}
	return statusClasses[status/100-1]
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}
