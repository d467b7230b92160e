package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/oauthclient"
)

// provider returns a valid providers-file entry with one change applied.
func provider(name string, change func(m map[string]any)) map[string]any {
	m := map[string]any{
		"name": name, "display_name": "Example " + name,
		"auth_url": "https://" + name + ".example/oauth/authorize", "token_url": "https://" + name + ".example/oauth/token",
		"revocation_url": "https://" + name + ".example/oauth/revoke",
		"client_id":      "strongroom", "client_secret_env": "TEST_SECRET", "scopes": []string{"read"},
	}
	if change != nil {
		change(m)
	}
	return m
}

// writeProviders writes a providers file with mode and returns its path.
func writeProviders(t *testing.T, dir string, mode os.FileMode, v any) string {
	t.Helper()
	b, ok := v.(string)
	if !ok {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b = string(j)
	}
	p := filepath.Join(dir, fmt.Sprintf("providers-%d.json", len(b)))
	if err := os.WriteFile(p, []byte(b), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return p
}

func TestLoadProviders(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TEST_SECRET": "from-env"}
	getenv := func(k string) string { return env[k] }
	path := writeProviders(t, dir, 0o600, []map[string]any{
		provider("github", func(m map[string]any) {
			delete(m, "client_secret_env")
			m["client_secret_file"] = "secret.txt" // relative to the providers file
			m["auth_params"] = map[string]string{"prompt": "consent"}
		}),
		provider("slack", func(m map[string]any) { m["client_auth"] = "client_secret_post"; delete(m, "revocation_url") }),
		provider("literal", func(m map[string]any) { delete(m, "client_secret_env"); m["client_secret"] = "in-the-file" }),
	})
	got, err := loadProviders(path, getenv)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Name, Secret, Auth, Revocation string
		Params                         map[string]string
	}
	var sums []summary
	for _, p := range got {
		sums = append(sums, summary{p.Name, p.ClientSecret.Reveal(), string(p.ClientAuth), p.RevocationURL, p.AuthParams})
	}
	want := []summary{
		{"github", "from-file", "client_secret_basic", "https://github.example/oauth/revoke", map[string]string{"prompt": "consent"}},
		{"slack", "from-env", "client_secret_post", "", nil},
		{"literal", "in-the-file", "client_secret_basic", "https://literal.example/oauth/revoke", nil},
	}
	if d := cmp.Diff(want, sums); d != "" {
		t.Errorf("providers (-want +got):\n%s", d)
	}
	if s := fmt.Sprintf("%v %+v %#v", got[0], got[0], got[0]); strings.Contains(s, "from-file") {
		t.Errorf("a provider prints its secret: %s", s)
	}
	if _, err := oauthclient.New(got, oauthclient.Options{RedirectURL: "https://strongroom.example/cb"}); err != nil {
		t.Errorf("the loaded providers do not validate: %v", err)
	}
}

func TestLoadProvidersRejects(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "open-secret.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(filepath.Join(dir, "open-secret.txt"), 0o644)
	one := func(change func(m map[string]any)) []map[string]any {
		return []map[string]any{provider("github", change)}
	}
	tests := []struct {
		name string
		mode os.FileMode
		file any
		want string
	}{
		{"group-writable file", 0o620, one(nil), "writable by group or others"},
		{"world-writable file", 0o602, one(nil), "writable by group or others"},
		{"not a list", 0o600, `{"name":"x"}`, "not a JSON list"},
		{"trailing data", 0o600, `[] []`, "data after"},
		{"empty list", 0o600, `[]`, "lists no provider"},
		{"unknown key", 0o600, one(func(m map[string]any) { m["client_secrte"] = "x" }), `unknown key "client_secrte"`},
		{"wrong case", 0o600, `[{"Name":"github"}]`, `unknown key "Name"`},
		{"repeated key", 0o600, `[{"name":"a","name":"b"}]`, `"name" appears twice`},
		{"no secret", 0o600, one(func(m map[string]any) { delete(m, "client_secret_env") }), "exactly one of"},
		{"two secrets", 0o600, one(func(m map[string]any) { m["client_secret"] = "x" }), "exactly one of"},
		{"literal secret, readable file", 0o644, one(func(m map[string]any) { delete(m, "client_secret_env"); m["client_secret"] = "x" }), "chmod 600"},
		{"secret file readable by others", 0o600, one(func(m map[string]any) {
			delete(m, "client_secret_env")
			m["client_secret_file"] = "open-secret.txt"
		}), "readable by group or others"},
		{"missing secret file", 0o600, one(func(m map[string]any) { delete(m, "client_secret_env"); m["client_secret_file"] = "nope" }), "client_secret_file"},
		{"unset variable", 0o600, one(func(m map[string]any) { m["client_secret_env"] = "UNSET_SECRET" }), "UNSET_SECRET is not set"},
		{"bad variable name", 0o600, one(func(m map[string]any) { m["client_secret_env"] = "A-B" }), "environment variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeProviders(t, t.TempDir(), tt.mode, tt.file)
			if strings.Contains(tt.name, "secret file") {
				path = writeProviders(t, dir, tt.mode, tt.file) // beside the secret files
			}
			_, err := loadProviders(path, func(k string) string { return map[string]string{"TEST_SECRET": "s"}[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestProvidersConfig: the settings and the provider rules are checked before
// serve opens anything, and serve offers the configured providers.
func TestProvidersConfig(t *testing.T) {
	dir := t.TempDir()
	good := writeProviders(t, dir, 0o600, []map[string]any{provider("github", nil)})
	t.Setenv("TEST_SECRET", "s3cret")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no public URL", []string{"--oauth-providers-file", good}, "needs public-url"},
		{"public URL with a path", []string{"--public-url", "https://s.example/app"}, "without a path"},
		{"plain-http public URL", []string{"--public-url", "http://s.example"}, "https"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			_, err := loadConfig(fs, tt.args, func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name    string
		entries []map[string]any
		want    string
	}{
		{"plain-http endpoint", []map[string]any{provider("github", func(m map[string]any) { m["token_url"] = "http://github.example/token" })}, "token_url: must use https"},
		{"duplicate names", []map[string]any{provider("github", nil), provider("github", nil)}, "configured twice"},
		{"bad name", []map[string]any{provider("Git Hub", nil)}, "lower-case"},
		{"no scopes", []map[string]any{provider("github", func(m map[string]any) { m["scopes"] = []string{} })}, "at least one scope"},
		{"reserved parameter", []map[string]any{provider("github", func(m map[string]any) { m["auth_params"] = map[string]string{"redirect_uri": "x"} })}, `may not set "redirect_uri"`},
		{"bad client auth", []map[string]any{provider("github", func(m map[string]any) { m["client_auth"] = "none" })}, "client_auth"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeProviders(t, t.TempDir(), 0o600, tt.entries)
			var errb bytes.Buffer
			code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"),
				"--public-url", "https://strongroom.example", "--oauth-providers-file", path}, io.Discard, &errb)
			if code != 1 || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("serve exited %d: %s; want 1 and %q", code, errb.String(), tt.want)
			}
		})
	}

	url, _, stop := startServe(t, "--data-dir", filepath.Join(dir, "data"), "--public-url", "https://strongroom.example/",
		"--oauth-providers-file", good)
	defer stop()
	body := strings.NewReader(`{"email":"ops@example.com","password":"correct horse battery staple","organization":"Ops"}`)
	resp, err := http.Post(url+"/api/v1/signup", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	var signup struct {
		Token        string `json:"token"`
		Organization struct {
			ID string `json:"id"`
		} `json:"organization"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&signup)
	resp.Body.Close()
	req, _ := http.NewRequest("POST", url+"/api/v1/orgs/"+signup.Organization.ID+"/connections", strings.NewReader(`{"provider":"github"}`))
	req.Header.Set("Authorization", "Bearer "+signup.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var start struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&start)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(start.AuthorizationURL, "https://github.example/oauth/authorize?") ||
		!strings.Contains(start.AuthorizationURL, "redirect_uri=https%3A%2F%2Fstrongroom.example%2Fapi%2Fv1%2Fconnections%2Fcallback") {
		t.Errorf("start: %d %q", resp.StatusCode, start.AuthorizationURL)
	}
}
