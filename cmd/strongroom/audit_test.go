package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
)

// runCmd runs the binary's run with args and returns its exit code and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestAuditCommands: what serve audits is sealed and checkpointed by its
// sequencer; `audit verify` passes, with the keyring's key or a pinned copy,
// and fails naming the event after the database is changed behind the store.
func TestAuditCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, _, stop := startServe(t, "--data-dir", dir)
	post := func(path, token string, body any) map[string]any { return postCreated(t, url, path, token, body) }
	acct := post("/api/v1/signup", "", map[string]string{"email": "audit@example.com", "password": "correct horse battery staple", "organization": "Audit Org"})
	token, org := acct["token"].(string), acct["organization"].(map[string]any)["id"].(string)
	post("/api/v1/orgs/"+org+"/collections", token, map[string]any{"name": "notes", "schema": map[string]any{"type": "object"}})
	post("/api/v1/orgs/"+org+"/collections/notes/records", token, map[string]any{"data": map[string]string{"text": "audited"}})
	stop() // the sequencer seals and checkpoints once more on the way out

	code, pub, stderr := runCmd(t, "audit", "public-key", "--data-dir", dir, "--log-level", "error")
	if code != 0 || len(strings.TrimSpace(pub)) != 44 || !strings.Contains(stderr, "key id ed25519:") {
		t.Fatalf("audit public-key: exit %d: %q %q", code, pub, stderr)
	}
	pub = strings.TrimSpace(pub)
	code, out, _ := runCmd(t, "audit", "verify", "--data-dir", dir, "--log-level", "error")
	if code != 0 || !strings.Contains(out, "; 0 problems") || !strings.Contains(out, "0 unsealed;") || !strings.Contains(out, "ok   "+org+": 4 events, 4 sealed") {
		t.Fatalf("audit verify: exit %d:\n%s", code, out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "audit-checkpoints", org+".jsonl")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("checkpoint file: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "audit-checkpoints")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("checkpoint folder: %v", err)
	}
	if _, out, _ := runCmd(t, "doctor", "--data-dir", dir); !strings.Contains(out, "ok   audit checkpoints: "+filepath.Join(dir, "audit-checkpoints")+" (mode 0700)") {
		t.Errorf("doctor does not report the checkpoint folder:\n%s", out)
	}
	if code, out, _ := runCmd(t, "audit", "verify", "--data-dir", dir, "--public-key", pub); code != 0 {
		t.Fatalf("audit verify --public-key: exit %d:\n%s", code, out)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if code, out, _ := runCmd(t, "audit", "verify", "--data-dir", dir, "--public-key", base64.StdEncoding.EncodeToString(other)); code != 1 ||
		!strings.Contains(out, "checkpoint invalid") {
		t.Fatalf("audit verify with another key: exit %d:\n%s", code, out)
	}
	if code, out, _ := runCmd(t, "audit", "checkpoint", "--data-dir", dir, "--log-level", "error"); code != 0 || !strings.Contains(out, "ok   "+org+": checkpoint at seq") {
		t.Fatalf("audit checkpoint: exit %d:\n%s", code, out)
	}

	// Behind the store's back: drop the trigger and edit the organization's first event.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "strongroom.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var first int64
	if err := db.QueryRow("SELECT min(seq) FROM audit_events WHERE tenant_id = $1", org).Scan(&first); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER audit_events_no_update", fmt.Sprintf("UPDATE audit_events SET ip = '192.0.2.1' WHERE seq = %d", first)} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCmd(t, "audit", "verify", "--data-dir", dir, "--log-level", "error")
	want := fmt.Sprintf("PROBLEM tenant %s, seq %d: seal mismatch", org, first)
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(errOut, "failed verification") {
		t.Fatalf("audit verify after tampering: exit %d, want 1 and %q:\n%s%s", code, want, out, errOut)
	}
	if code, out, _ := runCmd(t, "audit", "verify", "--data-dir", dir, "--tenant", string(strongroom.PlatformTenant)); code != 0 {
		t.Errorf("the platform chain alone: exit %d:\n%s", code, out)
	}
	if code, out, _ := runCmd(t, "audit", "checkpoint", "--data-dir", dir, "--log-level", "error"); code != 1 || !strings.Contains(out, "FAIL "+org) {
		t.Errorf("audit checkpoint of a tampered chain: exit %d:\n%s", code, out)
	}
	if code, _, errOut := runCmd(t, "audit", "verify", "--public-key", "short", "--data-dir", dir); code != 2 || !strings.Contains(errOut, "32 bytes") {
		t.Errorf("bad --public-key: exit %d: %s", code, errOut)
	}
	if code, _, _ := runCmd(t, "audit", "bogus"); code != 2 {
		t.Errorf("unknown audit command: exit %d", code)
	}
}
