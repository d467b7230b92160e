package certs

import (
	"errors"
	"strconv"
	"time"
)

// HSTS is the Strict-Transport-Security policy (RFC 6797) sent on every
// response when Strongroom terminates TLS or a trusted proxy does: the
// listener's policy, like ServerTLSConfig, so that the header and the trust
// page read the same value.
type HSTS struct {
	MaxAge            time.Duration // whole seconds; 0 tells browsers to forget the policy
	IncludeSubDomains bool
	Preload           bool // asks to be listed in browsers' preload lists
}

// DefaultHSTS is the Mozilla "intermediate" recommendation: two years,
// subdomains included, not preloaded (preloading is hard to undo and is the
// operator's decision).
var DefaultHSTS = HSTS{MaxAge: 63072000 * time.Second, IncludeSubDomains: true}

// MaxHSTSAge bounds max-age: ten years is far beyond any recommendation.
const MaxHSTSAge = 10 * 365 * 24 * time.Hour

// Validate refuses a policy browsers would ignore or preload lists refuse:
// max-age in whole seconds from 0 to MaxHSTSAge; preload only with
// includeSubDomains and a max-age of at least a year
// (https://hstspreload.org/#submission-requirements).
func (h HSTS) Validate() error {
	switch {
	case h.MaxAge < 0 || h.MaxAge > MaxHSTSAge || h.MaxAge%time.Second != 0:
		return errors.New("HSTS max-age must be whole seconds from 0 to ten years")
	case h.Preload && !h.IncludeSubDomains:
		return errors.New("HSTS preload needs includeSubDomains")
	case h.Preload && h.MaxAge < 365*24*time.Hour:
		return errors.New("HSTS preload needs a max-age of at least a year")
	}
	return nil
}

// Value is the header's value, such as "max-age=63072000; includeSubDomains".
func (h HSTS) Value() string {
	v := "max-age=" + strconv.FormatInt(int64(h.MaxAge/time.Second), 10)
	if h.IncludeSubDomains {
		v += "; includeSubDomains"
	}
	if h.Preload {
		v += "; preload"
	}
	return v
}
