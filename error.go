package strongroom

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are stable: clients and tests match on them, and the HTTP layer
// maps each to a status.
const (
	EINVALID      = "invalid"      // malformed request (400)
	EUNAUTHORIZED = "unauthorized" // no or bad credentials (401)
	EFORBIDDEN    = "forbidden"    // authenticated, not allowed (403)
	ENOTFOUND     = "not_found"    // missing, or not visible to the principal (404)
	ECONFLICT     = "conflict"     // state conflict, e.g. duplicate name (409)
	EPRECONDITION = "precondition" // If-Match did not match (412)
	ETOOLARGE     = "too_large"    // body over the limit (413)
	EUNSUPPORTED  = "unsupported"  // unsupported media type (415)
	EVALIDATION   = "validation"   // well-formed but invalid content (422)
	ERATELIMIT    = "rate_limited" // too many requests (429, with Retry-After)
	// EMFAREQUIRED: the organization (or operator work) needs a session signed in
	// with TOTP or WebAuthn (403); EMFAENROLL: the user has no such factor yet and
	// must enrol one first (403); ESTEPUP: a sensitive action needs a recent
	// authentication (403); EEMAILSTEP: the organization needs an e-mailed code
	// in this session (403).
	EMFAREQUIRED = "mfa_required"
	EMFAENROLL   = "mfa_enrollment_required"
	ESTEPUP      = "reauthentication_required"
	EEMAILSTEP   = "email_verification_required"
	EINTERNAL    = "internal"    // anything else (500)
	EUNAVAILABLE = "unavailable" // dependency down (503)
)

// FieldError is one validation failure: a JSON Pointer into the request body and a
// message safe to show.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error is an error whose code and message are safe to show to the caller. Internal
// causes are never put in Message; wrap them separately and log them.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// RetryAfter tells a rate-limited caller when to try again (ERATELIMIT).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("strongroom error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the safe message of the first *Error in err's chain, or a
// generic message for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the validation failures of the first *Error in err's chain.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// RateLimited returns an ERATELIMIT error telling the caller to wait retry.
func RateLimited(retry time.Duration, format string, args ...any) *Error {
	e := Errorf(ERATELIMIT, format, args...)
	e.RetryAfter = max(retry, time.Second)
	return e
}

// ErrorRetryAfter returns the wait of the first *Error in err's chain.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
