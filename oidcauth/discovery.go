package oidcauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// signingAlgs are the ID token signature algorithms accepted: asymmetric
// ones only, whatever the discovery document lists.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// discoveryDoc is the part of an OpenID Provider Metadata document
// (OpenID Connect Discovery 1.0, RFC 8414, RFC 9207) that is used.
type discoveryDoc struct {
	Issuer           string   `json:"issuer"`
	AuthURL          string   `json:"authorization_endpoint"`
	TokenURL         string   `json:"token_endpoint"`
	JWKSURL          string   `json:"jwks_uri"`
	UserInfoURL      string   `json:"userinfo_endpoint"`
	Algorithms       []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	IssParameter     bool     `json:"authorization_response_iss_parameter_supported"`
}

// discover fetches and checks p's discovery document. Discovery is done here
// rather than by oidc.NewProvider to bound the answer's size, keep response
// bodies out of error messages, check the endpoints' URLs and accept
// Microsoft's templated issuer only where it is expected.
func (r *Registry) discover(ctx context.Context, p *provider) (*discovered, error) {
	unavailable := func(cause error, format string, args ...any) error {
		return &Error{Provider: p.cfg.Name, Kind: ErrUnavailable, detail: "discovery: " + fmt.Sprintf(format, args...), cause: cause}
	}
	wellKnown := strings.TrimSuffix(p.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wellKnown, nil)
	if err != nil {
		return nil, unavailable(err, "%v", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, unavailable(err, "no answer from %s within %v", wellKnown, r.timeout)
		}
		return nil, unavailable(err, "%s", causeText(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable(nil, "%s answered status %d", wellKnown, resp.StatusCode)
	}
	var doc discoveryDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, unavailable(err, "reading the document of %s: %s", wellKnown, causeText(err))
	}
	if doc.Issuer != p.discoveryIssuer {
		return nil, unavailable(nil, "the document states issuer %q, want %q", oauthText(doc.Issuer, 200), p.discoveryIssuer)
	}
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", doc.AuthURL}, {"token_endpoint", doc.TokenURL}, {"jwks_uri", doc.JWKSURL},
		{"userinfo_endpoint", doc.UserInfoURL},
	} {
		if e.url == "" && e.name == "userinfo_endpoint" {
			continue
		}
		if err := checkURL(e.url); err != nil {
			return nil, unavailable(nil, "the document's %s %v", e.name, err)
		}
	}
	var algs []string
	for _, a := range doc.Algorithms {
		if slices.Contains(signingAlgs, a) {
			algs = append(algs, a)
		}
	}
	if len(doc.Algorithms) > 0 && len(algs) == 0 {
		return nil, unavailable(nil, "the provider signs ID tokens with none of %v", signingAlgs)
	}
	style, err := authStyle(doc.TokenAuthMethods, p.cfg.ClientSecret, p.cfg.Preset == PresetMicrosoft)
	if err != nil {
		return nil, unavailable(nil, "%v", err)
	}
	octx := oidc.ClientContext(r.base, r.hc)
	d := &discovered{
		oauth: oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: doc.AuthURL, TokenURL: doc.TokenURL, AuthStyle: style},
			RedirectURL:  p.redirectURL,
			Scopes:       p.cfg.Scopes,
		},
		oidc: (&oidc.ProviderConfig{IssuerURL: doc.Issuer, AuthURL: doc.AuthURL, TokenURL: doc.TokenURL,
			JWKSURL: doc.JWKSURL, UserInfoURL: doc.UserInfoURL, Algorithms: algs}).NewProvider(octx),
		userinfo: doc.UserInfoURL != "",
		issParam: doc.IssParameter,
	}
	d.verifier = p.newVerifier(fetchedKeys{oidc.NewRemoteKeySet(octx, doc.JWKSURL)}, algs, r.now)
	return d, nil
}

// newVerifier returns the ID token verifier of p: signature with keys,
// audience p's client id, expiry by now, and the issuer that discovery
// stated, except for Microsoft's multi-tenant endpoints, whose tokens Finish
// checks with checkMicrosoftIssuer instead.
func (p *provider) newVerifier(keys oidc.KeySet, algs []string, now func() time.Time) *oidc.IDTokenVerifier {
	return oidc.NewVerifier(p.discoveryIssuer, keys, &oidc.Config{
		ClientID:             p.cfg.ClientID,
		SupportedSigningAlgs: algs, // empty: RS256, the algorithm OpenID Connect requires
		SkipIssuerCheck:      p.multiTenant,
		Now:                  now,
	})
}

// authStyle chooses how to authenticate to the token endpoint: HTTP Basic
// where the provider supports it (the default of RFC 8414 when it says
// nothing), else form fields. A public client (no secret) sends its id only.
// Microsoft gets form fields, the method its documentation leads with (it
// accepts Basic too): its most used path, and one without the URL-encoding
// of the secret that Basic requires (RFC 6749 section 2.3.1).
func authStyle(methods []string, secret string, preferPost bool) (oauth2.AuthStyle, error) {
	switch {
	case secret == "":
		return oauth2.AuthStyleInParams, nil
	case preferPost && slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams, nil
	case len(methods) == 0 || slices.Contains(methods, "client_secret_basic"):
		return oauth2.AuthStyleInHeader, nil
	case slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams, nil
	}
	return 0, errors.New("the token endpoint supports neither client_secret_basic nor client_secret_post")
}

// fetchedKeys is the provider's key set, marking in the context of a
// verification (see keyFetchFailed) when the keys could not be fetched, so
// that an unreachable JWKS is reported as ErrUnavailable, not as a bad token.
type fetchedKeys struct{ remote *oidc.RemoteKeySet }

type keyFetchKey struct{}

func (k fetchedKeys) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	var uerr *url.Error
	if err != nil && (errors.As(err, &uerr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		if failed, ok := ctx.Value(keyFetchKey{}).(*bool); ok {
			*failed = true
		}
	}
	return payload, err
}

// causeText is the message of an underlying error for an Error's detail,
// cut to 300 bytes, without control characters.
func causeText(err error) string { return cleanText(err.Error(), 300) }
