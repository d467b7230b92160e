package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"strongroom.dev/strongroom"
)

type ctxKey int

const requestIDKey ctxKey = 1

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter records the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outer wraps every request: request ID, panic recovery, security headers, CORS,
// CSRF protection, body limit, access log. The order matters: headers are set
// before anything can answer, so even errors carry them.
func (s *Server) outer(next http.Handler) http.Handler {
	csrf := http.NewCrossOriginProtection()
	for _, o := range s.opts.CORSOrigins {
		_ = csrf.AddTrustedOrigin(o) // validated by Options.Validate
	}
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, strongroom.Errorf(strongroom.EFORBIDDEN, "cross-origin request refused"))
	}))
	inner := csrf.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		h := sw.Header()
		h.Set("X-Request-Id", id)
		s.securityHeaders(h)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panicked", "panic", p, "request_id", id, "route", r.Pattern)
				if sw.status == 0 {
					writeError(sw, r, s.log, strongroom.Errorf(strongroom.EINTERNAL, "internal error"))
				}
			}
			d := time.Since(start)
			s.log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("request_id", id), slog.String("method", r.Method),
				slog.String("route", r.Pattern), slog.Int("status", sw.status),
				slog.Duration("duration", d))
			if s.opts.Observe != nil {
				s.opts.Observe(r.Pattern, r.Method, sw.status, d)
			}
		}()
		if !s.cors(sw, r) {
			return
		}
		if r.Body != nil {
			r.Body = &requestBody{ReadCloser: http.MaxBytesReader(sw, r.Body, s.opts.MaxBodyBytes), raw: r.Body}
		}
		inner.ServeHTTP(sw, r)
	})
}

// Security headers every response carries (APP-01), as ready header values:
// set by map assignment, they cost no canonicalization or allocation per
// request. net/http never modifies header value slices.
var (
	cspValue         = []string{"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"}
	nosniffValue     = []string{"nosniff"}
	denyValue        = []string{"DENY"}
	noReferrerValue  = []string{"no-referrer"}
	sameOriginValue  = []string{"same-origin"}
	permissionsValue = []string{"camera=(), microphone=(), geolocation=(), publickey-credentials-get=(self), publickey-credentials-create=(self)"}
)

// securityHeaders sets the headers every response carries (APP-01).
func (s *Server) securityHeaders(h http.Header) {
	h["Content-Security-Policy"] = cspValue
	h["X-Content-Type-Options"] = nosniffValue
	h["X-Frame-Options"] = denyValue
	h["Referrer-Policy"] = noReferrerValue
	h["Cross-Origin-Opener-Policy"] = sameOriginValue
	h["Permissions-Policy"] = permissionsValue
	if s.opts.HSTS {
		h["Strict-Transport-Security"] = s.hstsValue
	}
}

// cors answers CORS for configured origins only (APP-02). It returns false when
// the request was fully answered (a preflight).
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	w.Header().Add("Vary", "Origin")
	allowed := false
	for _, o := range s.opts.CORSOrigins {
		if o == origin {
			allowed = true
			break
		}
	}
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if allowed {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "ETag, Location, X-Request-Id, Retry-After")
		if preflight {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
			h.Set("Access-Control-Max-Age", "600")
		}
	}
	if preflight {
		if allowed {
			w.WriteHeader(http.StatusNoContent)
		} else {
			writeError(w, r, s.log, strongroom.Errorf(strongroom.EFORBIDDEN, "origin not allowed"))
		}
		return false
	}
	return true
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For address that is not itself a trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if !s.trusted(peer) {
		return peer.Unmap().String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.Unmap().String()
		}
	}
	return peer.Unmap().String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}
