package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
)

// Incidents and breach notification over HTTP (INC-01..03), on both engines:
// classification and the notification deadline, notices refused when
// incomplete, delivered to the affected organization's console and Admins
// with every element, acknowledged by its Admin only, invisible to other
// organizations (404), phases one step at a time, the report due 7 days after
// resolution, overdue obligations listed, and the events in both audit logs.
func TestIncidentBreachFlow(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			a := env.srv.Signup(t, "ada@a.example", "Org A")
			b := env.srv.Signup(t, "bob@b.example", "Org B")
			ed := env.srv.Signup(t, "eddie@a.example", "Eddie's")
			testkit.MustStatus(t, env.do(t, a.Token, "POST", "/api/v1/orgs/"+a.OrgID+"/members", map[string]string{"email": ed.Email, "role": "editor"}), http.StatusCreated)
			op := trustOperator(t, env, "oscar@ops.example")
			const base = "/api/v1/operator/incidents"

			// Operators only.
			mfaTProblem(t, env.do(t, a.Token, "GET", base, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, a.Token, "POST", base, map[string]any{"title": "x", "kind": "security", "severity": "low"}), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, "", "GET", base+"-overdue", nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)

			// Classification is validated; organizations must exist.
			for _, bad := range []map[string]any{
				{"title": "x", "kind": "availability", "personal_data_breach": true, "severity": "high"},
				{"title": "x", "kind": "outage", "severity": "high"},
				{"title": "x", "kind": "security", "severity": "sev1"},
				{"title": "", "kind": "security", "severity": "low"},
				{"title": "x", "kind": "security", "severity": "low", "organizations": []string{"00000000-0000-7000-8000-000000000001"}},
				{"title": "x", "kind": "security", "severity": "low", "aware_at": env.clock.Now().Add(time.Hour)},
			} {
				mfaTProblem(t, env.do(t, op, "POST", base, bad), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			}

			aware := env.clock.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
			before := env.seq(t, mfaTPlatform)
			d := testkit.MustStatus(t, env.do(t, op, "POST", base, map[string]any{"title": "Backup bucket exposed", "kind": "security",
				"personal_data_breach": true, "severity": "high", "aware_at": aware, "organizations": []string{a.OrgID}}), http.StatusCreated).JSON(t)
			inc := d["incident"].(map[string]any)
			id := inc["id"].(string)
			due, _ := time.Parse(time.RFC3339, inc["notification_due"].(string))
			if !due.Equal(aware.Add(72*time.Hour)) || inc["phase"] != "identify" {
				t.Fatalf("incident %v: notification due %v, want aware + 72 h", inc, due)
			}
			env.audited(t, mfaTPlatform, before, "incident.create success")

			// A notice missing any element is refused, naming each; nothing is sent.
			full := map[string]string{"nature": "A storage bucket with backups was publicly readable for 3 hours.",
				"data_affected": "Names and e-mail addresses of members.", "likely_impact": "Targeted phishing.",
				"mitigation": "Bucket closed, access logs reviewed, keys rotated.", "contact": "security@strongroom.test"}
			for _, field := range []string{"nature", "data_affected", "likely_impact", "mitigation", "contact"} {
				n := map[string]string{}
				for k, v := range full {
					if k != field {
						n[k] = v
					}
				}
				p := mfaTProblem(t, env.do(t, op, "POST", base+"/"+id+"/notices", n), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
				if len(p.Errors) != 1 || p.Errors[0].Path != "/"+field {
					t.Errorf("missing %s: errors %v", field, p.Errors)
				}
			}
			if n := testkit.MustStatus(t, env.do(t, a.Token, "GET", "/api/v1/orgs/"+a.OrgID+"/notices", nil), http.StatusOK).JSON(t)["items"].([]any); len(n) != 0 {
				t.Fatalf("a refused notice reached the organization: %v", n)
			}

			beforeA, beforeP := env.seq(t, strongroom.TenantID(a.OrgID)), env.seq(t, mfaTPlatform)
			res := testkit.MustStatus(t, env.do(t, op, "POST", base+"/"+id+"/notices", full), http.StatusOK).JSON(t)
			if d := cmp.Diff([]any{a.OrgID}, res["notified"]); d != "" {
				t.Errorf("notified (-want +got):\n%s", d)
			}
			env.audited(t, strongroom.TenantID(a.OrgID), beforeA, "incident.notice.breach success")
			env.audited(t, mfaTPlatform, beforeP, "incident.notify.breach success")
			// Sending again notifies nobody twice.
			res = testkit.MustStatus(t, env.do(t, op, "POST", base+"/"+id+"/notices", full), http.StatusOK).JSON(t)
			if len(res["notified"].([]any)) != 0 || len(res["already_notified"].([]any)) != 1 {
				t.Errorf("second send: %v", res)
			}

			// The Admin's e-mail carries every element.
			m := env.mail(t, a.Email, "incident-breach", 1)
			for _, v := range full {
				if !strings.Contains(m.Text, v) {
					t.Errorf("the e-mail lacks %q", v)
				}
			}
			if len(env.mails(ed.Email, "incident-breach")) != 0 {
				t.Error("an Editor was e-mailed the breach notice")
			}

			// The console: the Admin sees it; an Editor is refused; another org sees nothing (404).
			notices := "/api/v1/orgs/" + a.OrgID + "/notices"
			items := testkit.MustStatus(t, env.do(t, a.Token, "GET", notices, nil), http.StatusOK).JSON(t)["items"].([]any)
			if len(items) != 1 {
				t.Fatalf("notices %v", items)
			}
			nt := items[0].(map[string]any)
			got := map[string]string{}
			for k, v := range nt["notice"].(map[string]any) {
				got[k] = v.(string)
			}
			if diff := cmp.Diff(full, got); diff != "" || nt["kind"] != "breach" || nt["deadline"] != inc["notification_due"] {
				t.Errorf("notice %v (-want +got):\n%s", nt, diff)
			}
			nid := nt["id"].(string)
			mfaTProblem(t, env.do(t, ed.Token, "GET", notices, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, b.Token, "GET", notices, nil), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, b.Token, "POST", notices+"/"+nid+"/acknowledge", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, b.Token, "POST", "/api/v1/orgs/"+b.OrgID+"/notices/"+nid+"/acknowledge", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			if n := testkit.MustStatus(t, env.do(t, b.Token, "GET", "/api/v1/orgs/"+b.OrgID+"/notices", nil), http.StatusOK).JSON(t)["items"].([]any); len(n) != 0 {
				t.Errorf("B sees A's notices: %v", n)
			}
			mfaTProblem(t, env.do(t, ed.Token, "POST", notices+"/"+nid+"/acknowledge", nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			beforeP = env.seq(t, mfaTPlatform)
			ack := testkit.MustStatus(t, env.do(t, a.Token, "POST", notices+"/"+nid+"/acknowledge", nil), http.StatusOK).JSON(t)
			if ack["acknowledged_by"] != a.UserID || ack["acknowledged_at"] == nil {
				t.Errorf("acknowledgement %v", ack)
			}
			env.audited(t, mfaTPlatform, beforeP, "incident.notice.acknowledged success")
			mfaTProblem(t, env.do(t, a.Token, "POST", notices+"/"+nid+"/acknowledge", nil), http.StatusConflict, strongroom.ECONFLICT)

			// Phases: one step forward at a time, with the timeline.
			upd := func(phase string) testkit.Response {
				return env.do(t, op, "POST", base+"/"+id+"/updates", map[string]string{"phase": phase, "note": "moving to " + phase})
			}
			mfaTProblem(t, upd("eradicate"), http.StatusConflict, strongroom.ECONFLICT)
			mfaTProblem(t, upd("identify"), http.StatusConflict, strongroom.ECONFLICT)
			mfaTProblem(t, upd("closed"), http.StatusUnprocessableEntity, strongroom.EVALIDATION)
			mfaTProblem(t, env.do(t, op, "POST", base+"/"+id+"/report", map[string]string{"report": "early"}), http.StatusConflict, strongroom.ECONFLICT)
			var last map[string]any
			for _, ph := range []string{"contain", "eradicate", "recover", "review"} {
				last = testkit.MustStatus(t, upd(ph), http.StatusOK).JSON(t)
			}
			mfaTProblem(t, upd("review"), http.StatusConflict, strongroom.ECONFLICT)
			li := last["incident"].(map[string]any)
			resolved, _ := time.Parse(time.RFC3339Nano, li["resolved_at"].(string))
			reportDue, _ := time.Parse(time.RFC3339Nano, li["report_due"].(string))
			if !reportDue.Equal(resolved.Add(7*24*time.Hour)) || li["phase"] != "review" {
				t.Errorf("resolved %v, report due %v", resolved, reportDue)
			}
			var phases []string
			for _, u := range last["timeline"].([]any) {
				phases = append(phases, u.(map[string]any)["phase"].(string))
			}
			if d := cmp.Diff([]string{"identify", "contain", "eradicate", "recover", "review"}, phases); d != "" {
				t.Errorf("timeline (-want +got):\n%s", d)
			}

			// A second breach, never notified; 8 days later both obligations are overdue.
			d2 := testkit.MustStatus(t, env.do(t, op, "POST", base, map[string]any{"title": "Leaked export", "kind": "security",
				"personal_data_breach": true, "severity": "critical", "organizations": []string{b.OrgID}}), http.StatusCreated).JSON(t)
			id2 := d2["incident"].(map[string]any)["id"].(string)
			if o := testkit.MustStatus(t, env.do(t, op, "GET", base+"-overdue", nil), http.StatusOK).JSON(t)["items"].([]any); len(o) != 0 {
				t.Fatalf("overdue before any deadline: %v", o)
			}
			env.clock.Advance(8 * 24 * time.Hour)
			op = trustOperator(t, env, "oona@ops.example") // sessions idle out over 8 days
			a.Token = mfaTParseGrant(t, env.signIn(t, a.Email, mfaTPassword), http.StatusOK).Token
			kinds := func() []string {
				var ks []string
				for _, v := range testkit.MustStatus(t, env.do(t, op, "GET", base+"-overdue", nil), http.StatusOK).JSON(t)["items"].([]any) {
					o := v.(map[string]any)
					k := o["kind"].(string) + " " + o["incident_id"].(string)
					if orgs, ok := o["organizations"].([]any); ok {
						k += " " + orgs[0].(string)
					}
					ks = append(ks, k)
				}
				slices.Sort(ks)
				return ks
			}
			want := []string{"breach_notification " + id2 + " " + b.OrgID, "post_incident_report " + id}
			slices.Sort(want)
			if d := cmp.Diff(want, kinds()); d != "" {
				t.Errorf("overdue (-want +got):\n%s", d)
			}

			// The report is published to the affected organizations; then it is no longer overdue.
			testkit.MustStatus(t, env.do(t, op, "POST", base+"/"+id+"/report", map[string]string{"report": "Root cause: a bucket policy change."}), http.StatusNoContent)
			mfaTProblem(t, env.do(t, op, "POST", base+"/"+id+"/report", map[string]string{"report": "again"}), http.StatusConflict, strongroom.ECONFLICT)
			items = testkit.MustStatus(t, env.do(t, a.Token, "GET", notices, nil), http.StatusOK).JSON(t)["items"].([]any)
			if len(items) != 2 || items[0].(map[string]any)["kind"] != "report" || items[0].(map[string]any)["report"] != "Root cause: a bucket policy change." {
				t.Errorf("notices after the report: %v", items)
			}
			if d := cmp.Diff([]string{"breach_notification " + id2 + " " + b.OrgID}, kinds()); d != "" {
				t.Errorf("overdue after publishing (-want +got):\n%s", d)
			}
			// An availability incident cannot send a breach notice.
			d3 := testkit.MustStatus(t, env.do(t, op, "POST", base, map[string]any{"title": "API down", "kind": "availability", "severity": "medium",
				"organizations": []string{a.OrgID}}), http.StatusCreated).JSON(t)
			if d3["incident"].(map[string]any)["notification_due"] != nil {
				t.Error("a non-breach has a notification deadline")
			}
			mfaTProblem(t, env.do(t, op, "POST", base+"/"+d3["incident"].(map[string]any)["id"].(string)+"/notices", full), http.StatusConflict, strongroom.ECONFLICT)
			mfaTProblem(t, env.do(t, op, "GET", base+"/00000000-0000-7000-8000-000000000000", nil), http.StatusNotFound, strongroom.ENOTFOUND)

			// The trust page's facts, from the same rows: A's notice on time, B's
			// overdue, the report published a day late.
			sum, err := env.srv.Service.IncidentSummary(context.Background(), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Incidents != 3 || sum.Breaches != 2 || sum.NoticesSent != 1 || sum.NoticesOnTime != 1 || sum.NoticesOverdue != 1 ||
				sum.ReportsPublished != 1 || sum.ReportsOnTime != 0 {
				t.Errorf("summary %+v", sum)
			}
		})
	}
}
