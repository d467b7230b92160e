package oidcauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

const (
	tenantA = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tenantB = "0b2e1c4d-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
)

func TestCheckMicrosoftIssuer(t *testing.T) {
	for _, tc := range []struct {
		name, tenant, iss, tid string
		ok                     bool
	}{
		{"tenant's own issuer", "common", MicrosoftIssuer(tenantA), tenantA, true},
		{"organizations", "organizations", MicrosoftIssuer(tenantA), tenantA, true},
		{"personal account through common", "common", MicrosoftIssuer(microsoftPersonalTenant), microsoftPersonalTenant, true},
		{"personal account through organizations", "organizations", MicrosoftIssuer(microsoftPersonalTenant), microsoftPersonalTenant, false},
		{"issuer of another tenant", "common", MicrosoftIssuer(tenantB), tenantA, false},
		{"tid missing", "common", MicrosoftIssuer(tenantA), "", false},
		{"templated issuer", "common", microsoftTemplatedIssuer, tenantA, false},
		{"template as tid", "common", microsoftTemplatedIssuer, "{tenantid}", false},
		{"common as tid", "common", MicrosoftIssuer("common"), "common", false},
		{"upper-case tid", "common", MicrosoftIssuer(strings.ToUpper(tenantA)), strings.ToUpper(tenantA), false},
		{"path in tid", "common", MicrosoftIssuer("../" + tenantA), "../" + tenantA, false},
		{"another host", "common", "https://login.evil.example/" + tenantA + "/v2.0", tenantA, false},
		{"http", "common", "http://login.microsoftonline.com/" + tenantA + "/v2.0", tenantA, false},
		{"v1 issuer", "common", "https://sts.windows.net/" + tenantA + "/", tenantA, false},
		{"trailing slash", "common", MicrosoftIssuer(tenantA) + "/", tenantA, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkMicrosoftIssuer(tc.tenant, tc.iss, tc.tid)
			if (err == nil) != tc.ok {
				t.Errorf("checkMicrosoftIssuer(%q, %q, %q) = %v, want ok %v", tc.tenant, tc.iss, tc.tid, err, tc.ok)
			}
		})
	}
}

// signer signs ID tokens with an RSA key, as a provider would (RS256).
type signer struct {
	key *rsa.PrivateKey
}

func newSigner(t *testing.T) signer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signer{key}
}

func (s signer) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "k1"}) + "." + enc(claims)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// microsoftProvider returns the provider of a registry configured with the
// Microsoft preset for tenant, and its verifier trusting s's key: the code
// path of Finish after the code exchange, without network.
func microsoftProvider(t *testing.T, tenant string, s signer) (*provider, *oidc.IDTokenVerifier) {
	t.Helper()
	r, err := NewRegistry(t.Context(), []ProviderConfig{{Preset: PresetMicrosoft, Issuer: MicrosoftIssuer(tenant), ClientID: "app-1", ClientSecret: "s"}},
		"https://app.example.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := r.byName["microsoft"]
	return p, p.newVerifier(&oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&s.key.PublicKey}}, []string{oidc.RS256}, time.Now)
}

func TestMicrosoftToken(t *testing.T) {
	s := newSigner(t)
	now := time.Now()
	token := func(change func(c map[string]any)) map[string]any {
		c := map[string]any{"iss": MicrosoftIssuer(tenantA), "tid": tenantA, "aud": "app-1", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
			"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nonce": "n-1", "email": "admin@contoso.example",
			"email_verified": true, "name": "Contoso Admin"}
		if change != nil {
			change(c)
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		tenant string
		claims map[string]any
		signer signer
		want   *Identity // nil: refused
	}{
		{"common: tenant's issuer", "common", token(nil), s, &Identity{Issuer: MicrosoftIssuer(tenantA),
			Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", Email: "admin@contoso.example", Name: "Contoso Admin"}},
		{"common: personal account", "common", token(func(c map[string]any) {
			c["iss"], c["tid"] = MicrosoftIssuer(microsoftPersonalTenant), microsoftPersonalTenant
		}), s, &Identity{Issuer: MicrosoftIssuer(microsoftPersonalTenant), Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
			Email: "admin@contoso.example", Name: "Contoso Admin"}},
		{"common: iss of another tenant than tid", "common", token(func(c map[string]any) { c["iss"] = MicrosoftIssuer(tenantB) }), s, nil},
		{"common: tid missing", "common", token(func(c map[string]any) { delete(c, "tid") }), s, nil},
		{"common: tid not a string", "common", token(func(c map[string]any) { c["tid"] = 7 }), s, nil},
		{"common: templated issuer", "common", token(func(c map[string]any) { c["iss"] = microsoftTemplatedIssuer }), s, nil},
		{"common: foreign issuer with a matching tid", "common", token(func(c map[string]any) {
			c["iss"] = "https://evil.example/" + tenantA + "/v2.0"
		}), s, nil},
		{"common: another audience", "common", token(func(c map[string]any) { c["aud"] = "app-2" }), s, nil},
		{"common: expired", "common", token(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), s, nil},
		{"common: another nonce", "common", token(func(c map[string]any) { c["nonce"] = "n-2" }), s, nil},
		{"common: another signer", "common", token(nil), newSigner(t), nil},
		{"common: azp of another client", "common", token(func(c map[string]any) {
			c["aud"], c["azp"] = []string{"app-1", "app-2"}, "app-2"
		}), s, nil},
		{"organizations: tenant", "organizations", token(nil), s, &Identity{Issuer: MicrosoftIssuer(tenantA),
			Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", Email: "admin@contoso.example", Name: "Contoso Admin"}},
		{"organizations: personal account", "organizations", token(func(c map[string]any) {
			c["iss"], c["tid"] = MicrosoftIssuer(microsoftPersonalTenant), microsoftPersonalTenant
		}), s, nil},
		{"single tenant: its issuer", tenantA, token(nil), s, &Identity{Issuer: MicrosoftIssuer(tenantA),
			Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", Email: "admin@contoso.example", Name: "Contoso Admin"}},
		{"single tenant: another tenant", tenantA, token(func(c map[string]any) {
			c["iss"], c["tid"] = MicrosoftIssuer(tenantB), tenantB
		}), s, nil},
		{"consumers: personal account", "consumers", token(func(c map[string]any) {
			c["iss"], c["tid"] = MicrosoftIssuer(microsoftPersonalTenant), microsoftPersonalTenant
		}), s, &Identity{Issuer: MicrosoftIssuer(microsoftPersonalTenant), Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
			Email: "admin@contoso.example", Name: "Contoso Admin"}},
		{"consumers: work account", "consumers", token(nil), s, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, v := microsoftProvider(t, tc.tenant, s)
			raw := tc.signer.sign(t, tc.claims)
			var got *Identity
			idt, err := v.Verify(context.Background(), raw)
			if err == nil {
				var id Identity
				id, err = p.identity(idt, "n-1")
				got = &id
			}
			if tc.want == nil {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if diff := cmp.Diff(*tc.want, *got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := ProviderConfig{Name: "corp", Issuer: "https://id.example.com", ClientID: "c"}
	for _, tc := range []struct {
		name   string
		change func(c *ProviderConfig)
		want   string // in the error; "" for valid
	}{
		{"valid", func(*ProviderConfig) {}, ""},
		{"loopback http", func(c *ProviderConfig) { c.Issuer = "http://127.0.0.1:8080" }, ""},
		{"localhost http", func(c *ProviderConfig) { c.Issuer = "http://localhost:8080/realms/x" }, ""},
		{"public client", func(c *ProviderConfig) { c.ClientSecret = "" }, ""},
		{"google preset", func(c *ProviderConfig) { *c = ProviderConfig{Preset: PresetGoogle, ClientID: "c"} }, ""},
		{"microsoft preset", func(c *ProviderConfig) { *c = ProviderConfig{Preset: PresetMicrosoft, ClientID: "c"} }, ""},
		{"microsoft tenant", func(c *ProviderConfig) {
			*c = ProviderConfig{Name: "entra", Preset: PresetMicrosoft, Issuer: MicrosoftIssuer(tenantA), ClientID: "c"}
		}, ""},
		{"microsoft organizations", func(c *ProviderConfig) {
			*c = ProviderConfig{Preset: PresetMicrosoft, Issuer: MicrosoftIssuer("organizations"), ClientID: "c"}
		}, ""},
		{"empty name", func(c *ProviderConfig) { c.Name = "" }, "name"},
		{"upper-case name", func(c *ProviderConfig) { c.Name = "Corp" }, "name"},
		{"name with slash", func(c *ProviderConfig) { c.Name = "a/b" }, "name"},
		{"name with dot", func(c *ProviderConfig) { c.Name = "a.b" }, "name"},
		{"name ending in dash", func(c *ProviderConfig) { c.Name = "corp-" }, "name"},
		{"long name", func(c *ProviderConfig) { c.Name = strings.Repeat("a", 33) }, "name"},
		{"http issuer", func(c *ProviderConfig) { c.Issuer = "http://id.example.com" }, "https"},
		{"http on another loopback", func(c *ProviderConfig) { c.Issuer = "http://127.0.0.2" }, "https"},
		{"relative issuer", func(c *ProviderConfig) { c.Issuer = "id.example.com" }, "absolute"},
		{"issuer with user", func(c *ProviderConfig) { c.Issuer = "https://u:p@id.example.com" }, "user"},
		{"issuer with query", func(c *ProviderConfig) { c.Issuer = "https://id.example.com?a=b" }, "query"},
		{"issuer with fragment", func(c *ProviderConfig) { c.Issuer = "https://id.example.com#x" }, "fragment"},
		{"no issuer", func(c *ProviderConfig) { c.Issuer = "" }, "issuer"},
		{"no client id", func(c *ProviderConfig) { c.ClientID = "" }, "client id"},
		{"control in client id", func(c *ProviderConfig) { c.ClientID = "a\nb" }, "client id"},
		{"no openid scope", func(c *ProviderConfig) { c.Scopes = []string{"email"} }, "openid"},
		{"scope with space", func(c *ProviderConfig) { c.Scopes = []string{"openid", "a b"} }, "scope"},
		{"scope twice", func(c *ProviderConfig) { c.Scopes = []string{"openid", "openid"} }, "twice"},
		{"unknown preset", func(c *ProviderConfig) { c.Preset = "github" }, "preset"},
		{"google preset, other issuer", func(c *ProviderConfig) { c.Preset = PresetGoogle }, "google"},
		{"microsoft issuer without preset", func(c *ProviderConfig) { c.Issuer = MicrosoftIssuer("common") }, "preset"},
		{"microsoft preset, v1 issuer", func(c *ProviderConfig) {
			*c = ProviderConfig{Preset: PresetMicrosoft, Issuer: "https://login.microsoftonline.com/common", ClientID: "c"}
		}, "Microsoft issuer"},
		{"microsoft preset, domain tenant", func(c *ProviderConfig) {
			*c = ProviderConfig{Preset: PresetMicrosoft, Issuer: MicrosoftIssuer("contoso.onmicrosoft.com"), ClientID: "c"}
		}, "tenant"},
		{"microsoft preset, upper-case tenant", func(c *ProviderConfig) {
			*c = ProviderConfig{Preset: PresetMicrosoft, Issuer: MicrosoftIssuer(strings.ToUpper(tenantA)), ClientID: "c"}
		}, "tenant"},
		{"control in display name", func(c *ProviderConfig) { c.DisplayName = "a\x1bb" }, "display"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestNewRegistryRefuses(t *testing.T) {
	good := ProviderConfig{Name: "corp", Issuer: "https://id.example.com", ClientID: "c"}
	for _, tc := range []struct {
		name      string
		providers []ProviderConfig
		base      string
	}{
		{"duplicate name", []ProviderConfig{good, good}, "https://app.example.com"},
		{"duplicate preset", []ProviderConfig{{Preset: PresetGoogle, ClientID: "a"}, {Preset: PresetGoogle, ClientID: "b"}}, "https://app.example.com"},
		{"invalid provider", []ProviderConfig{{Name: "x"}}, "https://app.example.com"},
		{"http base", []ProviderConfig{good}, "http://app.example.com"},
		{"base with query", []ProviderConfig{good}, "https://app.example.com/?a=b"},
		{"relative base", []ProviderConfig{good}, "/app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRegistry(t.Context(), tc.providers, tc.base, nil); err == nil {
				t.Error("NewRegistry succeeded")
			}
		})
	}
	r, err := NewRegistry(t.Context(), []ProviderConfig{good, {Preset: PresetMicrosoft, ClientID: "m"}}, "https://app.example.com/sr/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.RedirectURL("microsoft"); got != "https://app.example.com/sr/api/v1/auth/oidc/microsoft/callback" {
		t.Errorf("RedirectURL = %q", got)
	}
	if p := r.byName["microsoft"]; !p.multiTenant || p.discoveryIssuer != microsoftTemplatedIssuer || p.cfg.DisplayName != "Microsoft" {
		t.Errorf("the Microsoft preset's defaults: %+v", p)
	}
}

func TestErrorMessage(t *testing.T) {
	err := error(&Error{Provider: "corp", Kind: ErrCodeRejected, Code: "invalid_grant", Description: "used", detail: "status 400"})
	if got, want := err.Error(), "oidcauth: provider corp: authorization code rejected (invalid_grant: used): status 400"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrCodeRejected) || errors.Is(err, ErrTokenInvalid) {
		t.Error("errors.Is does not match the kind only")
	}
}

func TestLimitedBody(t *testing.T) {
	for _, tc := range []struct {
		size int
		ok   bool
	}{{0, true}, {maxResponseBytes, true}, {maxResponseBytes + 1, false}} {
		b := &limitedBody{ReadCloser: io.NopCloser(strings.NewReader(strings.Repeat("a", tc.size))), left: maxResponseBytes}
		got, err := io.ReadAll(b)
		if (err == nil) != tc.ok || (tc.ok && len(got) != tc.size) {
			t.Errorf("size %d: read %d, %v", tc.size, len(got), err)
		}
	}
}

func TestAuthStyle(t *testing.T) {
	for _, tc := range []struct {
		name       string
		methods    []string
		secret     string
		preferPost bool
		want       oauth2.AuthStyle
		ok         bool
	}{
		{"nothing said: basic", nil, "s", false, oauth2.AuthStyleInHeader, true},
		{"both: basic", []string{"client_secret_post", "client_secret_basic"}, "s", false, oauth2.AuthStyleInHeader, true},
		{"both, Microsoft: post", []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}, "s", true, oauth2.AuthStyleInParams, true},
		{"post only", []string{"client_secret_post"}, "s", false, oauth2.AuthStyleInParams, true},
		{"public client", []string{"client_secret_basic"}, "", false, oauth2.AuthStyleInParams, true},
		{"private_key_jwt only", []string{"private_key_jwt"}, "s", false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := authStyle(tc.methods, tc.secret, tc.preferPost)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("authStyle = %v, %v; want %v, ok %v", got, err, tc.want, tc.ok)
			}
		})
	}
}
