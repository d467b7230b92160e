package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
)

// TestConsolePasskey registers a passkey from the account page with the
// DevTools virtual authenticator (CTAP2, resident key, user verification),
// then uses it as the second factor after a password, and alone for a
// passwordless sign-in. WebAuthn needs a host name, so the browser uses
// localhost rather than 127.0.0.1.
func TestConsolePasskey(t *testing.T) {
	var base string
	testkit.NewServerWithConfig(t, testkit.OpenSQLiteStore(t), testkit.ServerConfig{
		Service: func(url string, cfg *service.Config) {
			base = strings.Replace(url, "127.0.0.1", "localhost", 1)
			pk, err := passkey.New(passkey.Config{RPID: "localhost", RPDisplayName: "Strongroom", Origins: []string{base}})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Passkeys, cfg.BaseURL = pk, base
		},
	})
	ctx := testkit.NewBrowser(t)
	b := newTab(t, ctx, base)
	enable := false
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: &enable}); err != nil {
		t.Fatalf("enabling WebAuthn emulation: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true},
	}); err != nil {
		t.Fatalf("adding the virtual authenticator: %v", err)
	}

	signUp(t, b, "pat@example.com", "Pat Ltd")
	b.open("/account/mfa")
	b.fill("passkey_name", "Laptop")
	b.do(chromedp.WaitEnabled("#passkey-register-button"))
	b.do(chromedp.Click("#passkey-register-button"), chromedp.WaitVisible("#passkey-codes-list li")) // no new page: the codes appear in place
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#passkey-codes-list li").length`)); err != nil || n != 10 {
		t.Errorf("recovery codes shown after the first passkey: %d (%v), want 10", n, err)
	}
	b.shot("passkey-added")
	b.open("/account/mfa")
	if got := b.text(".rows"); !strings.Contains(got, "Laptop") || !strings.Contains(got, "Passkey") {
		t.Errorf("factors listed: %q", got)
	}

	// Password, then the passkey as the second factor.
	b.submit(`form[action="/signout"] button`, ".flash")
	signIn(t, b, "pat@example.com", goodPassword, "#passkey-mfa")
	b.submit("#passkey-mfa", "#org-id")

	// The passkey alone (it verified the user: a discoverable credential).
	b.submit(`form[action="/signout"] button`, ".flash")
	b.open("/signin")
	b.submit("#passkey-signin", "#org-id")
	if got := b.text(".who .email"); got != "pat@example.com" {
		t.Errorf("signed in as %q", got)
	}

	// Removing it asks for nothing more (a recent sign-in) and empties the list.
	b.open("/account/mfa")
	b.submit(`.rows form button`, ".flash")
	if got := b.text(".flash"); !strings.Contains(got, "removed") {
		t.Errorf("flash after removal: %q", got)
	}
}
