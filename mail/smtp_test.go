package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

const (
	testUser     = "relay-user"
	testPassword = "correct horse battery staple"
)

// testNow is the time the senders in these tests see.
var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// newTestSender returns an SMTP sender for srv with cfg's blanks filled in:
// srv's address and roots, a From address, a short timeout. Its log is
// written to the returned buffer.
func newTestSender(t *testing.T, srv *testServer, cfg SMTPConfig) (*SMTP, *syncBuffer) {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = srv.Host
	}
	if cfg.Port == 0 {
		cfg.Port = srv.Port
	}
	if cfg.RootCAs == nil {
		cfg.RootCAs = srv.RootCAs
	}
	if cfg.From == "" {
		cfg.From = "no-reply@strongroom.example"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "strongroom.test"
	}
	var logs syncBuffer
	s, err := NewSMTP(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	s.now = func() time.Time { return testNow }
	return s, &logs
}

func testMessage1() Message {
	return Message{
		To:      "ana@example.com",
		Subject: "Your sign-in code",
		Text:    "Your code is 483920.\n",
		Kind:    "signin-code",
	}
}

// hardText exercises quoted-printable and SMTP: non-ASCII, '=', a line
// longer than 76 characters, trailing spaces, a lone dot (dot-stuffing) and
// "From " at the start of a line.
var hardText = "Hello Zoë, 北京 says hi.\n" +
	"1 + 1 = 2; a=b; =41 is not A.\n" +
	strings.Repeat("long line ", 20) + "end\n" +
	"trailing spaces   \n" +
	".\n" +
	"From the team\n"

func TestSMTPStartTLSWithAuth(t *testing.T) {
	srv := newTestServer(t, testServerOptions{TLS: TLSStartTLS, Username: testUser, Password: testPassword})
	s, logs := newTestSender(t, srv, SMTPConfig{TLS: TLSStartTLS, Username: testUser, Password: testPassword})

	m := Message{
		To:      "ana@example.com",
		Subject: "Zoë 北京: your sign-in code",
		Text:    hardText,
		HTML:    "<p>Hello Zoë, your code is <b>483920</b>.</p>",
		Kind:    "signin-code",
	}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if !r.TLS || r.User != testUser {
		t.Errorf("session TLS=%v user=%q, want TLS as %q", r.TLS, r.User, testUser)
	}
	if r.From != "no-reply@strongroom.example" || !cmp.Equal(r.To, []string{"ana@example.com"}) {
		t.Errorf("envelope from %q to %q", r.From, r.To)
	}
	d := decodeMessage(t, r.Raw)
	if d.Subject != m.Subject {
		t.Errorf("Subject = %q, want %q", d.Subject, m.Subject)
	}
	if diff := cmp.Diff(crlfToLF(m.Text), d.Text); diff != "" {
		t.Errorf("text body (-sent +received):\n%s", diff)
	}
	if diff := cmp.Diff(m.HTML, d.HTML); diff != "" {
		t.Errorf("HTML body (-sent +received):\n%s", diff)
	}
	checkHeaders(t, d.Header)

	// The log says what was sent and to which domain, never to whom or what.
	out := logs.String()
	for _, want := range []string{"e-mail sent", "signin-code", "example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("log does not contain %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"ana@", "483920", testPassword, "Zoë"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}

// checkHeaders checks the headers every message carries.
func checkHeaders(t *testing.T, h netmail.Header) {
	t.Helper()
	if got := h.Get("From"); got != "<no-reply@strongroom.example>" && got != "no-reply@strongroom.example" {
		t.Errorf("From = %q", got)
	}
	if got := h.Get("To"); got != "<ana@example.com>" && got != "ana@example.com" {
		t.Errorf("To = %q", got)
	}
	if date, err := h.Date(); err != nil || !date.Equal(testNow) {
		t.Errorf("Date = %q (%v), want %v", h.Get("Date"), err, testNow)
	}
	id := h.Get("Message-Id")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@strongroom.example>") || len(id) < 40 {
		t.Errorf("Message-ID = %q, want <random@strongroom.example>", id)
	}
	if got := h.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if got := h.Get("User-Agent") + h.Get("X-Mailer"); got != "" {
		t.Errorf("the message names its mailer: %q", got)
	}
}

func TestSMTPLongSubjects(t *testing.T) {
	// The longest subjects allowed are folded into lines SMTP accepts and
	// decode to what was sent.
	srv := newTestServer(t, testServerOptions{TLS: TLSNone})
	s, _ := newTestSender(t, srv, SMTPConfig{TLS: TLSNone})
	subjects := []string{
		strings.Repeat("北", MaxSubjectRunes),
		strings.Repeat("a", MaxSubjectRunes),
		strings.Repeat("Zoë 北京 ", MaxSubjectRunes/7),
	}
	for _, subject := range subjects {
		m := testMessage1()
		m.Subject = subject
		if err := s.Send(t.Context(), m); err != nil {
			t.Fatalf("Send with a %d-character subject: %v", utf8.RuneCountInString(subject), err)
		}
	}
	got := srv.Messages()
	if len(got) != len(subjects) {
		t.Fatalf("server received %d messages, want %d", len(got), len(subjects))
	}
	for i, r := range got {
		if d := decodeMessage(t, r.Raw); d.Subject != subjects[i] {
			t.Errorf("subject %d = %q, want %q", i, d.Subject, subjects[i])
		}
		for line := range bytes.Lines(r.Raw) {
			if len(line) > 1000 {
				t.Errorf("message %d has a line of %d bytes", i, len(line))
			}
		}
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	srv := newTestServer(t, testServerOptions{TLS: TLSStartTLS, Username: testUser, Password: testPassword})
	s, _ := newTestSender(t, srv, SMTPConfig{Username: testUser, Password: "wrong password"})

	err := s.Send(t.Context(), testMessage1())
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	for _, want := range []string{"AUTH", "535"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "wrong password") {
		t.Errorf("error contains the password: %v", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := newTestServer(t, testServerOptions{TLS: TLSImplicit, Username: testUser, Password: testPassword})
	s, _ := newTestSender(t, srv, SMTPConfig{TLS: TLSImplicit, Username: testUser, Password: testPassword})

	m := testMessage1()
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	if !got[0].TLS || got[0].User != testUser {
		t.Errorf("session TLS=%v user=%q", got[0].TLS, got[0].User)
	}
	if d := decodeMessage(t, got[0].Raw); d.Text != crlfToLF(m.Text) || d.Subject != m.Subject {
		t.Errorf("received subject %q text %q", d.Subject, d.Text)
	}
	// Nothing readable crossed the network.
	if w := srv.Wire(); bytes.Contains(w, []byte("EHLO")) || bytes.Contains(w, []byte("483920")) {
		t.Error("plain text on the wire of an implicit TLS session")
	}
}

func TestSMTPNoTLSOnLoopback(t *testing.T) {
	srv := newTestServer(t, testServerOptions{TLS: TLSNone})
	s, _ := newTestSender(t, srv, SMTPConfig{TLS: TLSNone})

	m := Message{To: "ana@example.com", Subject: "Zoë 北京", Text: hardText, Kind: "new-device"}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	d := decodeMessage(t, got[0].Raw)
	if d.Subject != m.Subject {
		t.Errorf("Subject = %q, want %q", d.Subject, m.Subject)
	}
	if diff := cmp.Diff(crlfToLF(m.Text), d.Text); diff != "" {
		t.Errorf("text body (-sent +received):\n%s", diff)
	}
	if d.HTML != "" {
		t.Errorf("an HTML part appeared: %q", d.HTML)
	}
	checkHeaders(t, d.Header)
}

func TestSMTPUntrustedCertificate(t *testing.T) {
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			other, _ := newTestCert(t) // not in srv.RootCAs
			srv := newTestServer(t, testServerOptions{TLS: mode, Cert: &other, Username: testUser, Password: testPassword})
			s, _ := newTestSender(t, srv, SMTPConfig{TLS: mode, Username: testUser, Password: testPassword})

			err := s.Send(t.Context(), testMessage1())
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("Send to a server with an untrusted certificate: %v, want a certificate error", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server received %d messages", n)
			}
			if bytes.Contains(srv.Wire(), []byte("AUTH")) {
				t.Error("the client tried to authenticate")
			}
		})
	}
}

func TestSMTPCertificateForAnotherHost(t *testing.T) {
	// The certificate is valid for 127.0.0.1 and localhost; connecting to
	// 127.0.0.1 under another name must fail verification.
	srv := newTestServer(t, testServerOptions{TLS: TLSStartTLS})
	s, _ := newTestSender(t, srv, SMTPConfig{})
	s.tlsConf.ServerName = "mail.example.com" // as if Host were that name, resolving to 127.0.0.1
	err := s.Send(t.Context(), testMessage1())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Send: %v, want a certificate error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestSMTPRequiresSTARTTLS(t *testing.T) {
	// A server (or an attacker in the path) that offers AUTH PLAIN in the
	// clear and no STARTTLS.
	srv := newTestServer(t, testServerOptions{TLS: TLSNone, InsecureAuth: true, Username: testUser, Password: testPassword})
	s, _ := newTestSender(t, srv, SMTPConfig{TLS: TLSStartTLS, Username: testUser, Password: testPassword})

	err := s.Send(t.Context(), testMessage1())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send: %v, want an error about STARTTLS", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
	wire := srv.Wire()
	if !bytes.Contains(wire, []byte("EHLO")) {
		t.Fatalf("the wire record is empty: %q", wire)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword))
	for _, secret := range []string{"AUTH", "MAIL FROM", testPassword, plain} {
		if bytes.Contains(wire, []byte(secret)) {
			t.Errorf("the client sent %q in the clear:\n%s", secret, wire)
		}
	}
}

func TestSMTPServerWithoutAuth(t *testing.T) {
	// STARTTLS works but the server offers no AUTH: the configured
	// credentials cannot be used, and the message is not sent without them.
	srv := newTestServer(t, testServerOptions{TLS: TLSStartTLS})
	s, _ := newTestSender(t, srv, SMTPConfig{Username: testUser, Password: testPassword})
	err := s.Send(t.Context(), testMessage1())
	if err == nil || !strings.Contains(err.Error(), "AUTH PLAIN") {
		t.Fatalf("Send: %v, want an error about AUTH PLAIN", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestPlainOverTLSRefusesPlainText(t *testing.T) {
	a := &plainOverTLS{username: testUser, password: testPassword}
	for _, tc := range []struct {
		name   string
		server gosmtp.ServerInfo
		ok     bool
	}{
		{"TLS and PLAIN", gosmtp.ServerInfo{Name: "mail.example.com", TLS: true, Auth: []string{"LOGIN", "PLAIN"}}, true},
		{"no TLS", gosmtp.ServerInfo{Name: "mail.example.com", Auth: []string{"PLAIN"}}, false},
		{"no TLS on localhost", gosmtp.ServerInfo{Name: "localhost", Auth: []string{"PLAIN"}}, false},
		{"PLAIN not offered", gosmtp.ServerInfo{Name: "mail.example.com", TLS: true, Auth: []string{"LOGIN"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mech, resp, err := a.Start(&tc.server)
			if !tc.ok {
				if err == nil || resp != nil {
					t.Fatalf("Start = %q, %q, %v; want a refusal and no credentials", mech, resp, err)
				}
				return
			}
			if err != nil || mech != "PLAIN" || string(resp) != "\x00"+testUser+"\x00"+testPassword {
				t.Fatalf("Start = %q, %q, %v", mech, resp, err)
			}
		})
	}
}

func TestSMTPRedactsRecipient(t *testing.T) {
	srv := newTestServer(t, testServerOptions{TLS: TLSNone, RejectRcpt: true})
	s, _ := newTestSender(t, srv, SMTPConfig{TLS: TLSNone})

	m := testMessage1()
	m.To = "Ana.Lopez@Example.com"
	err := s.Send(t.Context(), m)
	if err == nil {
		t.Fatal("Send to a refused recipient succeeded")
	}
	if strings.Contains(strings.ToLower(err.Error()), "ana.lopez") {
		t.Errorf("error names the recipient: %v", err)
	}
	for _, want := range []string{"550", "Example.com", "[recipient]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestSMTPTimeoutAndCancel(t *testing.T) {
	// A server that accepts connections and never says a word.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	t.Cleanup(func() { l.Close(); conns.Wait() })
	conns.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { _, _ = io.Copy(io.Discard, c); c.Close() })
		}
	})
	port := l.Addr().(*net.TCPAddr).Port

	t.Run("timeout", func(t *testing.T) {
		s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "no-reply@strongroom.example", Timeout: 200 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := s.Send(t.Context(), testMessage1()); err == nil {
			t.Fatal("Send to a silent server succeeded")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %v with a 200ms timeout", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "no-reply@strongroom.example", Timeout: time.Minute}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = s.Send(ctx, testMessage1())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send: %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %v after its context ended at 200ms", d)
		}
	})
	t.Run("already canceled", func(t *testing.T) {
		s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "no-reply@strongroom.example"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Send(ctx, testMessage1()); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send: %v, want context.Canceled", err)
		}
	})
}

func TestSMTPAcceptedThenHungUp(t *testing.T) {
	// Once the server has accepted the message, a failure to end the session
	// is not a failed delivery: the caller must not send the code twice.
	srv := newTestServer(t, testServerOptions{TLS: TLSNone, HangUpOnRSET: true})
	s, logs := newTestSender(t, srv, SMTPConfig{TLS: TLSNone})
	if err := s.Send(t.Context(), testMessage1()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("server received %d messages, want 1", n)
	}
	if out := logs.String(); !strings.Contains(out, "did not end cleanly") {
		t.Errorf("no warning logged:\n%s", out)
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	srv := newTestServer(t, testServerOptions{TLS: TLSStartTLS, Username: testUser, Password: testPassword})
	s, _ := newTestSender(t, srv, SMTPConfig{Username: testUser, Password: testPassword})

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m := testMessage1()
			m.To = fmt.Sprintf("user%d@example.com", i)
			errs[i] = s.Send(t.Context(), m)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range srv.Messages() {
		ids[decodeMessage(t, r.Raw).Header.Get("Message-Id")] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct Message-IDs for %d messages", len(ids), n)
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	good := SMTPConfig{Host: "smtp.example.com", Port: 587, Username: "u", Password: "s3cret-relay-password", From: "no-reply@example.com"}
	for _, tc := range []struct {
		name string
		edit func(*SMTPConfig)
		want string // "" for valid
	}{
		{"good", func(c *SMTPConfig) {}, ""},
		{"implicit", func(c *SMTPConfig) { c.TLS, c.Port = TLSImplicit, 465 }, ""},
		{"no auth", func(c *SMTPConfig) { c.Username, c.Password = "", "" }, ""},
		{"IPv6 host", func(c *SMTPConfig) { c.Host = "2001:db8::25" }, ""},
		{"none on 127.0.0.1", func(c *SMTPConfig) { c.Host, c.TLS, c.Username, c.Password = "127.0.0.1", TLSNone, "", "" }, ""},
		{"none on localhost", func(c *SMTPConfig) { c.Host, c.TLS, c.Username, c.Password = "localhost", TLSNone, "", "" }, ""},
		{"none on ::1", func(c *SMTPConfig) { c.Host, c.TLS, c.Username, c.Password = "::1", TLSNone, "", "" }, ""},
		{"none on a remote host", func(c *SMTPConfig) { c.TLS, c.Username, c.Password = TLSNone, "", "" }, "allowed only for a server on this machine"},
		{"none on a private address", func(c *SMTPConfig) { c.Host, c.TLS, c.Username, c.Password = "10.0.0.25", TLSNone, "", "" }, "allowed only for a server on this machine"},
		{"none on localhost.example.com", func(c *SMTPConfig) { c.Host, c.TLS, c.Username, c.Password = "localhost.example.com", TLSNone, "", "" }, "allowed only"},
		{"none with a username", func(c *SMTPConfig) { c.Host, c.TLS = "127.0.0.1", TLSNone }, "never sent in plain text"},
		{"unknown TLS mode", func(c *SMTPConfig) { c.TLS = "opportunistic" }, "unknown TLS mode"},
		{"no host", func(c *SMTPConfig) { c.Host = "" }, "host is required"},
		{"host with port", func(c *SMTPConfig) { c.Host = "smtp.example.com:587" }, "not a DNS name"},
		{"host with scheme", func(c *SMTPConfig) { c.Host = "smtp://smtp.example.com" }, "not a DNS name"},
		{"bracketed IPv6", func(c *SMTPConfig) { c.Host = "[::1]" }, "not a DNS name"},
		{"port 0", func(c *SMTPConfig) { c.Port = 0 }, "port 0"},
		{"port 65536", func(c *SMTPConfig) { c.Port = 65536 }, "port 65536"},
		{"password without username", func(c *SMTPConfig) { c.Username = "" }, "password is set without a username"},
		{"username without password", func(c *SMTPConfig) { c.Password = "" }, "username is set without a password"},
		{"NUL in password", func(c *SMTPConfig) { c.Password = "a\x00b" }, "NUL"},
		{"control character in username", func(c *SMTPConfig) { c.Username = "a\nb" }, "control character"},
		{"no From", func(c *SMTPConfig) { c.From = "" }, "sender (From) address is empty"},
		{"From with a name", func(c *SMTPConfig) { c.From = "Strongroom <no-reply@example.com>" }, "plain address"},
		{"From with CRLF", func(c *SMTPConfig) { c.From = "no-reply@example.com\r\nBcc: x@y" }, "line break"},
		{"negative timeout", func(c *SMTPConfig) { c.Timeout = -time.Second }, "negative"},
		{"hello name with a space", func(c *SMTPConfig) { c.HelloName = "a b" }, "hello name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), good.Password) {
				t.Errorf("error contains the password: %v", err)
			}
			if _, nerr := NewSMTP(c, nil); (nerr == nil) != (err == nil) {
				t.Errorf("NewSMTP error %v, Validate error %v", nerr, err)
			}
		})
	}
}

func TestSMTPConfigStringHidesPassword(t *testing.T) {
	c := SMTPConfig{Host: "smtp.example.com", Port: 587, Username: "u", Password: "hunter2-secret", From: "no-reply@example.com"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "smtp", c)
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v", c), logs.String()} {
		if strings.Contains(s, c.Password) {
			t.Errorf("password in %q", s)
		}
		if !strings.Contains(s, "smtp.example.com:587") {
			t.Errorf("no server in %q", s)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
