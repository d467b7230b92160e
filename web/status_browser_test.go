package web_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/status"
	"strongroom.dev/strongroom/store"
)

// TestConsoleStatusPage: the public status page with 90 days of history, a
// maintenance window ahead and an update; the e-mail component turns red
// when its SMTP server's port is closed and green again after; a visitor
// subscribes and confirms through the outbox link.
func TestConsoleStatusPage(t *testing.T) {
	smtpd := testkit.NewSMTPServer(t, testkit.SMTPServerOptions{TLS: mail.TLSNone})
	live := net.JoinHostPort(smtpd.Host, fmt.Sprint(smtpd.Port))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	var addr atomic.Pointer[string]
	addr.Store(&live)
	st := testkit.OpenSQLiteStore(t)
	srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{Service: func(u string, cfg *service.Config) {
		cfg.Status.Probes = map[string]status.Probe{
			status.Email: func(ctx context.Context) status.Result { return status.SMTPProbe(*addr.Load(), nil)(ctx) },
			status.API:   status.Fixed(status.Result{State: status.Operational, Detail: "answering"}),
		}
	}})
	ctx := context.Background()
	now := time.Now().UTC()
	today := status.Day(now)
	// History: a minute-by-minute record of 60 days, with an outage, a slow
	// day and a maintenance window; the first 30 days have no data.
	err = st.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		for d := today - 59; d < today; d++ {
			for _, c := range status.Components[:4] {
				state := "operational"
				switch {
				case c == status.Email && d == today-12:
					state = "outage"
				case c == status.API && d == today-30:
					state = "degraded"
				case c == status.Storage && d == today-5:
					state = "maintenance"
				}
				for range 3 {
					if err := tx.RecordStatus(ctx, strongroom.StatusComponent{Component: c, State: state, Detail: "seed", CheckedAt: status.DayStart(d)}, d); err != nil {
						return err
					}
				}
			}
		}
		if err := tx.CreateMaintenance(ctx, &strongroom.StatusMaintenance{ID: "01900000-0000-7000-8000-000000000001", Title: "Database upgrade",
			Body: "PostgreSQL moves to version 17; writes pause for up to five minutes.", Components: []string{status.Storage, status.API},
			StartsAt: now.Add(48 * time.Hour), EndsAt: now.Add(50 * time.Hour), CreatedAt: now}); err != nil {
			return err
		}
		return tx.CreateStatusUpdate(ctx, &strongroom.StatusUpdate{ID: "01900000-0000-7000-8000-000000000002", Title: "E-mail delays",
			Body:  "Sign-in codes arrived up to ten minutes late while our mail provider recovered from an outage. All queued messages were delivered.",
			State: "resolved", Components: []string{status.Email}, CreatedAt: now.Add(-12 * 24 * time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	probe := func() {
		t.Helper()
		if err := srv.Service.ProbeStatus(ctx); err != nil {
			t.Fatal(err)
		}
	}
	probe()
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	b.open("/status")
	if got := b.text(".status-overall"); got != "All systems operational" {
		t.Errorf("overall %q", got)
	}
	b.shot("status")

	addr.Store(&closed)
	probe()
	b.open("/status")
	if got := b.text(".status-overall"); got != "Some systems are down" {
		t.Errorf("overall with the SMTP port closed: %q", got)
	}
	if got := b.text(".component:nth-child(4) .badge"); got != "Outage" {
		t.Errorf("e-mail badge %q", got)
	}
	b.shot("status-outage")

	addr.Store(&live)
	probe()
	b.open("/status")
	if got := b.text(".component:nth-child(4) .badge"); got != "Operational" {
		t.Errorf("e-mail badge after the server is back %q", got)
	}

	start := time.Now()
	b.fill("email", "visitor@customer.example")
	b.submit(`form[action="/status/subscribe"] button[type=submit]`, `#sub-h + p[role=status]`)
	link := mailLink(t, srv, "visitor@customer.example", "status-confirm", start)
	if !strings.HasPrefix(link, "/status/confirm?token=sts_") {
		t.Fatalf("confirmation link %q", link)
	}
	b.open(link)
	b.shot("status-confirm")
	b.submit(`form[action="/status/confirm"] button[type=submit]`, `p[role=status]`)
	if got := b.text(`p[role=status]`); !strings.Contains(got, "confirmed") {
		t.Errorf("after confirming: %q", got)
	}
}
