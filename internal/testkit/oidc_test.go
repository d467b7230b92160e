package testkit

import (
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

// TestOIDCProvider drives the provider with go-oidc and x/oauth2 directly:
// discovery, the code flow with PKCE and nonce as the chosen user, the claims
// in the ID token or at the userinfo endpoint, the second client's audience.
func TestOIDCProvider(t *testing.T) {
	const redirect = "https://app.example.test/callback"
	p := NewOIDCProvider(t, redirect)
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	type claims struct {
		Subject       string `json:"sub"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
		Nonce         string `json:"nonce"`
	}
	signIn := func(t *testing.T, clientID, secret string) (claims, *oauth2.Token, []string) {
		t.Helper()
		cfg := oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile}}
		verifier := oauth2.GenerateVerifier()
		back := p.Authorize(t, cfg.AuthCodeURL("state-1", oidc.Nonce("nonce-1"), oauth2.S256ChallengeOption(verifier)))
		if back.Query().Get("state") != "state-1" || back.Query().Get("code") == "" {
			t.Fatalf("callback %s: want state and code", back)
		}
		tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verifying the ID token: %v", err)
		}
		var c claims
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		return c, tok, idt.Audience
	}

	c, _, _ := signIn(t, p.ClientID, p.ClientSecret)
	if diff := cmp.Diff(claims{Subject: "248289761001", Email: "ada@example.test", EmailVerified: true, Name: "Ada Lovelace", Nonce: "nonce-1"}, c); diff != "" {
		t.Errorf("default user's claims (-want +got):\n%s", diff)
	}

	p.SetUser(OIDCUser{Subject: "u-2", Email: "bob@example.test", GivenName: "Bob", FamilyName: "B"})
	c, _, _ = signIn(t, p.ClientID, p.ClientSecret)
	if diff := cmp.Diff(claims{Subject: "u-2", Email: "bob@example.test", Name: "Bob B", Nonce: "nonce-1"}, c); diff != "" {
		t.Errorf("chosen user's claims (-want +got):\n%s", diff)
	}

	p.SetClaimsInIDToken(false)
	c, tok, _ := signIn(t, p.ClientID, p.ClientSecret)
	if c.Email != "" || c.Subject != "u-2" {
		t.Errorf("claims %+v: want the subject only", c)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if info.Subject != "u-2" || info.Email != "bob@example.test" || info.EmailVerified {
		t.Errorf("userinfo %+v", info)
	}
	p.SetClaimsInIDToken(true)

	if _, _, aud := signIn(t, p.OtherClientID, p.OtherClientSecret); !slices.Equal(aud, []string{p.OtherClientID}) {
		t.Errorf("the other client's audience is %q", aud)
	}
	if len(p.Secrets()) < 4*3 { // per flow: code, verifier, access token, ID token
		t.Errorf("Secrets() recorded %d values", len(p.Secrets()))
	}
}
