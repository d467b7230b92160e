package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACME directories of Let's Encrypt.
const (
	LetsEncryptProduction = acme.LetsEncryptURL
	LetsEncryptStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// ACMEConfig configures an ACMESource.
type ACMEConfig struct {
	// Domains are the only names certificates are requested for (autocert's
	// HostWhitelist): ASCII (punycode for IDNs), at least one dot, no
	// wildcard, no port.
	Domains []string
	// Email is the ACME account contact, for the CA's expiry and incident
	// notices. Optional but recommended.
	Email string
	// DirectoryURL is the ACME directory; default LetsEncryptProduction. It
	// must be https.
	DirectoryURL string
	// CacheDir holds the ACME account key and the certificates with their
	// private keys. Required: without it every restart would request new
	// certificates and soon hit the CA's rate limits. Created with mode 0700;
	// refused if group or others can access it.
	CacheDir string
	// HTTPClient talks to the ACME directory; default http.DefaultClient, or a
	// client trusting RootCAs when that is set. For a test CA such as Pebble.
	HTTPClient *http.Client
	// RootCAs, if HTTPClient is nil, are the roots trusted for the directory's
	// HTTPS certificate instead of the system's.
	RootCAs *x509.CertPool
	// RenewBefore is how long before expiry a certificate is renewed; default
	// (zero) a third of its lifetime, at most 30 days (autocert's rule).
	RenewBefore time.Duration
	Logger      *slog.Logger // default slog.Default()
}

// ACMESource obtains certificates from an ACME CA (Let's Encrypt by default)
// with golang.org/x/crypto/acme/autocert, caches them in CacheDir and renews
// them in the background before they expire. It answers tls-alpn-01
// challenges on the TLS listener (TLSConfig offers the acme-tls/1 protocol)
// and http-01 challenges through HTTPHandler on port 80.
//
// A certificate is requested on the first TLS handshake naming one of the
// domains (SNI), so that handshake waits for the CA; later ones use the cached
// certificate. Handshakes without a server name or naming another host fail.
type ACMESource struct {
	m         *autocert.Manager
	domains   []string
	directory string
	log       *slog.Logger

	mu        sync.Mutex
	served    map[string]*x509.Certificate // domain → last leaf served
	lastError map[string]time.Time         // domain → when a failure was last logged
}

// NewACMESource checks the configuration and prepares the cache folder. It does
// not contact the CA; the first handshake does.
func NewACMESource(cfg ACMEConfig) (*ACMESource, error) {
	if len(cfg.Domains) == 0 {
		return nil, errors.New("acme: at least one domain is required")
	}
	domains := make([]string, 0, len(cfg.Domains))
	for _, d := range cfg.Domains {
		n, err := normalizeDomain(d)
		if err != nil {
			return nil, fmt.Errorf("acme: %w", err)
		}
		if !slices.Contains(domains, n) {
			domains = append(domains, n)
		}
	}
	if cfg.Email != "" {
		if a, err := mail.ParseAddress(cfg.Email); err != nil || a.Address != cfg.Email {
			return nil, fmt.Errorf("acme: contact e-mail %q is not a plain address like ops@example.com", cfg.Email)
		}
	}
	directory := cfg.DirectoryURL
	if directory == "" {
		directory = LetsEncryptProduction
	}
	if u, err := url.Parse(directory); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("acme: directory URL %q must be an https URL", directory)
	}
	if cfg.CacheDir == "" {
		return nil, errors.New("acme: a cache folder is required (it keeps the account key and the certificates across restarts)")
	}
	if err := prepareCacheDir(cfg.CacheDir); err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	if cfg.RenewBefore < 0 {
		return nil, errors.New("acme: renew-before must not be negative")
	}
	hc := cfg.HTTPClient
	if hc == nil && cfg.RootCAs != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		hc = &http.Client{Transport: tr}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &ACMESource{
		m: &autocert.Manager{
			// Enabling ACME is the operator's acceptance of the CA's terms
			// (docs/tls.md says so).
			Prompt:      autocert.AcceptTOS,
			Cache:       autocert.DirCache(cfg.CacheDir),
			HostPolicy:  autocert.HostWhitelist(domains...),
			RenewBefore: cfg.RenewBefore,
			Email:       cfg.Email,
			Client: &acme.Client{
				DirectoryURL: directory,
				HTTPClient:   hc,
				UserAgent:    "strongroom",
			},
		},
		domains:   domains,
		directory: directory,
		log:       log,
		served:    map[string]*x509.Certificate{},
		lastError: map[string]time.Time{},
	}, nil
}

// normalizeDomain lower-cases d, drops a final dot and checks it is a DNS name
// autocert can get a certificate for.
func normalizeDomain(d string) (string, error) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if n == "" || len(n) > 253 || !strings.Contains(n, ".") || net.ParseIP(n) != nil {
		return "", fmt.Errorf("domain %q must be a DNS name with at least one dot, like strongroom.example.com", d)
	}
	for _, label := range strings.Split(n, ".") {
		if !validLabel(label) {
			return "", fmt.Errorf("domain %q: label %q is not letters, digits and inner hyphens (wildcards, ports and non-ASCII are not accepted; give IDNs in punycode)", d, label)
		}
	}
	return n, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// prepareCacheDir creates dir with mode 0700 and refuses it if group or others
// can access it: it holds private keys.
func prepareCacheDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating cache folder: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cache folder: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cache folder %s is not a folder", dir)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("cache folder %s has mode %#o and holds private keys; run chmod 700 on it", dir, fi.Mode().Perm())
	}
	return nil
}

// Domains returns the normalized allow-list.
func (s *ACMESource) Domains() []string { return slices.Clone(s.domains) }

// Directory returns the ACME directory URL in use.
func (s *ACMESource) Directory() string { return s.directory }

// TLSConfig returns ServerTLSConfig with this source's certificates and the
// acme-tls/1 protocol for tls-alpn-01 challenges.
func (s *ACMESource) TLSConfig() *tls.Config {
	c := ServerTLSConfig()
	c.GetCertificate = s.GetCertificate
	c.NextProtos = append(c.NextProtos, acme.ALPNProto)
	return c
}

// GetCertificate implements tls.Config.GetCertificate: the certificate for the
// handshake's server name, obtained or renewed as needed, or the tls-alpn-01
// challenge certificate when the CA is validating.
func (s *ACMESource) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := s.m.GetCertificate(hello)
	challenge := len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	allowed := slices.Contains(s.domains, name)
	switch {
	case challenge:
	case err != nil && allowed:
		s.logFailure(name, err)
	case err != nil:
		s.log.Debug("tls handshake for a host outside the ACME domains refused", "server_name", hello.ServerName)
	case cert.Leaf != nil:
		s.observe(name, cert.Leaf)
	}
	return cert, err
}

// logFailure logs a failure to get a certificate for an allowed domain, at most
// once a minute per domain (every handshake would otherwise log it).
func (s *ACMESource) logFailure(domain string, err error) {
	s.mu.Lock()
	last := s.lastError[domain]
	due := time.Since(last) > time.Minute
	if due {
		s.lastError[domain] = time.Now()
	}
	s.mu.Unlock()
	if due {
		s.log.Error("acme certificate unavailable", "domain", domain, "directory", s.directory, "err", err)
	}
}

// observe records the certificate served for domain and logs when it changes
// (first use, renewal).
func (s *ACMESource) observe(domain string, leaf *x509.Certificate) {
	s.mu.Lock()
	prev := s.served[domain]
	changed := prev == nil || !prev.Equal(leaf)
	if changed {
		s.served[domain] = leaf
		delete(s.lastError, domain)
	}
	s.mu.Unlock()
	if changed {
		s.log.Info("acme certificate in use", append([]any{"domain", domain}, certAttrs(leaf, time.Now())...)...)
	}
}

// HTTPHandler serves http-01 challenges (paths under /.well-known/acme-challenge/
// for the allowed domains) and passes every other request to fallback; a nil
// fallback redirects to HTTPS on port 443 for the allowed domains only
// (RedirectHandler). Serve it on port 80. Calling it enables http-01 next to
// tls-alpn-01.
func (s *ACMESource) HTTPHandler(fallback http.Handler) http.Handler {
	if fallback == nil {
		fallback = RedirectHandler("443", s.domains...)
	}
	h := s.m.HTTPHandler(fallback)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
			// autocert checks the Host header, port included, against the
			// allow-list; a CA reaching us through a mapped port keeps it.
			if host, _, err := net.SplitHostPort(r.Host); err == nil {
				r = r.Clone(r.Context())
				r.Host = host
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Certificates returns the current certificate of each domain that has one:
// the one last served, or else the one in the cache. ctx bounds cache reads.
func (s *ACMESource) Certificates(ctx context.Context) []*x509.Certificate {
	var out []*x509.Certificate
	for _, d := range s.domains {
		s.mu.Lock()
		leaf := s.served[d]
		s.mu.Unlock()
		if leaf == nil {
			leaf = s.cachedLeaf(ctx, d)
		}
		if leaf != nil {
			out = append(out, leaf)
		}
	}
	return out
}

// cachedLeaf reads domain's ECDSA certificate from the cache (autocert stores
// the key and the chain under the domain's name), or nil.
func (s *ACMESource) cachedLeaf(ctx context.Context, domain string) *x509.Certificate {
	data, err := s.m.Cache.Get(ctx, domain)
	if err != nil {
		return nil
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil
		}
		if b.Type == "CERTIFICATE" {
			leaf, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil
			}
			return leaf
		}
	}
}
