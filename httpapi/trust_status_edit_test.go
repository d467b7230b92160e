package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
)

const maintenanceBase = "/api/v1/operator/status/maintenance"

// confirmedStatusSubscriber subscribes addr to the status page and confirms
// the subscription through the outbox link.
func confirmedStatusSubscriber(t *testing.T, env *statusEnv, addr string) {
	t.Helper()
	testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/status/subscribe", map[string]string{"email": addr}), http.StatusAccepted)
	token := mailedToken(t, env.mail(t, addr, "status-confirm", 1), "sts_")
	testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/status/confirm", map[string]string{"token": token}), http.StatusNoContent)
}

// publicWindow returns the window id as /status.json shows it (nil when it
// is not shown).
func publicWindow(t *testing.T, env *statusEnv, id string) map[string]any {
	t.Helper()
	for _, m := range env.status(t)["maintenance"].([]any) {
		if w := m.(map[string]any); w["id"] == id {
			return w
		}
	}
	return nil
}

// TestStatusMaintenanceEdit: an operator edits a window. A change of wording
// is published without an e-mail; new components or times are e-mailed to
// confirmed subscribers; once the window has started its start is kept and
// its end may only move to the future; a cancelled or ended window is a
// conflict. Each edit is audited with the times and components before and
// after, never the text. Both engines.
func TestStatusMaintenanceEdit(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := newStatusEnv(t, e)
			user := env.srv.Signup(t, "uma@org.example", "Org U")
			op := trustOperator(t, env.mfaTEnv, "otto@ops.example")
			confirmedStatusSubscriber(t, env, "alice@customer.example")
			now := env.clock.Now().UTC().Truncate(time.Second)
			window := map[string]any{"title": "Database upgrade", "body": "PostgreSQL 17.", "components": []string{"storage", "api"},
				"starts_at": now.Add(time.Hour), "ends_at": now.Add(2 * time.Hour)}
			mid := testkit.MustStatus(t, env.do(t, op, "POST", maintenanceBase, window), http.StatusCreated).JSON(t)["id"].(string)
			path := maintenanceBase + "/" + mid
			notices := func(n int) {
				t.Helper()
				if got := len(env.mails("alice@customer.example", "status-update")); got != n {
					t.Fatalf("alice got %d status e-mails, want %d", got, n)
				}
			}
			notices(1)

			mfaTProblem(t, env.do(t, user.Token, "PUT", path, window), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, "", "PUT", path, window), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)

			// Wording only: published, not e-mailed; the components' order does not count as a change.
			window["title"], window["body"], window["components"] = "Database upgrade (v17)", "PostgreSQL 17, with a failover.", []string{"api", "storage"}
			got := testkit.MustStatus(t, env.do(t, op, "PUT", path, window), http.StatusOK).JSON(t)
			if got["id"] != mid || got["title"] != "Database upgrade (v17)" || got["body"] != "PostgreSQL 17, with a failover." {
				t.Errorf("edited window %v", got)
			}
			if w := publicWindow(t, env, mid); w == nil || w["title"] != "Database upgrade (v17)" {
				t.Errorf("the page shows %v", w)
			}
			notices(1)

			// New components: "updated".
			window["components"] = []string{"api", "storage", "email"}
			testkit.MustStatus(t, env.do(t, op, "PUT", path, window), http.StatusOK)
			notices(2)
			if m := env.mail(t, "alice@customer.example", "status-update", 2); m.Subject != "Maintenance updated: Database upgrade (v17)" ||
				!containsAll(m.Text, "E-mail", "/status/unsubscribe?token=") {
				t.Errorf("components notice %q: %q", m.Subject, m.Text)
			}

			// New times: "rescheduled", and the page shows them.
			window["starts_at"], window["ends_at"] = now.Add(3*time.Hour), now.Add(5*time.Hour)
			testkit.MustStatus(t, env.do(t, op, "PUT", path, window), http.StatusOK)
			notices(3)
			if m := env.mail(t, "alice@customer.example", "status-update", 3); m.Subject != "Maintenance rescheduled: Database upgrade (v17)" ||
				!strings.Contains(m.Text, now.Add(3*time.Hour).Format("Mon 2 Jan 2006 15:04")) {
				t.Errorf("reschedule notice %q: %q", m.Subject, m.Text)
			}
			if w := publicWindow(t, env, mid); w == nil || w["starts_at"] != now.Add(3*time.Hour).Format(time.RFC3339) ||
				w["ends_at"] != now.Add(5*time.Hour).Format(time.RFC3339) {
				t.Errorf("the page shows %v", w)
			}

			// Started: the start is kept, the end may move to the future only.
			env.clock.Advance(4 * time.Hour)
			op = trustOperator(t, env.mfaTEnv, "olive@ops.example") // otto's session has expired
			moved := map[string]any{"title": window["title"], "body": window["body"], "components": window["components"],
				"starts_at": now.Add(3*time.Hour + time.Minute), "ends_at": now.Add(5 * time.Hour)}
			p := mfaTProblem(t, env.do(t, op, "PUT", path, moved), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			if len(p.Errors) != 1 || p.Errors[0].Path != "/starts_at" {
				t.Errorf("moving a started window's start: %+v", p)
			}
			moved["starts_at"], moved["ends_at"] = now.Add(3*time.Hour), now.Add(4*time.Hour-time.Minute)
			p = mfaTProblem(t, env.do(t, op, "PUT", path, moved), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			if len(p.Errors) != 1 || p.Errors[0].Path != "/ends_at" {
				t.Errorf("ending a started window in the past: %+v", p)
			}
			moved["ends_at"] = now.Add(6 * time.Hour)
			testkit.MustStatus(t, env.do(t, op, "PUT", path, moved), http.StatusOK)
			notices(4)
			if w := publicWindow(t, env, mid); w == nil || w["active"] != true || w["ends_at"] != now.Add(6*time.Hour).Format(time.RFC3339) {
				t.Errorf("extended window %v", w)
			}

			// Ended, cancelled, unknown.
			env.clock.Advance(2 * time.Hour)
			op = trustOperator(t, env.mfaTEnv, "oscar@ops.example")
			mfaTProblem(t, env.do(t, op, "PUT", path, moved), http.StatusConflict, strongroom.ECONFLICT)
			later := map[string]any{"title": "Later", "body": "Later.", "components": []string{"backups"},
				"starts_at": env.clock.Now().Add(time.Hour), "ends_at": env.clock.Now().Add(2 * time.Hour)}
			other := testkit.MustStatus(t, env.do(t, op, "POST", maintenanceBase, later), http.StatusCreated).JSON(t)["id"].(string)
			testkit.MustStatus(t, env.do(t, op, "POST", maintenanceBase+"/"+other+"/cancel", nil), http.StatusNoContent)
			mfaTProblem(t, env.do(t, op, "PUT", maintenanceBase+"/"+other, later), http.StatusConflict, strongroom.ECONFLICT)
			mfaTProblem(t, env.do(t, op, "PUT", maintenanceBase+"/00000000-0000-7000-8000-000000000000", later), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, op, "PUT", maintenanceBase+"/not-an-id", later), http.StatusNotFound, strongroom.ENOTFOUND)

			// Audited: one event per edit, times and components before and after, no text.
			var updates []strongroom.AuditEvent
			for _, ev := range auditSince(t, env.st, string(strongroom.PlatformTenant), 0) {
				if ev.Action == "status.maintenance.update" {
					updates = append(updates, ev)
				}
			}
			if len(updates) != 4 {
				t.Fatalf("%d status.maintenance.update events, want 4", len(updates))
			}
			var meta map[string]map[string]any
			if err := json.Unmarshal(updates[2].Metadata, &meta); err != nil {
				t.Fatal(err)
			}
			want := map[string]map[string]any{
				"before": {"components": []any{"api", "storage", "email"}, "starts_at": now.Add(time.Hour).Format(time.RFC3339), "ends_at": now.Add(2 * time.Hour).Format(time.RFC3339)},
				"after":  {"components": []any{"api", "storage", "email"}, "starts_at": now.Add(3 * time.Hour).Format(time.RFC3339), "ends_at": now.Add(5 * time.Hour).Format(time.RFC3339)},
			}
			if diff := cmp.Diff(want, meta); diff != "" {
				t.Errorf("audit metadata (-want +got):\n%s", diff)
			}
			for _, ev := range updates {
				if ev.TargetID != mid || strings.Contains(string(ev.Metadata), "PostgreSQL") || strings.Contains(string(ev.Metadata), "upgrade") {
					t.Errorf("update event %s %s", ev.TargetID, ev.Metadata)
				}
			}
		})
	}
}

// TestStatusMaintenanceEditBadInput: malformed, oversized and refused edits
// get a problem and change nothing (no audit event, no e-mail, the window as
// it was).
func TestStatusMaintenanceEditBadInput(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := newStatusEnv(t, e)
			op := trustOperator(t, env.mfaTEnv, "otto@ops.example")
			confirmedStatusSubscriber(t, env, "alice@customer.example")
			now := env.clock.Now().UTC().Truncate(time.Second)
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
			mid := testkit.MustStatus(t, env.do(t, op, "POST", maintenanceBase, ok()), http.StatusCreated).JSON(t)["id"].(string)
			cancelled := testkit.MustStatus(t, env.do(t, op, "POST", maintenanceBase, with("title", "Gone")), http.StatusCreated).JSON(t)["id"].(string)
			testkit.MustStatus(t, env.do(t, op, "POST", maintenanceBase+"/"+cancelled+"/cancel", nil), http.StatusNoContent)
			path := maintenanceBase + "/" + mid
			edit := with("title", "Changed")
			cases := []struct {
				name, path string
				body       any
				status     int
			}{
				{"not JSON", path, "{", 400},
				{"two values", path, `{"title":"a"} {}`, 400},
				{"unknown field", path, with("cancelled_at", now), 400},
				{"field in another case", path, map[string]any{"Title": "x", "body": "b", "components": []string{"api"}, "starts_at": now.Add(time.Hour), "ends_at": now.Add(2 * time.Hour)}, 400},
				{"bad time", path, with("ends_at", "later"), 400},
				{"oversized", path, with("body", strings.Repeat("x", 2<<20)), 413},
				{"reversed times", path, with("ends_at", now.Add(30*time.Minute)), 422},
				{"in the past", path, with("starts_at", now.Add(-time.Hour)), 422},
				{"longer than a week", path, with("ends_at", now.Add(8*24*time.Hour)), 422},
				{"no component", path, with("components", []string{}), 422},
				{"unknown component", path, with("components", []string{"<script>"}), 422},
				{"missing title", path, with("title", nil), 422},
				{"body too long", path, with("body", strings.Repeat("x", 4001)), 422},
				{"cancelled window", maintenanceBase + "/" + cancelled, edit, 409},
				{"unknown id", maintenanceBase + "/00000000-0000-7000-8000-000000000000", edit, 404},
				{"hostile id", maintenanceBase + "/..%2f..%2fetc", edit, 404},
			}
			before := lastSeq(t, env.st)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := env.do(t, op, "PUT", c.path, c.body)
					if r.Status != c.status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
						t.Errorf("status %d (%s), want %d problem: %s", r.Status, r.Header.Get("Content-Type"), c.status, r.Body)
					}
				})
			}
			if after := lastSeq(t, env.st); after != before {
				t.Errorf("refused edits appended %d audit events", after-before)
			}
			if n := len(env.mails("alice@customer.example", "status-update")); n != 3 {
				t.Errorf("alice got %d status e-mails, want the 2 of the scheduling and the cancellation's", n)
			}
			w := publicWindow(t, env, mid)
			if w == nil || w["title"] != "Upgrade" || w["body"] != "Planned." || w["starts_at"] != now.Add(time.Hour).Format(time.RFC3339) ||
				w["ends_at"] != now.Add(2*time.Hour).Format(time.RFC3339) || len(w["components"].([]any)) != 1 {
				t.Errorf("the window changed: %v", w)
			}
		})
	}
}
