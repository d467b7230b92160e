package httpapi_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// Access reviews (IAM-15) over HTTP, on both engines: the snapshot lists
// members privileged first with their client assignments and last activity;
// Viewers get 403 and other organizations 404; reviewers keep or revoke, never
// themselves; a revoked member loses access on the next request; the last
// Admin is kept as keep_unreviewed; a completed campaign cannot change; the
// evidence exports as JSON and CSV; every step is audited.
func TestAccessReviewFlow(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "ada@a.example", "Org A")
			org := "/api/v1/orgs/" + a.OrgID
			add := func(email, role string) testkit.Account {
				u := env.srv.Signup(t, email, "Own "+email)
				testkit.MustStatus(t, env.do(t, a.Token, "POST", org+"/members", map[string]string{"email": u.Email, "role": role}), http.StatusCreated)
				return u
			}
			vi := add("val@a.example", "viewer")
			ed := add("eve@a.example", "editor")
			a2 := add("zed@a.example", "admin")
			b := env.srv.Signup(t, "bob@b.example", "Org B")
			client := testkit.MustStatus(t, env.do(t, a.Token, "POST", org+"/clients", map[string]string{"name": "Acme"}), http.StatusCreated).JSON(t)["id"].(string)
			testkit.MustStatus(t, env.do(t, a.Token, "PUT", org+"/members/"+ed.UserID+"/clients", map[string]any{"client_ids": []string{client}}), http.StatusOK)
			key := testkit.MustStatus(t, env.do(t, a.Token, "POST", org+"/api-keys", map[string]string{"name": "ci", "role": "viewer"}), http.StatusCreated).JSON(t)
			testkit.MustStatus(t, env.do(t, key["secret"].(string), "GET", org+"/clients", nil), http.StatusOK)

			// Admins only; another organization's answers 404.
			mfaTProblem(t, env.do(t, vi.Token, "GET", org+"/access-reviews", nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, ed.Token, "POST", org+"/access-reviews", nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, b.Token, "GET", org+"/access-reviews", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, a.Token, "GET", "/api/v1/operator/access-reviews", nil), http.StatusForbidden, strongroom.EFORBIDDEN)

			before := env.seq(t, strongroom.TenantID(a.OrgID))
			c := testkit.MustStatus(t, env.do(t, a.Token, "POST", org+"/access-reviews", nil), http.StatusCreated).JSON(t)
			id := c["id"].(string)
			before = env.audited(t, strongroom.TenantID(a.OrgID), before, "access_review.open success")
			type row struct{ Email, Role, Clients string }
			var got []row
			entries := c["entries"].([]any)
			for _, x := range entries {
				m := x.(map[string]any)
				var cs []string
				for _, v := range m["client_ids"].([]any) {
					cs = append(cs, v.(string))
				}
				got = append(got, row{m["email"].(string), m["role"].(string), strings.Join(cs, ",")})
				if m["last_session_at"] == nil || m["decision"] != nil {
					t.Errorf("entry %v: want the last session and no decision", m)
				}
				if (m["email"] == a.Email) != (m["last_api_key_use_at"] != nil) {
					t.Errorf("entry %v: the API key's last use belongs to its creator only", m)
				}
			}
			want := []row{{a.Email, "admin", ""}, {a2.Email, "admin", ""}, {ed.Email, "editor", client}, {vi.Email, "viewer", ""}}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("entries, privileged first (-want +got):\n%s", d)
			}
			if c["status"] != "open" || c["due_at"] == nil {
				t.Errorf("campaign %v", c)
			}

			// Bad input: clear errors, nothing recorded.
			entry := org + "/access-reviews/" + id + "/entries/"
			mfaTProblem(t, env.do(t, a.Token, "POST", entry+vi.UserID, map[string]string{"decision": "maybe"}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			mfaTProblem(t, env.do(t, a.Token, "POST", entry+vi.UserID, map[string]any{"decision": "keep", "extra": 1}), http.StatusBadRequest, strongroom.EINVALID)
			mfaTProblem(t, env.do(t, a.Token, "POST", entry+vi.UserID, map[string]string{"decision": "keep", "note": strings.Repeat("x", service.MaxReviewNote+1)}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			mfaTProblem(t, env.do(t, a.Token, "POST", entry+vi.UserID, map[string]string{"decision": "keep", "note": "bad\x00"}), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			mfaTProblem(t, env.do(t, a.Token, "POST", entry+b.UserID, map[string]string{"decision": "keep"}), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, a.Token, "POST", entry+"not-a-user", map[string]string{"decision": "keep"}), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, a.Token, "GET", org+"/access-reviews/nope", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, a.Token, "GET", org+"/access-reviews/"+id+"/export?format=xml", nil), http.StatusBadRequest, strongroom.EINVALID)
			// Another organization's Admin cannot reach the campaign.
			mfaTProblem(t, env.do(t, b.Token, "POST", entry+vi.UserID, map[string]string{"decision": "revoke"}), http.StatusNotFound, strongroom.ENOTFOUND)
			// Nobody reviews themselves.
			mfaTProblem(t, env.do(t, a.Token, "POST", entry+a.UserID, map[string]string{"decision": "keep"}), http.StatusForbidden, strongroom.EFORBIDDEN)
			before = env.audited(t, strongroom.TenantID(a.OrgID), before, "access.denied denied: outside the principal's organizations or clients")

			// Keep and revoke; the revoked Viewer is refused on the next request.
			testkit.MustStatus(t, env.do(t, vi.Token, "GET", org+"/clients", nil), http.StatusOK)
			testkit.MustStatus(t, env.do(t, a.Token, "POST", entry+ed.UserID, map[string]string{"decision": "keep", "note": "still on Acme"}), http.StatusOK)
			d := testkit.MustStatus(t, env.do(t, a.Token, "POST", entry+vi.UserID, map[string]string{"decision": "revoke"}), http.StatusOK).JSON(t)
			mfaTProblem(t, env.do(t, vi.Token, "GET", org+"/clients", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			env.audited(t, strongroom.TenantID(a.OrgID), before, "access_review.decide success", "member.remove success",
				"access_review.decide success", "access.denied denied: outside the principal's organizations or clients")
			if e := d["entries"].([]any)[3].(map[string]any); e["decision"] != "revoke" || e["decided_by"] != a.UserID {
				t.Errorf("revoked entry %v", e)
			}
			mfaTProblem(t, env.do(t, a.Token, "POST", entry+ed.UserID, map[string]string{"decision": "revoke"}), http.StatusConflict, strongroom.ECONFLICT)
			testkit.MustStatus(t, env.do(t, ed.Token, "GET", org+"/clients", nil), http.StatusOK)

			// Two Admins: each reviews the other before the campaign completes.
			mfaTProblem(t, env.do(t, a.Token, "POST", org+"/access-reviews/"+id+"/complete", nil), http.StatusConflict, strongroom.ECONFLICT)
			testkit.MustStatus(t, env.do(t, a.Token, "POST", entry+a2.UserID, map[string]string{"decision": "keep"}), http.StatusOK)
			testkit.MustStatus(t, env.do(t, a2.Token, "POST", entry+a.UserID, map[string]string{"decision": "keep"}), http.StatusOK)
			done := testkit.MustStatus(t, env.do(t, a.Token, "POST", org+"/access-reviews/"+id+"/complete", nil), http.StatusOK).JSON(t)
			if done["status"] != "completed" || done["completed_by"] != a.UserID {
				t.Fatalf("completed campaign %v", done)
			}
			before = env.seq(t, strongroom.TenantID(a.OrgID))

			// Completed: nothing changes any more.
			mfaTProblem(t, env.do(t, a2.Token, "POST", entry+ed.UserID, map[string]string{"decision": "revoke"}), http.StatusConflict, strongroom.ECONFLICT)
			mfaTProblem(t, env.do(t, a.Token, "POST", org+"/access-reviews/"+id+"/complete", nil), http.StatusConflict, strongroom.ECONFLICT)
			testkit.MustStatus(t, env.do(t, ed.Token, "GET", org+"/clients", nil), http.StatusOK)
			again := testkit.MustStatus(t, env.do(t, a.Token, "GET", org+"/access-reviews/"+id, nil), http.StatusOK).JSON(t)
			delete(done, "reminded_at")
			delete(again, "reminded_at")
			if diff := cmp.Diff(done, again); diff != "" {
				t.Errorf("the completed campaign changed (-completed +now):\n%s", diff)
			}

			// Evidence: JSON and CSV.
			j := testkit.MustStatus(t, env.do(t, a.Token, "GET", org+"/access-reviews/"+id+"/export", nil), http.StatusOK)
			if !strings.Contains(j.Header.Get("Content-Disposition"), "access-review-"+id+".json") || j.JSON(t)["status"] != "completed" {
				t.Errorf("JSON export %v %s", j.Header, j.Body)
			}
			cr := testkit.MustStatus(t, env.do(t, a.Token, "GET", org+"/access-reviews/"+id+"/export?format=csv", nil), http.StatusOK)
			if ct := cr.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Errorf("CSV Content-Type %q", ct)
			}
			recs, err := csv.NewReader(strings.NewReader(string(cr.Body))).ReadAll()
			if err != nil || len(recs) != 5 {
				t.Fatalf("CSV: %v, %d rows:\n%s", err, len(recs), cr.Body)
			}
			var decisions []string
			for _, r := range recs[1:] {
				decisions = append(decisions, r[7]+"="+r[12])
			}
			if d := cmp.Diff([]string{a.Email + "=keep", a2.Email + "=keep", ed.Email + "=keep", vi.Email + "=revoke"}, decisions); d != "" {
				t.Errorf("CSV decisions (-want +got):\n%s", d)
			}
			lst := testkit.MustStatus(t, env.do(t, a.Token, "GET", org+"/access-reviews", nil), http.StatusOK).JSON(t)["items"].([]any)
			if len(lst) != 1 {
				t.Errorf("campaigns %v", lst)
			}
			env.audited(t, strongroom.TenantID(a.OrgID), before, "access_review.read success", "access_review.export success",
				"access_review.export success", "access_review.list success")

			// The only Admin: cannot review themselves nor be revoked; at
			// completion their entry is kept, marked as not independently
			// reviewed.
			borg := "/api/v1/orgs/" + b.OrgID
			bc := testkit.MustStatus(t, env.do(t, b.Token, "POST", borg+"/access-reviews", nil), http.StatusCreated).JSON(t)
			mfaTProblem(t, env.do(t, b.Token, "POST", borg+"/access-reviews/"+bc["id"].(string)+"/entries/"+b.UserID, map[string]string{"decision": "revoke"}),
				http.StatusForbidden, strongroom.EFORBIDDEN)
			bd := testkit.MustStatus(t, env.do(t, b.Token, "POST", borg+"/access-reviews/"+bc["id"].(string)+"/complete", nil), http.StatusOK).JSON(t)
			if e := bd["entries"].([]any)[0].(map[string]any); e["decision"] != strongroom.ReviewKeepUnreviewed {
				t.Errorf("the only Admin's entry %v", e)
			}
			testkit.MustStatus(t, env.do(t, b.Token, "GET", borg, nil), http.StatusOK)
		})
	}
}

// TestAccessReviewLastAdmin: revoking an Admin who is, by then, the last one
// is refused and nothing is recorded.
func TestAccessReviewLastAdmin(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "ada@a.example", "Org A")
			org := "/api/v1/orgs/" + a.OrgID
			a2 := env.srv.Signup(t, "zed@a.example", "Zed's")
			testkit.MustStatus(t, env.do(t, a.Token, "POST", org+"/members", map[string]string{"email": a2.Email, "role": "admin"}), http.StatusCreated)
			id := testkit.MustStatus(t, env.do(t, a.Token, "POST", org+"/access-reviews", nil), http.StatusCreated).JSON(t)["id"].(string)
			// a2 steps down to Viewer after the snapshot; a is the last Admin.
			testkit.MustStatus(t, env.do(t, a.Token, "PATCH", org+"/members/"+a2.UserID, map[string]string{"role": "viewer"}), http.StatusOK)
			testkit.MustStatus(t, env.do(t, a.Token, "PATCH", org+"/members/"+a2.UserID, map[string]string{"role": "admin"}), http.StatusOK)
			testkit.MustStatus(t, env.do(t, a2.Token, "PATCH", org+"/members/"+a.UserID, map[string]string{"role": "viewer"}), http.StatusOK)
			// a is now a Viewer and cannot review; a2, the only Admin, revokes a
			// (allowed: a is not an Admin any more) but cannot revoke itself.
			mfaTProblem(t, env.do(t, a.Token, "POST", org+"/access-reviews/"+id+"/entries/"+a2.UserID, map[string]string{"decision": "revoke"}),
				http.StatusForbidden, strongroom.EFORBIDDEN)
			testkit.MustStatus(t, env.do(t, a2.Token, "GET", org+"/members", nil), http.StatusOK)
			testkit.MustStatus(t, env.do(t, a2.Token, "POST", org+"/access-reviews/"+id+"/entries/"+a.UserID, map[string]string{"decision": "keep"}), http.StatusOK)
			d := testkit.MustStatus(t, env.do(t, a2.Token, "POST", org+"/access-reviews/"+id+"/complete", nil), http.StatusOK).JSON(t)
			if e := d["entries"].([]any); e[1].(map[string]any)["decision"] != strongroom.ReviewKeepUnreviewed {
				t.Errorf("entries %v", e)
			}
		})
	}
}

// TestAccessReviewScheduler: two replicas run the scheduler at once; exactly
// one campaign opens per organization per period, the operators' review
// opens too, reminders reach the Admins through the outbox near the due date
// (once a day, never to Editors), and the next period opens the next one.
func TestAccessReviewScheduler(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "ada@a.example", "Org A")
			ed := env.srv.Signup(t, "eve@a.example", "Eve's")
			testkit.MustStatus(t, env.do(t, a.Token, "POST", "/api/v1/orgs/"+a.OrgID+"/members", map[string]string{"email": ed.Email, "role": "editor"}), http.StatusCreated)
			trustOperator(t, env, "oscar@ops.example")
			replica := testkit.NewServerWithConfig(t, env.st, testkit.ServerConfig{Service: func(_ string, cfg *service.Config) { cfg.Now = env.clock.Now }})
			orgs := []strongroom.TenantID{strongroom.TenantID(a.OrgID), strongroom.TenantID(ed.OrgID), strongroom.PlatformTenant}
			count := func() map[strongroom.TenantID]int {
				t.Helper()
				out := map[strongroom.TenantID]int{}
				for _, o := range orgs {
					if err := env.st.Read(context.Background(), store.TenantScope(o), func(tx *store.Tx) error {
						cs, err := tx.ReviewCampaigns(context.Background())
						out[o] = len(cs)
						return err
					}); err != nil {
						t.Fatal(err)
					}
				}
				return out
			}
			run := func() int {
				var wg sync.WaitGroup
				held := make([]bool, 2)
				for i, s := range []*service.Service{env.srv.Service, replica.Service} {
					wg.Go(func() { held[i] = s.ReviewJobsOnce(context.Background(), time.Minute, []string{"r1", "r2"}[i]) })
				}
				wg.Wait()
				n := 0
				for _, h := range held {
					if h {
						n++
					}
				}
				return n
			}
			one := map[strongroom.TenantID]int{orgs[0]: 1, orgs[1]: 1, orgs[2]: 1}
			if n := run(); n != 1 {
				t.Errorf("%d replicas held the lease at once", n)
			}
			if d := cmp.Diff(one, count()); d != "" {
				t.Fatalf("campaigns per tenant (-want +got):\n%s", d)
			}
			// The lease moves after it expires; the period still has its one campaign.
			env.clock.Advance(4 * time.Minute)
			run()
			env.clock.Advance(4 * time.Minute)
			run()
			if d := cmp.Diff(one, count()); d != "" {
				t.Fatalf("campaigns per tenant after the lease moved (-want +got):\n%s", d)
			}
			// Each replica delivers through its own outbox.
			reminders := func(to string) []mail.OutboxMessage {
				var out []mail.OutboxMessage
				for _, srv := range []*testkit.Server{env.srv, replica} {
					srv.Service.WaitMail()
					for _, m := range srv.Outbox.List(0) {
						if m.To == to && m.Kind == "access-review-reminder" {
							out = append(out, m)
						}
					}
				}
				return out
			}
			if len(reminders(a.Email)) != 0 {
				t.Fatal("reminded before the due date came near")
			}
			// Near the due date (14 days, reminders from 3 days before).
			env.clock.Advance(12 * 24 * time.Hour)
			run()
			env.clock.Advance(time.Hour)
			run()
			ms := reminders(a.Email)
			if len(ms) != 1 || !strings.Contains(ms[0].Subject, "Access review due") || !strings.Contains(ms[0].Text, "/api/v1/orgs/"+a.OrgID+"/access-reviews/") {
				t.Fatalf("reminders %+v", ms)
			}
			// Eve is Admin of her own organization and Editor in A: reminded of hers only.
			if ms := reminders(ed.Email); len(ms) != 1 || strings.Contains(ms[0].Text, a.OrgID) || !strings.Contains(ms[0].Text, ed.OrgID) {
				t.Errorf("reminders to A's Editor %+v", ms)
			}
			if n := len(reminders("oscar@ops.example")); n != 2 { // the operator's own organization and the operators' review
				t.Errorf("%d reminders to the operator, want 2", n)
			}
			// Overdue: reminded again a day later.
			env.clock.Advance(3 * 24 * time.Hour)
			run()
			if ms := reminders(a.Email); len(ms) != 2 || !strings.Contains(ms[0].Subject+ms[1].Subject, "overdue") {
				t.Errorf("overdue reminders %+v", ms)
			}
			// The next period opens the next campaign.
			env.clock.Advance(100 * 24 * time.Hour)
			run()
			two := map[strongroom.TenantID]int{orgs[0]: 2, orgs[1]: 2, orgs[2]: 2}
			if d := cmp.Diff(two, count()); d != "" {
				t.Fatalf("campaigns per tenant in the next period (-want +got):\n%s", d)
			}
		})
	}
}

// TestReviewPeriod checks the schedule's periods for each cadence.
func TestReviewPeriod(t *testing.T) {
	at := time.Date(2026, time.November, 21, 23, 59, 0, 0, time.FixedZone("x", -5*3600))
	for months, want := range map[int]string{1: "2026-11-01", 3: "2026-10-01", 4: "2026-09-01", 6: "2026-07-01", 12: "2026-01-01"} {
		if got := service.ReviewPeriod(at, months); got != want {
			t.Errorf("cadence %d: %s, want %s", months, got, want)
		}
	}
	if got := service.ReviewPeriod(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 3); got != "2027-01-01" {
		t.Errorf("first day: %s", got)
	}
}

// TestOperatorAccessReview: operators review operator accounts; other
// accounts get 403; revoking an operator withdraws the status at once (the
// next operator request is refused) and is audited in the platform log; the
// last operator cannot be revoked.
func TestOperatorAccessReview(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "ada@a.example", "Org A")
			op1 := trustOperator(t, env, "oscar@ops.example")
			op2 := trustOperator(t, env, "olga@ops.example")
			const base = "/api/v1/operator/access-reviews"
			mfaTProblem(t, env.do(t, a.Token, "POST", base, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, "", "GET", base, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			before := env.seq(t, mfaTPlatform)
			c := testkit.MustStatus(t, env.do(t, op1, "POST", base, nil), http.StatusCreated).JSON(t)
			var emails []string
			var olga string
			for _, x := range c["entries"].([]any) {
				m := x.(map[string]any)
				emails = append(emails, m["email"].(string)+" "+m["role"].(string))
				if m["email"] == "olga@ops.example" {
					olga = m["user_id"].(string)
				}
			}
			if d := cmp.Diff([]string{"olga@ops.example operator", "oscar@ops.example operator"}, emails); d != "" {
				t.Fatalf("entries (-want +got):\n%s", d)
			}
			id := c["id"].(string)
			mfaTProblem(t, env.do(t, a.Token, "POST", base+"/"+id+"/entries/"+olga, map[string]string{"decision": "revoke"}), http.StatusForbidden, strongroom.EFORBIDDEN)
			testkit.MustStatus(t, env.do(t, op2, "GET", "/api/v1/operator/incidents", nil), http.StatusOK)
			testkit.MustStatus(t, env.do(t, op1, "POST", base+"/"+id+"/entries/"+olga, map[string]string{"decision": "revoke"}), http.StatusOK)
			mfaTProblem(t, env.do(t, op2, "GET", "/api/v1/operator/incidents", nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			env.audited(t, mfaTPlatform, before, "access_review.open success", "access.denied denied: role lacks operator",
				"incident.list success", "operator.revoke success", "access_review.decide success", "access.denied denied: role lacks operator")
			// The last operator completes; their own entry is kept unreviewed.
			d := testkit.MustStatus(t, env.do(t, op1, "POST", base+"/"+id+"/complete", nil), http.StatusOK).JSON(t)
			if e := d["entries"].([]any)[1].(map[string]any); e["decision"] != strongroom.ReviewKeepUnreviewed {
				t.Errorf("the last operator's entry %v", e)
			}
			cr := testkit.MustStatus(t, env.do(t, op1, "GET", base+"/"+id+"/export?format=csv", nil), http.StatusOK)
			if !strings.Contains(string(cr.Body), "olga@ops.example,operator") || !strings.Contains(string(cr.Body), ",revoke,") {
				t.Errorf("CSV:\n%s", cr.Body)
			}
		})
	}
}

// TestPolicyChanges: operators publish a change (validated), every
// organization's Admins are e-mailed (not Editors), Admins list and
// acknowledge it (Editors 403, other organizations 404), each organization
// acknowledges separately, and every step is audited.
func TestPolicyChanges(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "ada@a.example", "Org A")
			b := env.srv.Signup(t, "bob@b.example", "Org B")
			ed := env.srv.Signup(t, "eve@e.example", "Eve's")
			testkit.MustStatus(t, env.do(t, a.Token, "POST", "/api/v1/orgs/"+a.OrgID+"/members", map[string]string{"email": ed.Email, "role": "editor"}), http.StatusCreated)
			op := trustOperator(t, env, "oscar@ops.example")
			const base = "/api/v1/operator/policy-changes"
			eff := env.clock.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
			good := map[string]any{"title": "Security policy v3", "summary": "Backups are now kept for 35 days.",
				"url": "https://strongroom.test/policy/v3", "effective_at": eff}
			mfaTProblem(t, env.do(t, a.Token, "POST", base, good), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, a.Token, "GET", base, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			with := func(k string, v any) map[string]any {
				m := map[string]any{}
				for kk, vv := range good {
					m[kk] = vv
				}
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
				return m
			}
			before := env.seq(t, mfaTPlatform)
			for name, bad := range map[string]map[string]any{
				"no title":        with("title", nil),
				"long title":      with("title", strings.Repeat("t", service.MaxPolicyTitle+1)),
				"no summary":      with("summary", nil),
				"no body nor url": with("url", nil),
				"http url":        with("url", "http://strongroom.test/policy"),
				"url with user":   with("url", "https://me:pw@strongroom.test/policy"),
				"no date":         with("effective_at", nil),
				"date far ahead":  with("effective_at", env.clock.Now().AddDate(3, 0, 0)),
				"long body":       with("body", strings.Repeat("b", service.MaxPolicyBody+1)),
			} {
				if r := env.do(t, op, "POST", base, bad); r.Status != http.StatusUnprocessableEntity {
					t.Errorf("%s: status %d: %s", name, r.Status, r.Body)
				}
			}
			mfaTProblem(t, env.do(t, op, "POST", base, with("extra", true)), http.StatusBadRequest, strongroom.EINVALID)
			mfaTProblem(t, env.do(t, op, "POST", base, "not an object"), http.StatusBadRequest, strongroom.EINVALID)
			big := with("body", strings.Repeat("b", 2<<20))
			if r := env.do(t, op, "POST", base, big); r.Status != http.StatusRequestEntityTooLarge && r.Status != http.StatusUnprocessableEntity {
				t.Errorf("oversized body: status %d", r.Status)
			}
			env.audited(t, mfaTPlatform, before) // nothing published, nothing audited
			if l := testkit.MustStatus(t, env.do(t, op, "GET", base, nil), http.StatusOK).JSON(t)["items"].([]any); len(l) != 0 {
				t.Fatalf("a refused change was published: %v", l)
			}

			r := testkit.MustStatus(t, env.do(t, op, "POST", base, good), http.StatusCreated).JSON(t)
			id := r["change"].(map[string]any)["id"].(string)
			if r["organizations_notified"].(float64) < 3 {
				t.Errorf("published %v", r)
			}
			for _, to := range []string{a.Email, b.Email} {
				m := env.mail(t, to, "policy-change", 1)
				if m.Subject != "Security policy change: Security policy v3" || !strings.Contains(m.Text, "Backups are now kept for 35 days.") ||
					!strings.Contains(m.Text, "https://strongroom.test/policy/v3") || !strings.Contains(m.Text, eff.Format(time.DateOnly)) {
					t.Errorf("notice to %s: %q\n%s", to, m.Subject, m.Text)
				}
			}
			if n := len(env.mails(ed.Email, "policy-change")); n != 1 { // her own organization's, not A's twice
				t.Errorf("%d notices to Eve, want 1 (as Admin of her own organization only)", n)
			}

			aOrg := "/api/v1/orgs/" + a.OrgID + "/policy-changes"
			mfaTProblem(t, env.do(t, ed.Token, "GET", aOrg, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, b.Token, "GET", aOrg, nil), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, ed.Token, "POST", aOrg+"/"+id+"/acknowledge", nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, a.Token, "POST", aOrg+"/00000000-0000-7000-8000-000000000009/acknowledge", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, a.Token, "POST", aOrg+"/nope/acknowledge", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			l := testkit.MustStatus(t, env.do(t, a.Token, "GET", aOrg, nil), http.StatusOK).JSON(t)["items"].([]any)
			if len(l) != 1 || l[0].(map[string]any)["acknowledged_at"] != nil || l[0].(map[string]any)["title"] != "Security policy v3" {
				t.Fatalf("A's changes %v", l)
			}
			aBefore := env.seq(t, strongroom.TenantID(a.OrgID))
			ack := testkit.MustStatus(t, env.do(t, a.Token, "POST", aOrg+"/"+id+"/acknowledge", nil), http.StatusOK).JSON(t)
			if ack["acknowledged_by"] != a.UserID || ack["acknowledged_at"] == nil {
				t.Errorf("acknowledged %v", ack)
			}
			again := testkit.MustStatus(t, env.do(t, a.Token, "POST", aOrg+"/"+id+"/acknowledge", nil), http.StatusOK).JSON(t)
			if again["acknowledged_at"] != ack["acknowledged_at"] {
				t.Errorf("the first acknowledgement should stand: %v then %v", ack, again)
			}
			env.audited(t, strongroom.TenantID(a.OrgID), aBefore, "policy.acknowledge success", "policy.acknowledge success")
			bl := testkit.MustStatus(t, env.do(t, b.Token, "GET", "/api/v1/orgs/"+b.OrgID+"/policy-changes", nil), http.StatusOK).JSON(t)["items"].([]any)
			if len(bl) != 1 || bl[0].(map[string]any)["acknowledged_at"] != nil {
				t.Errorf("B's view shows A's acknowledgement: %v", bl)
			}
			evs := env.events(t, mfaTPlatform, before)
			var acts []string
			for _, ev := range evs {
				acts = append(acts, ev.Action)
			}
			if !strings.Contains(strings.Join(acts, " "), "policy.publish") || strings.Count(strings.Join(acts, " "), "policy.acknowledged") != 2 {
				t.Errorf("platform events %v", acts)
			}
			found := false
			for _, ev := range env.events(t, strongroom.TenantID(b.OrgID), 0) {
				found = found || ev.Action == "policy.notice"
			}
			if !found {
				t.Error("B's audit log does not record the notice")
			}
		})
	}
}
