package main

import (
	"strings"

	"strongroom.dev/strongroom/service"
)

// trustPage tells the public trust page how the server is started: whether
// and where TLS ends, the HSTS policy sent, and the kind of master key source
// (never a path, a URL or a key id). serve adds the certificate source.
func (c *Config) trustPage() service.TrustPageConfig {
	tp := service.TrustPageConfig{TLSMode: service.TLSModeOff, MasterKeySource: "key file"}
	switch {
	case len(c.ACMEDomains) > 0:
		tp.TLSMode = service.TLSModeACME
	case c.TLSCert != "":
		tp.TLSMode = service.TLSModeFiles
	case c.TLSProxy:
		tp.TLSMode = service.TLSModeProxy
	}
	switch {
	case c.KMS != "":
		tp.MasterKeySource = "KMS"
		if kind, _, ok := strings.Cut(c.KMS, "://"); ok && kind != "" && strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz0123456789") == "" {
			tp.MasterKeySource = "KMS (" + kind + ")"
		}
	case c.MasterKeyEnv != "":
		tp.MasterKeySource = "environment variable"
	}
	if c.TLS() || c.TLSProxy {
		h := c.HSTS
		tp.HSTS = &h
	}
	return tp
}
