package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom/internal/testkit"
)

// TestServeSendsMailOverSMTP: with --smtp-host, serve delivers its e-mail
// through a real SMTP server (in-process, STARTTLS with AUTH PLAIN, its
// certificate trusted through --smtp-ca-file, the password from the
// environment): the address-verification link sent at sign-up arrives, and
// it verifies the address.
func TestServeSendsMailOverSMTP(t *testing.T) {
	smtp := testkit.NewSMTPServer(t, testkit.SMTPServerOptions{Username: "strongroom", Password: "smtp secret of the test"})
	ca := filepath.Join(t.TempDir(), "smtp-ca.pem")
	if err := os.WriteFile(ca, smtp.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STRONGROOM_SMTP_PASSWORD", "smtp secret of the test")
	dir := filepath.Join(t.TempDir(), "data")
	url, _, stop := startServe(t, "--data-dir", dir, "--smtp-host", smtp.Host, "--smtp-port", strconv.Itoa(smtp.Port),
		"--smtp-username", "strongroom", "--smtp-ca-file", ca, "--mail-from", "no-reply@strongroom.example")
	defer stop()

	postCreated(t, url, "/api/v1/signup", "", map[string]string{"email": "mail@example.com",
		"password": "correct horse battery staple", "organization": "Mail Org"})
	msgs := smtp.WaitFor(t, 1, 10*time.Second)
	m := msgs[0]
	if m.From != "no-reply@strongroom.example" || len(m.To) != 1 || m.To[0] != "mail@example.com" ||
		m.Subject != "Confirm your e-mail address for Strongroom" {
		t.Fatalf("message from %q to %v, subject %q", m.From, m.To, m.Subject)
	}
	token := regexp.MustCompile(`/verify-email\?token=(srl_[A-Za-z0-9_-]{43})`).FindStringSubmatch(m.Text)
	if token == nil {
		t.Fatalf("no verification link in the message:\n%s", m.Text)
	}
	b, _ := json.Marshal(map[string]string{"token": token[1]})
	resp, err := http.Post(url+"/api/v1/auth/email/verify-address", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("verifying the address: status %d", resp.StatusCode)
	}

	// The SMTP password is refused on the command line.
	code, _, stderr := runCmd(t, "serve", "--data-dir", dir, "--smtp-host", smtp.Host, "--mail-from", "a@example.com",
		"--smtp-password", "in argv")
	if code == 0 || !strings.Contains(stderr, "smtp-password") {
		t.Errorf("serve with --smtp-password: exit %d: %s", code, stderr)
	}
}
