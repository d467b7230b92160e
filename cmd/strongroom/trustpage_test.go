package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/trust"
)

// TestTrustPageServe: a served /trust.json states how this server was started
// (TLS behind a trusted proxy, a master key from an environment variable, the
// retention settings) and shows the 'audit verify' run recorded before it
// started, on both engines.
func TestTrustPageServe(t *testing.T) {
	engines := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"--data-dir", filepath.Join(t.TempDir(), "data")} }},
		{"postgres", func(t *testing.T) []string {
			db := testkit.NewPostgresDB(t)
			dir := t.TempDir()
			key := filepath.Join(dir, "master.key")
			if _, _, err := keyring.CreateKeyFile(key, nil); err != nil {
				t.Fatal(err)
			}
			return []string{"--database", db.AppURL, "--data-dir", dir, "--master-key-file", key}
		}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			args := append(e.args(t), "--dsr-deadline", "336h")
			_, _, stop := startServe(t, args...) // migrates, creates the signing key and the checkpoint folder
			stop()
			if code, out, stderr := runCmd(t, append([]string{"audit", "checkpoint", "--log-level", "error"}, args...)...); code != 0 {
				t.Fatalf("audit checkpoint: exit %d:\n%s%s", code, out, stderr)
			}
			if code, out, stderr := runCmd(t, append([]string{"audit", "verify", "--log-level", "error"}, args...)...); code != 0 {
				t.Fatalf("audit verify: exit %d:\n%s%s", code, out, stderr)
			}
			url, _, stop := startServe(t, append(args, "--tls-proxy", "--trusted-proxies", "127.0.0.1/32")...)
			defer stop()
			resp, err := http.Get(url + "/trust.json")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("trust.json: %d %v %s", resp.StatusCode, err, body)
			}
			var p trust.Page
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"tls.mode": "proxy", "retention.dsr_deadline_days": "14", "at_rest.master_key_source": "key file"}
			for id, v := range want {
				c := p.Claim(id)
				if c == nil || strings.Trim(string(mustJSON(t, c.Value)), `"`) != v {
					t.Errorf("claim %s = %+v, want %s", id, c, v)
				}
			}
			if c := p.Claim("audit.last_verified"); c == nil || !strings.HasSuffix(c.Answer, ", passed") {
				t.Errorf("last verification %+v", c)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
