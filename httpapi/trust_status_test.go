package httpapi_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
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

// statusEnv is a server whose e-mail probe asks a real SMTP server at an
// address the test can move (to a closed port and back), and whose API probe
// asks the server's own /readyz.
type statusEnv struct {
	*mfaTEnv
	smtpAddr atomic.Pointer[string]
	live     string // the in-process SMTP server
	closed   string // a port nobody listens on
}

func newStatusEnv(t *testing.T, e testkit.Engine) *statusEnv {
	t.Helper()
	smtpd := testkit.NewSMTPServer(t, testkit.SMTPServerOptions{TLS: mail.TLSNone})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := &statusEnv{mfaTEnv: &mfaTEnv{st: e.Open(t), clock: &testClock{}},
		live: net.JoinHostPort(smtpd.Host, fmt.Sprint(smtpd.Port)), closed: l.Addr().String()}
	l.Close()
	env.smtpAddr.Store(&env.live)
	env.srv = testkit.NewServerWithConfig(t, env.st, testkit.ServerConfig{Service: func(u string, cfg *service.Config) {
		cfg.Now = env.clock.Now
		cfg.Status = service.StatusConfig{Interval: time.Minute, Timeout: 5 * time.Second, Probes: map[string]status.Probe{
			status.API: status.HTTPProbe(http.DefaultClient, u+"/readyz"),
			status.Email: func(ctx context.Context) status.Result {
				return status.SMTPProbe(*env.smtpAddr.Load(), nil)(ctx)
			},
		}}
	}})
	return env
}

func (env *statusEnv) status(t *testing.T) map[string]any {
	t.Helper()
	return testkit.MustStatus(t, env.do(t, "", "GET", "/status.json", nil), http.StatusOK).JSON(t)
}

func component(t *testing.T, st map[string]any, name string) map[string]any {
	t.Helper()
	for _, c := range st["components"].([]any) {
		if m := c.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("no component %s in %v", name, st)
	return nil
}

func statusEvents(t *testing.T, st *store.Store, action string) int {
	t.Helper()
	n := 0
	for _, ev := range auditSince(t, st, string(strongroom.PlatformTenant), 0) {
		if ev.Action == action {
			n++
		}
	}
	return n
}

// TestStatusComponentRedGreen: the e-mail component is operational while
// its SMTP server answers, turns to an outage when the probe is pointed at a
// closed port, and is operational again after; the day's uptime counts all
// three results; each change of state is audited; probing is done by the
// lease holder only. Both engines.
func TestStatusComponentRedGreen(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := newStatusEnv(t, e)
			ctx := context.Background()
			st := env.status(t)
			if c := component(t, st, "email"); c["state"] != "not_monitored" {
				t.Fatalf("before any probe: %v", c)
			}
			probe := func(holder string, want bool) {
				t.Helper()
				ran, err := env.srv.Service.StatusProbesOnce(ctx, holder)
				if err != nil || ran != want {
					t.Fatalf("%s probed=%v (%v), want %v", holder, ran, err, want)
				}
			}
			probe("replica-a", true)
			probe("replica-b", false) // a holds the lease
			st = env.status(t)
			for name, want := range map[string]string{"api": "operational", "sign-in": "operational", "storage": "operational",
				"email": "operational", "backups": "not_monitored"} {
				if c := component(t, st, name); c["state"] != want {
					t.Errorf("%s: %v, want %s", name, c, want)
				}
			}
			if st["state"] != "operational" {
				t.Errorf("overall %v", st["state"])
			}

			env.smtpAddr.Store(&env.closed)
			probe("replica-a", true)
			st = env.status(t)
			red := component(t, st, "email")
			if red["state"] != "outage" || st["state"] != "outage" || strings.Contains(fmt.Sprint(red["detail"]), "127.0.0.1") {
				t.Fatalf("with the SMTP port closed: overall %v, %v", st["state"], red)
			}
			page := testkit.MustStatus(t, env.do(t, "", "GET", "/status", nil), http.StatusOK)
			if !strings.Contains(string(page.Body), "Some systems are down") || !strings.Contains(string(page.Body), `badge status-outage`) {
				t.Errorf("the page does not show the outage")
			}

			env.smtpAddr.Store(&env.live)
			probe("replica-a", true)
			st = env.status(t)
			green := component(t, st, "email")
			if green["state"] != "operational" || st["state"] != "operational" {
				t.Fatalf("after the SMTP server is back: %v", green)
			}
			// Today: 2 operational and 1 outage sample.
			hist := green["history"].([]any)
			today := hist[len(hist)-1].(map[string]any)
			if len(hist) != 90 || today["state"] != "outage" || today["date"] != env.clock.Now().UTC().Format(time.DateOnly) ||
				fmt.Sprintf("%.4f", today["uptime"]) != "0.6667" || fmt.Sprintf("%.4f", green["uptime_90d"]) != "0.6667" {
				t.Errorf("history today %v (of %d days), uptime %v", today, len(hist), green["uptime_90d"])
			}
			if first := hist[0].(map[string]any); first["state"] != "not_monitored" || first["uptime"] != nil {
				t.Errorf("a day without samples: %v", first)
			}
			// The first result and two changes of the e-mail component (plus the other components' first results).
			if n := statusEvents(t, env.st, "status.component.change"); n != 5+2 {
				t.Errorf("%d status.component.change events, want 7", n)
			}
			// A result older than three intervals is not shown as current.
			env.clock.Advance(4 * time.Minute)
			if c := component(t, env.status(t), "email"); c["state"] != "not_monitored" {
				t.Errorf("stale result shown as %v", c)
			}
			probe("replica-b", true) // a's lease expired
		})
	}
}

// TestStatusMaintenanceUpdatesSubscriptions: operators schedule maintenance
// (listed ahead, components in maintenance during it, cancel), post updates
// (page, feed, e-mail to confirmed subscribers only, with a working
// unsubscribe link), subscriptions are double opt-in through the outbox.
func TestStatusMaintenanceUpdatesSubscriptions(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := newStatusEnv(t, e)
			ctx := context.Background()
			user := env.srv.Signup(t, "uma@org.example", "Org U")
			op := trustOperator(t, env.mfaTEnv, "otto@ops.example")
			const mbase = "/api/v1/operator/status/maintenance"
			now := env.clock.Now().UTC()
			window := map[string]any{"title": "Database upgrade", "body": "PostgreSQL 17.", "components": []string{"storage", "api"},
				"starts_at": now.Add(time.Hour), "ends_at": now.Add(2 * time.Hour)}
			mfaTProblem(t, env.do(t, user.Token, "POST", mbase, window), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, "", "POST", mbase, window), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			mfaTProblem(t, env.do(t, user.Token, "POST", "/api/v1/operator/status/updates", map[string]any{"title": "x", "body": "y", "state": "resolved"}), http.StatusForbidden, strongroom.EFORBIDDEN)

			// Double opt-in: Alice confirms through the outbox link, Bob does not.
			for _, a := range []string{"alice@customer.example", "bob@customer.example"} {
				testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/status/subscribe", map[string]string{"email": a}), http.StatusAccepted)
			}
			token := mailedToken(t, env.mail(t, "alice@customer.example", "status-confirm", 1), "sts_")
			if m := env.mail(t, "alice@customer.example", "status-confirm", 1); !strings.Contains(m.Text, "/status/unsubscribe?token="+token) {
				t.Errorf("the confirmation has no unsubscribe link: %q", m.Text)
			}
			// A token one character off (a middle one, replaced by a different
			// character: replacing the last with a fixed one was the token itself
			// once in 64 runs).
			wrong := []byte(token)
			if i := len(wrong) / 2; wrong[i] == 'A' {
				wrong[i] = 'B'
			} else {
				wrong[i] = 'A'
			}
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/status/confirm", map[string]string{"token": string(wrong)}), http.StatusNotFound, strongroom.ENOTFOUND)
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/status/confirm", map[string]string{"token": token}), http.StatusNoContent)
			// Subscribing again: the same answer; a confirmed address gets a new unsubscribe link, not a confirmation.
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/status/subscribe", map[string]string{"email": "alice@customer.example"}), http.StatusAccepted)
			env.mail(t, "alice@customer.example", "status-confirm", 1)
			env.mail(t, "alice@customer.example", "status-unsubscribe-link", 1)

			m := testkit.MustStatus(t, env.do(t, op, "POST", mbase, window), http.StatusCreated).JSON(t)
			mid := m["id"].(string)
			st := env.status(t)
			if ms := st["maintenance"].([]any); len(ms) != 1 || ms[0].(map[string]any)["active"] != false {
				t.Fatalf("maintenance not listed ahead: %v", st["maintenance"])
			}
			if n := len(env.mails("alice@customer.example", "status-update")); n != 1 {
				t.Errorf("alice got %d notices of the maintenance", n)
			}
			if n := len(env.mails("bob@customer.example", "status-update")); n != 0 {
				t.Errorf("an unconfirmed address got %d notices", n)
			}
			env.clock.Advance(90 * time.Minute)
			if _, err := env.srv.Service.StatusProbesOnce(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			st = env.status(t)
			if component(t, st, "storage")["state"] != "maintenance" || component(t, st, "api")["state"] != "maintenance" ||
				component(t, st, "email")["state"] != "operational" || st["state"] != "maintenance" {
				t.Errorf("during the window: %v", st)
			}
			op = trustOperator(t, env.mfaTEnv, "olive@ops.example")
			if items := testkit.MustStatus(t, env.do(t, op, "GET", mbase, nil), http.StatusOK).JSON(t)["items"].([]any); len(items) != 1 {
				t.Errorf("operator list %v", items)
			}
			testkit.MustStatus(t, env.do(t, op, "POST", mbase+"/"+mid+"/cancel", nil), http.StatusNoContent)
			mfaTProblem(t, env.do(t, op, "POST", mbase+"/"+mid+"/cancel", nil), http.StatusConflict, strongroom.ECONFLICT)
			mfaTProblem(t, env.do(t, op, "POST", mbase+"/00000000-0000-7000-8000-000000000000/cancel", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			// Cancelling told the confirmed subscriber, once (the refused
			// second cancel sent nothing), with the window and a fresh
			// unsubscribe link; nobody else.
			if cancel := env.mail(t, "alice@customer.example", "status-update", 2); cancel.Subject != "Maintenance cancelled: Database upgrade" ||
				!containsAll(cancel.Text, "Cancelled", "PostgreSQL 17.", "Storage", "/status/unsubscribe?token=sts_") {
				t.Errorf("cancellation notice %q: %q", cancel.Subject, cancel.Text)
			}
			if n := len(env.mails("bob@customer.example", "status-update")); n != 0 {
				t.Errorf("an unconfirmed address got %d notices", n)
			}
			if _, err := env.srv.Service.StatusProbesOnce(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if st = env.status(t); component(t, st, "storage")["state"] != "operational" || len(st["maintenance"].([]any)) != 0 {
				t.Errorf("after cancelling: %v", st)
			}

			u := testkit.MustStatus(t, env.do(t, op, "POST", "/api/v1/operator/status/updates", map[string]any{"title": "Slow sign-ins",
				"body": "Sign-ins took up to 20 s; fixed.", "state": "resolved", "components": []string{"sign-in"}}), http.StatusCreated).JSON(t)
			st = env.status(t)
			if ups := st["updates"].([]any); len(ups) != 1 || ups[0].(map[string]any)["title"] != "Slow sign-ins" {
				t.Errorf("updates %v", st["updates"])
			}
			notice := env.mail(t, "alice@customer.example", "status-update", 3)
			if !containsAll(notice.Text, "Slow sign-ins", "resolved", "Sign-in", "/status/unsubscribe?token=") {
				t.Errorf("update notice %q", notice.Text)
			}
			// The feed has the update and the (cancelled) window.
			feed := testkit.MustStatus(t, env.do(t, "", "GET", "/status/feed.atom", nil), http.StatusOK)
			if ct := feed.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
				t.Errorf("feed content type %q", ct)
			}
			var f struct {
				XMLName xml.Name
				Entries []struct {
					ID    string `xml:"id"`
					Title string `xml:"title"`
				} `xml:"entry"`
			}
			if err := xml.Unmarshal(feed.Body, &f); err != nil || f.XMLName.Local != "feed" || len(f.Entries) != 2 {
				t.Fatalf("feed (%v): %s", err, feed.Body)
			}
			if !strings.HasSuffix(f.Entries[0].ID, "#update-"+u["id"].(string)) || !strings.Contains(f.Entries[1].Title, "(cancelled)") {
				t.Errorf("feed entries %+v", f.Entries)
			}
			// The notice's unsubscribe link works; afterwards nothing more is sent.
			unsub := mailedToken(t, notice, "sts_")
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/status/unsubscribe", map[string]string{"token": unsub}), http.StatusNoContent)
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/status/unsubscribe", map[string]string{"token": unsub}), http.StatusNotFound, strongroom.ENOTFOUND)
			testkit.MustStatus(t, env.do(t, op, "POST", "/api/v1/operator/status/updates", map[string]any{"title": "Another",
				"body": "Nothing.", "state": "informational"}), http.StatusCreated)
			env.mail(t, "alice@customer.example", "status-update", 3)
			for action, want := range map[string]int{"status.maintenance.create": 1, "status.maintenance.cancel": 1, "status.maintenance.list": 1,
				"status.update.create": 2, "status.subscribe": 3, "status.subscription.confirm": 1, "status.unsubscribe": 1} {
				if n := statusEvents(t, env.st, action); n != want {
					t.Errorf("%d %s events, want %d", n, action, want)
				}
			}
		})
	}
}

// TestStatusBadInput: malformed, oversized and hostile requests to the
// status routes get a problem and change nothing.
func TestStatusBadInput(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := newStatusEnv(t, e)
			op := trustOperator(t, env.mfaTEnv, "otto@ops.example")
			now := env.clock.Now().UTC()
			ok := func() map[string]any {
				return map[string]any{"title": "Upgrade", "body": "Planned.", "components": []string{"storage"},
					"starts_at": now.Add(time.Hour), "ends_at": now.Add(2 * time.Hour)}
			}
			with := func(k string, v any) map[string]any {
				m := ok()
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
				return m
			}
			long := strings.Repeat("x", 4001)
			cases := []struct {
				name, path string
				body       any
				status     int
			}{
				{"unknown field", "/api/v1/operator/status/maintenance", with("extra", 1), 400},
				{"not JSON", "/api/v1/operator/status/maintenance", "{", 400},
				{"unknown component", "/api/v1/operator/status/maintenance", with("components", []string{"database"}), 422},
				{"component twice", "/api/v1/operator/status/maintenance", with("components", []string{"api", "api"}), 422},
				{"too many components", "/api/v1/operator/status/maintenance", with("components", []string{"api", "sign-in", "storage", "email", "backups", "api"}), 422},
				{"no component", "/api/v1/operator/status/maintenance", with("components", []string{}), 422},
				{"ends before it starts", "/api/v1/operator/status/maintenance", with("ends_at", now), 422},
				{"in the past", "/api/v1/operator/status/maintenance", with("starts_at", now.Add(-time.Hour)), 422},
				{"longer than a week", "/api/v1/operator/status/maintenance", with("ends_at", now.Add(8*24*time.Hour)), 422},
				{"no title", "/api/v1/operator/status/maintenance", with("title", nil), 422},
				{"control characters", "/api/v1/operator/status/maintenance", with("title", "a\x00b"), 422},
				{"body too long", "/api/v1/operator/status/maintenance", with("body", long), 422},
				{"bad time", "/api/v1/operator/status/maintenance", with("starts_at", "tomorrow"), 400},
				{"oversized", "/api/v1/operator/status/maintenance", with("body", strings.Repeat("x", 2<<20)), 413},
				{"update state", "/api/v1/operator/status/updates", map[string]any{"title": "t", "body": "b", "state": "fine"}, 422},
				{"update component", "/api/v1/operator/status/updates", map[string]any{"title": "t", "body": "b", "state": "resolved", "components": []string{"<script>"}}, 422},
				{"update body too long", "/api/v1/operator/status/updates", map[string]any{"title": "t", "body": long, "state": "resolved"}, 422},
				{"subscribe not an address", "/api/v1/status/subscribe", map[string]any{"email": "not an address"}, 422},
				{"subscribe header injection", "/api/v1/status/subscribe", map[string]any{"email": "a@b.example\r\nBcc: c@d.example"}, 422},
				{"subscribe unknown field", "/api/v1/status/subscribe", map[string]any{"email": "a@b.example", "confirmed": true}, 400},
				{"confirm malformed token", "/api/v1/status/confirm", map[string]any{"token": "../../etc"}, 404},
				{"unsubscribe wrong prefix", "/api/v1/status/unsubscribe", map[string]any{"token": "srn_" + strings.Repeat("A", 43)}, 404},
			}
			before := lastSeq(t, env.st)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := env.do(t, op, "POST", c.path, c.body)
					if r.Status != c.status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
						t.Errorf("status %d (%s), want %d problem: %s", r.Status, r.Header.Get("Content-Type"), c.status, r.Body)
					}
				})
			}
			if after := lastSeq(t, env.st); after != before {
				t.Errorf("refused requests appended %d audit events", after-before)
			}
			st := env.status(t)
			if len(st["maintenance"].([]any)) != 0 || len(st["updates"].([]any)) != 0 {
				t.Errorf("something was written: %v %v", st["maintenance"], st["updates"])
			}
			if ms := env.srv.Outbox.List(0); len(ms) != 0 {
				for _, m := range ms {
					if m.Kind == "status-confirm" {
						t.Errorf("a refused subscription sent %q to %s", m.Kind, m.To)
					}
				}
			}
		})
	}
}
