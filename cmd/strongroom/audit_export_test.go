package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
)

// TestAuditExportVerifyFile: a real export from a running server, on both
// engines, verifies with `audit verify --file` and the pinned public key,
// with nothing else (no database, no configuration); every kind of damage to
// the file fails with exit 1, naming the line.
func TestAuditExportVerifyFile(t *testing.T) {
	engines := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"--data-dir", filepath.Join(t.TempDir(), "data")} }},
		{"postgres", func(t *testing.T) []string {
			db := testkit.NewPostgresDB(t) // migrated by its owner; serve runs as the application role
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
			args := e.args(t)
			url, _, stop := startServe(t, args...)
			post := func(path, token string, body any) map[string]any { return postCreated(t, url, path, token, body) }
			acct := post("/api/v1/signup", "", map[string]string{"email": "export@example.com", "password": "correct horse battery staple", "organization": "Export Org"})
			token, org := acct["token"].(string), acct["organization"].(map[string]any)["id"].(string)
			post("/api/v1/orgs/"+org+"/collections", token, map[string]any{"name": "notes", "schema": map[string]any{"type": "object"}})
			for i := range 3 {
				post("/api/v1/orgs/"+org+"/collections/notes/records", token, map[string]any{"data": map[string]int{"n": i}})
			}
			stop() // the sequencer seals and checkpoints once more on the way out
			// On PostgreSQL, other tests' transactions on the cluster may hold
			// back sealing past the shutdown's last round: seal and sign the
			// rest until every event is covered.
			testkit.WaitFor(t, time.Minute, func() bool {
				if code, out, stderr := runCmd(t, append([]string{"audit", "checkpoint", "--log-level", "error"}, args...)...); code != 0 {
					t.Fatalf("audit checkpoint: exit %d:\n%s%s", code, out, stderr)
				}
				_, out, _ := runCmd(t, append([]string{"audit", "verify", "--log-level", "error"}, args...)...)
				return strings.Contains(out, " 0 unsealed; 0 problems")
			})
			url, _, stop = startServe(t, args...)
			defer stop()

			req, _ := http.NewRequest("GET", url+"/api/v1/orgs/"+org+"/audit/export", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			export, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("export: %d %v: %s", resp.StatusCode, err, export)
			}
			code, pub, stderr := runCmd(t, append([]string{"audit", "public-key", "--log-level", "error"}, args...)...)
			if code != 0 {
				t.Fatalf("audit public-key: exit %d: %s", code, stderr)
			}
			pub = strings.TrimSpace(pub)

			// Verified in an empty folder, with no configuration at all.
			dir := t.TempDir()
			t.Chdir(dir)
			file := filepath.Join(dir, "export.jsonl")
			write := func(b []byte) {
				if err := os.WriteFile(file, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write(export)
			code, out, stderr := runCmd(t, "audit", "verify", "--file", file, "--public-key", pub)
			if code != 0 || !strings.Contains(out, "ok   "+file+": the audit log of "+org) || !strings.Contains(out, "every seal recomputed") {
				t.Fatalf("a genuine export: exit %d:\n%s%s", code, out, stderr)
			}
			t.Logf("audit verify --file:\n%s", out)
			lines := bytes.SplitAfter(export, []byte("\n"))
			lines = lines[:len(lines)-1] // after the last newline
			var ev []int                 // the event lines
			for i, l := range lines {
				if bytes.HasPrefix(l, []byte(`{"type":"event",`)) {
					ev = append(ev, i)
				}
			}
			if len(ev) < 5 || ev[1] != ev[0]+1 {
				t.Fatalf("a short export:\n%s", export)
			}
			// with returns the lines with line i replaced by repl (none: removed).
			with := func(i int, repl ...[]byte) []byte {
				out := append(append(append([][]byte{}, lines[:i]...), repl...), lines[i+1:]...)
				return bytes.Join(out, nil)
			}
			swapped := append([][]byte{}, lines...)
			swapped[ev[0]], swapped[ev[1]] = swapped[ev[1]], swapped[ev[0]]
			other, _, _ := ed25519.GenerateKey(rand.Reader)
			tests := []struct {
				name string
				file []byte
				key  string
				want string
			}{
				{"an event field edited", with(ev[1], bytes.Replace(lines[ev[1]], []byte(`"request_id":"`), []byte(`"request_id":"x`), 1)), pub,
					fmt.Sprintf(`line %d (seq `, ev[1]+1)},
				{"a line deleted", with(ev[1]), pub, fmt.Sprintf("line %d (seq ", ev[1]+1)},
				{"two lines reordered", bytes.Join(swapped, nil), pub, fmt.Sprintf("line %d (seq ", ev[0]+1)},
				{"truncated", export[:len(export)-25], pub, fmt.Sprintf("line %d: the line has no newline", len(lines))},
				{"truncated at a line", bytes.Join(lines[:len(lines)-1], nil), pub, "end of file"},
				{"the wrong public key", export, base64.StdEncoding.EncodeToString(other), "line 1: the export's checkpoints are signed with"},
				{"a malformed line", with(ev[0], []byte("{\"type\":\"event\",\n"), lines[ev[0]]), pub, fmt.Sprintf("line %d: the event line is not valid", ev[0]+1)},
				{"an oversized line", with(ev[0], append(bytes.Repeat([]byte{'x'}, 5<<20), '\n'), lines[ev[0]]), pub,
					fmt.Sprintf("line %d: the line is longer than", ev[0]+1)},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					write(tt.file)
					code, out, stderr := runCmd(t, "audit", "verify", "--file", file, "--public-key", tt.key)
					if code != 1 || !strings.Contains(out, "FAIL "+file+", "+tt.want) || !strings.Contains(stderr, "the export failed verification") {
						t.Errorf("exit %d, want 1 and %q:\n%s%s", code, tt.want, out, stderr)
					}
					t.Logf("%s%s", out, stderr)
				})
			}

			// Usage: the key is required, and nothing but the file and the key.
			write(export)
			for _, bad := range [][]string{
				{"--file", file},
				{"--file", file, "--public-key", "short"},
				{"--file", file, "--public-key", pub, "--data-dir", dir},
				{"--file", file, "--public-key", pub, "extra"},
			} {
				if code, _, _ := runCmd(t, append([]string{"audit", "verify"}, bad...)...); code != 2 {
					t.Errorf("audit verify %v: exit %d, want 2", bad, code)
				}
			}
			if code, _, stderr := runCmd(t, "audit", "verify", "--file", filepath.Join(dir, "missing.jsonl"), "--public-key", pub); code != 1 ||
				!strings.Contains(stderr, "opening the export") {
				t.Errorf("a missing file: exit %d: %s", code, stderr)
			}
		})
	}
}
