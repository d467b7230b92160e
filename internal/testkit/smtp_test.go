package testkit

import (
	"testing"
	"time"

	"strongroom.dev/strongroom/mail"
)

// TestSMTPServer sends through each TLS mode of the test SMTP server with the
// real sender, and reads the messages back decoded.
func TestSMTPServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts SMTPServerOptions
	}{
		{"starttls with auth", SMTPServerOptions{Username: "relay", Password: "secret"}},
		{"implicit", SMTPServerOptions{TLS: mail.TLSImplicit, Username: "relay", Password: "secret"}},
		{"none", SMTPServerOptions{TLS: mail.TLSNone}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := NewSMTPServer(t, tc.opts)
			s, err := mail.NewSMTP(srv.SMTPConfig("no-reply@strongroom.example"), nil)
			if err != nil {
				t.Fatal(err)
			}
			m := mail.Message{To: "ana@example.com", Subject: "Zoë 北京", Text: "Your code is 483920.\n", HTML: "<p>483920</p>", Kind: "signin-code"}
			if err := s.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			m.HTML = ""
			if err := s.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			got := srv.WaitFor(t, 2, 5*time.Second)
			for i, r := range got {
				if r.From != "no-reply@strongroom.example" || len(r.To) != 1 || r.To[0] != m.To {
					t.Errorf("message %d: envelope %q -> %q", i, r.From, r.To)
				}
				if r.Subject != m.Subject || r.Text != m.Text {
					t.Errorf("message %d: subject %q text %q", i, r.Subject, r.Text)
				}
			}
			if got[0].HTML != "<p>483920</p>" || got[1].HTML != "" {
				t.Errorf("HTML %q, %q", got[0].HTML, got[1].HTML)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		srv := NewSMTPServer(t, SMTPServerOptions{Username: "relay", Password: "secret"})
		cfg := srv.SMTPConfig("no-reply@strongroom.example")
		cfg.Password = "wrong"
		s, err := mail.NewSMTP(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(t.Context(), mail.Message{To: "ana@example.com", Subject: "x", Text: "x", Kind: "test"}); err == nil {
			t.Fatal("Send with a wrong password succeeded")
		}
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("%d messages", n)
		}
	})
}
