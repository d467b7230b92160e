package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

const acmeDomain = "strongroom.test"

// verifiedHandshake connects to addr as a client of acmeDomain trusting only
// roots, and returns the verified chain.
func verifiedHandshake(t *testing.T, addr string, roots *x509.CertPool) []*x509.Certificate {
	t.Helper()
	st, err := handshake(addr, &tls.Config{ServerName: acmeDomain, RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("handshake as %s: %v", acmeDomain, err)
	}
	if len(st.VerifiedChains) == 0 {
		t.Fatal("no verified chain")
	}
	return st.VerifiedChains[0]
}

// httpsGet fetches https://strongroom.test/ from addr over HTTP/2.
func httpsGet(t *testing.T, addr string, roots *x509.CertPool) {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Get("https://" + acmeDomain + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("GET: %s %s %q", resp.Proto, resp.Status, body)
	}
}

// TestACMEPebble obtains a certificate from an in-process Pebble, serves it,
// checks the cache, and restarts on the cache with the CA unreachable to show
// the cached certificate is reused rather than requested again.
func TestACMEPebble(t *testing.T) {
	pebble := startPebble(t, pebbleOptions{})
	log, logs := testLog(t)
	cacheDir := filepath.Join(t.TempDir(), "acme")
	m, err := New(Options{
		ACMEDomains:    []string{acmeDomain},
		ACMEEmail:      "ops@strongroom.test",
		ACMEDirectory:  pebble.directory,
		ACMECacheDir:   cacheDir,
		ACMEHTTPClient: pebble.client,
		Logger:         log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := m.Describe(); st.Mode != ModeACME || len(st.Certificates) != 0 || len(st.Warnings) != 1 {
		t.Errorf("Describe before issuance: %+v", st)
	}
	cfg := m.TLSConfig()
	if !slices.Contains(cfg.NextProtos, "acme-tls/1") || cfg.MinVersion != tls.VersionTLS12 || len(cfg.CipherSuites) != 6 {
		t.Errorf("ACME TLS config: NextProtos %v, MinVersion %x, %d suites", cfg.NextProtos, cfg.MinVersion, len(cfg.CipherSuites))
	}
	addr := serveTLS(t, cfg)

	// The first handshake obtains the certificate; it verifies against
	// Pebble's root only.
	start := time.Now()
	chain := verifiedHandshake(t, addr, pebble.roots)
	t.Logf("issued in %s", time.Since(start).Round(time.Millisecond))
	leaf := chain[0]
	if diff := cmp.Diff([]string{acmeDomain}, leaf.DNSNames); diff != "" {
		t.Errorf("DNS names (-want +got):\n%s", diff)
	}
	if !chain[len(chain)-1].Equal(pebble.root) || !strings.HasPrefix(leaf.Issuer.CommonName, "Pebble Intermediate CA") {
		t.Errorf("issued by %q, chain root %q", leaf.Issuer, chain[len(chain)-1].Subject)
	}
	t.Logf("served %s, serial %s, issuer %q, valid until %s", leaf.Subject, leaf.SerialNumber.Text(16), leaf.Issuer, leaf.NotAfter.Format(time.RFC3339))
	httpsGet(t, addr, pebble.roots)
	if !strings.Contains(logs.String(), "acme certificate in use") {
		t.Error("first use not logged")
	}

	// Other names and handshakes without a name get nothing.
	if _, err := handshake(addr, &tls.Config{ServerName: "other.test", InsecureSkipVerify: true}); err == nil {
		t.Error("handshake for a domain outside the allow-list succeeded")
	}
	if _, err := handshake(addr, &tls.Config{InsecureSkipVerify: true}); err == nil {
		t.Error("handshake without SNI succeeded")
	}

	st := m.Describe()
	if len(st.Certificates) != 1 || st.Certificates[0].Serial != leaf.SerialNumber.Text(16) ||
		st.Certificates[0].DaysToExpiry < 88 || st.ACMEDirectory != pebble.directory || len(st.Warnings) != 0 {
		t.Errorf("Describe after issuance: %+v", st)
	}

	// The cache folder is private and holds the account key and the certificate.
	checkPrivateDir(t, cacheDir, "acme_account+key", acmeDomain)

	// Restart on the same cache with the CA gone: the cached certificate is
	// served, so nothing was requested.
	m2, err := New(Options{
		ACMEDomains:   []string{acmeDomain},
		ACMEDirectory: "https://127.0.0.1:1/dir",
		ACMECacheDir:  cacheDir,
		Logger:        log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := m2.Describe(); len(st.Certificates) != 1 || st.Certificates[0].Serial != leaf.SerialNumber.Text(16) {
		t.Errorf("Describe from the cache: %+v", st)
	}
	addr2 := serveTLS(t, m2.TLSConfig())
	if again := verifiedHandshake(t, addr2, pebble.roots)[0]; !again.Equal(leaf) {
		t.Errorf("after restart served serial %s, want the cached %s", again.SerialNumber.Text(16), leaf.SerialNumber.Text(16))
	}
}

// checkPrivateDir checks that dir is mode 0700 and that the named files exist
// with mode 0600.
func checkPrivateDir(t *testing.T, dir string, names ...string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("cache folder mode %#o, want 0700", fi.Mode().Perm())
	}
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Errorf("cache: %v", err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("cache file %s mode %#o, want 0600", n, fi.Mode().Perm())
		}
	}
}

// TestACMEPebbleRenewal has Pebble issue 9-second certificates, so autocert's
// renewal (at two thirds of the lifetime) happens during the test: a new
// certificate from Pebble is served on the same listener without a restart.
func TestACMEPebbleRenewal(t *testing.T) {
	const lifetime = 9 * time.Second
	pebble := startPebble(t, pebbleOptions{validity: lifetime})
	log, logs := testLog(t)
	m, err := New(Options{
		ACMEDomains:    []string{acmeDomain},
		ACMEDirectory:  pebble.directory,
		ACMECacheDir:   filepath.Join(t.TempDir(), "acme"),
		ACMEHTTPClient: pebble.client,
		Logger:         log,
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, m.TLSConfig())
	first := verifiedHandshake(t, addr, pebble.roots)[0]
	if got := first.NotAfter.Sub(first.NotBefore); got > lifetime {
		t.Fatalf("Pebble issued a certificate for %s, want %s", got, lifetime)
	}
	var renewed *x509.Certificate
	waitFor(t, 3*lifetime, "a renewed certificate", func() bool {
		leaf := verifiedHandshake(t, addr, pebble.roots)[0]
		if leaf.Equal(first) {
			return false
		}
		renewed = leaf
		return true
	})
	if !renewed.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed certificate ends %s, not after the first's %s", renewed.NotAfter, first.NotAfter)
	}
	t.Logf("first serial %s (until %s), renewed serial %s (until %s)",
		first.SerialNumber.Text(16), first.NotAfter.Format(time.TimeOnly),
		renewed.SerialNumber.Text(16), renewed.NotAfter.Format(time.TimeOnly))
	if n := strings.Count(logs.String(), "acme certificate in use"); n < 2 {
		t.Errorf("certificate changes logged %d times, want at least 2", n)
	}
}

func TestACMEHTTPHandler(t *testing.T) {
	src, err := NewACMESource(ACMEConfig{Domains: []string{"Strongroom.Test."}, CacheDir: t.TempDir() + "/acme"})
	if err != nil {
		t.Fatal(err)
	}
	h := src.HTTPHandler(nil)
	for _, tc := range []struct {
		name, method, host, target string
		wantCode                   int
		wantLocation               string
	}{
		{"redirect", "GET", acmeDomain, "/login?next=%2F", 301, "https://strongroom.test/login?next=%2F"},
		{"redirect with port", "GET", acmeDomain + ":80", "/", 301, "https://strongroom.test/"},
		{"POST redirect", "POST", acmeDomain, "/api", 308, "https://strongroom.test/api"},
		{"redirect refused for another host", "GET", "evil.example", "/", 400, ""},
		{"unknown challenge token", "GET", acmeDomain, "/.well-known/acme-challenge/nope", 404, ""},
		{"unknown challenge token, with port", "GET", acmeDomain + ":5002", "/.well-known/acme-challenge/nope", 404, ""},
		{"challenge for another host", "GET", "evil.example", "/.well-known/acme-challenge/nope", 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://placeholder"+tc.target, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantCode || w.Header().Get("Location") != tc.wantLocation {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), tc.wantCode, tc.wantLocation)
			}
		})
	}
}

func TestACMEConfigRefused(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ok := ACMEConfig{Domains: []string{acmeDomain}, CacheDir: filepath.Join(dir, "acme")}
	for _, tc := range []struct {
		name   string
		change func(*ACMEConfig)
		want   string
	}{
		{"no domains", func(c *ACMEConfig) { c.Domains = nil }, "at least one domain"},
		{"undotted domain", func(c *ACMEConfig) { c.Domains = []string{"localhost"} }, "at least one dot"},
		{"wildcard", func(c *ACMEConfig) { c.Domains = []string{"*.strongroom.test"} }, "wildcards"},
		{"port", func(c *ACMEConfig) { c.Domains = []string{"strongroom.test:443"} }, "ports"},
		{"IP address", func(c *ACMEConfig) { c.Domains = []string{"192.0.2.1"} }, "DNS name"},
		{"URL", func(c *ACMEConfig) { c.Domains = []string{"https://strongroom.test"} }, "label"},
		{"bad e-mail", func(c *ACMEConfig) { c.Email = "Ops <ops@strongroom.test>" }, "plain address"},
		{"http directory", func(c *ACMEConfig) { c.DirectoryURL = "http://127.0.0.1:14000/dir" }, "https"},
		{"no cache", func(c *ACMEConfig) { c.CacheDir = "" }, "cache folder is required"},
		{"open cache", func(c *ACMEConfig) { c.CacheDir = open }, "chmod 700"},
		{"cache is a file", func(c *ACMEConfig) { c.CacheDir = file }, "cache folder"},
		{"negative renew-before", func(c *ACMEConfig) { c.RenewBefore = -time.Hour }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.change(&cfg)
			_, err := NewACMESource(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	src, err := NewACMESource(ok)
	if err != nil {
		t.Fatal(err)
	}
	if src.Directory() != LetsEncryptProduction {
		t.Errorf("default directory %q", src.Directory())
	}
	checkPrivateDir(t, ok.CacheDir)
}

// startDNS serves DNS over TCP on 127.0.0.1, answering every A question with
// 127.0.0.1 and every other question with no records, so that Pebble's VA
// finds the test listeners under acmeDomain.
func startDNS(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	srv := &dns.Server{Listener: ln, Net: "tcp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// TestACMEPebbleRealValidation has Pebble's VA really validate the challenges
// against the test listeners (names resolved by startDNS): tls-alpn-01 on the
// TLS listener, which needs the acme-tls/1 protocol in Manager.TLSConfig, and
// http-01 through Manager.HTTPHandler when tls-alpn-01 cannot succeed.
func TestACMEPebbleRealValidation(t *testing.T) {
	for _, tc := range []struct {
		name          string
		http01        bool // serve Manager.HTTPHandler (enables http-01)
		tlsReachable  bool // the VA's tls-alpn-01 port is the TLS listener
		wantAlpnHello bool // the VA's acme-tls/1 handshake reaches the listener
		wantHTTP01    bool // the VA fetched an http-01 token
	}{
		{name: "tls-alpn-01", tlsReachable: true, wantAlpnHello: true},
		{name: "http-01 after tls-alpn-01 fails", http01: true, wantHTTP01: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tlsLn, httpLn := listen(t), listen(t)
			vaTLSPort := port(tlsLn)
			if !tc.tlsReachable {
				closed := listen(t)
				vaTLSPort = port(closed)
				_ = closed.Close()
			}
			pebble := startPebble(t, pebbleOptions{
				realValidation: true,
				httpPort:       port(httpLn),
				tlsPort:        vaTLSPort,
				resolver:       startDNS(t),
			})
			log, _ := testLog(t)
			m, err := New(Options{
				ACMEDomains:    []string{acmeDomain},
				ACMEDirectory:  pebble.directory,
				ACMECacheDir:   filepath.Join(t.TempDir(), "acme"),
				ACMEHTTPClient: pebble.client,
				Logger:         log,
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.http01 {
				serveHTTP(t, httpLn, m.HTTPHandler(nil))
			}
			cfg := m.TLSConfig()
			var alpnHello atomic.Bool
			getCert := cfg.GetCertificate
			cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				if slices.Equal(hello.SupportedProtos, []string{"acme-tls/1"}) {
					alpnHello.Store(true)
				}
				return getCert(hello)
			}
			serveHTTP(t, tls.NewListener(tlsLn, cfg), nil)
			leaf := verifiedHandshake(t, tlsLn.Addr().String(), pebble.roots)[0]
			t.Logf("issued serial %s by %q", leaf.SerialNumber.Text(16), leaf.Issuer)
			if alpnHello.Load() != tc.wantAlpnHello {
				t.Errorf("tls-alpn-01 handshake seen: %v, want %v", alpnHello.Load(), tc.wantAlpnHello)
			}
			if got := strings.Contains(pebble.log.String(), "Attempting to validate w/ HTTP"); got != tc.wantHTTP01 {
				t.Errorf("http-01 validation attempted: %v, want %v", got, tc.wantHTTP01)
			}
		})
	}
}
