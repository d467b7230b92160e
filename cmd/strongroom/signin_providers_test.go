package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/oidcauth"
)

// signInProvider returns a valid sign-in providers file entry (a generic
// provider) with one change applied.
func signInProvider(name string, change func(m map[string]any)) map[string]any {
	m := map[string]any{"name": name, "display_name": "Example " + name, "issuer": "https://" + name + ".example",
		"client_id": "strongroom", "client_secret_env": "TEST_SECRET"}
	if change != nil {
		change(m)
	}
	return m
}

func TestLoadSignInProviders(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "google.secret"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return map[string]string{"MS_SECRET": "from-env"}[k] }
	path := writeProviders(t, dir, 0o600, []map[string]any{
		{"preset": "google", "client_id": "g-client", "client_secret_file": "google.secret"}, // relative to the file
		{"name": "corp", "preset": "microsoft", "tenant": "organizations", "client_id": "m-client", "client_secret_env": "MS_SECRET"},
		{"preset": "microsoft", "client_id": "m2-client", "client_secret_env": "MS_SECRET"},
		signInProvider("okta", func(m map[string]any) {
			delete(m, "client_secret_env")
			m["client_secret"] = "in-the-file"
			m["scopes"] = []string{"openid", "email"}
		}),
	})
	got, err := loadSignInProviders(path, getenv)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Name, Preset, Issuer, ClientID, Secret string
		Scopes                                 []string
	}
	var sums []summary
	for _, p := range got {
		sums = append(sums, summary{p.Name, p.Preset, p.Issuer, p.ClientID, p.ClientSecret, p.Scopes})
	}
	want := []summary{
		{"google", "google", "", "g-client", "from-file", nil},
		{"corp", "microsoft", "https://login.microsoftonline.com/organizations/v2.0", "m-client", "from-env", nil},
		{"microsoft", "microsoft", "", "m2-client", "from-env", nil},
		{"okta", "", "https://okta.example", "strongroom", "in-the-file", []string{"openid", "email"}},
	}
	if d := cmp.Diff(want, sums); d != "" {
		t.Errorf("providers (-want +got):\n%s", d)
	}
	if s := fmt.Sprintf("%v %+v %#v", got[0], got[0], got[0]); strings.Contains(s, "from-file") {
		t.Errorf("a provider prints its secret: %s", s)
	}

	// The presets' defaults: display names, issuers, and the callbacks.
	reg, err := oidcauth.NewRegistry(context.Background(), got, "https://strongroom.example", nil)
	if err != nil {
		t.Fatalf("the loaded providers do not make a registry: %v", err)
	}
	wantInfo := []oidcauth.ProviderInfo{{Name: "google", DisplayName: "Google"}, {Name: "corp", DisplayName: "Microsoft"},
		{Name: "microsoft", DisplayName: "Microsoft"}, {Name: "okta", DisplayName: "Example okta"}}
	if d := cmp.Diff(wantInfo, reg.Providers()); d != "" {
		t.Errorf("registry providers (-want +got):\n%s", d)
	}
	if cb, err := reg.RedirectURL("corp"); err != nil || cb != "https://strongroom.example/api/v1/auth/oidc/corp/callback" {
		t.Errorf("callback of work: %q, %v", cb, err)
	}
}

func TestLoadSignInProvidersRejects(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"group-read.secret": 0o640, "group-write.secret": 0o620, "empty.secret": 0o600} {
		body := []byte("s3cret")
		if name == "empty.secret" {
			body = []byte("\n")
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, body, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	one := func(change func(m map[string]any)) []map[string]any {
		return []map[string]any{signInProvider("corp", change)}
	}
	secretFile := func(name string) func(m map[string]any) {
		return func(m map[string]any) { delete(m, "client_secret_env"); m["client_secret_file"] = name }
	}
	tests := []struct {
		name string
		mode os.FileMode
		file any
		want string
	}{
		{"group-writable file", 0o620, one(nil), "writable by group or others"},
		{"not a list", 0o600, `{"name":"corp"}`, "not a JSON list"},
		{"trailing data", 0o600, `[] []`, "data after"},
		{"empty list", 0o600, `[]`, "lists no provider"},
		{"unknown key", 0o600, one(func(m map[string]any) { m["redirect_uri"] = "https://x.example" }), `provider 1: unknown key "redirect_uri"`},
		{"wrong case", 0o600, `[{"Name":"corp"}]`, `unknown key "Name"`},
		{"repeated key", 0o600, `[{"name":"a","name":"b"}]`, `"name" appears twice`},
		{"wrong type", 0o600, one(func(m map[string]any) { m["scopes"] = "openid" }), "provider 1: json: cannot unmarshal"},
		{"duplicate name", 0o600, []map[string]any{signInProvider("corp", nil), signInProvider("corp", nil)},
			"provider 2 (corp): the name corp is already provider 1's"},
		{"duplicate preset name", 0o600, []map[string]any{
			{"preset": "google", "client_id": "a", "client_secret_env": "TEST_SECRET"},
			{"preset": "google", "client_id": "b", "client_secret_env": "TEST_SECRET"}}, "the name google is already provider 1's"},
		{"no secret", 0o600, one(func(m map[string]any) { delete(m, "client_secret_env") }), "exactly one of"},
		{"two secrets", 0o600, one(func(m map[string]any) { m["client_secret"] = "x" }), "exactly one of"},
		{"literal secret, readable file", 0o644, one(func(m map[string]any) { delete(m, "client_secret_env"); m["client_secret"] = "x" }), "chmod 600"},
		{"secret file readable by group", 0o600, one(secretFile("group-read.secret")), "readable by group or others"},
		{"secret file writable by group", 0o600, one(secretFile("group-write.secret")), "writable by group or others"},
		{"empty secret file", 0o600, one(secretFile("empty.secret")), "is empty"},
		{"missing secret file", 0o600, one(secretFile("nope.secret")), "client_secret_file"},
		{"unset variable", 0o600, one(func(m map[string]any) { m["client_secret_env"] = "UNSET_SECRET" }), "UNSET_SECRET is not set"},
		{"bad variable name", 0o600, one(func(m map[string]any) { m["client_secret_env"] = "A-B" }), "environment variable name"},
		{"bad name", 0o600, one(func(m map[string]any) { m["name"] = "Corp SSO" }), "lower-case"},
		{"no name", 0o600, one(func(m map[string]any) { delete(m, "name") }), "lower-case"},
		{"no issuer", 0o600, one(func(m map[string]any) { delete(m, "issuer") }), "issuer: must be an absolute URL"},
		{"plain-http issuer", 0o600, one(func(m map[string]any) { m["issuer"] = "http://corp.example" }), "must be https"},
		{"no client id", 0o600, one(func(m map[string]any) { delete(m, "client_id") }), "client id is required"},
		{"scopes without openid", 0o600, one(func(m map[string]any) { m["scopes"] = []string{"email"} }), "must include openid"},
		{"unknown preset", 0o600, one(func(m map[string]any) { m["preset"] = "github" }), `unknown preset "github"`},
		{"google elsewhere", 0o600, one(func(m map[string]any) { m["preset"] = "google" }), "the google preset's issuer is"},
		{"microsoft without preset", 0o600, one(func(m map[string]any) {
			m["issuer"] = "https://login.microsoftonline.com/common/v2.0"
		}), `needs preset "microsoft"`},
		{"bad microsoft tenant", 0o600, one(func(m map[string]any) {
			delete(m, "issuer")
			m["preset"], m["tenant"] = "microsoft", "Contoso"
		}), "tenant must be common, organizations, consumers or a tenant id"},
		{"tenant without microsoft", 0o600, one(func(m map[string]any) { delete(m, "issuer"); m["preset"], m["tenant"] = "google", "common" }),
			`tenant is for the "microsoft" preset only`},
		{"tenant and issuer", 0o600, one(func(m map[string]any) {
			m["preset"], m["tenant"], m["issuer"] = "microsoft", "common", "https://login.microsoftonline.com/common/v2.0"
		}), "give tenant or issuer, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeProviders(t, t.TempDir(), tt.mode, tt.file)
			if strings.Contains(tt.name, "secret file") {
				path = writeProviders(t, dir, tt.mode, tt.file) // beside the secret files
			}
			_, err := loadSignInProviders(path, func(k string) string { return map[string]string{"TEST_SECRET": "s"}[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "sign-in-providers-file "+path+": ") {
				t.Errorf("error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

// TestSignInProvidersConfig: the setting needs public-url, a bad file stops
// serve before it opens anything, and serve signs people in with the
// configured provider (its secret read from a file) through the callback
// under the public URL.
func TestSignInProvidersConfig(t *testing.T) {
	dir := t.TempDir()
	const public = "https://strongroom.example"
	idp := testkit.NewOIDCProvider(t, public+"/api/v1/auth/oidc/corp/callback")
	if err := os.WriteFile(filepath.Join(dir, "corp.secret"), []byte(idp.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := writeProviders(t, dir, 0o600, []map[string]any{
		{"name": "corp", "display_name": "Corp SSO", "issuer": idp.Issuer, "client_id": idp.ClientID, "client_secret_file": "corp.secret"},
		{"preset": "google", "client_id": "g-client", "client_secret_env": "TEST_SECRET"},
	})
	t.Setenv("TEST_SECRET", "s3cret")

	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := loadConfig(fs, []string{"--sign-in-providers-file", good}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "sign-in-providers-file needs public-url") {
		t.Fatalf("without public-url: error %v", err)
	}
	cfg, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(k string) string {
		return map[string]string{"STRONGROOM_SIGN_IN_PROVIDERS_FILE": good, "STRONGROOM_PUBLIC_URL": public}[k]
	})
	if err != nil || cfg.SignInProviders != good {
		t.Fatalf("from the environment: %v, %+v", err, cfg)
	}

	for _, tt := range []struct {
		name    string
		entries []map[string]any
		want    string
	}{
		{"duplicate names", []map[string]any{signInProvider("corp", nil), signInProvider("corp", nil)}, "already provider 1's"},
		{"unknown key", []map[string]any{signInProvider("corp", func(m map[string]any) { m["secret"] = "x" })}, `unknown key "secret"`},
		{"missing secret", []map[string]any{signInProvider("corp", func(m map[string]any) { m["client_secret_env"] = "UNSET_SECRET" })}, "UNSET_SECRET is not set"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeProviders(t, t.TempDir(), 0o600, tt.entries)
			data := filepath.Join(t.TempDir(), "data")
			var errb bytes.Buffer
			code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", data,
				"--public-url", public, "--sign-in-providers-file", path}, io.Discard, &errb)
			if code != 1 || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("serve exited %d: %s; want 1 and %q", code, errb.String(), tt.want)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Errorf("serve created its data folder before refusing the providers: %v", err)
			}
		})
	}

	base, _, stop := startServe(t, "--data-dir", filepath.Join(dir, "data"), "--public-url", public+"/",
		"--sign-in-providers-file", good)
	defer stop()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(target string, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", target, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	cookie := func(resp *http.Response, name string) *http.Cookie {
		t.Helper()
		for _, c := range resp.Cookies() {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("%s: no %s cookie", resp.Request.URL.Path, name)
		return nil
	}

	var list struct {
		Items []map[string]string `json:"items"`
	}
	if err := json.NewDecoder(get(base + "/api/v1/auth/oidc/providers").Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	wantList := []map[string]string{
		{"name": "corp", "display_name": "Corp SSO", "start_url": "/api/v1/auth/oidc/corp/start"},
		{"name": "google", "display_name": "Google", "start_url": "/api/v1/auth/oidc/google/start"},
	}
	if d := cmp.Diff(wantList, list.Items); d != "" {
		t.Errorf("providers (-want +got):\n%s", d)
	}

	start := get(base + "/api/v1/auth/oidc/corp/start")
	auth := start.Header.Get("Location")
	if start.StatusCode != http.StatusFound || !strings.HasPrefix(auth, idp.Issuer+"/") ||
		!strings.Contains(auth, "redirect_uri="+url.QueryEscape(public+"/api/v1/auth/oidc/corp/callback")) {
		t.Fatalf("start: %d to %q", start.StatusCode, auth)
	}
	flowCookie := cookie(start, httpapi.OIDCFlowCookie)
	back := idp.Authorize(t, auth)
	if got := back.Scheme + "://" + back.Host; got != public {
		t.Fatalf("the provider redirects to %s, want the public URL", back)
	}
	// The browser reaches the public URL; the test reaches the same server at
	// its local address.
	done := get(base+back.RequestURI(), flowCookie)
	if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != "/" {
		body, _ := io.ReadAll(done.Body)
		t.Fatalf("callback: %d to %q: %s", done.StatusCode, done.Header.Get("Location"), body)
	}
	me := get(base+"/api/v1/me", cookie(done, httpapi.SessionCookie))
	var who struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
	}
	_ = json.NewDecoder(me.Body).Decode(&who)
	if me.StatusCode != http.StatusOK || who.User.Email != testkit.DefaultOIDCUser().Email {
		t.Errorf("/api/v1/me after signing in: %d %+v", me.StatusCode, who)
	}
}
