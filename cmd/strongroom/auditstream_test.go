package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom/auditstream"
	"strongroom.dev/strongroom/internal/testkit"
)

func TestAuditStreamConfig(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	tests := []struct {
		name string
		args []string
		want string // "" for accepted
	}{
		{"webhook with a secret file", []string{"--audit-webhook-url", "https://siem.example.com/in", "--audit-webhook-secret-file", secretFile}, ""},
		{"webhook with a secret variable", []string{"--audit-webhook-url", "http://127.0.0.1:8088/in", "--audit-webhook-secret-env", "SIEM_SECRET"}, ""},
		{"file sink alone", []string{"--audit-file-sink", "audit.jsonl"}, ""},
		{"webhook without a secret", []string{"--audit-webhook-url", "https://siem.example.com/in"}, "needs one of"},
		{"two secret sources", []string{"--audit-webhook-url", "https://siem.example.com/in", "--audit-webhook-secret-file", secretFile,
			"--audit-webhook-secret-env", "SIEM_SECRET"}, "needs one of"},
		{"secret without webhook", []string{"--audit-webhook-secret-env", "SIEM_SECRET"}, "not set"},
		{"plain http off loopback", []string{"--audit-webhook-url", "http://siem.example.com/in", "--audit-webhook-secret-env", "S"}, "https"},
		{"credentials in the URL", []string{"--audit-webhook-url", "https://u:p@siem.example.com/in", "--audit-webhook-secret-env", "S"}, "credentials"},
		{"not a variable name", []string{"--audit-webhook-url", "https://siem.example.com/in", "--audit-webhook-secret-env", "a secret"}, "variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			_, err := loadConfig(fs, tt.args, func(string) string { return "" })
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestServeStreamsAudit: serve delivers what it audits to a signed webhook and
// a file, and refuses to start with a secret file others can read.
func TestServeStreamsAudit(t *testing.T) {
	dir := t.TempDir()
	secret := "a webhook secret of enough length"
	secretFile := filepath.Join(dir, "webhook.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var received []auditstream.Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(auditstream.HeaderTimestamp)
		want := "v1=" + auditstream.Sign([]byte(secret), ts, body)
		if !hmac.Equal([]byte(r.Header.Get(auditstream.HeaderSignature)), []byte(want)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b struct{ Events []auditstream.Event }
		if err := json.Unmarshal(body, &b); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		received = append(received, b.Events...)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	file := filepath.Join(dir, "siem", "audit.jsonl")
	args := []string{"--data-dir", filepath.Join(dir, "data"), "--audit-webhook-url", srv.URL + "/in",
		"--audit-webhook-secret-file", secretFile, "--audit-file-sink", file,
		"--audit-blob-sink", "file://" + filepath.Join(dir, "bucket")}

	url, _, stop := startServe(t, args...)
	postCreated(t, url, "/api/v1/signup", "", map[string]string{"email": "stream@example.com",
		"password": "correct horse battery staple", "organization": "Stream Org"})
	actions := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, e := range received {
			out = append(out, e.Action)
		}
		return out
	}
	readFile := func() []auditstream.Event {
		f, err := os.Open(file)
		if err != nil {
			return nil
		}
		defer f.Close()
		var out []auditstream.Event
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e auditstream.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("file line %q: %v", sc.Text(), err)
			}
			out = append(out, e)
		}
		return out
	}
	bucketEvents := func() int {
		objects, _ := filepath.Glob(filepath.Join(dir, "bucket", "*.jsonl"))
		n := 0
		for _, o := range objects {
			b, err := os.ReadFile(o)
			if err != nil {
				t.Fatal(err)
			}
			n += bytes.Count(b, []byte("\n"))
		}
		return n
	}
	testkit.WaitFor(t, 20*time.Second, func() bool {
		return len(actions()) >= 3 && len(readFile()) >= 3 && bucketEvents() >= 3
	})
	stop()

	lines := readFile()
	mu.Lock()
	for i := range min(len(lines), len(received)) {
		if lines[i].ID != received[i].ID {
			t.Errorf("event %d: the file has %s, the webhook received %s: want the same order", i, lines[i].ID, received[i].ID)
		}
	}
	mu.Unlock()
	for _, e := range lines {
		if len(e.Hash) != 64 || e.ID != e.Hash[:32] || e.Seq <= 0 || e.Action == "" {
			t.Errorf("file event %+v: want a seq, an action, and an ID that begins its hash", e)
		}
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file sink: %v; want mode 600", err)
	}

	// A secret file others can read is refused at start.
	if err := os.Chmod(secretFile, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	if code == 0 || !strings.Contains(errOut, "audit-webhook-secret-file") {
		t.Errorf("serve with a readable secret file: exit %d: %s", code, errOut)
	}
}
