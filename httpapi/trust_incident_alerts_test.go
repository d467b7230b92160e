package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// Overdue incident obligations raise operator alerts (INC-02, INC-03), on
// both engines, with the clock under the test's control: nothing before a
// deadline; a breach notice not sent to every organization by the
// notification deadline, notices unacknowledged 72 h after they were sent
// (an acknowledged one does not count), and a post-incident report not
// published by its due date each raise one alert — stored with its
// "incident.overdue" evidence event, e-mailed to every operator, raised once
// however often the job runs and not again after it is resolved — and only
// by the holder of the trust jobs' lease.
func TestIncidentOverdueAlerts(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			ctx := context.Background()
			a := env.srv.Signup(t, "ada@a.example", "Org A")
			b := env.srv.Signup(t, "bob@b.example", "Org B")
			c := env.srv.Signup(t, "cy@c.example", "Org C")
			op := trustOperator(t, env, "oscar@ops.example")
			trustOperator(t, env, "rosa@ops.example")
			const base = "/api/v1/operator/incidents"
			run := func() bool { return env.srv.Service.TrustJobsOnce(ctx, time.Minute, "replica") }
			alerts := func() map[string]strongroom.Alert {
				t.Helper()
				out := map[string]strongroom.Alert{}
				if err := env.st.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
					as, err := tx.Alerts(ctx, store.AlertQuery{Kind: strongroom.AlertIncidentOverdue, Limit: 100})
					for _, a := range as {
						out[a.Subject] = a
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return out
			}
			alertMails := func(n int) {
				t.Helper()
				for _, to := range []string{"oscar@ops.example", "rosa@ops.example"} {
					if got := len(env.mails(to, "alert")); got != n {
						t.Fatalf("%d alert e-mails to %s, want %d", got, to, n)
					}
				}
			}

			aware := env.clock.Now().Add(-time.Hour).UTC().Truncate(time.Second)
			d := testkit.MustStatus(t, env.do(t, op, "POST", base, map[string]any{"title": "Backup bucket exposed", "kind": "security",
				"personal_data_breach": true, "severity": "high", "aware_at": aware, "organizations": []string{a.OrgID, b.OrgID}}), http.StatusCreated).JSON(t)
			id := d["incident"].(map[string]any)["id"].(string)
			notice := map[string]string{"nature": "A bucket was readable.", "data_affected": "Names.", "likely_impact": "Phishing.",
				"mitigation": "Closed.", "contact": "security@strongroom.test"}
			testkit.MustStatus(t, env.do(t, op, "POST", base+"/"+id+"/notices", notice), http.StatusOK)
			// C is found affected after the notices went out, and is not told.
			testkit.MustStatus(t, env.do(t, op, "POST", base+"/"+id+"/organizations", map[string]any{"organizations": []string{c.OrgID}}), http.StatusOK)
			sent := env.clock.Now()

			if !run() || len(alerts()) != 0 {
				t.Fatalf("alerts before any deadline: %v", alerts())
			}
			alertMails(0)

			// Just past the notification deadline (aware + 72 h): C was not told.
			env.clock.Advance(aware.Add(72*time.Hour).Sub(env.clock.Now()) + time.Minute)
			// Another replica holds the lease and raises the alert; this one
			// cannot run, and the holder's second run raises nothing more.
			before := env.seq(t, mfaTPlatform)
			if !env.srv.Service.TrustJobsOnce(ctx, time.Minute, "other") {
				t.Fatal("the other replica did not take the free lease")
			}
			if run() {
				t.Fatal("two replicas held the trust jobs lease")
			}
			if !env.srv.Service.TrustJobsOnce(ctx, time.Minute, "other") {
				t.Fatal("the holder lost its lease")
			}
			got := alerts()
			notif, ok := got[service.IncidentOverdueSubject(id, service.ObligationBreachNotification)]
			if len(got) != 1 || !ok || notif.Severity != strongroom.SeverityHigh || notif.Status != strongroom.AlertOpen ||
				!strings.Contains(notif.Summary, "not sent to 1 organization") || len(notif.Evidence) != 1 {
				t.Fatalf("alerts %+v", got)
			}
			env.audited(t, mfaTPlatform, before, "incident.overdue success")
			alertMails(1)
			m := env.mail(t, "rosa@ops.example", "alert", 1)
			if !strings.Contains(m.Text, "Backup bucket exposed") || !strings.Contains(m.Text, "/api/v1/operator/alerts/"+notif.ID) {
				t.Errorf("alert e-mail %q", m.Text)
			}

			// A acknowledges in time; B does not. 72 h after sending, B's is overdue.
			a.Token = mfaTParseGrant(t, env.signIn(t, a.Email, mfaTPassword), http.StatusOK).Token
			ns := testkit.MustStatus(t, env.do(t, a.Token, "GET", "/api/v1/orgs/"+a.OrgID+"/notices", nil), http.StatusOK).JSON(t)["items"].([]any)
			testkit.MustStatus(t, env.do(t, a.Token, "POST", "/api/v1/orgs/"+a.OrgID+"/notices/"+ns[0].(map[string]any)["id"].(string)+"/acknowledge", nil), http.StatusOK)
			env.clock.Advance(sent.Add(service.NoticeAcknowledgementWindow).Sub(env.clock.Now()) - time.Minute)
			if env.srv.Service.TrustJobsOnce(ctx, time.Minute, "other"); len(alerts()) != 1 {
				t.Fatalf("acknowledgement alerted before its window: %v", alerts())
			}
			env.clock.Advance(2 * time.Minute)
			env.srv.Service.TrustJobsOnce(ctx, time.Minute, "other")
			ack, ok := alerts()[service.IncidentOverdueSubject(id, service.ObligationNoticeAcknowledgement)]
			if !ok || ack.Severity != strongroom.SeverityMedium || !strings.Contains(ack.Summary, "unacknowledged by 1 organization") {
				t.Fatalf("acknowledgement alert %+v in %v", ack, alerts())
			}
			alertMails(2)

			// Resolved: not raised again while the obligation stays unmet.
			op = trustOperator(t, env, "oona@ops.example") // sessions idle out over days
			testkit.MustStatus(t, env.do(t, op, "POST", "/api/v1/operator/alerts/"+notif.ID+"/resolve", nil), http.StatusOK)
			detail := testkit.MustStatus(t, env.do(t, op, "GET", "/api/v1/operator/alerts/"+ack.ID, nil), http.StatusOK).JSON(t)
			if ev := detail["evidence"].([]any); len(ev) != 1 || ev[0].(map[string]any)["action"] != "incident.overdue" {
				t.Errorf("evidence %v", detail["evidence"])
			}
			for range 3 {
				env.clock.Advance(time.Hour)
				env.srv.Service.TrustJobsOnce(ctx, time.Minute, "other")
			}
			if n := len(alerts()); n != 2 {
				t.Fatalf("%d alerts after resolving and rerunning, want 2", n)
			}
			alertMails(2)

			// The report: due 7 days after Review; one minute late raises the third alert.
			op = trustOperator(t, env, "otis@ops.example")
			for _, ph := range []string{"contain", "eradicate", "recover", "review"} {
				testkit.MustStatus(t, env.do(t, op, "POST", base+"/"+id+"/updates", map[string]string{"phase": ph, "note": ph}), http.StatusOK)
			}
			env.clock.Advance(7*24*time.Hour - time.Minute)
			if env.srv.Service.TrustJobsOnce(ctx, time.Minute, "other"); len(alerts()) != 2 {
				t.Fatalf("report alerted before it was due: %v", alerts())
			}
			env.clock.Advance(2 * time.Minute)
			env.srv.Service.TrustJobsOnce(ctx, time.Minute, "other")
			rep, ok := alerts()[service.IncidentOverdueSubject(id, service.ObligationPostIncidentReport)]
			if !ok || rep.Severity != strongroom.SeverityMedium || len(alerts()) != 3 {
				t.Fatalf("report alert %+v in %v", rep, alerts())
			}
			alertMails(3)

			// The alerts are listed to operators by kind, and nothing else is.
			op = trustOperator(t, env, "otto@ops.example")
			items := testkit.MustStatus(t, env.do(t, op, "GET", "/api/v1/operator/alerts?kind=incident_overdue", nil), http.StatusOK).JSON(t)["items"].([]any)
			var kinds []string
			for _, it := range items {
				kinds = append(kinds, it.(map[string]any)["subject"].(string))
			}
			slices.Sort(kinds)
			want := []string{
				service.IncidentOverdueSubject(id, service.ObligationBreachNotification),
				service.IncidentOverdueSubject(id, service.ObligationNoticeAcknowledgement),
				service.IncidentOverdueSubject(id, service.ObligationPostIncidentReport),
			}
			slices.Sort(want)
			if !slices.Equal(kinds, want) {
				t.Errorf("listed %v, want %v", kinds, want)
			}
			a.Token = mfaTParseGrant(t, env.signIn(t, a.Email, mfaTPassword), http.StatusOK).Token
			testkit.MustStatus(t, env.do(t, a.Token, "GET", "/api/v1/operator/alerts?kind=incident_overdue", nil), http.StatusForbidden)
			// The alert metric counted each raised alert once (not the reruns
			// that raised nothing).
			if got := env.obs.snapshot(env.obs.alerts)[string(strongroom.AlertIncidentOverdue)]; got != len(want) {
				t.Errorf("security_alerts_total{kind=incident_overdue} counted %d, want %d", got, len(want))
			}
		})
	}
}
