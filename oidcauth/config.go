package oidcauth

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// The presets: well-known providers whose issuer and quirks this package knows.
const (
	// PresetGoogle is Google accounts; the issuer is GoogleIssuer.
	PresetGoogle = "google"
	// PresetMicrosoft is Microsoft Entra ID and personal Microsoft accounts
	// through the v2.0 endpoint; the issuer is MicrosoftIssuer(tenant). See
	// MicrosoftIssuer for the tenants and how multi-tenant tokens are checked.
	PresetMicrosoft = "microsoft"
)

// GoogleIssuer is Google's issuer.
const GoogleIssuer = "https://accounts.google.com"

// defaultScopes are requested when ProviderConfig.Scopes is empty.
var defaultScopes = []string{"openid", "email", "profile"}

// ProviderConfig is one OpenID Connect provider as the operator configured it.
type ProviderConfig struct {
	// Name identifies the provider in URLs ({redirectBase}/api/v1/auth/oidc/{Name}/callback)
	// and in audit events: 1 to 32 lower-case letters, digits or '-', not
	// starting or ending with '-'. Default: the preset's name.
	Name string
	// DisplayName is shown on the sign-in button. Default: the preset's
	// display name, else Name.
	DisplayName string
	// Issuer is the provider's issuer URL, exactly as its discovery document
	// states it; discovery reads {Issuer}/.well-known/openid-configuration.
	// It must be https, except on 127.0.0.1 or localhost (tests, development).
	// Default with a preset: GoogleIssuer or MicrosoftIssuer("common").
	Issuer string
	// ClientID is the client (application) id registered at the provider.
	// Required.
	ClientID string
	// ClientSecret is the client's secret; empty for a public client (PKCE
	// only), where the provider allows it. Load it from a file or an
	// environment variable, never from argv. ProviderConfig prints it as
	// [redacted].
	ClientSecret string
	// Scopes are requested in the authorization request; they must include
	// "openid". Default: openid, email, profile.
	Scopes []string
	// Preset is "" for a generic provider, PresetGoogle or PresetMicrosoft.
	Preset string
}

var providerName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$`)

// withDefaults returns a copy of c with the preset's defaults filled in.
func (c ProviderConfig) withDefaults() ProviderConfig {
	display := ""
	switch c.Preset {
	case PresetGoogle:
		display = "Google"
		if c.Issuer == "" {
			c.Issuer = GoogleIssuer
		}
	case PresetMicrosoft:
		display = "Microsoft"
		if c.Issuer == "" {
			c.Issuer = MicrosoftIssuer(microsoftCommon)
		}
	}
	if c.Name == "" {
		c.Name = c.Preset
	}
	if c.DisplayName == "" {
		c.DisplayName = display
	}
	if c.DisplayName == "" {
		c.DisplayName = c.Name
	}
	if len(c.Scopes) == 0 {
		c.Scopes = defaultScopes
	}
	c.Scopes = slices.Clone(c.Scopes)
	return c
}

// Validate checks the configuration, after filling in the preset's defaults.
func (c ProviderConfig) Validate() error {
	c = c.withDefaults()
	if !providerName.MatchString(c.Name) {
		return fmt.Errorf("oidc provider name %q must be 1 to 32 lower-case letters, digits or '-', not starting or ending with '-'", c.Name)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("oidc provider %s: %s", c.Name, fmt.Sprintf(format, args...))
	}
	if len(c.DisplayName) > 100 || strings.ContainsFunc(c.DisplayName, unicode.IsControl) {
		return bad("display name must be at most 100 characters without control characters")
	}
	if err := checkURL(c.Issuer); err != nil {
		return bad("issuer: %v", err)
	}
	if u, _ := url.Parse(c.Issuer); u.RawQuery != "" || u.ForceQuery {
		return bad("issuer must not hold a query")
	}
	switch c.Preset {
	case "":
		if u, _ := url.Parse(c.Issuer); strings.EqualFold(u.Hostname(), microsoftHost) {
			return bad("a Microsoft issuer needs preset %q (its multi-tenant issuers need special checks)", PresetMicrosoft)
		}
	case PresetGoogle:
		if c.Issuer != GoogleIssuer {
			return bad("the google preset's issuer is %s", GoogleIssuer)
		}
	case PresetMicrosoft:
		if _, err := microsoftTenant(c.Issuer); err != nil {
			return bad("%v", err)
		}
	default:
		return bad("unknown preset %q (known: %q, %q)", c.Preset, PresetGoogle, PresetMicrosoft)
	}
	if c.ClientID == "" || len(c.ClientID) > 512 || strings.ContainsFunc(c.ClientID, unicode.IsControl) {
		return bad("client id is required (at most 512 characters without control characters)")
	}
	if strings.ContainsFunc(c.ClientSecret, unicode.IsControl) {
		return bad("client secret holds control characters")
	}
	if !slices.Contains(c.Scopes, "openid") {
		return bad("scopes must include openid")
	}
	seen := map[string]bool{}
	for _, s := range c.Scopes {
		if s == "" || len(s) > 200 || strings.ContainsFunc(s, func(r rune) bool {
			return r <= ' ' || r > '~' || r == '"' || r == '\\'
		}) {
			return bad("scope %q must be 1 to 200 printable ASCII characters without spaces, quotes or backslashes", s)
		}
		if seen[s] {
			return bad("scope %q is listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

// checkURL accepts an absolute https URL without user information or
// fragment; http only on 127.0.0.1 or localhost, for tests and development.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute URL such as https://accounts.example.com")
	}
	if u.User != nil || u.Fragment != "" || u.RawFragment != "" {
		return errors.New("must not hold user information or a fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || net.ParseIP(h).Equal(net.IPv4(127, 0, 0, 1)) {
			return nil
		}
		return errors.New("must be https (http only on 127.0.0.1 or localhost)")
	}
	return errors.New("must be an https URL")
}

// Format prints the configuration with the client secret redacted, under
// every verb, so that a configuration reaching a log shows no secret.
func (c ProviderConfig) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, c.summary())
}

// LogValue implements slog.LogValuer, without the client secret.
func (c ProviderConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.String("preset", c.Preset),
		slog.String("issuer", c.Issuer), slog.String("client_id", c.ClientID),
		slog.Any("scopes", c.Scopes))
}

func (c ProviderConfig) summary() string {
	secret := ""
	if c.ClientSecret != "" {
		secret = "[redacted]"
	}
	return fmt.Sprintf("oidcauth.ProviderConfig{Name:%q DisplayName:%q Issuer:%q ClientID:%q ClientSecret:%s Scopes:%q Preset:%q}",
		c.Name, c.DisplayName, c.Issuer, c.ClientID, secret, c.Scopes, c.Preset)
}
