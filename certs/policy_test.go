package certs

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestServerTLSConfigFields(t *testing.T) {
	c := ServerTLSConfig()
	if c.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %s", tls.VersionName(c.MinVersion))
	}
	if c.MaxVersion != 0 {
		t.Errorf("MaxVersion = %s, want Go's maximum (TLS 1.3)", tls.VersionName(c.MaxVersion))
	}
	want := []string{
		"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
		"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
		"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	}
	if diff := cmp.Diff(want, suiteNames(c.CipherSuites)); diff != "" {
		t.Errorf("CipherSuites (-want +got):\n%s", diff)
	}
	if c.CurvePreferences != nil {
		t.Errorf("CurvePreferences = %v, want nil (Go's defaults)", c.CurvePreferences)
	}
	if diff := cmp.Diff([]string{"h2", "http/1.1"}, c.NextProtos); diff != "" {
		t.Errorf("NextProtos (-want +got):\n%s", diff)
	}
	if c.Certificates != nil || c.GetCertificate != nil {
		t.Error("the base config carries certificates")
	}
	// Each call returns its own copy.
	c.CipherSuites[0] = tls.TLS_RSA_WITH_AES_128_CBC_SHA
	c.NextProtos[0] = "x"
	if d := ServerTLSConfig(); d.CipherSuites[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 || d.NextProtos[0] != "h2" {
		t.Error("ServerTLSConfig shares its slices between calls")
	}
}

// policyServer serves ServerTLSConfig with an ECDSA and an RSA certificate, so
// that every ECDHE-ECDSA and ECDHE-RSA suite can be negotiated, and returns the
// address and a pool trusting both.
func policyServer(t *testing.T) (string, *x509.CertPool) {
	t.Helper()
	ec, rs := newCert(t, certSpec{}), newCert(t, certSpec{rsa: true})
	cfg := ServerTLSConfig()
	cfg.Certificates = []tls.Certificate{ec.tls, rs.tls}
	roots := x509.NewCertPool()
	roots.AddCert(ec.leaf)
	roots.AddCert(rs.leaf)
	return serveTLS(t, cfg), roots
}

func TestProtocolVersions(t *testing.T) {
	addr, roots := policyServer(t)
	for _, tc := range []struct {
		version uint16
		ok      bool
	}{
		{tls.VersionTLS10, false},
		{tls.VersionTLS11, false},
		{tls.VersionTLS12, true},
		{tls.VersionTLS13, true},
	} {
		t.Run(tls.VersionName(tc.version), func(t *testing.T) {
			st, err := handshake(addr, &tls.Config{
				MinVersion: tc.version, MaxVersion: tc.version,
				ServerName: "strongroom.test", RootCAs: roots,
				NextProtos: []string{"h2", "http/1.1"},
			})
			switch {
			case tc.ok && err != nil:
				t.Fatalf("handshake failed: %v", err)
			case !tc.ok && err == nil:
				t.Fatalf("handshake succeeded with %s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
			case !tc.ok:
				if !isHandshakeRefusal(err) {
					t.Fatalf("not a handshake refusal: %v", err)
				}
				t.Logf("refused: %v", err)
			default:
				if st.Version != tc.version {
					t.Errorf("negotiated %s", tls.VersionName(st.Version))
				}
				if st.NegotiatedProtocol != "h2" {
					t.Errorf("ALPN %q, want h2", st.NegotiatedProtocol)
				}
				t.Logf("negotiated %s, %s, ALPN %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.NegotiatedProtocol)
			}
		})
	}
}

// TestTLS12CipherSuites offers each TLS 1.2 suite Go implements, secure or
// not, alone, and checks that exactly the intermediate list negotiates. A
// control server accepting every suite shows that each refused suite was
// really offered and could have been negotiated.
func TestTLS12CipherSuites(t *testing.T) {
	addr, roots := policyServer(t)
	ec, rs := newCert(t, certSpec{}), newCert(t, certSpec{rsa: true})
	roots.AddCert(ec.leaf)
	roots.AddCert(rs.leaf)
	control := &tls.Config{Certificates: []tls.Certificate{ec.tls, rs.tls}, MinVersion: tls.VersionTLS12}
	var all []*tls.CipherSuite
	all = append(all, tls.CipherSuites()...)
	all = append(all, tls.InsecureCipherSuites()...)
	var negotiated []string
	tried := 0
	for _, s := range all {
		if !slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			continue // TLS 1.3 suites, or TLS 1.0-only ones
		}
		tried++
		control.CipherSuites = append(control.CipherSuites, s.ID)
	}
	controlAddr := serveTLS(t, control)
	for _, s := range all {
		if !slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			continue
		}
		client := &tls.Config{
			MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{s.ID},
			ServerName:   "strongroom.test", RootCAs: roots,
		}
		st, err := handshake(addr, client)
		if err != nil {
			if !isHandshakeRefusal(err) {
				t.Errorf("%s: not a handshake refusal: %v", s.Name, err)
			}
			t.Logf("refused    %-45s insecure=%-5v %v", s.Name, s.Insecure, err)
			if cst, err := handshake(controlAddr, client); err != nil || cst.CipherSuite != s.ID {
				t.Errorf("%s: the control server did not negotiate it either (%v), so the refusal proves nothing", s.Name, err)
			}
			continue
		}
		if st.CipherSuite != s.ID {
			t.Errorf("offered only %s, negotiated %s", s.Name, tls.CipherSuiteName(st.CipherSuite))
		}
		t.Logf("negotiated %-45s %s", s.Name, tls.VersionName(st.Version))
		negotiated = append(negotiated, s.Name)
	}
	t.Logf("tried %d TLS 1.2 suites; negotiated %d", tried, len(negotiated))
	want := suiteNames(intermediateSuites)
	slices.Sort(want)
	slices.Sort(negotiated)
	if diff := cmp.Diff(want, negotiated); diff != "" {
		t.Errorf("negotiated suites (-want +got):\n%s", diff)
	}
	if tried < len(want)+5 {
		t.Errorf("only %d suites tried; the test no longer covers the insecure ones", tried)
	}
}

// TestTLS13 logs the TLS 1.3 suite negotiated; Go negotiates only the three
// RFC 8446 AEAD suites, which are all in Mozilla's list.
func TestTLS13(t *testing.T) {
	addr, roots := policyServer(t)
	st, err := handshake(addr, &tls.Config{MinVersion: tls.VersionTLS13, ServerName: "strongroom.test", RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tls13Suites, st.CipherSuite) {
		t.Errorf("negotiated %s", tls.CipherSuiteName(st.CipherSuite))
	}
	t.Logf("TLS 1.3: %s, key exchange %s", tls.CipherSuiteName(st.CipherSuite), st.CurveID)
}
