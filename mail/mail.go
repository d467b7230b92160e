// Package mail delivers Strongroom's e-mail: sign-in codes, magic links,
// password resets, invitations and new-device notices.
//
// A [Sender] delivers one [Message]. There are two:
//
//   - [SMTP] hands each message to an SMTP server (a relay or a provider's
//     submission port) over STARTTLS or implicit TLS, with certificate
//     verification always on and credentials sent only over TLS. It is what a
//     production deployment uses.
//   - [Outbox] keeps the last messages in memory so that the console can show
//     them. It is the development outbox of the embedded default
//     ("strongroom serve" with no e-mail settings): nothing leaves the process,
//     and a sign-in code is read in the console instead of an inbox. It is for
//     development only and is never used together with a real SMTP server.
//
// Message bodies carry secrets (codes, links with tokens). Neither sender logs
// a body or puts one in an error, and a recipient appears in logs and errors
// only as its domain. Subjects and kinds are logged and must never carry
// secrets.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// A Message is one e-mail to one recipient.
type Message struct {
	// To is the recipient: a plain address such as "ana@example.com", without
	// a display name.
	To string
	// Subject is the subject line, at most MaxSubjectRunes characters. It is
	// logged and shown in inbox previews, so it never carries a secret.
	Subject string
	// Text is the plain-text body. It is required: every message has one.
	Text string
	// HTML is an optional HTML alternative to Text.
	HTML string
	// Kind names what the message is for, such as "signin-code" or
	// "invitation": lower-case letters, digits and hyphens. It labels the
	// message in the outbox, in logs and in metrics, and is never secret.
	Kind string
}

// A Sender delivers messages. Send returns once the message is handed on (to
// the SMTP server, or into the outbox); an error means it was not. Every
// implementation is safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Limits on a Message, checked before anything is sent.
const (
	// MaxAddressBytes is the longest recipient address (RFC 5321 allows a
	// path of 256 octets including the angle brackets).
	MaxAddressBytes = 254
	// MaxSubjectRunes is the longest subject, in characters.
	MaxSubjectRunes = 255
	// MaxBodyBytes is the largest Text or HTML body.
	MaxBodyBytes = 1 << 20
	// MaxKindBytes is the longest Kind.
	MaxKindBytes = 64
)

// ErrInvalidMessage is in the chain of every error that refuses a Message for
// its content (errors.Is). Nothing is sent when it is returned.
var ErrInvalidMessage = errors.New("invalid e-mail message")

// invalid returns an ErrInvalidMessage error with the reason. The reason never
// quotes the message: its fields may be hostile or personal.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
}

// validate checks m before it is sent or stored. Both senders call it, so the
// development outbox refuses exactly what the SMTP sender refuses.
func (m Message) validate() error {
	if err := checkKind(m.Kind); err != nil {
		return err
	}
	if err := checkAddress("recipient", m.To, MaxAddressBytes); err != nil {
		return invalid("%v", err)
	}
	if err := checkSubject(m.Subject); err != nil {
		return err
	}
	if m.Text == "" {
		return invalid("the plain-text body is empty")
	}
	if err := checkBody("plain-text body", m.Text); err != nil {
		return err
	}
	if m.HTML != "" {
		if err := checkBody("HTML body", m.HTML); err != nil {
			return err
		}
	}
	return nil
}

func checkKind(kind string) error {
	if kind == "" {
		return invalid("the kind is empty")
	}
	if len(kind) > MaxKindBytes {
		return invalid("the kind is longer than %d bytes", MaxKindBytes)
	}
	for _, c := range []byte(kind) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return invalid("the kind may contain only a-z, 0-9 and '-'")
		}
	}
	return nil
}

func checkSubject(s string) error {
	switch {
	case s == "":
		return invalid("the subject is empty")
	case !utf8.ValidString(s):
		return invalid("the subject is not valid UTF-8")
	case utf8.RuneCountInString(s) > MaxSubjectRunes:
		return invalid("the subject is longer than %d characters", MaxSubjectRunes)
	case strings.ContainsAny(s, "\r\n"):
		return invalid("the subject contains a line break (CR or LF)")
	case strings.ContainsFunc(s, isControl):
		return invalid("the subject contains a control character")
	}
	return nil
}

func checkBody(what, s string) error {
	switch {
	case len(s) > MaxBodyBytes:
		return invalid("the %s is larger than %d bytes", what, MaxBodyBytes)
	case !utf8.ValidString(s):
		return invalid("the %s is not valid UTF-8", what)
	case strings.ContainsRune(s, 0):
		return invalid("the %s contains a NUL byte", what)
	}
	return nil
}

// checkAddress checks that s is a plain e-mail address ("ana@example.com"):
// no display name, no angle brackets, no comments, nothing to unquote. The
// error names the address by its role (what), never by its value.
func checkAddress(what, s string, maxBytes int) error {
	switch {
	case s == "":
		return fmt.Errorf("the %s address is empty", what)
	case len(s) > maxBytes:
		return fmt.Errorf("the %s address is longer than %d bytes", what, maxBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("the %s address is not valid UTF-8", what)
	case strings.ContainsAny(s, "\r\n"):
		return fmt.Errorf("the %s address contains a line break (CR or LF)", what)
	case strings.ContainsFunc(s, isControl):
		return fmt.Errorf("the %s address contains a control character", what)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Errorf("the %s address is not a plain address such as name@example.com", what)
	}
	return nil
}

// isControl reports the C0 controls and DEL, which have no place in a header.
// Tab is allowed: RFC 5322 permits it as folding white space.
func isControl(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7f
}

// domainOf returns the part of a plain address after the last '@': what logs
// and errors may say about a recipient.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
