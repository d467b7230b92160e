package certs

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewOptions(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, newCert(t, certSpec{}))
	for _, tc := range []struct {
		name string
		opts Options
		want string // in the error; "" means New succeeds
	}{
		{"nothing", Options{}, "give a certificate and key file or ACME domains"},
		{"both", Options{CertFile: certFile, KeyFile: keyFile, ACMEDomains: []string{"strongroom.test"}, ACMECacheDir: dir + "/acme"}, "not both"},
		{"files and an ACME e-mail", Options{CertFile: certFile, KeyFile: keyFile, ACMEEmail: "ops@strongroom.test"}, "not both"},
		{"certificate without key", Options{CertFile: certFile}, "needs its key file"},
		{"key without certificate", Options{KeyFile: keyFile}, "needs its key file"},
		{"ACME options without domains", Options{ACMECacheDir: dir + "/acme"}, "without ACME domains"},
		{"ACME without cache", Options{ACMEDomains: []string{"strongroom.test"}}, "cache folder is required"},
		{"files", Options{CertFile: certFile, KeyFile: keyFile}, ""},
		{"ACME", Options{ACMEDomains: []string{"strongroom.test"}, ACMECacheDir: dir + "/acme"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger, _ = testLog(t)
			m, err := New(tc.opts)
			if tc.want == "" {
				if err != nil || m == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestManagerFiles(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	tc := newCert(t, certSpec{rsa: true, notAfter: clk.Now().Add(20*24*time.Hour + time.Hour)})
	certFile, keyFile := writePair(t, dir, tc)
	log, _ := testLog(t)
	m, err := New(Options{CertFile: certFile, KeyFile: keyFile, Logger: log, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if m.Mode() != ModeFiles || m.Files() == nil || m.ACME() != nil {
		t.Fatalf("mode %q", m.Mode())
	}
	cfg := m.TLSConfig()
	if cfg.MinVersion != tls.VersionTLS12 || len(cfg.CipherSuites) != 6 || cfg.CurvePreferences != nil {
		t.Errorf("TLSConfig is not the policy: %+v", cfg)
	}
	if other := m.TLSConfig(); &other.CipherSuites[0] == &cfg.CipherSuites[0] {
		t.Error("TLSConfig returns shared slices")
	}
	addr := serveTLS(t, cfg)
	if got := servedLeaf(t, addr, ""); !got.Equal(tc.leaf) {
		t.Error("the file certificate is not served without SNI")
	}

	want := Status{
		Mode:              ModeFiles,
		MinVersion:        "TLS 1.2",
		Versions:          []string{"TLS 1.2", "TLS 1.3"},
		CipherSuites:      suiteNames(intermediateSuites),
		TLS13CipherSuites: []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"},
		ALPN:              []string{"h2", "http/1.1"},
		Certificates: []CertificateStatus{{
			Subject:      "CN=strongroom.test",
			DNSNames:     []string{"strongroom.test", "localhost"},
			IPAddresses:  []string{"127.0.0.1"},
			Issuer:       "CN=strongroom.test",
			Serial:       tc.leaf.SerialNumber.Text(16),
			NotBefore:    tc.leaf.NotBefore.UTC(),
			NotAfter:     tc.leaf.NotAfter.UTC(),
			DaysToExpiry: 20,
		}},
	}
	if diff := cmp.Diff(want, m.Describe()); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}

	// Seven days later: under ExpiryWarningDays.
	clk.Advance(7 * 24 * time.Hour)
	st := m.Describe()
	if st.Certificates[0].DaysToExpiry != 13 || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "expires in 13 days") {
		t.Errorf("Describe a week later: days %d, warnings %q", st.Certificates[0].DaysToExpiry, st.Warnings)
	}

	// A refused replacement shows as a warning; the old certificate stays.
	writeAtomic(t, certFile, []byte("garbage"), 0o644)
	clk.Advance(time.Minute)
	st = m.Describe()
	if len(st.Warnings) != 2 || !strings.Contains(st.Warnings[0], "refused") || st.Certificates[0].Serial != want.Certificates[0].Serial {
		t.Errorf("Describe after a refused replacement: %q", st.Warnings)
	}

	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"mode":"files"`, `"min_version":"TLS 1.2"`, `"days_to_expiry":13`, `"cipher_suites":["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}

	// Files mode: the plain-HTTP handler redirects.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "http://strongroom.test/x?y", nil)
	m.HTTPHandler(nil).ServeHTTP(w, r)
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "https://strongroom.test/x?y" {
		t.Errorf("HTTPHandler: %d %q", w.Code, w.Header().Get("Location"))
	}
}

func TestDaysLeft(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		until time.Duration
		want  int
	}{
		{48 * time.Hour, 2},
		{47 * time.Hour, 1},
		{time.Hour, 0},
		{-time.Hour, -1},
		{-25 * time.Hour, -2},
	} {
		if got := daysLeft(now.Add(tc.until), now); got != tc.want {
			t.Errorf("daysLeft(%s) = %d, want %d", tc.until, got, tc.want)
		}
	}
}
