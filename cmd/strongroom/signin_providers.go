package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"strongroom.dev/strongroom/oidcauth"
)

// The sign-in providers file (--sign-in-providers-file) lists the OpenID
// Connect providers people may sign in with (IAM-05): Google, Microsoft, or
// any OpenID Connect issuer. It follows the rules of the connections'
// providers file (providers.go): strict JSON, a list of objects with exactly
// the keys below, each spelled exactly and given once, and one source for
// each client secret. docs/oidc.md describes it for operators.

// signInEntry is one provider in the file.
type signInEntry struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Preset      string   `json:"preset"`
	Issuer      string   `json:"issuer"`
	Tenant      string   `json:"tenant"`
	ClientID    string   `json:"client_id"`
	Scopes      []string `json:"scopes"`
	secretSource
}

var signInKeys = map[string]bool{
	"name": true, "display_name": true, "preset": true, "issuer": true, "tenant": true, "client_id": true,
	"client_secret_file": true, "client_secret_env": true, "client_secret": true, "scopes": true,
}

// loadSignInProviders reads and checks the sign-in providers file, resolving
// each client secret as loadProviders does.
func loadSignInProviders(path string, getenv func(string) string) ([]oidcauth.ProviderConfig, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("sign-in-providers-file %s: %s", path, fmt.Sprintf(format, args...))
	}
	entries, perm, err := readEntries[signInEntry](path, signInKeys)
	if err != nil {
		return nil, fail("%v", err)
	}
	var out []oidcauth.ProviderConfig
	seen := map[string]int{}
	for i, e := range entries {
		label := e.Name
		if label == "" {
			label = e.Preset
		}
		bad := func(format string, args ...any) error {
			return fail("provider %d (%s): %s", i+1, label, fmt.Sprintf(format, args...))
		}
		issuer := e.Issuer
		if e.Tenant != "" {
			switch {
			case e.Preset != oidcauth.PresetMicrosoft:
				return nil, bad("tenant is for the %q preset only", oidcauth.PresetMicrosoft)
			case e.Issuer != "":
				return nil, bad("give tenant or issuer, not both")
			}
			issuer = oidcauth.MicrosoftIssuer(e.Tenant)
		}
		secret, err := e.load(filepath.Dir(path), perm, getenv)
		if err != nil {
			return nil, bad("%v", err)
		}
		c := oidcauth.ProviderConfig{Name: e.Name, DisplayName: e.DisplayName, Issuer: issuer, ClientID: e.ClientID,
			ClientSecret: secret, Scopes: e.Scopes, Preset: e.Preset}
		if err := c.Validate(); err != nil {
			return nil, bad("%v", err)
		}
		if c.Name == "" {
			c.Name = c.Preset // what the registry names it; see oidcauth.ProviderConfig.Name
		}
		if j, dup := seen[c.Name]; dup {
			return nil, bad("the name %s is already provider %d's: give each provider its own name", c.Name, j)
		}
		seen[c.Name] = i + 1
		out = append(out, c)
	}
	return out, nil
}

// openSignIn loads the sign-in providers file and returns the registry of
// its providers, or nil when none are configured. It makes no request: each
// provider is discovered on its first use.
func openSignIn(ctx context.Context, cfg *Config, getenv func(string) string) (*oidcauth.Registry, error) {
	if cfg.SignInProviders == "" {
		return nil, nil
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("sign-in-providers-file needs public-url: the providers redirect the browser back to it")
	}
	providers, err := loadSignInProviders(cfg.SignInProviders, getenv)
	if err != nil {
		return nil, err
	}
	r, err := oidcauth.NewRegistry(ctx, providers, cfg.PublicURL, nil)
	if err != nil {
		return nil, fmt.Errorf("sign-in-providers-file %s: %w", cfg.SignInProviders, err)
	}
	return r, nil
}
