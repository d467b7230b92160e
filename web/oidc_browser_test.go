package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/oidcauth"
	"strongroom.dev/strongroom/service"
)

// TestConsoleOIDC signs in with the button of a configured OpenID Connect
// provider (a real provider in-process), then, once the account has an
// authenticator app, again: the callback hands the MFA challenge to the
// console in the URL fragment, which passkey.js copies into the form.
func TestConsoleOIDC(t *testing.T) {
	var regErr error
	srv := testkit.NewServerWithConfig(t, testkit.OpenSQLiteStore(t), testkit.ServerConfig{
		Service: func(base string, cfg *service.Config) {
			idp := testkit.NewOIDCProvider(t, base+"/api/v1/auth/oidc/test/callback")
			cfg.OIDC, regErr = oidcauth.NewRegistry(context.Background(), []oidcauth.ProviderConfig{{
				Name: "test", DisplayName: "Test IdP", Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
			}}, base, nil)
		},
	})
	if regErr != nil {
		t.Fatal(regErr)
	}
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	b.open("/signin")
	b.submit(`a[href="/api/v1/auth/oidc/test/start"]`, ".who .email")
	if got := b.text(".who .email"); got != testkit.DefaultOIDCUser().Email {
		t.Fatalf("signed in as %q", got)
	}

	b.open("/account/mfa")
	b.submit(`form[action="/account/mfa/totp"] button`, "#totp-secret")
	secret := b.text("#totp-secret")
	b.fill("code", totpCode(t, secret, time.Now()))
	b.submit(`form[action="/account/mfa/totp/confirm"] button`, "#recovery-codes")
	b.submit(`form[action="/signout"] button`, ".flash")

	b.submit(`a[href="/api/v1/auth/oidc/test/start"]`, `form[action="/signin/mfa"]`)
	if loc := b.location(); loc != "/signin/mfa" {
		t.Errorf("the challenge stayed in the address bar: %s", loc)
	}
	b.fill("code", totpCode(t, secret, time.Now().Add(30*time.Second)))
	b.submit(`form[action="/signin/mfa"] button[type=submit]`, ".who .email")
	if got := b.text(".who .email"); !strings.EqualFold(got, testkit.DefaultOIDCUser().Email) {
		t.Errorf("after the second factor signed in as %q", got)
	}
}
