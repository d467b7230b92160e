package oidcauth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// FlowLifetime is how long a flow may take from Start to Finish.
const FlowLifetime = 10 * time.Minute

// flowClockSkew is how far in the future a flow's CreatedAt may be (another
// replica's clock) before the flow is refused.
const flowClockSkew = time.Minute

// Flow is the server-side state of one sign-in, from Start to Finish. Its
// fields are secrets: keep it on the server (or sealed, in a cookie only
// Strongroom can open), bound to the browser that started the flow, never in
// a URL, a log or a page. It marshals to JSON for storage; fmt and slog print
// it without its secrets.
//
// The state parameter alone does not protect against login CSRF: the service
// must find the Flow through the browser's own cookie, not through the
// callback's state, and must use it once: delete it before calling Finish,
// whatever Finish returns.
type Flow struct {
	Provider  string    `json:"provider"`   // the provider's name
	State     string    `json:"state"`      // 256 random bits, base64url
	Nonce     string    `json:"nonce"`      // 256 random bits, base64url
	Verifier  string    `json:"verifier"`   // the PKCE code verifier (RFC 7636), 256 random bits
	CreatedAt time.Time `json:"created_at"` // when Start made it
}

// ExpiresAt is when the flow stops being accepted.
func (f Flow) ExpiresAt() time.Time { return f.CreatedAt.Add(FlowLifetime) }

// Format prints the flow without its secrets, under every verb.
func (f Flow) Format(s fmt.State, _ rune) {
	_, _ = fmt.Fprintf(s, "oidcauth.Flow{Provider:%q CreatedAt:%s State,Nonce,Verifier:[redacted]}",
		f.Provider, f.CreatedAt.UTC().Format(time.RFC3339))
}

// LogValue implements slog.LogValuer, without the flow's secrets.
func (f Flow) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", f.Provider), slog.Time("created_at", f.CreatedAt))
}

// Identity is who signed in, as the provider vouches for it.
//
// Key federated accounts on (Issuer, Subject), never on Email: the e-mail
// address is an attribute the provider reports, mutable and, for some
// providers (Microsoft), set by whoever administers the account's tenant.
// See the package documentation.
type Identity struct {
	// Issuer is the provider's issuer URL. For Microsoft's multi-tenant
	// endpoints it is the issuer of the user's tenant,
	// https://login.microsoftonline.com/{tid}/v2.0.
	Issuer string
	// Subject is the provider's identifier of the account, unique and never
	// reassigned within Issuer: 1 to 255 bytes.
	Subject string
	// Email is the address the provider reports, possibly empty.
	Email string
	// EmailVerified is the provider's email_verified claim: the provider says
	// it checked that the user controls Email. Always false with the
	// Microsoft preset, whose tokens carry no such claim and whose email claim
	// is not verified.
	EmailVerified bool
	// Name is the name to display, possibly empty.
	Name string
}

// Start begins a sign-in with provider name. It returns the provider's
// authorization URL to redirect the browser to, and the Flow to keep until
// the callback. The authorization request uses the code flow with PKCE
// (S256), a state and a nonce of 256 random bits each.
func (r *Registry) Start(ctx context.Context, name string) (authURL string, flow Flow, err error) {
	p, err := r.lookup(name)
	if err != nil {
		return "", Flow{}, err
	}
	d, err := r.discovered(ctx, p)
	if err != nil {
		return "", Flow{}, err
	}
	var secrets [3]string
	for i := range secrets {
		b := make([]byte, 32)
		if _, err := io.ReadFull(r.random, b); err != nil {
			return "", Flow{}, fmt.Errorf("oidcauth: reading randomness: %w", err)
		}
		secrets[i] = base64.RawURLEncoding.EncodeToString(b)
	}
	flow = Flow{Provider: p.cfg.Name, State: secrets[0], Nonce: secrets[1], Verifier: secrets[2], CreatedAt: r.now().UTC()}
	authURL = d.oauth.AuthCodeURL(flow.State, oidc.Nonce(flow.Nonce), oauth2.S256ChallengeOption(flow.Verifier))
	return authURL, flow, nil
}

// Finish completes the sign-in that flow began, with the query of the
// callback request the provider redirected the browser to. It checks that
// the callback is for this flow (provider, age, state in constant time,
// RFC 9207 iss), reports a provider's error answer, exchanges the code with
// the PKCE verifier, and verifies the ID token: signature with the provider's
// keys, issuer, audience (the client id; with several audiences, azp),
// expiry, nonce (in constant time), and at_hash when present. When the ID
// token carries no e-mail and the email scope was asked for, the e-mail and
// name come from the userinfo endpoint, whose subject must be the token's.
//
// Call Finish at most once per Flow, with the name of the callback's route.
func (r *Registry) Finish(ctx context.Context, name string, flow Flow, query url.Values) (Identity, error) {
	p, err := r.lookup(name)
	if err != nil {
		return Identity{}, err
	}
	fail := func(kind, cause error, format string, args ...any) (Identity, error) {
		return Identity{}, &Error{Provider: p.cfg.Name, Kind: kind, detail: fmt.Sprintf(format, args...), cause: cause}
	}
	cb, err := parseCallback(query)
	if err != nil {
		return fail(ErrInvalidCallback, nil, "%v", err)
	}
	if flow.Provider != p.cfg.Name {
		return fail(ErrStateMismatch, nil, "the flow was started for another provider")
	}
	now := r.now()
	if flow.CreatedAt.IsZero() || now.Sub(flow.CreatedAt) > FlowLifetime || flow.CreatedAt.Sub(now) > flowClockSkew {
		return fail(ErrExpired, nil, "the flow was started at %s and lasts %v", flow.CreatedAt.UTC().Format(time.RFC3339), FlowLifetime)
	}
	if flow.State == "" || subtle.ConstantTimeCompare([]byte(cb.state), []byte(flow.State)) != 1 {
		return fail(ErrStateMismatch, nil, "the callback's state is not the flow's")
	}
	if cb.hasIss && !p.issuerMatches(cb.iss) {
		return fail(ErrInvalidCallback, nil, "the callback's iss parameter names another issuer (RFC 9207)")
	}
	if cb.hasError {
		return Identity{}, &Error{Provider: p.cfg.Name, Kind: ErrProviderError,
			Code: oauthText(cb.errCode, 64), Description: oauthText(cb.errDescription, 200)}
	}
	if cb.code == "" {
		return fail(ErrInvalidCallback, nil, "the callback holds neither code nor error")
	}
	d, err := r.discovered(ctx, p)
	if err != nil {
		return Identity{}, err
	}
	if d.issParam && !cb.hasIss {
		return fail(ErrInvalidCallback, nil, "the callback lacks the iss parameter the provider promises (RFC 9207)")
	}

	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ctx = oidc.ClientContext(ctx, r.hc)
	tok, err := d.oauth.Exchange(ctx, cb.code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		return Identity{}, p.exchangeError(err, cb.code)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return fail(ErrTokenInvalid, nil, "the token endpoint's answer holds no id_token")
	}
	var fetchFailed bool
	idt, err := d.verifier.Verify(context.WithValue(ctx, keyFetchKey{}, &fetchFailed), rawID)
	if err != nil {
		if fetchFailed {
			return fail(ErrUnavailable, err, "fetching the provider's keys: %s", causeText(err))
		}
		return fail(ErrTokenInvalid, err, "%s", causeText(err))
	}
	id, err := p.identity(idt, flow.Nonce)
	if err != nil {
		return fail(ErrTokenInvalid, err, "%s", causeText(err))
	}
	if tok.AccessToken != "" && idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return fail(ErrTokenInvalid, err, "the at_hash claim does not match the access token")
		}
	}
	if id.Email == "" && d.userinfo && tok.AccessToken != "" && slices.Contains(p.cfg.Scopes, oidc.ScopeEmail) {
		info, err := d.oidc.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return fail(ErrUnavailable, err, "userinfo: %s", causeText(err))
		}
		if info.Subject != id.Subject {
			return fail(ErrTokenInvalid, nil, "the userinfo answer is for another subject")
		}
		var prof profileClaims
		_ = info.Claims(&prof) // malformed optional claims are ignored
		id.Email, id.EmailVerified = p.email(prof)
		if id.Name == "" {
			id.Name = prof.name()
		}
	}
	return id, nil
}

// identity checks the ID token's claims beyond what go-oidc checked (nonce,
// subject, authorized party, Microsoft's multi-tenant issuer) and returns who
// signed in.
func (p *provider) identity(idt *oidc.IDToken, nonce string) (Identity, error) {
	if nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Identity{}, fmt.Errorf("the nonce is not the flow's")
	}
	if idt.Subject == "" || len(idt.Subject) > 255 {
		return Identity{}, fmt.Errorf("the sub claim is empty or longer than 255 bytes")
	}
	var c struct {
		AZP string `json:"azp"`
		TID string `json:"tid"`
	}
	if err := idt.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("reading the azp and tid claims: %w", err)
	}
	if (len(idt.Audience) > 1 || c.AZP != "") && c.AZP != p.cfg.ClientID {
		return Identity{}, fmt.Errorf("the token's authorized party (azp) is not this client")
	}
	issuer := p.discoveryIssuer // what go-oidc checked iss against (Google's "accounts.google.com" included)
	if p.multiTenant {
		if err := checkMicrosoftIssuer(p.msTenant, idt.Issuer, c.TID); err != nil {
			return Identity{}, err
		}
		issuer = idt.Issuer
	}
	var prof profileClaims
	_ = idt.Claims(&prof) // malformed optional claims are ignored
	id := Identity{Issuer: issuer, Subject: idt.Subject, Name: prof.name()}
	id.Email, id.EmailVerified = p.email(prof)
	return id, nil
}

// email returns the e-mail address of the claims and whether it is
// verified; an address that cannot be one (too long, control characters)
// reads as none. Microsoft's email claim is never verified: its tokens have
// no email_verified claim, and a tenant's administrators set the address.
func (p *provider) email(c profileClaims) (string, bool) {
	e := string(c.Email)
	if e == "" || len(e) > 320 || !utf8.ValidString(e) || strings.ContainsFunc(e, func(r rune) bool {
		return unicode.IsControl(r) || unicode.IsSpace(r)
	}) {
		return "", false
	}
	return e, bool(c.EmailVerified) && p.cfg.Preset != PresetMicrosoft
}

// issuerMatches reports whether an RFC 9207 iss parameter names p's issuer
// (for Microsoft's multi-tenant endpoints: a tenant's issuer).
func (p *provider) issuerMatches(iss string) bool {
	if p.multiTenant {
		tenant, err := microsoftTenant(iss)
		return err == nil && isTenantID(tenant)
	}
	return iss == p.discoveryIssuer
}

// exchangeError classifies a failed code exchange.
func (p *provider) exchangeError(err error, code string) error {
	e := &Error{Provider: p.cfg.Name, Kind: ErrUnavailable, cause: err}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		status := re.Response.StatusCode
		e.detail = fmt.Sprintf("the token endpoint answered status %d", status)
		e.cause = nil // its message holds the answer's body
		if re.ErrorCode != "" && status >= 400 && status < 500 {
			e.Kind = ErrCodeRejected
			e.Code = oauthText(re.ErrorCode, 64)
			e.Description = oauthText(strings.ReplaceAll(re.ErrorDescription, code, "[code]"), 200)
		}
		return e
	}
	e.detail = "exchanging the code: " + causeText(err)
	return e
}

// profileClaims are the optional claims read from an ID token or a userinfo
// answer. A claim of an unexpected type reads as absent.
type profileClaims struct {
	Email         looseString `json:"email"`
	EmailVerified looseBool   `json:"email_verified"`
	Name          looseString `json:"name"`
	GivenName     looseString `json:"given_name"`
	FamilyName    looseString `json:"family_name"`
}

func (c profileClaims) name() string {
	n := strings.TrimSpace(string(c.Name))
	if n == "" {
		n = strings.TrimSpace(string(c.GivenName) + " " + string(c.FamilyName))
	}
	return cleanText(n, 200)
}

type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	str, _ := v.(string)
	*s = looseString(str)
	return nil
}

// looseBool reads true and "true" as true (some providers send strings),
// anything else as false.
type looseBool bool

func (v *looseBool) UnmarshalJSON(b []byte) error {
	s := string(b)
	*v = s == "true" || s == `"true"`
	return nil
}

// callback is the part of a callback's query that is used.
type callback struct {
	state, code, errCode, errDescription, iss string
	hasError, hasIss                          bool
}

// maxParam bounds each callback parameter; Microsoft's codes are over a
// kilobyte long.
const maxParam = 8 << 10

// parseCallback reads the callback's parameters, refusing repeated or
// overlong ones.
func parseCallback(q url.Values) (callback, error) {
	var cb callback
	for _, f := range []struct {
		key string
		dst *string
	}{{"state", &cb.state}, {"code", &cb.code}, {"error", &cb.errCode}, {"error_description", &cb.errDescription}, {"iss", &cb.iss}} {
		v, ok := q[f.key]
		switch {
		case !ok:
			continue
		case len(v) != 1:
			return callback{}, fmt.Errorf("the parameter %s appears %d times, want once", f.key, len(v))
		case len(v[0]) > maxParam:
			return callback{}, fmt.Errorf("the parameter %s is longer than %d bytes", f.key, maxParam)
		}
		*f.dst = v[0]
	}
	cb.hasError, cb.hasIss = q.Has("error"), q.Has("iss")
	return cb, nil
}

// cleanText makes a string safe to log or display: valid UTF-8, control
// characters replaced by '?', at most max bytes.
func cleanText(s string, max int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
