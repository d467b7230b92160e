package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// TLS modes of an SMTP connection (SMTPConfig.TLS).
const (
	// TLSStartTLS connects in plain text and requires the server to upgrade
	// with STARTTLS before anything else is said (RFC 3207); a server that does
	// not offer it is refused. Usually port 587. The default.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (RFC 8314). Usually port 465.
	TLSImplicit = "implicit"
	// TLSNone sends in plain text. Allowed only when Host is the local machine
	// (localhost, 127.0.0.1, ::1), for a relay on the same host.
	TLSNone = "none"
)

// DefaultSMTPTimeout is the default SMTPConfig.Timeout.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig configures the SMTP sender. The zero values of TLS and Timeout
// select the documented defaults; everything else is checked by Validate.
type SMTPConfig struct {
	// Host is the SMTP server's DNS name or IP address, without a port. The
	// server's certificate must be valid for it.
	Host string
	// Port is the server's TCP port, 1 to 65535 (usually 587 for STARTTLS, 465
	// for implicit TLS).
	Port int
	// TLS is TLSStartTLS (the default when empty), TLSImplicit or TLSNone.
	TLS string
	// Username and Password authenticate with AUTH PLAIN, only ever over TLS.
	// Both or neither: a password without a username is refused, and so is a
	// username without a password (usually a secret that failed to load).
	Username, Password string
	// From is the sender: a plain address such as "no-reply@example.com". Its
	// domain is also the right-hand side of every Message-ID.
	From string
	// RootCAs verifies the server's certificate; nil means the system's roots.
	RootCAs *x509.CertPool
	// Timeout bounds one whole Send: connecting, TLS, authentication, the
	// transfer and QUIT. Zero means DefaultSMTPTimeout.
	Timeout time.Duration
	// HelloName is the name given in EHLO; empty means this machine's host name.
	HelloName string
}

// String describes the configuration for logs and diagnostics, without the
// password.
func (c SMTPConfig) String() string {
	auth := "no authentication"
	if c.Username != "" {
		auth = "AUTH PLAIN as " + strconv.Quote(c.Username)
	}
	return fmt.Sprintf("smtp %s (TLS %s, %s, from %s)", net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.tlsMode(), auth, c.From)
}

// LogValue is String, for log/slog: the password never reaches a log.
func (c SMTPConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// tlsMode returns c.TLS with the default applied.
func (c SMTPConfig) tlsMode() string {
	if c.TLS == "" {
		return TLSStartTLS
	}
	return c.TLS
}

// timeout returns c.Timeout with the default applied.
func (c SMTPConfig) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultSMTPTimeout
	}
	return c.Timeout
}

// Validate reports the first problem with c, or nil.
func (c SMTPConfig) Validate() error {
	if err := checkHost(c.Host); err != nil {
		return err
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("smtp: port %d is out of range (1 to 65535)", c.Port)
	}
	switch c.tlsMode() {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(c.Host) {
			return fmt.Errorf("smtp: TLS %q is allowed only for a server on this machine (localhost, 127.0.0.1 or ::1), not %q: use %q or %q", TLSNone, c.Host, TLSStartTLS, TLSImplicit)
		}
		if c.Username != "" {
			return fmt.Errorf("smtp: a username needs TLS %q or %q: credentials are never sent in plain text", TLSStartTLS, TLSImplicit)
		}
	default:
		return fmt.Errorf("smtp: unknown TLS mode %q (want %q, %q or %q)", c.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	switch {
	case c.Password != "" && c.Username == "":
		return errors.New("smtp: a password is set without a username")
	case c.Username != "" && c.Password == "":
		return errors.New("smtp: a username is set without a password")
	case strings.ContainsFunc(c.Username, isControl):
		return errors.New("smtp: the username contains a control character")
	case strings.ContainsRune(c.Password, 0):
		return errors.New("smtp: the password contains a NUL byte, which AUTH PLAIN cannot carry")
	}
	if err := checkAddress("sender (From)", c.From, MaxAddressBytes); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("smtp: timeout %v is negative", c.Timeout)
	}
	if c.HelloName != "" && (len(c.HelloName) > 255 || strings.ContainsFunc(c.HelloName, func(r rune) bool {
		return r <= ' ' || r >= 0x7f
	})) {
		return errors.New("smtp: the hello name must be a host name or an address literal, without spaces or control characters")
	}
	return nil
}

// hostLabel matches one label of a DNS name; underscores are tolerated, as
// resolvers do.
var hostLabel = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)

// checkHost accepts a DNS name or an IP address literal, without a port,
// brackets or scheme.
func checkHost(host string) error {
	if host == "" {
		return errors.New("smtp: the host is required")
	}
	if _, err := netip.ParseAddr(host); err == nil {
		if strings.Contains(host, "%") {
			return fmt.Errorf("smtp: host %q: an IPv6 zone is not supported", host)
		}
		return nil
	}
	if len(host) > 253 {
		return errors.New("smtp: the host name is longer than 253 bytes")
	}
	for label := range strings.SplitSeq(host, ".") {
		if !hostLabel.MatchString(label) {
			return fmt.Errorf("smtp: host %q is not a DNS name or an IP address (give the port in Port, not in Host)", host)
		}
	}
	return nil
}

// isLoopback reports whether host names this machine: "localhost" or a
// loopback IP address literal.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// SMTP sends messages through an SMTP server. Each Send opens a connection,
// sends one message and quits: nothing is pooled, so a broken connection or a
// server restart never affects the next message. It is safe for concurrent
// use.
type SMTP struct {
	cfg     SMTPConfig
	addr    string // host:port
	domain  string // of From, for Message-IDs
	hello   string
	tlsConf *tls.Config
	log     *slog.Logger

	// Time and randomness, replaced by tests.
	now  func() time.Time
	rand io.Reader
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns a sender for cfg after validating it. log receives one line
// per message sent (kind, recipient domain, Message-ID); nil discards it.
// Failures are returned, not logged: the caller decides.
func NewSMTP(cfg SMTPConfig, log *slog.Logger) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hello := cfg.HelloName
	if hello == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			hello = h
		} else {
			hello = "localhost"
		}
	}
	return &SMTP{
		cfg:    cfg,
		addr:   net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		domain: domainOf(cfg.From),
		hello:  hello,
		tlsConf: &tls.Config{
			ServerName: cfg.Host,
			RootCAs:    cfg.RootCAs,
			MinVersion: tls.VersionTLS12,
		},
		log:  log,
		now:  time.Now,
		rand: rand.Reader,
	}, nil
}

// Send delivers m to the server. It returns an error wrapping
// ErrInvalidMessage, before connecting, when m is refused for its content.
// Other errors say what failed (connecting, TLS, authentication, a refusal by
// the server) without the body or the recipient's address.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sending %s e-mail: %w", m.Kind, err)
	}
	msg, id, err := s.message(m)
	if err != nil {
		return fmt.Errorf("sending %s e-mail: %w", m.Kind, err)
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout())
	defer cancel()
	// go-mail leaves the connection open when the handshake or AUTH fails, and
	// stops watching ctx once connected: the dialer below closes the
	// connection when ctx ends (time-out or cancellation) and when Send
	// returns, whatever happened.
	var conn net.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	dial := func(dialCtx context.Context, _, _ string) (net.Conn, error) {
		c, err := s.dial(dialCtx)
		if err != nil {
			return nil, err
		}
		conn = c
		context.AfterFunc(ctx, func() { _ = c.Close() })
		return c, nil
	}

	client, err := gomail.NewClient(s.cfg.Host, s.options(dial)...)
	if err != nil {
		return fmt.Errorf("sending %s e-mail: configuring the SMTP client: %w", m.Kind, err)
	}
	start := time.Now()
	err = client.DialAndSendWithContext(ctx, msg)
	if err != nil && msg.IsDelivered() {
		// The server accepted the message (250 after DATA) and only RSET or
		// QUIT failed. It has taken responsibility for delivery; reporting a
		// failure would make the caller send a second code.
		s.log.WarnContext(ctx, "e-mail sent, but the SMTP session did not end cleanly",
			"kind", m.Kind,
			"recipient_domain", domainOf(m.To),
			"message_id", id,
			"server", s.addr,
			"error", redact(err, m.To).Error())
		err = nil
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		return fmt.Errorf("sending %s e-mail to a recipient at %s through %s: %w",
			m.Kind, domainOf(m.To), s.addr, redact(err, m.To))
	}
	s.log.InfoContext(ctx, "e-mail sent",
		"kind", m.Kind,
		"recipient_domain", domainOf(m.To),
		"message_id", id,
		"server", s.addr,
		"duration", time.Since(start))
	return nil
}

// options returns the go-mail client options for one Send.
func (s *SMTP) options(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.timeout()),
		gomail.WithHELO(s.hello),
		gomail.WithTLSConfig(s.tlsConf),
		gomail.WithDialContextFunc(dial),
	}
	switch s.cfg.tlsMode() {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		// The dialer speaks TLS; this only stops go-mail from trying STARTTLS.
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&plainOverTLS{
			username: s.cfg.Username,
			password: s.cfg.Password,
		}))
	}
	return opts
}

// dial connects to the server, with TLS from the first byte in implicit mode.
// It always dials s.addr: go-mail's own address joins host and port without
// brackets, which breaks IPv6 literals.
func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.cfg.tlsMode() == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConf}
		return td.DialContext(ctx, "tcp", s.addr)
	}
	return d.DialContext(ctx, "tcp", s.addr)
}

// message builds the MIME message for m and returns it with its Message-ID.
func (s *SMTP) message(m Message) (*gomail.Msg, string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return nil, "", fmt.Errorf("making a Message-ID: %w", err)
	}
	id := hex.EncodeToString(b[:]) + "@" + s.domain

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.cfg.From); err != nil {
		return nil, "", errors.New("setting From: not a valid address")
	}
	if err := msg.To(m.To); err != nil {
		return nil, "", invalid("the recipient address is not valid")
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(s.now())
	msg.SetMessageIDWithValue(id)
	// Automatic mail (RFC 3834): out-of-office replies are not sent back.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, "<" + id + ">", nil
}

// plainOverTLS is AUTH PLAIN (RFC 4616) that refuses to start unless the
// connection is TLS and the server offers PLAIN. go-mail's own PLAIN also
// allows a plain-text connection to localhost; this one never does.
type plainOverTLS struct {
	username, password string
}

func (a *plainOverTLS) Start(server *gosmtp.ServerInfo) (string, []byte, error) {
	if !server.TLS {
		return "", nil, errors.New("refusing to authenticate over a connection without TLS")
	}
	if !slices.ContainsFunc(server.Auth, func(m string) bool { return strings.EqualFold(m, "PLAIN") }) {
		return "", nil, errors.New("the server does not offer AUTH PLAIN")
	}
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a *plainOverTLS) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge from the server after AUTH PLAIN")
	}
	return nil, nil
}

// redactedError is an error whose text has the recipient's address replaced,
// for callers that log it. Unwrap keeps the original for errors.Is and As.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redact hides addr in err's text: go-mail lists refused recipients, and
// servers often quote them ("550 <ana@example.com>: no such user").
func redact(err error, addr string) error {
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(addr))
	text := err.Error()
	if !re.MatchString(text) {
		return err
	}
	return &redactedError{text: re.ReplaceAllLiteralString(text, "[recipient]"), err: err}
}
