package mail

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
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
)

// This file is a small SMTP server for this package's tests, on 127.0.0.1,
// and the MIME decoding that checks what it received.
// internal/testkit has a richer one for other packages (which this package's
// tests cannot import: testkit depends on packages that will depend on mail).

// newTestCert returns a self-signed ECDSA P-256 certificate for 127.0.0.1
// and localhost, and a pool that trusts it.
func newTestCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "strongroom test SMTP server " + rand.Text()},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
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

// testServerOptions configure a testServer.
type testServerOptions struct {
	// TLS is TLSStartTLS (offer STARTTLS), TLSImplicit (a TLS listener) or
	// TLSNone (no TLS at all).
	TLS string
	// Cert is the server's certificate; nil means a fresh one, trusted by
	// the server's RootCAs.
	Cert *tls.Certificate
	// Username and Password, when set, are the only credentials accepted, and
	// MAIL is refused before a successful AUTH PLAIN.
	Username, Password string
	// InsecureAuth offers AUTH without TLS, as a misconfigured or hostile
	// server would.
	InsecureAuth bool
	// RejectRcpt refuses every recipient, quoting the address.
	RejectRcpt bool
	// HangUpOnRSET drops the connection when the client sends RSET, which
	// go-mail does after a message has been accepted.
	HangUpOnRSET bool
}

// testMessage is a message the server accepted.
type testMessage struct {
	From string
	To   []string
	Raw  []byte
	TLS  bool   // the session was encrypted
	User string // who authenticated, if anyone
}

// testServer is a running SMTP server on 127.0.0.1.
type testServer struct {
	Host    string
	Port    int
	RootCAs *x509.CertPool // trusts the server's certificate unless Cert was given

	opts testServerOptions

	mu       sync.Mutex
	messages []testMessage
	accepted int          // connections
	wire     bytes.Buffer // every byte the server read, as it crossed the network
	errLog   bytes.Buffer
}

// newTestServer starts a server that stops when the test ends.
func newTestServer(t testing.TB, opts testServerOptions) *testServer {
	t.Helper()
	cert, pool := newTestCert(t)
	if opts.Cert != nil {
		cert = *opts.Cert
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	s := &testServer{Host: "127.0.0.1", RootCAs: pool, opts: opts}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSession{server: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 4 << 20
	srv.AllowInsecureAuth = opts.InsecureAuth
	srv.ErrorLog = log.New(&lockedWriter{mu: &s.mu, w: &s.errLog}, "", 0)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	var ln net.Listener = &recordingListener{Listener: l, server: s}
	switch opts.TLS {
	case TLSStartTLS:
		srv.TLSConfig = tlsConf
	case TLSImplicit:
		ln = tls.NewListener(ln, tlsConf)
	case TLSNone:
	default:
		t.Fatalf("test server: unknown TLS mode %q", opts.TLS)
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		// Closing the listener too stops a Serve that has not registered it
		// with srv yet; srv.Close alone would miss it and Serve would block.
		_ = srv.Close()
		_ = ln.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the test SMTP server did not stop within 10s")
		}
		if t.Failed() {
			s.mu.Lock()
			t.Logf("test SMTP server errors:\n%s", s.errLog.String())
			s.mu.Unlock()
		}
	})
	return s
}

// Messages returns a copy of the messages accepted so far.
func (s *testServer) Messages() []testMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]testMessage(nil), s.messages...)
}

// Connections returns how many connections the server accepted.
func (s *testServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Wire returns every byte the server read from its clients, as sent: in
// the clear before TLS, encrypted after.
func (s *testServer) Wire() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.wire.Bytes())
}

// testSession is one SMTP session.
type testSession struct {
	server *testServer
	conn   *smtp.Conn
	user   string
	from   string
	to     []string
}

func (ss *testSession) AuthMechanisms() []string {
	if ss.server.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *testSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		o := ss.server.opts
		if username != o.Username || password != o.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.server.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.server.opts.RejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: no such user"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *testSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := testMessage{From: ss.from, To: ss.to, Raw: raw, TLS: isTLS, User: ss.user}
	ss.server.mu.Lock()
	ss.server.messages = append(ss.server.messages, m)
	ss.server.mu.Unlock()
	return nil
}

func (ss *testSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *testSession) Logout() error { return nil }

// recordingListener counts connections and records what clients send.
type recordingListener struct {
	net.Listener
	server *testServer
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.server.mu.Lock()
	l.server.accepted++
	l.server.mu.Unlock()
	return &recordingConn{Conn: c, server: l.server}, nil
}

type recordingConn struct {
	net.Conn
	server *testServer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.server.mu.Lock()
	c.server.wire.Write(p[:n])
	c.server.mu.Unlock()
	if c.server.opts.HangUpOnRSET && bytes.Contains(p[:n], []byte("RSET\r\n")) {
		c.Conn.Close()
		return 0, io.EOF
	}
	return n, err
}

// lockedWriter serializes writes to w with mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// decoded is a received message, decoded.
type decoded struct {
	Header     netmail.Header
	Subject    string
	Text, HTML string // with LF line ends
}

// decodeMessage parses raw as a MIME message: the RFC 2047 subject, and the
// text and HTML bodies either alone or in a multipart/alternative.
func decodeMessage(t *testing.T, raw []byte) decoded {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reading message: %v\n%s", err, raw)
	}
	var d decoded
	d.Header = msg.Header
	if d.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("decoding Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		d.Text = decodePart(t, mediaType, params, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return d
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", mediaType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading multipart: %v", err)
		}
		pt, pp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
		}
		body := decodePart(t, pt, pp, p.Header.Get("Content-Transfer-Encoding"), p)
		switch pt {
		case "text/plain":
			d.Text = body
		case "text/html":
			d.HTML = body
		default:
			t.Fatalf("unexpected part %q", pt)
		}
	}
	return d
}

// decodePart decodes one text part's transfer encoding, and checks that its
// charset is UTF-8.
func decodePart(t *testing.T, mediaType string, params map[string]string, cte string, r io.Reader) string {
	t.Helper()
	if !strings.HasPrefix(mediaType, "text/") || !strings.EqualFold(params["charset"], "utf-8") {
		t.Fatalf("part is %s charset=%q, want text in UTF-8", mediaType, params["charset"])
	}
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s body: %v", cte, err)
	}
	return crlfToLF(string(b))
}

func crlfToLF(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
