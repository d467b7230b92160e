package certs

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testsslTimeout bounds the scan.
const testsslTimeout = 10 * time.Minute

// TestTestSSL scans a listener with ServerTLSConfig (an ECDSA and an RSA
// self-signed certificate, and the HSTS header the HTTP layer sends) with
// testssl.sh, offline on 127.0.0.1. It takes minutes, so it runs only with
// STRONGROOM_TESTSSL=1 (scripts/install-testssl.sh installs the scanner):
//
//	STRONGROOM_TESTSSL=1 go test -run TestTestSSL -v ./certs/
//
// It fails if a protocol other than TLS 1.2 and 1.3 is offered or testssl.sh
// reports anything of severity HIGH or CRITICAL (except about the self-signed
// test certificate's trust and revocation), and logs every finding of
// severity LOW or above plus the protocol and cipher findings (docs/tls.md
// quotes them).
func TestTestSSL(t *testing.T) {
	if os.Getenv("STRONGROOM_TESTSSL") != "1" {
		t.Skip("set STRONGROOM_TESTSSL=1 to scan with testssl.sh (minutes; scripts/install-testssl.sh installs it)")
	}
	bin := ""
	for _, name := range []string{"testssl", "testssl.sh"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("STRONGROOM_TESTSSL=1 but neither testssl nor testssl.sh is on PATH; run scripts/install-testssl.sh")
	}

	cfg := ServerTLSConfig()
	cfg.Certificates = []tls.Certificate{newCert(t, certSpec{}).tls, newCert(t, certSpec{rsa: true}).tls}
	ln := listen(t)
	serveHTTP(t, tls.NewListener(ln, cfg), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		_, _ = w.Write([]byte("ok\n"))
	}))

	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "testssl.json")
	args := []string{
		"--quiet", "--color", "0", "--warnings", "batch", "--ip", "one",
		"--jsonfile", jsonFile,
		"--protocols", "--each-cipher", "--server-defaults", "--server-preference",
		"--vulnerable", "--headers",
		ln.Addr().String(),
	}
	t.Logf("running: %s %s", filepath.Base(bin), strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), testsslTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("testssl.sh finished in %s (%v)", time.Since(start).Round(time.Second), err)
	if ctx.Err() != nil {
		t.Fatalf("testssl.sh did not finish within %s:\n%s", testsslTimeout, out)
	}
	if dump := os.Getenv("STRONGROOM_TESTSSL_OUT"); dump != "" {
		if err := os.WriteFile(dump, out, 0o644); err != nil {
			t.Error(err)
		}
	}

	raw, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatalf("no JSON report (%v); output:\n%s", err, out)
	}
	var findings []struct {
		ID, Severity, Finding string
	}
	if err := json.Unmarshal(raw, &findings); err != nil {
		t.Fatalf("parsing the JSON report: %v", err)
	}
	byID := map[string]string{}
	for _, f := range findings {
		byID[f.ID] = f.Finding
		severe := f.Severity == "HIGH" || f.Severity == "CRITICAL"
		switch {
		case severe && strings.HasPrefix(f.ID, "cert_"):
			// The test certificate is self-signed, without CRL or OCSP:
			// findings about it say nothing of the TLS policy.
			t.Logf("%-8s %-28s %s (the self-signed test certificate)", f.Severity, f.ID, f.Finding)
		case severe:
			t.Errorf("%s %s: %s", f.Severity, f.ID, f.Finding)
		case f.Severity == "LOW" || f.Severity == "MEDIUM" || f.Severity == "WARN",
			strings.HasPrefix(f.ID, "cipher") || strings.HasPrefix(f.ID, "SSL") || strings.HasPrefix(f.ID, "TLS1"):
			t.Logf("%-8s %-28s %s", f.Severity, f.ID, f.Finding)
		}
	}
	for id, want := range map[string]string{
		"SSLv2": "not offered", "SSLv3": "not offered", "TLS1": "not offered",
		"TLS1_1": "not offered", "TLS1_2": "offered", "TLS1_3": "offered",
	} {
		got, ok := byID[id]
		if !ok || !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
}
