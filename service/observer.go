package service

import (
	"strings"
	"time"
)

// Observer receives the service's operational measurements (package metrics
// implements it; cmd/strongroom wires it). Its methods must be cheap and must
// not block: they run on the request path, including the refusal of a flood.
// Every label value it is given comes from a small fixed set in this package.
type Observer interface {
	// SignIn counts a checked sign-in attempt: method is password, email,
	// oidc, passkey or mfa (the second step); result is success,
	// mfa_required or failure.
	SignIn(method, result string)
	// RateLimited counts a refusal: what is auth_ip, lockout, hash_inflight,
	// hash_queue, email or api.
	RateLimited(what string)
	// Job records one run of a background job (session_sweeper).
	Job(name string, d time.Duration, err error)
	// Alert counts a new alert the service raised itself: kind is
	// incident_overdue or new_device (the monitor counts its own kinds).
	Alert(kind string)
}

// Sign-in results reported to the Observer.
const (
	signInSuccess     = "success"
	signInMFARequired = "mfa_required"
	signInFailure     = "failure"
)

// nopObserver is the Observer of a service configured without one.
type nopObserver struct{}

func (nopObserver) SignIn(string, string)            {}
func (nopObserver) RateLimited(string)               {}
func (nopObserver) Job(string, time.Duration, error) {}
func (nopObserver) Alert(string)                     {}

// observeSignIn reports a sign-in attempt by its audit action: the actions of
// first factors ("auth.signin.<method>") and of the MFA step ("auth.mfa").
// Other actions audited like sign-ins (step-up, the organization's e-mail
// step, asking for a code) are not sign-ins and are not counted.
func (s *Service) observeSignIn(action, result string) {
	var method string
	switch {
	case action == "auth.mfa":
		method = "mfa"
	case action == "auth.signin.email_link":
		method = "email"
	case strings.HasPrefix(action, "auth.signin."):
		method = strings.TrimPrefix(action, "auth.signin.")
		if strings.Contains(method, ".") {
			return // auth.signin.email.start: a request for a code, not an attempt
		}
	default:
		return
	}
	s.obs.SignIn(method, result)
}
