package mail

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSMTPRefusesBadMessages(t *testing.T) {
	// Header injection and hostile input: a clear error, no connection,
	// nothing delivered, and no echo of the input in the error.
	srv := newTestServer(t, testServerOptions{TLS: TLSNone})
	s, _ := newTestSender(t, srv, SMTPConfig{TLS: TLSNone})

	for _, tc := range []struct {
		name string
		edit func(*Message)
		want string
	}{
		{"CRLF in To", func(m *Message) { m.To = "ana@example.com\r\nBcc: eve@evil.example" }, "line break"},
		{"LF in To", func(m *Message) { m.To = "ana@example.com\nBcc: eve@evil.example" }, "line break"},
		{"CR in To", func(m *Message) { m.To = "ana@example.com\rBcc: eve@evil.example" }, "line break"},
		{"CRLF in Subject", func(m *Message) { m.Subject = "Hello\r\nBcc: eve@evil.example" }, "line break"},
		{"LF in Subject", func(m *Message) { m.Subject = "Hello\nBcc: eve@evil.example" }, "line break"},
		{"CR in Subject", func(m *Message) { m.Subject = "Hello\rBcc: eve@evil.example" }, "line break"},
		{"CRLF CRLF body in Subject", func(m *Message) { m.Subject = "Hi\r\n\r\nforged body" }, "line break"},
		{"1 MB Subject", func(m *Message) { m.Subject = strings.Repeat("a", 1<<20) }, "longer than"},
		{"256-character Subject", func(m *Message) { m.Subject = strings.Repeat("ë", MaxSubjectRunes+1) }, "longer than"},
		{"NUL in Subject", func(m *Message) { m.Subject = "Hello\x00world" }, "control character"},
		{"NUL in To", func(m *Message) { m.To = "ana\x00@example.com" }, "control character"},
		{"invalid UTF-8 in Subject", func(m *Message) { m.Subject = "Hello \xff\xfe" }, "UTF-8"},
		{"invalid UTF-8 in To", func(m *Message) { m.To = "an\xc3@example.com" }, "UTF-8"},
		{"1 MB To", func(m *Message) { m.To = strings.Repeat("a", 1<<20) + "@example.com" }, "longer than"},
		{"empty To", func(m *Message) { m.To = "" }, "empty"},
		{"display name in To", func(m *Message) { m.To = "Ana <ana@example.com>" }, "plain address"},
		{"two recipients", func(m *Message) { m.To = "ana@example.com, eve@evil.example" }, "plain address"},
		{"no domain", func(m *Message) { m.To = "ana" }, "plain address"},
		{"empty Subject", func(m *Message) { m.Subject = "" }, "empty"},
		{"empty Text", func(m *Message) { m.Text = "" }, "empty"},
		{"NUL in Text", func(m *Message) { m.Text = "code\x00" }, "NUL"},
		{"invalid UTF-8 in HTML", func(m *Message) { m.HTML = "<p>\xff</p>" }, "UTF-8"},
		{"huge Text", func(m *Message) { m.Text = strings.Repeat("a", MaxBodyBytes+1) }, "larger than"},
		{"empty Kind", func(m *Message) { m.Kind = "" }, "kind"},
		{"bad Kind", func(m *Message) { m.Kind = "Sign In" }, "kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMessage1()
			tc.edit(&m)
			err := s.Send(t.Context(), m)
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Send: %v, want ErrInvalidMessage", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if len(err.Error()) > 200 || strings.ContainsAny(err.Error(), "\x00\r\n") || !utf8.ValidString(err.Error()) || strings.Contains(err.Error(), "evil") {
				t.Errorf("error echoes the input: %q", err)
			}
		})
	}
	if n := srv.Connections(); n != 0 {
		t.Errorf("the sender connected %d times for refused messages", n)
	}
}
