package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestSubprocessorSubscriptionPages: the links of the subprocessor
// subscription's confirmation e-mail open console pages (the same pages as the
// status subscription's): the link shows a button only, the POST confirms and,
// from the same message's second link, unsubscribes. A used, unknown or
// status token is 404 and changes nothing. Both engines.
func TestSubprocessorSubscriptionPages(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			srv := testkit.NewServer(t, e.Open(t), httpapi.Options{})
			confirmed := func() int {
				t.Helper()
				var n int
				if err := srv.Store.Read(context.Background(), store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
					var err error
					n, _, err = tx.SubscriptionCounts(context.Background(), strongroom.TopicSubprocessors)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return n
			}
			start := time.Now()
			testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/subprocessors/subscribe",
				Body: `{"email":"dpo@customer.example"}`, ContentType: "application/json"}), http.StatusAccepted)
			link := mailLink(t, srv, "dpo@customer.example", "subprocessor-confirm", start)
			if !strings.HasPrefix(link, "/subprocessors/confirm?token=srn_") {
				t.Fatalf("confirmation link %q", link)
			}
			token := strings.TrimPrefix(link, "/subprocessors/confirm?token=")
			form := func(path, token string) testkit.Response {
				return srv.Do(t, testkit.Request{Method: "POST", Path: path, Body: "token=" + url.QueryEscape(token),
					ContentType: "application/x-www-form-urlencoded"})
			}

			page := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: link}), http.StatusOK)
			for _, want := range []string{`action="/subprocessors/confirm"`, `value="` + token + `"`, "changes to our list of subprocessors"} {
				if !strings.Contains(string(page.Body), want) {
					t.Errorf("confirmation page lacks %q", want)
				}
			}
			if n := confirmed(); n != 0 {
				t.Fatalf("opening the link confirmed %d subscriptions", n)
			}
			// A status token of the same shape is not a subprocessor token.
			if r := form("/subprocessors/confirm", "sts_"+token[len("srn_"):]); r.Status != http.StatusNotFound {
				t.Errorf("status-prefixed token: %d", r.Status)
			}
			if r := form("/status/confirm", token); r.Status != http.StatusNotFound {
				t.Errorf("the subprocessor token on the status page: %d", r.Status)
			}
			if n := confirmed(); n != 0 {
				t.Fatalf("a wrong token confirmed %d subscriptions", n)
			}
			done := testkit.MustStatus(t, form("/subprocessors/confirm", token), http.StatusOK)
			if !strings.Contains(string(done.Body), "Your subscription is confirmed") {
				t.Errorf("after confirming: %.300s", done.Body)
			}
			if n := confirmed(); n != 1 {
				t.Fatalf("%d confirmed subscriptions, want 1", n)
			}

			page = testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: "/subprocessors/unsubscribe?token=" + token}), http.StatusOK)
			if !strings.Contains(string(page.Body), `action="/subprocessors/unsubscribe"`) || !strings.Contains(string(page.Body), "Unsubscribe from subprocessor changes") {
				t.Errorf("unsubscribe page: %.500s", page.Body)
			}
			done = testkit.MustStatus(t, form("/subprocessors/unsubscribe", token), http.StatusOK)
			if !strings.Contains(string(done.Body), "You are unsubscribed") {
				t.Errorf("after unsubscribing: %.300s", done.Body)
			}
			if n := confirmed(); n != 0 {
				t.Fatalf("%d confirmed subscriptions after unsubscribing", n)
			}
			if r := form("/subprocessors/unsubscribe", token); r.Status != http.StatusNotFound {
				t.Errorf("unsubscribing twice: %d", r.Status)
			}
		})
	}
}
