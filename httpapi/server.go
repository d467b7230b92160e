// Package httpapi is Strongroom's HTTP API: the route table with the permission
// each route needs, the middleware every request passes (request IDs, security
// headers, CORS, CSRF protection, body limits), strict JSON decoding, and RFC 9457
// problem responses. Handlers only translate HTTP to service calls.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/certs"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/useragent"
)

// Options configure the HTTP layer.
type Options struct {
	MaxBodyBytes   int64          // request body limit; default 1 MiB
	CORSOrigins    []string       // origins allowed cross-origin access, e.g. https://app.example.com
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed
	HSTS           bool           // send Strict-Transport-Security (when served over TLS)
	// HSTSPolicy is the Strict-Transport-Security policy sent with HSTS; the
	// zero value is certs.DefaultHSTS.
	HSTSPolicy *certs.HSTS
	Version    string
	// Observe, when set, is told of every answered request: its mux pattern
	// (http.Request.Pattern, "" when no route matched; never the raw path),
	// method, status (0: nothing written, so 200) and duration (metrics).
	Observe func(pattern, method string, status int, d time.Duration)
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.MaxBodyBytes < 0 {
		return errors.New("max body bytes must not be negative")
	}
	if o.HSTSPolicy != nil {
		if err := o.HSTSPolicy.Validate(); err != nil {
			return err
		}
	}
	for _, origin := range o.CORSOrigins {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return errors.New("CORS origins must be scheme://host[:port], such as https://app.example.com")
		}
	}
	return nil
}

// Server serves the API.
type Server struct {
	svc     *service.Service
	log     *slog.Logger
	opts    Options
	handler http.Handler
	routes  []Route
	// hstsValue is the Strict-Transport-Security header (opts.HSTSPolicy).
	hstsValue []string
}

// New returns a Server. extra, if non-nil, serves every path the API does not
// (the console and its assets).
func New(svc *service.Service, log *slog.Logger, opts Options, extra http.Handler) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{svc: svc, log: log, opts: opts}
	hsts := certs.DefaultHSTS
	if opts.HSTSPolicy != nil {
		hsts = *opts.HSTSPolicy
	}
	s.hstsValue = []string{hsts.Value()}
	s.routes = s.routeTable()
	mux := http.NewServeMux()
	methods := map[string][]string{}
	for _, rt := range s.routes {
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
		methods[rt.Path] = append(methods[rt.Path], rt.Method)
	}
	// Every API path answers a wrong method with a problem and an Allow header.
	for path, ms := range methods {
		allow := strings.Join(ms, ", ")
		mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, Problem{Type: ProblemTypeBase + "method_not_allowed", Title: "Method Not Allowed",
				Status: http.StatusMethodNotAllowed, Detail: "allowed: " + allow, RequestID: requestID(r.Context())})
		}))
	}
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, strongroom.Errorf(strongroom.ENOTFOUND, "no such API route"))
	}))
	if extra != nil {
		mux.Handle("/", s.withAnonymous(extra))
	} else {
		mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, s.log, strongroom.Errorf(strongroom.ENOTFOUND, "not found"))
		}))
	}
	s.handler = s.outer(mux)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes returns the route table (for tests and documentation).
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Route is one API route with the permission it needs. Every route must declare
// one (security invariant 2); routes under /orgs/{org} are checked against the
// caller's role in that organization.
type Route struct {
	Method  string
	Path    string
	Perm    access.Permission
	Summary string
	handle  func(w http.ResponseWriter, r *http.Request) error
}

// InOrg reports whether the route targets one organization.
func (rt Route) InOrg() bool { return strings.Contains(rt.Path, "{org}") }

// wrap resolves the principal, enters the organization, makes the route-level
// access decision, and runs the handler, turning errors into problems.
func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := s.principal(r, rt)
		if err == nil {
			var org strongroom.TenantID
			if rt.InOrg() {
				org = strongroom.TenantID(r.PathValue("org"))
			}
			err = s.svc.Authorize(ctx, rt.Perm, access.Resource{Tenant: org})
		}
		if err == nil {
			err = rt.handle(w, r.WithContext(ctx))
		}
		if err != nil {
			if strongroom.ErrorCode(err) == strongroom.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="strongroom"`)
			}
			writeError(w, r, s.log, err)
		}
	})
}

// anonymous is the request's principal before authentication: its address
// (through trusted proxies), device type, user agent and request id.
func (s *Server) anonymous(r *http.Request) strongroom.Principal {
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return strongroom.Principal{Kind: strongroom.PrincipalAnonymous, IP: s.clientIP(r),
		DeviceType: useragent.Parse(ua).DeviceType, UserAgent: ua, RequestID: requestID(r.Context())}
}

// withAnonymous hands the extra handler (the console) the anonymous principal
// in the request's context; the console authenticates its session cookie
// itself, through the service.
func (s *Server) withAnonymous(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.anonymous(r)
		next.ServeHTTP(w, r.WithContext(strongroom.WithPrincipal(r.Context(), &p)))
	})
}

// principal authenticates the request (a bearer token, if any) and, for
// organization routes, attaches the caller's membership.
func (s *Server) principal(r *http.Request, rt Route) (context.Context, error) {
	ctx := r.Context()
	base := s.anonymous(r)
	p := &base
	token, fromCookie := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ctx, strongroom.Errorf(strongroom.EUNAUTHORIZED, "the Authorization header must be: Bearer <token>")
		}
		token = strings.TrimSpace(t)
	} else if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		token, fromCookie = c.Value, true
	}
	if token != "" {
		q, err := s.svc.Authenticate(ctx, token, base)
		switch {
		case err == nil:
			p = q
		case fromCookie && rt.Perm == access.Public && strongroom.ErrorCode(err) == strongroom.EUNAUTHORIZED:
			// A stale browser cookie does not stop public pages and sign-in.
		default:
			return ctx, err
		}
	}
	ctx = strongroom.WithPrincipal(ctx, p)
	if rt.Perm == access.Operator {
		q, err := s.svc.EnterOperator(ctx)
		if err != nil {
			return ctx, err
		}
		return strongroom.WithPrincipal(ctx, q), nil
	}
	if rt.InOrg() && rt.Perm != access.Public {
		q, err := s.svc.EnterOrg(ctx, strongroom.TenantID(r.PathValue("org")))
		if err != nil {
			return ctx, err
		}
		ctx = strongroom.WithPrincipal(ctx, q)
	}
	return ctx, nil
}
