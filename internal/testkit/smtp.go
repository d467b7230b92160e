package testkit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"strongroom.dev/strongroom/mail"
)

// SMTPServerOptions configure an SMTPServer. The zero value is a STARTTLS
// server that needs no authentication.
type SMTPServerOptions struct {
	// TLS is mail.TLSStartTLS (the default when empty), mail.TLSImplicit or
	// mail.TLSNone, with the meaning they have for mail.SMTPConfig.
	TLS string
	// Username and Password, when set, are the only credentials accepted
	// (AUTH PLAIN, over TLS only), and MAIL is refused until the client has
	// authenticated.
	Username, Password string
}

// ReceivedMessage is a message an SMTPServer accepted, with its envelope,
// as received, and decoded.
type ReceivedMessage struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Raw  []byte   // the message as received (DATA), CRLF line ends
	// Subject, Text and HTML are decoded: the RFC 2047 subject, and the
	// text/plain and text/html bodies (alone or in a multipart/alternative)
	// with their transfer encoding undone and LF line ends.
	Subject, Text, HTML string
	Header              netmail.Header
}

// SMTPServer is a real SMTP server (emersion/go-smtp) running in-process on
// 127.0.0.1 with a fresh certificate for 127.0.0.1 and localhost. It keeps
// every message it accepts. A message it cannot decode is refused with a 554
// reply, so a malformed message fails the sender's Send.
type SMTPServer struct {
	Host     string         // 127.0.0.1
	Port     int            // chosen by the system
	RootCAs  *x509.CertPool // trusts the server's certificate
	CertPEM  []byte         // the server's (self-signed) certificate, PEM, for a CA file
	TLS      string         // as in SMTPServerOptions, with the default applied
	Username string         // as in SMTPServerOptions
	password string

	mu       sync.Mutex
	messages []ReceivedMessage
	errLog   bytes.Buffer
}

// NewSMTPServer starts an SMTP server that stops when the test ends.
func NewSMTPServer(t testing.TB, opts SMTPServerOptions) *SMTPServer {
	t.Helper()
	if opts.TLS == "" {
		opts.TLS = mail.TLSStartTLS
	}
	if (opts.Username == "") != (opts.Password == "") {
		t.Fatal("testkit.NewSMTPServer: set both Username and Password, or neither")
	}
	cert, pool := smtpTestCertificate(t)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s := &SMTPServer{Host: "127.0.0.1", RootCAs: pool, TLS: opts.TLS, Username: opts.Username, password: opts.Password,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})}

	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{server: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 8 << 20
	srv.MaxRecipients = 100
	srv.ErrorLog = log.New(&smtpLockedWriter{s: s}, "", 0)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit.NewSMTPServer: %v", err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	switch opts.TLS {
	case mail.TLSStartTLS:
		srv.TLSConfig = tlsConf
	case mail.TLSImplicit:
		l = tls.NewListener(l, tlsConf)
	case mail.TLSNone:
	default:
		l.Close()
		t.Fatalf("testkit.NewSMTPServer: unknown TLS mode %q", opts.TLS)
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		// Closing the listener too stops a Serve that has not registered it
		// with srv yet; srv.Close alone would miss it and Serve would block.
		_ = srv.Close()
		_ = l.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the test SMTP server did not stop within 10s")
		}
		if t.Failed() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.errLog.Len() > 0 {
				t.Logf("test SMTP server errors:\n%s", s.errLog.String())
			}
		}
	})
	return s
}

// SMTPConfig returns a mail.SMTPConfig that reaches this server, with its
// TLS mode, roots and credentials, sending as from.
func (s *SMTPServer) SMTPConfig(from string) mail.SMTPConfig {
	return mail.SMTPConfig{
		Host:     s.Host,
		Port:     s.Port,
		TLS:      s.TLS,
		Username: s.Username,
		Password: s.password,
		From:     from,
		RootCAs:  s.RootCAs,
		Timeout:  10 * time.Second,
	}
}

// Messages returns the messages accepted so far, oldest first.
func (s *SMTPServer) Messages() []ReceivedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReceivedMessage(nil), s.messages...)
}

// WaitFor waits until the server has accepted at least n messages and
// returns them, failing t after timeout. It is for code that sends in the
// background; a Send that returned nil has already been accepted.
func (s *SMTPServer) WaitFor(t testing.TB, n int, timeout time.Duration) []ReceivedMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		if got := s.Messages(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMTP server received %d messages within %v, want %d", len(s.Messages()), timeout, n)
		}
		time.Sleep(delay)
	}
}

// smtpSession is one SMTP session of an SMTPServer.
type smtpSession struct {
	server *SMTPServer
	authed bool
	from   string
	to     []string
}

func (ss *smtpSession) AuthMechanisms() []string {
	if ss.server.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.server.Username || password != ss.server.password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.server.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := decodeReceived(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "test server cannot decode the message: " + err.Error()}
	}
	m.From, m.To = ss.from, ss.to
	ss.server.mu.Lock()
	ss.server.messages = append(ss.server.messages, m)
	ss.server.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// decodeReceived parses raw as a MIME message with a text/plain body and an
// optional text/html alternative.
func decodeReceived(raw []byte) (ReceivedMessage, error) {
	m := ReceivedMessage{Raw: raw}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, err
	}
	m.Header = msg.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("decoding the subject: %w", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return m, fmt.Errorf("parsing the content type: %w", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		m.Text, err = decodeTextPart(mediaType, params, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return m, err
	}
	if mediaType != "multipart/alternative" {
		return m, fmt.Errorf("content type %s, want text/plain or multipart/alternative", mediaType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return m, err
		}
		pt, pp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return m, fmt.Errorf("parsing a part's content type: %w", err)
		}
		body, err := decodeTextPart(pt, pp, p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			return m, err
		}
		switch pt {
		case "text/plain":
			m.Text = body
		case "text/html":
			m.HTML = body
		default:
			return m, fmt.Errorf("unexpected part %s", pt)
		}
	}
}

// decodeTextPart undoes a text part's transfer encoding; the charset must be
// UTF-8 (or US-ASCII).
func decodeTextPart(mediaType string, params map[string]string, cte string, r io.Reader) (string, error) {
	if !strings.HasPrefix(mediaType, "text/") {
		return "", fmt.Errorf("part %s is not text", mediaType)
	}
	if cs := strings.ToLower(params["charset"]); cs != "utf-8" && cs != "us-ascii" && cs != "" {
		return "", fmt.Errorf("part %s has charset %q, want UTF-8", mediaType, cs)
	}
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "", "7bit", "8bit":
	default:
		return "", fmt.Errorf("unsupported Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("decoding %s part: %w", mediaType, err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}

// smtpTestCertificate returns a fresh self-signed ECDSA P-256 certificate for
// 127.0.0.1 and localhost, and a pool that trusts it.
func smtpTestCertificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "testkit SMTP server " + serial.Text(16)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// smtpLockedWriter collects the go-smtp server's error log under s.mu.
type smtpLockedWriter struct{ s *SMTPServer }

func (w *smtpLockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.errLog.Write(p)
}
