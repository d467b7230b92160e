// Package certs provides TLS configuration and certificates for Strongroom's
// listener: the TLS policy (Mozilla's "intermediate" profile), certificates
// loaded from files and reloaded when they change, certificates obtained and
// renewed through ACME, and the plain-HTTP redirect to HTTPS.
//
// The listener gets its *tls.Config from a Manager; doctor and the /trust page
// describe it with Manager.Describe. docs/tls.md is the operator's guide.
package certs

import (
	"crypto/tls"
	"slices"
)

// intermediateSuites are the TLS 1.2 cipher suites of Mozilla's "intermediate"
// configuration that Go implements, in Mozilla's order: forward secrecy (ECDHE)
// and AEAD ciphers only. Mozilla also lists DHE-RSA suites, which Go does not
// implement. TLS 1.3 suites are not configurable in Go; all three of Go's are
// in Mozilla's list.
var intermediateSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tls13Suites are the TLS 1.3 suites Go negotiates (not configurable).
var tls13Suites = []uint16{
	tls.TLS_AES_128_GCM_SHA256,
	tls.TLS_AES_256_GCM_SHA384,
	tls.TLS_CHACHA20_POLY1305_SHA256,
}

// alpnProtocols are offered on the listener: HTTP/2, then HTTP/1.1.
var alpnProtocols = []string{"h2", "http/1.1"}

// ServerTLSConfig returns a new copy of Strongroom's TLS policy without
// certificates: TLS 1.2 and 1.3 only, the Mozilla "intermediate" TLS 1.2
// cipher suites, HTTP/2 and HTTP/1.1 over ALPN. CurvePreferences is left nil so
// that Go's defaults apply and improve with Go releases (as of Go 1.26 the
// hybrid post-quantum X25519MLKEM768, SecP256r1MLKEM768 and SecP384r1MLKEM1024
// for TLS 1.3, then X25519, P-256, P-384, P-521). The caller sets Certificates
// or GetCertificate; Manager.TLSConfig does.
func ServerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: slices.Clone(intermediateSuites),
		NextProtos:   slices.Clone(alpnProtocols),
	}
}

// IntermediateCipherSuites returns the TLS 1.2 cipher suites the listener
// accepts, in order.
func IntermediateCipherSuites() []uint16 {
	return slices.Clone(intermediateSuites)
}

func suiteNames(ids []uint16) []string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = tls.CipherSuiteName(id)
	}
	return names
}
