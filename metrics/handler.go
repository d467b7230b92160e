package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HandlerOptions configure the admin listener's handler.
type HandlerOptions struct {
	// Token, when not empty, is the bearer token /metrics requires.
	Token []byte
	// Log receives errors of gathering and encoding; nil: slog.Default().
	Log *slog.Logger
}

// Handler returns the admin listener's handler. It serves GET (and HEAD)
// /metrics in the Prometheus exposition formats, answers other methods there
// 405 and every other path 404. With a token, /metrics requires "Authorization: Bearer <token>",
// compared in constant time, and answers 401 without it.
func (r *Registry) Handler(opts HandlerOptions) http.Handler {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	prom := promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		ErrorLog:            promLogger{log},
		ErrorHandling:       promhttp.ContinueOnError, // one failing collector does not blank the scrape
		Registry:            r.reg,                    // promhttp_metric_handler_errors_total
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
	var want [sha256.Size]byte
	if len(opts.Token) > 0 {
		want = sha256.Sum256(opts.Token)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if len(opts.Token) > 0 && !bearerMatches(req, want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="strongroom-metrics"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		prom.ServeHTTP(w, req)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, req)
	})
}

// bearerMatches compares the request's bearer token with the wanted one's
// SHA-256 in constant time: hashing first makes the comparison's time
// independent of the length of either token as well as of their contents.
func bearerMatches(req *http.Request, want [sha256.Size]byte) bool {
	scheme, token, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// promLogger adapts slog to promhttp's Logger.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Error("serving metrics", "err", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
