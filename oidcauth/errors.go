package oidcauth

import (
	"errors"
	"strings"
)

// The reasons a flow fails. Every error Start and Finish return matches
// exactly one of them with errors.Is (besides failures to read randomness).
var (
	// ErrUnknownProvider: no provider of that name is configured.
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrUnavailable: the provider could not be used: its discovery document
	// could not be fetched or is unusable, a request to it timed out or failed
	// on the network, or it answered with a server error. Retrying later may
	// help; the detail says which.
	ErrUnavailable = errors.New("provider unavailable")
	// ErrInvalidCallback: the callback's query is malformed: a parameter is
	// repeated or too long, the code is missing, or the RFC 9207 iss parameter
	// names another issuer.
	ErrInvalidCallback = errors.New("invalid callback")
	// ErrStateMismatch: the callback's state is not the flow's, or the flow
	// was started for another provider. A forged or crossed callback (login
	// CSRF, mix-up) looks like this.
	ErrStateMismatch = errors.New("state mismatch")
	// ErrExpired: the flow is older than FlowLifetime.
	ErrExpired = errors.New("flow expired")
	// ErrProviderError: the provider answered the authorization request with
	// an error (the user refused, the provider refused the client...). Code
	// holds the provider's error code, such as access_denied.
	ErrProviderError = errors.New("provider returned an error")
	// ErrCodeRejected: the token endpoint refused the code: already used
	// (a replayed callback), expired, a wrong PKCE verifier, or the client's
	// credentials are wrong (Code invalid_client). Code holds the provider's
	// error code.
	ErrCodeRejected = errors.New("authorization code rejected")
	// ErrTokenInvalid: the ID token is missing or fails verification
	// (signature, issuer, audience, expiry, nonce, authorized party), or the
	// userinfo answer is for another subject.
	ErrTokenInvalid = errors.New("ID token invalid")
)

// Error is the error Start and Finish return. Its message is safe to log: it
// never holds an authorization code, a token, the state, the nonce or the PKCE
// verifier. It is not meant for end users: show them one generic message and
// audit Kind.
type Error struct {
	Provider string // the provider's configured name
	Kind     error  // one of the Err* sentinels
	// Code is the provider's OAuth 2.0 error code (RFC 6749 section 4.1.2.1
	// or 5.2) for ErrProviderError and ErrCodeRejected, reduced to the
	// characters RFC 6749 allows; empty otherwise.
	Code string
	// Description is the provider's error_description, as Code, cut to 200
	// characters. It comes from the callback's query for ErrProviderError, so
	// whoever crafted the callback chose it: log it, never show it as ours.
	Description string

	detail string // what went wrong, in our words
	cause  error  // the underlying error, for errors.Is and errors.As
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("oidcauth: ")
	if e.Provider != "" {
		b.WriteString("provider " + e.Provider + ": ")
	}
	b.WriteString(e.Kind.Error())
	if e.Code != "" {
		b.WriteString(" (" + e.Code)
		if e.Description != "" {
			b.WriteString(": " + e.Description)
		}
		b.WriteString(")")
	}
	if e.detail != "" {
		b.WriteString(": " + e.detail)
	}
	return b.String()
}

// Unwrap returns Kind and the underlying cause, if any.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

// oauthText reduces a value the provider chose to the characters RFC 6749
// allows in error and error_description (%x20-21 / %x23-5B / %x5D-7E),
// replacing others with '?', and cuts it to max bytes.
func oauthText(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	return strings.Map(func(r rune) rune {
		if r >= 0x20 && r <= 0x7e && r != '"' && r != '\\' {
			return r
		}
		return '?'
	}, s)
}
