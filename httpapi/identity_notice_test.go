package httpapi_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestNewDeviceNotice: a sign-in from a device type, browser and network that
// none of the account's live sessions used e-mails the account (IAM-10); a
// sign-in like an existing session does not, and neither does an account's
// first session. Each notice is also recorded as a low alert (LOG-04).
func TestNewDeviceNotice(t *testing.T) {
	const (
		firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
		iphone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	)
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			srv := testkit.NewServerWithConfig(t, e.Open(t), testkit.ServerConfig{
				Options: httpapi.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
			const email = "notice@example.com"
			acct := srv.Signup(t, email, "Notice Org") // the first session: no notice
			signIn := func(ua, ip string) {
				t.Helper()
				r := srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/password",
					Body:   map[string]string{"email": email, "password": "correct horse battery staple"},
					Header: map[string]string{"User-Agent": ua, "X-Forwarded-For": ip}})
				if r.Status != http.StatusOK {
					t.Fatalf("sign-in: status %d: %s", r.Status, r.Body)
				}
				srv.Service.WaitMail()
			}
			notices := func() []string {
				var out []string
				for _, m := range srv.Outbox.List(0) {
					if m.Kind == "new-device" && m.To == email {
						out = append(out, m.Text)
					}
				}
				return out
			}
			if n := len(notices()); n != 0 {
				t.Fatalf("%d new-device notices after sign-up, want none", n)
			}
			signIn(firefox, "198.51.100.20") // another browser and network than the sign-up session
			if n := len(notices()); n != 1 {
				t.Fatalf("%d new-device notices after a sign-in from a new browser and network, want 1", n)
			}
			signIn(firefox, "198.51.100.21") // same browser, same /24: known
			if n := len(notices()); n != 1 {
				t.Fatalf("%d new-device notices after a sign-in like an existing session, want still 1", n)
			}
			signIn(iphone, "203.0.113.9") // a phone on another network
			got := notices()
			if len(got) != 2 {
				t.Fatalf("%d new-device notices after a sign-in from a phone elsewhere, want 2", len(got))
			}
			if !strings.Contains(got[0], "Safari") || !strings.Contains(got[0], "iOS") || !strings.Contains(got[0], "203.0.113.9") {
				t.Errorf("the notice does not describe the device and address:\n%s", got[0])
			}
			for _, text := range got {
				if strings.Contains(text, "srs_") {
					t.Errorf("a notice carries a session token:\n%s", text)
				}
			}
			// Each notice is also a low alert of the platform (LOG-04): one open
			// alert for the user, with both sign-ins as evidence.
			var alerts []strongroom.Alert
			var evidence []strongroom.AuditEvent
			err := srv.Store.Read(t.Context(), store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
				var err error
				if alerts, err = tx.Alerts(t.Context(), store.AlertQuery{Kind: strongroom.AlertNewDevice, Limit: 10}); err != nil || len(alerts) != 1 {
					return err
				}
				evidence, err = tx.AuditEventsBySeq(t.Context(), alerts[0].Evidence)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != 1 || alerts[0].Subject != acct.UserID || alerts[0].Severity != strongroom.SeverityLow || alerts[0].Count != 2 {
				t.Fatalf("new-device alerts %+v, want one low alert about the user counting 2", alerts)
			}
			for _, ev := range evidence {
				if ev.Action != "auth.signin.password" || ev.Result != strongroom.ResultSuccess || ev.TargetID != acct.UserID {
					t.Errorf("evidence %+v", ev)
				}
			}
			if len(evidence) != 2 || !strings.Contains(alerts[0].Summary, "203.0.113.0/24") {
				t.Errorf("%d evidence events, summary %q", len(evidence), alerts[0].Summary)
			}
		})
	}
}
