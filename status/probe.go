package status

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"time"
)

// Probe checks one component. It must return within its context's deadline
// and report only public words in Result.Detail.
type Probe func(ctx context.Context) Result

// SlowAfter is how long a probe may take before its component counts as
// degraded.
const SlowAfter = 2 * time.Second

// Timed runs p and turns an operational result that took longer than slow
// into degraded.
func Timed(p Probe, slow time.Duration) Probe {
	return func(ctx context.Context) Result {
		start := time.Now()
		r := p(ctx)
		if r.State == Operational && time.Since(start) > slow {
			return Result{Degraded, "answering slowly"}
		}
		return r
	}
}

// HTTPProbe asks url with GET and expects 200 (the server's own /readyz).
// Any other answer or none is an outage.
func HTTPProbe(client *http.Client, url string) Probe {
	return func(ctx context.Context) Result {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return Result{Outage, "the probe cannot be built"}
		}
		resp, err := client.Do(req)
		if err != nil {
			return Result{Outage, "not answering"}
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return Result{Outage, fmt.Sprintf("answering %d", resp.StatusCode)}
		}
		return Result{Operational, "answering"}
	}
}

// SMTPProbe connects to the SMTP server at addr (host:port), reads its 220
// greeting, sends NOOP (expects 250) and QUIT. It sends no mail and does not
// authenticate. With implicitTLS set (port 465), the TLS handshake comes
// first and the certificate is verified with it.
func SMTPProbe(addr string, implicitTLS *tls.Config) Probe {
	return func(ctx context.Context) Result {
		var conn net.Conn
		var err error
		if implicitTLS != nil {
			d := tls.Dialer{Config: implicitTLS}
			conn, err = d.DialContext(ctx, "tcp", addr)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(ctx, "tcp", addr)
		}
		if err != nil {
			return Result{Outage, "the mail server is not reachable"}
		}
		defer conn.Close()
		if dl, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(dl)
		} else {
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		}
		return smtpConversation(conn)
	}
}

// smtpConversation reads the greeting, sends NOOP and QUIT on conn and judges
// the answers. Whatever the server sends, it returns a result (never panics).
func smtpConversation(conn io.ReadWriter) Result {
	tp := textproto.NewConn(nopCloser{conn})
	if _, _, err := tp.ReadResponse(220); err != nil {
		return Result{Outage, "the mail server does not greet"}
	}
	id, err := tp.Cmd("NOOP")
	if err != nil {
		return Result{Outage, "the mail server stopped answering"}
	}
	tp.StartResponse(id)
	_, _, err = tp.ReadResponse(250)
	tp.EndResponse(id)
	var refused *textproto.Error
	if errors.As(err, &refused) {
		return Result{Degraded, "the mail server refuses commands"}
	}
	if err != nil {
		return Result{Outage, "the mail server stopped answering"}
	}
	_ = tp.PrintfLine("QUIT")
	return Result{Operational, "the mail server answers"}
}

type nopCloser struct{ io.ReadWriter }

func (nopCloser) Close() error { return nil }

// Fixed is a probe that always reports r (the development outbox is always
// operational; backups that are not configured are not monitored).
func Fixed(r Result) Probe {
	return func(context.Context) Result { return r }
}

// Func adapts a check that fails with an error: nil is operational, an error
// is an outage described by down (never by the error's text).
func Func(check func(ctx context.Context) error, up, down string) Probe {
	return func(ctx context.Context) Result {
		if err := check(ctx); err != nil {
			return Result{Outage, down}
		}
		return Result{Operational, up}
	}
}
