// Package oauthclient talks OAuth 2.0 to the third-party platforms that
// organizations connect (DAT-04): the providers the operator configured, the
// authorization-code flow with PKCE (RFC 7636, method S256), the token endpoint
// (code exchange and refresh, RFC 6749) and token revocation (RFC 7009). It
// keeps no tokens and no state; the service seals and stores them.
package oauthclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// ClientAuth is how Strongroom authenticates to a provider's token and
// revocation endpoints (the names of RFC 8414's token_endpoint_auth_methods).
type ClientAuth string

// The client authentication methods.
const (
	// ClientSecretBasic sends the client ID and secret in an HTTP Basic
	// Authorization header (RFC 6749 section 2.3.1). The default.
	ClientSecretBasic ClientAuth = "client_secret_basic"
	// ClientSecretPost sends them as client_id and client_secret form fields.
	ClientSecretPost ClientAuth = "client_secret_post"
)

// Secret is a client secret. It prints as [redacted] under every fmt verb and
// in JSON, so that a provider that reaches a log line shows no secret.
type Secret struct{ s string }

// NewSecret wraps a client secret.
func NewSecret(s string) Secret { return Secret{s: s} }

// Reveal returns the secret, for the requests that must send it.
func (s Secret) Reveal() string { return s.s }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.s == "" }

func (s Secret) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return "oauthclient.Secret([redacted])" }

// Format implements fmt.Formatter, so that %x, %q and the rest redact too.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "[redacted]") }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Provider is one third-party OAuth 2.0 authorization server that
// organizations may connect to, as the operator configured it.
type Provider struct {
	Name          string // slug used in the API: lower-case letters, digits, '-'
	DisplayName   string
	AuthURL       string // authorization endpoint
	TokenURL      string // token endpoint
	RevocationURL string // RFC 7009 revocation endpoint; empty if the provider has none
	ClientID      string
	ClientSecret  Secret
	ClientAuth    ClientAuth // default ClientSecretBasic
	Scopes        []string   // requested scopes: the minimum the integration needs
	// AuthParams are extra parameters of the authorization request (such as
	// access_type=offline or prompt=consent). They cannot replace the ones the
	// flow sets itself.
	AuthParams map[string]string
}

var providerName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$`)

// reservedAuthParams are set by the flow and may not be configured.
var reservedAuthParams = map[string]bool{
	"response_type": true, "client_id": true, "redirect_uri": true, "scope": true, "state": true,
	"code_challenge": true, "code_challenge_method": true, "client_secret": true,
}

// Validate checks a provider's configuration. Endpoints must be https URLs,
// except on a loopback host (for tests and local development).
func (p *Provider) Validate() error {
	if !providerName.MatchString(p.Name) {
		return fmt.Errorf("provider name %q must be 1 to 32 lower-case letters, digits or '-', not starting or ending with '-'", p.Name)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("provider %s: %s", p.Name, fmt.Sprintf(format, args...))
	}
	if d := strings.TrimSpace(p.DisplayName); d == "" || len(d) > 100 || strings.ContainsFunc(d, unicode.IsControl) {
		return bad("display_name must be 1 to 100 characters without control characters")
	}
	for _, u := range []struct {
		field, value string
		required     bool
	}{{"auth_url", p.AuthURL, true}, {"token_url", p.TokenURL, true}, {"revocation_url", p.RevocationURL, false}} {
		if u.value == "" && !u.required {
			continue
		}
		if err := CheckURL(u.value); err != nil {
			return bad("%s: %v", u.field, err)
		}
	}
	if p.ClientID == "" || strings.ContainsFunc(p.ClientID, unicode.IsControl) {
		return bad("client_id is required")
	}
	if p.ClientSecret.IsZero() {
		return bad("a client secret is required")
	}
	switch p.ClientAuth {
	case ClientSecretBasic, ClientSecretPost:
	default:
		return bad("client_auth must be %s or %s", ClientSecretBasic, ClientSecretPost)
	}
	if len(p.Scopes) == 0 {
		return bad("scopes must list at least one scope (the minimum the integration needs)")
	}
	seen := map[string]bool{}
	for _, s := range p.Scopes {
		if s == "" || len(s) > 200 || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '\\' }) {
			return bad("scope %q must be 1 to 200 characters without spaces, quotes or backslashes", s)
		}
		if seen[s] {
			return bad("scope %q is listed twice", s)
		}
		seen[s] = true
	}
	for k, v := range p.AuthParams {
		if k == "" || reservedAuthParams[k] || strings.HasPrefix(k, "code_") {
			return bad("auth_params may not set %q: the flow sets it", k)
		}
		if strings.ContainsFunc(k+v, unicode.IsControl) {
			return bad("auth_params %q holds control characters", k)
		}
	}
	return nil
}

// CheckURL accepts an absolute https URL without user information or fragment;
// http is accepted only for a loopback host (127.0.0.0/8, ::1, localhost).
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute URL such as https://provider.example/oauth/token")
	}
	if u.User != nil || u.Fragment != "" {
		return errors.New("must not hold user information or a fragment")
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
		return nil
	}
	return errors.New("must use https (plain http only for a loopback host)")
}

// IsLoopback reports whether host names the local machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
