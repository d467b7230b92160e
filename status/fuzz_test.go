package status

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// script is a server that answers with fixed bytes and swallows what the
// probe writes.
type script struct {
	r io.Reader
	w bytes.Buffer
}

func (s *script) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *script) Write(p []byte) (int, error) { return s.w.Write(p) }

// FuzzSMTPConversation: whatever an SMTP server sends, the probe returns one
// of its states with a fixed public detail and writes only NOOP and QUIT.
func FuzzSMTPConversation(f *testing.F) {
	for _, seed := range []string{"220 hi\r\n250 ok\r\n", "220-a\r\n220 b\r\n250 ok\r\n", "554 no\r\n", "220 hi\r\n502 no\r\n", "", "220", "\x00\xff\r\n"} {
		f.Add([]byte(seed))
	}
	details := map[string]bool{"the mail server does not greet": true, "the mail server stopped answering": true,
		"the mail server refuses commands": true, "the mail server answers": true}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &script{r: bytes.NewReader(in)}
		r := smtpConversation(s)
		if !r.State.Valid() || !details[r.Detail] {
			t.Fatalf("result %+v", r)
		}
		if out := s.w.String(); out != "" && out != "NOOP\r\n" && out != "NOOP\r\nQUIT\r\n" {
			t.Fatalf("the probe wrote %q", out)
		}
	})
}

// FuzzDay: every instant lies in the day Day gives it, and the next day
// starts 24 hours later.
func FuzzDay(f *testing.F) {
	for _, s := range []int64{0, -1, 86399, 86400, 1_795_000_000, -1_000_000_000_000} {
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		if sec > 1<<40 || sec < -(1<<40) {
			return
		}
		at := time.Unix(sec, nsec%1e9).UTC()
		d := Day(at)
		if start := DayStart(d); at.Before(start) || !at.Before(DayStart(d+1)) || DayStart(d+1).Sub(start) != 24*time.Hour {
			t.Fatalf("%v in day %d starting %v", at, d, start)
		}
	})
}
