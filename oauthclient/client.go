package oauthclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Options configure a Client.
type Options struct {
	// RedirectURL is the callback every provider redirects to: Strongroom's
	// public URL followed by the callback path. Required.
	RedirectURL string
	// HTTPClient makes the requests to the providers; nil means a client with a
	// 20-second timeout that follows no redirects.
	HTTPClient *http.Client
}

// Client makes the OAuth 2.0 requests to the configured providers.
type Client struct {
	providers []Provider
	byName    map[string]*Provider
	redirect  string
	hc        *http.Client
}

// New validates the providers and returns a client for them.
func New(providers []Provider, opts Options) (*Client, error) {
	if err := CheckURL(opts.RedirectURL); err != nil {
		return nil, fmt.Errorf("redirect URL: %w", err)
	}
	c := &Client{byName: map[string]*Provider{}, redirect: opts.RedirectURL, hc: opts.HTTPClient}
	if c.hc == nil {
		c.hc = &http.Client{
			Timeout: 20 * time.Second,
			// A token or revocation endpoint that redirects is misconfigured;
			// following it would send the client secret elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	for _, p := range providers {
		if p.ClientAuth == "" {
			p.ClientAuth = ClientSecretBasic
		}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		if _, dup := c.byName[p.Name]; dup {
			return nil, fmt.Errorf("provider %s is configured twice", p.Name)
		}
		p.Scopes = slices.Clone(p.Scopes)
		c.providers = append(c.providers, p)
		c.byName[p.Name] = &c.providers[len(c.providers)-1]
	}
	return c, nil
}

// Info is what may be shown about a provider: nothing secret.
type Info struct {
	Name        string
	DisplayName string
	Scopes      []string // the scopes Strongroom asks for
	Revocable   bool     // the provider has a revocation endpoint
}

// Providers lists the configured providers in configuration order.
func (c *Client) Providers() []Info {
	out := make([]Info, 0, len(c.providers))
	for i := range c.providers {
		out = append(out, info(&c.providers[i]))
	}
	return out
}

// Provider returns one provider's information.
func (c *Client) Provider(name string) (Info, bool) {
	p, ok := c.byName[name]
	if !ok {
		return Info{}, false
	}
	return info(p), true
}

func info(p *Provider) Info {
	return Info{Name: p.Name, DisplayName: p.DisplayName, Scopes: slices.Clone(p.Scopes), Revocable: p.RevocationURL != ""}
}

// RedirectURL is the callback URL sent to every provider.
func (c *Client) RedirectURL() string { return c.redirect }

var errUnknownProvider = errors.New("oauthclient: unknown provider")

func (c *Client) config(name string) (*Provider, *oauth2.Config, error) {
	p, ok := c.byName[name]
	if !ok {
		return nil, nil, fmt.Errorf("%w %q", errUnknownProvider, name)
	}
	style := oauth2.AuthStyleInHeader
	if p.ClientAuth == ClientSecretPost {
		style = oauth2.AuthStyleInParams
	}
	return p, &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret.Reveal(),
		Endpoint:     oauth2.Endpoint{AuthURL: p.AuthURL, TokenURL: p.TokenURL, AuthStyle: style},
		RedirectURL:  c.redirect,
		Scopes:       p.Scopes,
	}, nil
}

// AuthCodeURL returns the URL that starts the authorization-code flow at the
// provider, carrying state and the S256 challenge of verifier (RFC 7636).
func (c *Client) AuthCodeURL(provider, state, verifier string) (string, error) {
	p, cfg, err := c.config(provider)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	keys := make([]string, 0, len(p.AuthParams))
	for k := range p.AuthParams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		opts = append(opts, oauth2.SetAuthURLParam(k, p.AuthParams[k]))
	}
	return cfg.AuthCodeURL(state, opts...), nil
}

// Token is a token set a provider issued.
type Token struct {
	AccessToken  string
	RefreshToken string // empty when the provider issued none
	TokenType    string
	// ExpiresIn is the access token's lifetime from the provider's answer
	// (expires_in); zero when the provider did not say. It is relative, so that
	// the caller dates it with its own clock.
	ExpiresIn time.Duration
	// Scopes are the scopes granted, when the provider said; nil otherwise (then
	// the requested ones were granted, RFC 6749 section 5.1).
	Scopes []string
}

// Error is a provider's refusal: an OAuth 2.0 error response of its token or
// revocation endpoint. Code is the OAuth error code (such as invalid_grant);
// the provider's free-text description is not kept.
type Error struct {
	Endpoint string // "token" or "revocation"
	Status   int
	Code     string
}

func (e *Error) Error() string {
	return fmt.Sprintf("oauthclient: the provider's %s endpoint answered %d %s", e.Endpoint, e.Status, e.Code)
}

// Refused reports whether err is a provider's refusal with the given OAuth
// error code ("" for any code).
func Refused(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && (code == "" || e.Code == code)
}

func (c *Client) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.hc)
}

func fromOAuth2(tok *oauth2.Token, err error) (*Token, error) {
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			code := re.ErrorCode
			if code == "" {
				code = "http_" + fmt.Sprint(re.Response.StatusCode)
			}
			return nil, &Error{Endpoint: "token", Status: re.Response.StatusCode, Code: SafeCode(code)}
		}
		return nil, fmt.Errorf("calling the provider's token endpoint: %w", err)
	}
	if tok.AccessToken == "" {
		return nil, errors.New("oauthclient: the token response holds no access token")
	}
	t := &Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.Type()}
	switch {
	case tok.ExpiresIn > 0:
		t.ExpiresIn = time.Duration(tok.ExpiresIn) * time.Second
	case !tok.Expiry.IsZero(): // a form-encoded answer: only the absolute time is kept
		t.ExpiresIn = time.Until(tok.Expiry).Round(time.Second)
	}
	if s, ok := tok.Extra("scope").(string); ok {
		// RFC 6749 separates scopes with spaces; some providers use commas.
		t.Scopes = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	}
	return t, nil
}

// Exchange trades an authorization code and the PKCE verifier for tokens.
func (c *Client) Exchange(ctx context.Context, provider, code, verifier string) (*Token, error) {
	_, cfg, err := c.config(provider)
	if err != nil {
		return nil, err
	}
	return fromOAuth2(cfg.Exchange(c.ctx(ctx), code, oauth2.VerifierOption(verifier)))
}

// Refresh trades a refresh token for new tokens. When the provider issues no
// new refresh token, the old one stays valid and is returned in the result.
func (c *Client) Refresh(ctx context.Context, provider, refreshToken string) (*Token, error) {
	_, cfg, err := c.config(provider)
	if err != nil {
		return nil, err
	}
	if refreshToken == "" {
		return nil, errors.New("oauthclient: no refresh token")
	}
	t, err := fromOAuth2(cfg.TokenSource(c.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token())
	if err != nil {
		return nil, err
	}
	if t.RefreshToken == "" {
		t.RefreshToken = refreshToken
	}
	return t, nil
}

// ErrNoRevocation is returned by Revoke for a provider without a revocation
// endpoint.
var ErrNoRevocation = errors.New("oauthclient: the provider has no revocation endpoint")

// Revoke asks the provider to revoke token (RFC 7009), hinting its type
// ("refresh_token" or "access_token"), authenticated as configured.
func (c *Client) Revoke(ctx context.Context, provider, token, hint string) error {
	p, ok := c.byName[provider]
	if !ok {
		return fmt.Errorf("%w %q", errUnknownProvider, provider)
	}
	if p.RevocationURL == "" {
		return ErrNoRevocation
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	if p.ClientAuth == ClientSecretPost {
		form.Set("client_id", p.ClientID)
		form.Set("client_secret", p.ClientSecret.Reveal())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.RevocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("building revocation request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if p.ClientAuth == ClientSecretBasic {
		// RFC 6749 section 2.3.1: both parts form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(p.ClientID), url.QueryEscape(p.ClientSecret.Reveal()))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("calling the provider's revocation endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	code := "http_" + fmt.Sprint(resp.StatusCode)
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		code = e.Error
	}
	return &Error{Endpoint: "revocation", Status: resp.StatusCode, Code: SafeCode(code)}
}

// SafeCode keeps a provider-chosen error code short and printable, so it can be
// audited and shown.
func SafeCode(code string) string {
	code = strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return '_'
		}
		return r
	}, code)
	if len(code) > 64 {
		code = code[:64]
	}
	return code
}
