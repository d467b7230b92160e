package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"
)

// Mode says where the listener's certificates come from.
type Mode string

// Modes.
const (
	ModeFiles Mode = "files" // a certificate and key file, reloaded when they change
	ModeACME  Mode = "acme"  // obtained and renewed through ACME
)

// ExpiryWarningDays: Describe warns when a certificate has fewer days left.
// ACME renews at 30 days (or a third of the lifetime), so a warning in ACME mode
// means renewal is failing.
const ExpiryWarningDays = 14

// Options configure a Manager. Give either CertFile and KeyFile, or
// ACMEDomains (with the other ACME options), never both.
type Options struct {
	CertFile string // PEM certificate chain, leaf first
	KeyFile  string // PEM private key, mode 0600 or stricter

	ACMEDomains    []string     // names to obtain certificates for
	ACMEEmail      string       // ACME account contact (optional, recommended)
	ACMEDirectory  string       // default LetsEncryptProduction
	ACMECacheDir   string       // required with ACME; created 0700
	ACMEHTTPClient *http.Client // for a test or private CA; default http.DefaultClient

	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // default time.Now; file validation, reload timing, Describe
}

// Manager owns the listener's certificate source and TLS policy.
type Manager struct {
	mode  Mode
	files *FileSource
	acme  *ACMESource
	now   func() time.Time
}

// New checks opts and builds the certificate source. In files mode the
// certificate is loaded and validated now (see NewFileSource); in ACME mode
// the CA is first contacted by the first handshake.
func New(opts Options) (*Manager, error) {
	files := opts.CertFile != "" || opts.KeyFile != ""
	acmeSet := len(opts.ACMEDomains) > 0 || opts.ACMEEmail != "" || opts.ACMEDirectory != "" ||
		opts.ACMECacheDir != "" || opts.ACMEHTTPClient != nil
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	m := &Manager{now: now}
	switch {
	case files && acmeSet:
		return nil, errors.New("tls: give either a certificate and key file or ACME domains, not both")
	case files:
		if opts.CertFile == "" || opts.KeyFile == "" {
			return nil, errors.New("tls: a certificate file needs its key file and the reverse")
		}
		fs, err := NewFileSource(FileConfig{CertFile: opts.CertFile, KeyFile: opts.KeyFile, Logger: opts.Logger, Now: now})
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		m.mode, m.files = ModeFiles, fs
	case acmeSet:
		if len(opts.ACMEDomains) == 0 {
			return nil, errors.New("tls: ACME options were given without ACME domains")
		}
		as, err := NewACMESource(ACMEConfig{
			Domains:      opts.ACMEDomains,
			Email:        opts.ACMEEmail,
			DirectoryURL: opts.ACMEDirectory,
			CacheDir:     opts.ACMECacheDir,
			HTTPClient:   opts.ACMEHTTPClient,
			Logger:       opts.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		m.mode, m.acme = ModeACME, as
	default:
		return nil, errors.New("tls: give a certificate and key file or ACME domains")
	}
	return m, nil
}

// Mode returns where certificates come from.
func (m *Manager) Mode() Mode { return m.mode }

// Files returns the file source in files mode, else nil.
func (m *Manager) Files() *FileSource { return m.files }

// ACME returns the ACME source in ACME mode, else nil.
func (m *Manager) ACME() *ACMESource { return m.acme }

// TLSConfig returns a new *tls.Config for the listener: ServerTLSConfig with
// GetCertificate from the source (and acme-tls/1 in ACME mode). Each call
// returns a fresh copy; the source behind it is shared.
func (m *Manager) TLSConfig() *tls.Config {
	if m.acme != nil {
		return m.acme.TLSConfig()
	}
	c := ServerTLSConfig()
	c.GetCertificate = m.files.GetCertificate
	return c
}

// HTTPHandler returns the handler for the plain-HTTP port: in ACME mode it
// answers http-01 challenges first; every other request goes to fallback,
// which by default (nil) redirects to HTTPS on port 443 — for the ACME domains
// only in ACME mode, for any well-formed host in files mode (give fallback =
// RedirectHandler(port, hosts...) to restrict it).
func (m *Manager) HTTPHandler(fallback http.Handler) http.Handler {
	if m.acme != nil {
		return m.acme.HTTPHandler(fallback)
	}
	if fallback == nil {
		fallback = RedirectHandler("443")
	}
	return fallback
}

// Status describes the TLS setup for the /trust page and doctor. Every field
// is safe to publish except Warnings, which can name files and are for
// operators.
type Status struct {
	Mode              Mode                `json:"mode"`
	MinVersion        string              `json:"min_version"`         // "TLS 1.2"
	Versions          []string            `json:"versions"`            // offered versions
	CipherSuites      []string            `json:"cipher_suites"`       // TLS 1.2, IANA names
	TLS13CipherSuites []string            `json:"tls13_cipher_suites"` // fixed by Go
	ALPN              []string            `json:"alpn"`
	Certificates      []CertificateStatus `json:"certificates"`
	ACMEDirectory     string              `json:"acme_directory,omitempty"`
	ACMEDomains       []string            `json:"acme_domains,omitempty"`
	Warnings          []string            `json:"warnings,omitempty"`
}

// CertificateStatus describes one certificate in use.
type CertificateStatus struct {
	Subject      string    `json:"subject"`
	DNSNames     []string  `json:"dns_names"`
	IPAddresses  []string  `json:"ip_addresses,omitempty"`
	Issuer       string    `json:"issuer"`
	Serial       string    `json:"serial"` // hexadecimal
	NotBefore    time.Time `json:"not_before"`
	NotAfter     time.Time `json:"not_after"`
	DaysToExpiry int       `json:"days_to_expiry"` // whole days left; negative once expired
}

// Describe reports the TLS policy and the certificates in use. In files mode
// it first looks at the files if a look is due, so a replaced certificate
// shows; in ACME mode it lists, per domain, the certificate last served or
// else the cached one (none before the first issuance).
func (m *Manager) Describe() Status {
	now := m.now()
	st := Status{
		Mode:              m.mode,
		MinVersion:        tls.VersionName(tls.VersionTLS12),
		Versions:          []string{tls.VersionName(tls.VersionTLS12), tls.VersionName(tls.VersionTLS13)},
		CipherSuites:      suiteNames(intermediateSuites),
		TLS13CipherSuites: suiteNames(tls13Suites),
		ALPN:              append([]string(nil), alpnProtocols...),
		Certificates:      []CertificateStatus{},
	}
	var leaves []*x509.Certificate
	switch m.mode {
	case ModeFiles:
		leaves = []*x509.Certificate{m.files.Certificate().Leaf}
		if err := m.files.LastError(); err != nil {
			st.Warnings = append(st.Warnings, "the certificate files were changed but refused; the previous certificate is still served: "+err.Error())
		}
	case ModeACME:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		leaves = m.acme.Certificates(ctx)
		cancel()
		st.ACMEDirectory = m.acme.Directory()
		st.ACMEDomains = m.acme.Domains()
		if len(leaves) == 0 {
			st.Warnings = append(st.Warnings, "no ACME certificate obtained yet; the first HTTPS request for a domain obtains one")
		}
	}
	for _, leaf := range leaves {
		cs := describeCert(leaf, now)
		st.Certificates = append(st.Certificates, cs)
		name := cs.Subject
		if len(cs.DNSNames) > 0 {
			name = cs.DNSNames[0] // ACME certificates have an empty subject
		}
		if cs.DaysToExpiry < 0 {
			st.Warnings = append(st.Warnings, fmt.Sprintf("the certificate for %s expired on %s", name, cs.NotAfter.Format(time.DateOnly)))
		} else if cs.DaysToExpiry < ExpiryWarningDays {
			st.Warnings = append(st.Warnings, fmt.Sprintf("the certificate for %s expires in %d days", name, cs.DaysToExpiry))
		}
	}
	return st
}

func describeCert(leaf *x509.Certificate, now time.Time) CertificateStatus {
	cs := CertificateStatus{
		Subject:      leaf.Subject.String(),
		DNSNames:     append([]string{}, leaf.DNSNames...),
		Issuer:       leaf.Issuer.String(),
		Serial:       leaf.SerialNumber.Text(16),
		NotBefore:    leaf.NotBefore.UTC(),
		NotAfter:     leaf.NotAfter.UTC(),
		DaysToExpiry: daysLeft(leaf.NotAfter, now),
	}
	for _, ip := range leaf.IPAddresses {
		cs.IPAddresses = append(cs.IPAddresses, ip.String())
	}
	return cs
}

// daysLeft is the whole number of days until t (rounded down, so negative once
// t has passed).
func daysLeft(t, now time.Time) int {
	return int(math.Floor(t.Sub(now).Hours() / 24))
}
