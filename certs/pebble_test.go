package certs

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// pebbleCA is a Pebble ACME server (github.com/letsencrypt/pebble/v2) running
// in the test process: its CA, VA and web front end, as cmd/pebble wires them,
// served over HTTPS on 127.0.0.1 with a random port.
type pebbleCA struct {
	directory string         // ACME directory URL
	client    *http.Client   // trusts the directory's HTTPS certificate
	roots     *x509.CertPool // Pebble's issuing root, from the management interface
	root      *x509.Certificate
	log       *logBuffer // what Pebble logged
}

// pebbleOptions configure startPebble.
type pebbleOptions struct {
	validity time.Duration // certificate lifetime; zero means Pebble's 90 days
	// realValidation makes the VA really fetch http-01 and tls-alpn-01
	// challenges (on httpPort and tlsPort of the address resolver gives);
	// otherwise it accepts every challenge (PEBBLE_VA_ALWAYS_VALID=1).
	realValidation    bool
	httpPort, tlsPort int
	resolver          string // DNS server (TCP) the VA asks, "host:port"
}

// startPebble starts Pebble. It sets environment variables Pebble reads when
// its parts are built, so tests using it cannot run in parallel.
func startPebble(t *testing.T, opts pebbleOptions) *pebbleCA {
	t.Helper()
	if opts.realValidation {
		t.Setenv("PEBBLE_VA_ALWAYS_VALID", "0")
	} else {
		t.Setenv("PEBBLE_VA_ALWAYS_VALID", "1")
	}
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // no random sleep before validating
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no deliberately rejected nonces
	_, logs := testLog(t)
	logger := log.New(logs, "pebble ", 0)

	store := db.NewMemoryStore()
	profiles := map[string]ca.Profile{"default": {Description: "Strongroom tests", ValidityPeriod: uint64(opts.validity / time.Second)}}
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, profiles)
	httpPort, tlsPort := opts.httpPort, opts.tlsPort
	if httpPort == 0 {
		httpPort, tlsPort = 80, 443 // unused: every challenge is valid
	}
	validator := va.New(logger, httpPort, tlsPort, false, opts.resolver, store)
	frontEnd := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)

	acmeSrv := httptest.NewUnstartedServer(frontEnd.Handler())
	acmeSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	acmeSrv.StartTLS()
	t.Cleanup(acmeSrv.Close)
	mgmt := httptest.NewUnstartedServer(frontEnd.ManagementHandler())
	mgmt.StartTLS()
	t.Cleanup(mgmt.Close)

	// The root, as an operator would fetch it: GET /roots/0 on the
	// management interface.
	resp, err := mgmt.Client().Get(mgmt.URL + wfe.RootCertPath + "0")
	if err != nil {
		t.Fatalf("fetching Pebble's root: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fetching Pebble's root: %s %v", resp.Status, err)
	}
	block, _ := pem.Decode(body)
	if block == nil {
		t.Fatalf("Pebble's root is not PEM: %q", body)
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !root.Equal(authority.GetRootCert(0).Cert) {
		t.Fatal("the management interface's root is not the CA's")
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	return &pebbleCA{
		directory: acmeSrv.URL + wfe.DirectoryPath,
		client:    acmeSrv.Client(),
		roots:     roots,
		root:      root,
		log:       logs,
	}
}
