package oidcauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	// DefaultTimeout bounds each request to a provider (discovery, token
	// exchange, keys, userinfo) unless WithTimeout says otherwise.
	DefaultTimeout = 10 * time.Second
	// discoveryRetry is how long a failed discovery is remembered before
	// the next use of the provider tries again.
	discoveryRetry = 10 * time.Second
	// maxResponseBytes bounds every answer read from a provider.
	maxResponseBytes = 1 << 20
)

// callbackPath is where a provider redirects the browser back to, below the
// redirect base; %s is the provider's name.
const callbackPath = "/api/v1/auth/oidc/%s/callback"

// ProviderInfo is what may be shown about a provider on the sign-in page.
type ProviderInfo struct {
	Name        string
	DisplayName string
}

// An Option changes how a Registry works, mostly for tests.
type Option func(*Registry)

// WithClock sets the clock used for flow expiry and ID token expiry.
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// WithRandom sets the source of the state, nonce and PKCE verifier
// (default crypto/rand). It must be safe for concurrent use.
func WithRandom(random io.Reader) Option { return func(r *Registry) { r.random = random } }

// WithTimeout bounds each request to a provider (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(r *Registry) { r.timeout = d } }

// Registry holds the configured providers and runs their flows. It is safe
// for concurrent use.
type Registry struct {
	providers []*provider // in configuration order
	byName    map[string]*provider
	hc        *http.Client
	base      context.Context // values for background requests, never canceled
	now       func() time.Time
	random    io.Reader
	timeout   time.Duration
}

type provider struct {
	cfg             ProviderConfig // with defaults filled in
	redirectURL     string
	discoveryIssuer string // the issuer its discovery document must state
	msTenant        string // the Microsoft tenant, with PresetMicrosoft
	multiTenant     bool   // Microsoft "common" or "organizations": see MicrosoftIssuer

	mu       sync.Mutex
	disc     *discovered   // set once discovery succeeded; kept for the process's life
	err      error         // the last discovery failure
	retryAt  time.Time     // no new discovery before then after a failure
	inflight chan struct{} // closed when the running discovery ends
}

// discovered is what discovery learned about a provider.
type discovered struct {
	oauth    oauth2.Config
	oidc     *oidc.Provider // for the userinfo endpoint
	verifier *oidc.IDTokenVerifier
	userinfo bool // the provider has a userinfo endpoint
	issParam bool // the provider sends RFC 9207's iss in its authorization responses
}

// NewRegistry validates the providers and returns a registry for them. It
// makes no request: each provider is discovered on its first use, so a
// provider that is down at startup does not stop the server.
//
// redirectBase is Strongroom's public URL, such as https://app.example.com;
// each provider redirects to {redirectBase}/api/v1/auth/oidc/{name}/callback
// (RedirectURL), which must be registered at the provider. httpClient makes
// the requests to the providers; nil means a default one. Either way the
// registry follows no redirects, bounds every request with its timeout and
// reads at most 1 MiB of an answer. ctx is kept for its values only (the
// background refresh of the providers' keys runs with them); canceling it
// changes nothing.
func NewRegistry(ctx context.Context, providers []ProviderConfig, redirectBase string, httpClient *http.Client, opts ...Option) (*Registry, error) {
	if err := checkURL(redirectBase); err != nil {
		return nil, fmt.Errorf("oidcauth: redirect base: %w", err)
	}
	if u, _ := url.Parse(redirectBase); u.RawQuery != "" || u.ForceQuery {
		return nil, errors.New("oidcauth: redirect base must not hold a query")
	}
	r := &Registry{byName: map[string]*provider{}, base: context.WithoutCancel(ctx),
		now: time.Now, random: rand.Reader, timeout: DefaultTimeout}
	for _, o := range opts {
		o(r)
	}
	r.hc = providerClient(httpClient, r.timeout)
	base := strings.TrimSuffix(redirectBase, "/")
	for _, c := range providers {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("oidcauth: %w", err)
		}
		c = c.withDefaults()
		if _, dup := r.byName[c.Name]; dup {
			return nil, fmt.Errorf("oidcauth: provider %s is configured twice", c.Name)
		}
		p := &provider{cfg: c, redirectURL: base + fmt.Sprintf(callbackPath, c.Name), discoveryIssuer: c.Issuer}
		if c.Preset == PresetMicrosoft {
			p.msTenant, _ = microsoftTenant(c.Issuer) // checked by Validate
			p.discoveryIssuer, p.multiTenant = microsoftDiscoveryIssuer(p.msTenant)
		}
		r.providers = append(r.providers, p)
		r.byName[c.Name] = p
	}
	return r, nil
}

// providerClient returns the client for the requests to the providers: hc's
// transport and settings, but no redirects (a token endpoint that redirects
// would send the client secret elsewhere), a timeout, and bounded answers.
func providerClient(hc *http.Client, timeout time.Duration) *http.Client {
	c := &http.Client{}
	if hc != nil {
		c.Transport, c.Timeout = hc.Transport, hc.Timeout
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport
	}
	c.Transport = limitTransport{c.Transport}
	if c.Timeout == 0 || c.Timeout > timeout {
		c.Timeout = timeout
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// Providers lists the configured providers in configuration order.
func (r *Registry) Providers() []ProviderInfo {
	out := make([]ProviderInfo, 0, len(r.providers))
	for _, p := range r.providers {
		out = append(out, ProviderInfo{Name: p.cfg.Name, DisplayName: p.cfg.DisplayName})
	}
	return out
}

// RedirectURL returns the callback URL of a provider, the one to register at
// the provider: {redirectBase}/api/v1/auth/oidc/{name}/callback.
func (r *Registry) RedirectURL(name string) (string, error) {
	p, err := r.lookup(name)
	if err != nil {
		return "", err
	}
	return p.redirectURL, nil
}

func (r *Registry) lookup(name string) (*provider, error) {
	if p, ok := r.byName[name]; ok {
		return p, nil
	}
	return nil, &Error{Kind: ErrUnknownProvider, detail: fmt.Sprintf("no provider named %q", oauthText(name, 40))}
}

// discovered returns what discovery learned about p, discovering it if this
// is its first use (or the last failure is older than discoveryRetry). One
// discovery runs at a time per provider, bounded by the registry's timeout
// and not by ctx: a caller that gives up leaves it to finish for the next.
func (r *Registry) discovered(ctx context.Context, p *provider) (*discovered, error) {
	p.mu.Lock()
	if p.disc != nil {
		defer p.mu.Unlock()
		return p.disc, nil
	}
	if p.inflight == nil {
		if p.err != nil && r.now().Before(p.retryAt) {
			defer p.mu.Unlock()
			return nil, p.err
		}
		done := make(chan struct{})
		p.inflight = done
		go func() {
			dctx, cancel := context.WithTimeout(r.base, r.timeout)
			d, err := r.discover(dctx, p)
			cancel()
			p.mu.Lock()
			p.disc, p.err, p.inflight = d, err, nil
			if err != nil {
				p.retryAt = r.now().Add(discoveryRetry)
			}
			p.mu.Unlock()
			close(done)
		}()
	}
	done := p.inflight
	p.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, &Error{Provider: p.cfg.Name, Kind: ErrUnavailable, detail: "gave up waiting for discovery", cause: ctx.Err()}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc != nil {
		return p.disc, nil
	}
	return nil, p.err
}

// limitTransport bounds the bodies of the answers it returns.
type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxResponseBytes}
	return resp, nil
}

var errTooLarge = fmt.Errorf("answer larger than %d bytes", maxResponseBytes)

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the limit: fine if the body ends here.
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n > 0 || err == nil {
			return 0, errTooLarge
		} else {
			return 0, err
		}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
