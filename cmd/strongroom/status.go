package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/status"
)

// statusConfig builds the status page's probes (INC-04; docs/trust.md
// "Status"): e-mail (the SMTP server's greeting and NOOP; the development
// outbox is always operational) and backups (the newest backup's age against
// backup-every; not monitored without backup-to). Storage and sign-in are
// the service's own probes; the API probe is set by serve once it listens
// (apiProbe).
func (c *Config) statusConfig(backups *backup.Location, started time.Time) (service.StatusConfig, error) {
	probes := map[string]status.Probe{}
	if c.SMTPHost == "" {
		probes[status.Email] = status.Fixed(status.Result{State: status.Operational, Detail: "development outbox"})
	} else {
		var implicit *tls.Config
		if c.SMTPTLS == mail.TLSImplicit {
			implicit = &tls.Config{ServerName: c.SMTPHost, MinVersion: tls.VersionTLS12}
			if c.SMTPCAFile != "" {
				b, err := os.ReadFile(c.SMTPCAFile)
				if err != nil {
					return service.StatusConfig{}, fmt.Errorf("status: reading the SMTP CA file: %w", err)
				}
				implicit.RootCAs = x509.NewCertPool()
				implicit.RootCAs.AppendCertsFromPEM(b)
			}
		}
		probes[status.Email] = status.Timed(status.SMTPProbe(net.JoinHostPort(c.SMTPHost, strconv.Itoa(c.SMTPPort)), implicit), status.SlowAfter)
	}
	if backups == nil {
		probes[status.Backups] = status.Fixed(status.BackupState(time.Time{}, started, 0, time.Now()))
	} else {
		every := c.BackupEvery
		probes[status.Backups] = func(ctx context.Context) status.Result {
			items, err := backups.List(ctx)
			if err != nil {
				return status.Result{State: status.Outage, Detail: "the backup location cannot be read"}
			}
			var newest time.Time
			for _, it := range items {
				if it.CreatedAt.After(newest) {
					newest = it.CreatedAt
				}
			}
			return status.BackupState(newest, started, every, time.Now())
		}
	}
	return service.StatusConfig{Probes: probes, Interval: c.StatusProbeInterval}, nil
}

// apiProbe is the API component's probe: GET /readyz through public-url when
// it is set (the path users take, certificate checked), else through the
// listening address over loopback when serving plain HTTP; with TLS and no
// public-url the API is not monitored (there is no name to check the
// certificate against).
func (c *Config) apiProbe(ln net.Listener, tlsOn bool) status.Probe {
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	switch {
	case c.PublicURL != "":
		return status.Timed(status.HTTPProbe(client, c.PublicURL+"/readyz"), status.SlowAfter)
	case !tlsOn:
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		return status.Timed(status.HTTPProbe(client, "http://"+net.JoinHostPort("127.0.0.1", port)+"/readyz"), status.SlowAfter)
	}
	return nil
}
