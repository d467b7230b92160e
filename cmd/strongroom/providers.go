package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/oauthclient"
)

// The providers file (--oauth-providers-file) lists the third-party OAuth 2.0
// providers organizations may connect (DAT-04). It is strict JSON: a list of
// objects with exactly the keys below, each spelled exactly and given once.
// docs/connections.md describes it for operators.

// providerEntry is one provider in the file.
type providerEntry struct {
	Name          string            `json:"name"`
	DisplayName   string            `json:"display_name"`
	AuthURL       string            `json:"auth_url"`
	TokenURL      string            `json:"token_url"`
	RevocationURL string            `json:"revocation_url"`
	ClientID      string            `json:"client_id"`
	ClientAuth    string            `json:"client_auth"`
	Scopes        []string          `json:"scopes"`
	AuthParams    map[string]string `json:"auth_params"`
	secretSource
}

// secretSource is where a providers file entry takes its client secret from:
// exactly one of a file, an environment variable, or the entry itself. The
// connections' and the sign-in providers' files share it.
type secretSource struct {
	SecretFile string `json:"client_secret_file"`
	SecretEnv  string `json:"client_secret_env"`
	Secret     string `json:"client_secret"`
}

var providerKeys = map[string]bool{
	"name": true, "display_name": true, "auth_url": true, "token_url": true, "revocation_url": true,
	"client_id": true, "client_secret_file": true, "client_secret_env": true, "client_secret": true,
	"client_auth": true, "scopes": true, "auth_params": true,
}

// maxSecretFile bounds a client secret file.
const maxSecretFile = 4096

// readPrivate reads a regular file of at most limit bytes, refusing one that
// group or others may change (or, with private, read).
func readPrivate(path string, limit int64, private bool) ([]byte, os.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	perm := fi.Mode().Perm()
	switch {
	case !fi.Mode().IsRegular():
		return nil, 0, errors.New("is not a regular file")
	case perm&0o022 != 0:
		return nil, 0, fmt.Errorf("is writable by group or others (mode %o): chmod go-w", perm)
	case private && perm&0o077 != 0:
		return nil, 0, fmt.Errorf("is readable by group or others (mode %o): chmod 600", perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, 0, err
	}
	if int64(len(b)) > limit {
		return nil, 0, fmt.Errorf("is larger than %d bytes", limit)
	}
	return b, perm, nil
}

// loadProviders reads and checks the providers file, resolving each client
// secret from its file (relative paths are relative to the providers file),
// its environment variable, or, only when the providers file is readable by
// its owner alone, the file itself.
func loadProviders(path string, getenv func(string) string) ([]oauthclient.Provider, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("oauth-providers-file %s: %s", path, fmt.Sprintf(format, args...))
	}
	entries, perm, err := readEntries[providerEntry](path, providerKeys)
	if err != nil {
		return nil, fail("%v", err)
	}
	var out []oauthclient.Provider
	for i, e := range entries {
		secret, err := e.load(filepath.Dir(path), perm, getenv)
		if err != nil {
			return nil, fail("provider %d (%s): %v", i+1, e.Name, err)
		}
		auth := oauthclient.ClientAuth(e.ClientAuth)
		if auth == "" {
			auth = oauthclient.ClientSecretBasic
		}
		out = append(out, oauthclient.Provider{Name: e.Name, DisplayName: e.DisplayName, AuthURL: e.AuthURL,
			TokenURL: e.TokenURL, RevocationURL: e.RevocationURL, ClientID: e.ClientID, ClientSecret: oauthclient.NewSecret(secret),
			ClientAuth: auth, Scopes: e.Scopes, AuthParams: e.AuthParams})
	}
	return out, nil
}

// readEntries reads a providers file: a regular file at most 1 MiB large
// that group and others cannot change, holding a non-empty, strict JSON list
// of objects whose keys are exactly those allowed, each given once. It
// returns the entries and the file's mode.
func readEntries[T any](path string, allowed map[string]bool) ([]T, os.FileMode, error) {
	b, perm, err := readPrivate(path, maxConfigFile, false)
	if err != nil {
		return nil, 0, err
	}
	var raw []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return nil, 0, fmt.Errorf("not a JSON list of providers: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, 0, errors.New("data after the JSON list")
	}
	if len(raw) == 0 {
		return nil, 0, errors.New("lists no provider")
	}
	out := make([]T, len(raw))
	for i, r := range raw {
		if err := exactKeys(r, allowed); err != nil {
			return nil, 0, fmt.Errorf("provider %d: %w", i+1, err)
		}
		d := json.NewDecoder(bytes.NewReader(r))
		d.DisallowUnknownFields()
		if err := d.Decode(&out[i]); err != nil {
			return nil, 0, fmt.Errorf("provider %d: %w", i+1, err)
		}
	}
	return out, perm, nil
}

// load resolves the client secret from its one source. A relative
// client_secret_file is relative to dir, the providers file's folder; a
// literal client_secret is accepted only when the providers file (of mode
// filePerm) is readable by its owner alone.
func (src secretSource) load(dir string, filePerm os.FileMode, getenv func(string) string) (string, error) {
	n := 0
	for _, v := range []string{src.SecretFile, src.SecretEnv, src.Secret} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return "", errors.New("give exactly one of client_secret_file, client_secret_env or client_secret")
	}
	switch {
	case src.SecretFile != "":
		p := src.SecretFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, _, err := readPrivate(p, maxSecretFile, true)
		if err != nil {
			return "", fmt.Errorf("client_secret_file %s %v", p, err)
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
		return "", fmt.Errorf("client_secret_file %s is empty", p)
	case src.SecretEnv != "":
		if !envName.MatchString(src.SecretEnv) {
			return "", errors.New("client_secret_env must be an environment variable name")
		}
		if s := getenv(src.SecretEnv); s != "" {
			return s, nil
		}
		return "", fmt.Errorf("client_secret_env: %s is not set", src.SecretEnv)
	}
	if filePerm&0o077 != 0 {
		return "", fmt.Errorf("a literal client_secret needs the providers file to be readable by its owner only (mode %o; chmod 600), "+
			"or use client_secret_file or client_secret_env", filePerm)
	}
	return src.Secret, nil
}

// exactKeys refuses an object member that is not in allowed, spelled
// otherwise (encoding/json would match "Name" to "name"), or repeated (the
// last would win).
func exactKeys(obj json.RawMessage, allowed map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := tok.(string)
		switch {
		case !allowed[k]:
			return fmt.Errorf("unknown key %q", k)
		case seen[k]:
			return fmt.Errorf("key %q appears twice", k)
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}

// openConnections loads the providers file and returns the client that talks
// to the providers, or nil when none are configured.
func openConnections(cfg *Config, getenv func(string) string) (*oauthclient.Client, error) {
	if cfg.OAuthProviders == "" {
		return nil, nil
	}
	providers, err := loadProviders(cfg.OAuthProviders, getenv)
	if err != nil {
		return nil, err
	}
	c, err := oauthclient.New(providers, oauthclient.Options{RedirectURL: cfg.PublicURL + httpapi.ConnectionCallbackPath})
	if err != nil {
		return nil, fmt.Errorf("oauth-providers-file %s: %w", cfg.OAuthProviders, err)
	}
	return c, nil
}
