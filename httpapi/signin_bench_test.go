package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
)

// BenchmarkSignInRejected measures what a rate-limited sign-in costs the
// server (IAM-13; DESIGN.md: under 50 µs): the whole HTTP stack (request ID,
// security headers, CSRF check, body limit, routing, strict JSON decoding)
// up to the per-address limiter's refusal, answered as a 429 problem with
// Retry-After. BenchmarkBareHandler is the same request through a handler that
// only writes a fixed answer, measured in the same run, for the ratio.
func BenchmarkSignInRejected(b *testing.B) {
	st := testkit.OpenSQLiteStore(b)
	srv := testkit.NewServerWithConfig(b, st, testkit.ServerConfig{Service: func(_ string, cfg *service.Config) {
		cfg.Limits = service.Limits{AuthPerIPRate: 0.001, AuthPerIPBurst: 1}
	}})
	body := []byte(`{"email":"victim@example.com","password":"correct horse battery staple"}`)
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/password", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = "198.51.100.7:40000"
		return r
	}
	first := httptest.NewRecorder()
	srv.API.ServeHTTP(first, req()) // spends the burst of one
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.API.ServeHTTP(w, req())
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
			b.Fatalf("status %d, Retry-After %q: want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
		}
	}
}

// BenchmarkBareHandler is the baseline: the same request to a handler that
// writes a small fixed JSON answer.
func BenchmarkBareHandler(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"status":429}`))
	})
	body := []byte(`{"email":"victim@example.com","password":"correct horse battery staple"}`)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/password", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
	}
}
