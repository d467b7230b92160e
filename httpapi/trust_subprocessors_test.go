package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
)

// Subprocessors over HTTP (INC-06), on both engines: the notice period is
// enforced, the public list shows what is in effect and what is coming,
// subscriptions are double opt-in, and the notifier (under its lease) tells
// confirmed subscribers of each change once.
func TestSubprocessorsFlow(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			user := env.srv.Signup(t, "uma@org.example", "Org U")
			op := trustOperator(t, env, "otto@ops.example")
			const base = "/api/v1/operator/subprocessors"
			now := env.clock.Now().UTC()
			entry := func(name string, at time.Time) map[string]any {
				return map[string]any{"name": name, "purpose": "E-mail delivery", "location": "EU (Ireland)",
					"certifications": []string{"ISO 27001", "SOC 2 Type II"}, "data_categories": []string{"e-mail addresses"}, "effective_at": at}
			}
			mfaTProblem(t, env.do(t, user.Token, "POST", base, entry("Mailer", now.Add(40*24*time.Hour))), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, user.Token, "GET", base, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			// The notice period (30 days by default) is enforced.
			mfaTProblem(t, env.do(t, op, "POST", base, entry("Mailer", now.Add(29*24*time.Hour))), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			bad := entry("Mailer", now.Add(40*24*time.Hour))
			bad["data_categories"] = []string{}
			mfaTProblem(t, env.do(t, op, "POST", base, bad), http.StatusUnprocessableEntity, strongroom.EVALIDATION)

			// Double opt-in: Alice confirms, Bob does not.
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/subprocessors/subscribe", map[string]string{"email": "alice@customer.example"}), http.StatusAccepted)
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/subprocessors/subscribe", map[string]string{"email": "bob@customer.example"}), http.StatusAccepted)
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/subprocessors/subscribe", map[string]string{"email": "not an address"}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			token := mailedToken(t, env.mail(t, "alice@customer.example", "subprocessor-confirm", 1), "srn_")
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/subprocessors/confirm", map[string]string{"token": token + "x"}), http.StatusNotFound, strongroom.ENOTFOUND)
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/subprocessors/confirm", map[string]string{"token": token}), http.StatusNoContent)
			// Subscribing a confirmed address again sends nothing.
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/subprocessors/subscribe", map[string]string{"email": "alice@customer.example"}), http.StatusAccepted)
			env.mail(t, "alice@customer.example", "subprocessor-confirm", 1)

			effective := now.Add(31 * 24 * time.Hour).Truncate(time.Second)
			sp := testkit.MustStatus(t, env.do(t, op, "POST", base, entry("Mailer Ltd", effective)), http.StatusCreated).JSON(t)
			id := sp["id"].(string)
			pub := testkit.MustStatus(t, env.do(t, "", "GET", "/subprocessors.json", nil), http.StatusOK).JSON(t)
			if len(pub["subprocessors"].([]any)) != 0 || len(pub["upcoming_changes"].([]any)) != 1 || pub["notice_days"] != float64(30) {
				t.Fatalf("public list %v", pub)
			}
			up := pub["upcoming_changes"].([]any)[0].(map[string]any)
			if up["change"] != "add" || up["subprocessor"].(map[string]any)["name"] != "Mailer Ltd" || up["subprocessor"].(map[string]any)["id"] != nil {
				t.Errorf("upcoming %v", up)
			}

			// The notifier runs under a lease: one holder at a time; each change is told once, to confirmed subscribers only.
			ctx := context.Background()
			if !env.srv.Service.TrustJobsOnce(ctx, time.Minute, "replica-a") {
				t.Fatal("replica a did not get the free lease")
			}
			if env.srv.Service.TrustJobsOnce(ctx, time.Minute, "replica-b") {
				t.Fatal("replica b ran while a holds the lease")
			}
			env.srv.Service.TrustJobsOnce(ctx, time.Minute, "replica-a")
			m := env.mail(t, "alice@customer.example", "subprocessor-change", 1)
			if want := "Mailer Ltd (E-mail delivery, in EU (Ireland)) will process data for us from"; !containsAll(m.Text, want, "e-mail addresses") {
				t.Errorf("announcement %q", m.Text)
			}
			if n := len(env.mails("bob@customer.example", "subprocessor-change")); n != 0 {
				t.Errorf("an unconfirmed address got %d announcements", n)
			}

			// Once in effect it is listed; a removal needs the notice period too.
			env.clock.Advance(32 * 24 * time.Hour)
			op = trustOperator(t, env, "olive@ops.example")
			pub = testkit.MustStatus(t, env.do(t, "", "GET", "/subprocessors.json", nil), http.StatusOK).JSON(t)
			if len(pub["subprocessors"].([]any)) != 1 || len(pub["upcoming_changes"].([]any)) != 0 {
				t.Fatalf("public list after it took effect %v", pub)
			}
			later := env.clock.Now().UTC()
			mfaTProblem(t, env.do(t, op, "POST", base+"/"+id+"/end", map[string]any{"ends_at": later.Add(24 * time.Hour)}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			testkit.MustStatus(t, env.do(t, op, "POST", base+"/"+id+"/end", map[string]any{"ends_at": later.Add(45 * 24 * time.Hour)}), http.StatusOK)
			mfaTProblem(t, env.do(t, op, "POST", base+"/"+id+"/end", map[string]any{"ends_at": later.Add(50 * 24 * time.Hour)}), http.StatusConflict, strongroom.ECONFLICT)
			mfaTProblem(t, env.do(t, op, "POST", base+"/00000000-0000-7000-8000-000000000000/end", map[string]any{"ends_at": later.Add(50 * 24 * time.Hour)}), http.StatusNotFound, strongroom.ENOTFOUND)
			pub = testkit.MustStatus(t, env.do(t, "", "GET", "/subprocessors.json", nil), http.StatusOK).JSON(t)
			if len(pub["upcoming_changes"].([]any)) != 1 || pub["upcoming_changes"].([]any)[0].(map[string]any)["change"] != "remove" {
				t.Errorf("removal not announced publicly: %v", pub)
			}
			env.srv.Service.TrustJobsOnce(ctx, time.Minute, "replica-b") // a's lease (3 minutes) expired with the clock
			if m := env.mail(t, "alice@customer.example", "subprocessor-change", 2); !containsAll(m.Text, "will stop processing data for us") {
				t.Errorf("removal announcement %q", m.Text)
			}
			// Unsubscribed: nothing more.
			testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/subprocessors/unsubscribe", map[string]string{"token": token}), http.StatusNoContent)
			mfaTProblem(t, env.do(t, "", "POST", "/api/v1/subprocessors/unsubscribe", map[string]string{"token": token}), http.StatusNotFound, strongroom.ENOTFOUND)
			testkit.MustStatus(t, env.do(t, op, "POST", base, entry("Another", env.clock.Now().Add(31*24*time.Hour))), http.StatusCreated)
			env.srv.Service.TrustJobsOnce(ctx, time.Minute, "replica-b")
			env.mail(t, "alice@customer.example", "subprocessor-change", 2)
			list := testkit.MustStatus(t, env.do(t, op, "GET", base, nil), http.StatusOK).JSON(t)["items"].([]any)
			if len(list) != 2 || list[0].(map[string]any)["announced_at"] == nil || list[0].(map[string]any)["end_announced_at"] == nil {
				t.Errorf("operator list %v", list)
			}
		})
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
