package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/monitor"
	"strongroom.dev/strongroom/store"
)

// Security alerts over HTTP on both engines (LOG-04): the monitor raises a
// mass-read alert from real record lists; the organization's Admin sees it with
// its evidence, is e-mailed, acknowledges and resolves it; another
// organization's Admin gets 404 and a Viewer 403; bad input changes nothing;
// operators handle the platform's alerts.

type alertTJSON struct {
	ID           string  `json:"id"`
	Kind         string  `json:"kind"`
	Severity     string  `json:"severity"`
	Subject      string  `json:"subject"`
	Count        int64   `json:"count"`
	EvidenceSeqs []int64 `json:"evidence_seqs"`
	Status       string  `json:"status"`
	StatusBy     *string `json:"status_by"`
	Evidence     []struct {
		Seq    int64  `json:"seq"`
		Action string `json:"action"`
	} `json:"evidence"`
}

type alertTPage struct {
	Items      []alertTJSON `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

func alertTDecode[T any](t *testing.T, r testkit.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
	return v
}

// alertTMonitor seals the audit log and runs the monitor over it once, with
// thresholds th, e-mailing new alerts through the test server's service.
func alertTMonitor(t *testing.T, env *mfaTEnv, th monitor.Thresholds) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	seq, err := audit.NewSequencer(audit.Config{Store: env.st, Signer: key, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	last := lastSeq(t, env.st)
	testkit.WaitFor(t, 10*time.Second, func() bool {
		if _, err := seq.Tick(t.Context()); err != nil {
			t.Fatalf("sealing: %v", err)
		}
		p, err := env.st.SealedAuditEvents(t.Context(), last-1, 1)
		return err == nil && len(p.Events) == 1 && p.Events[0].Seq == last
	})
	m, err := monitor.New(monitor.Config{Store: env.st, Thresholds: th, Logger: quiet, Holder: "test", Notify: env.srv.Service.NotifyAlert})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestAlertsOrganization(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			admin := env.srv.Signup(t, "ada@alerts.example", "Alert Org")
			other := env.srv.Signup(t, "otis@other.example", "Other Org")
			viewer := env.srv.Signup(t, "vic@alerts.example", "Vic's Org")
			org := "/api/v1/orgs/" + admin.OrgID
			testkit.MustStatus(t, env.do(t, admin.Token, "POST", org+"/members", map[string]string{"email": viewer.Email, "role": "viewer"}), http.StatusCreated)
			testkit.MustStatus(t, env.do(t, admin.Token, "POST", org+"/collections", map[string]any{"name": "people",
				"schema": map[string]any{"type": "object"}}), http.StatusCreated)
			for i := range 30 {
				testkit.MustStatus(t, env.do(t, admin.Token, "POST", org+"/collections/people/records",
					map[string]any{"data": map[string]any{"n": i}}), http.StatusCreated)
			}
			// The viewer reads as usual; the Admin lists everything three times.
			testkit.MustStatus(t, env.do(t, viewer.Token, "GET", org+"/collections/people/records?limit=5", nil), http.StatusOK)
			for range 3 {
				testkit.MustStatus(t, env.do(t, admin.Token, "GET", org+"/collections/people/records?limit=100", nil), http.StatusOK)
			}
			alertTMonitor(t, env, monitor.Thresholds{MassReadFloor: 50})

			// The Admin lists it and reads it with its evidence.
			page := alertTDecode[alertTPage](t, testkit.MustStatus(t, env.do(t, admin.Token, "GET", org+"/alerts", nil), http.StatusOK))
			if len(page.Items) != 1 || page.NextCursor != nil {
				t.Fatalf("alerts %+v, want one", page)
			}
			a := page.Items[0]
			if a.Kind != "mass_read" || a.Severity != "high" || a.Subject != "user:"+admin.UserID || a.Status != "open" || a.Count < 1 {
				t.Errorf("alert %+v", a)
			}
			head := auditHead(t, env.st, admin.OrgID)
			d := alertTDecode[alertTJSON](t, testkit.MustStatus(t, env.do(t, admin.Token, "GET", org+"/alerts/"+a.ID, nil), http.StatusOK))
			if len(d.Evidence) == 0 || len(d.Evidence) != len(d.EvidenceSeqs) {
				t.Fatalf("evidence %+v for seqs %v", d.Evidence, d.EvidenceSeqs)
			}
			for i, ev := range d.Evidence {
				if ev.Action != "record.list" || ev.Seq != d.EvidenceSeqs[i] {
					t.Errorf("evidence %d: %+v", i, ev)
				}
			}
			env.audited(t, strongroom.TenantID(admin.OrgID), head, "alert.read success")

			// The Admin was e-mailed, without the evidence's content.
			m := env.mail(t, admin.Email, "alert", 1)
			if !strings.Contains(m.Text, a.ID) || !strings.Contains(m.Subject, "mass read (high)") {
				t.Errorf("alert e-mail %q: %s", m.Subject, m.Text)
			}
			if n := len(env.mails(viewer.Email, "alert")); n != 0 {
				t.Errorf("the Viewer got %d alert e-mails", n)
			}

			// Another organization's Admin: 404, as for a missing alert; a Viewer: 403.
			for _, p := range []string{org + "/alerts", org + "/alerts/" + a.ID, "/api/v1/orgs/" + other.OrgID + "/alerts/" + a.ID} {
				mfaTProblem(t, env.do(t, other.Token, "GET", p, nil), http.StatusNotFound, strongroom.ENOTFOUND)
			}
			mfaTProblem(t, env.do(t, other.Token, "POST", org+"/alerts/"+a.ID+"/resolve", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			mfaTProblem(t, env.do(t, viewer.Token, "GET", org+"/alerts", nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, viewer.Token, "GET", org+"/alerts/"+a.ID, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, viewer.Token, "POST", org+"/alerts/"+a.ID+"/acknowledge", nil), http.StatusForbidden, strongroom.EFORBIDDEN)

			// Acknowledge, then resolve; each once.
			head = auditHead(t, env.st, admin.OrgID)
			ack := alertTDecode[alertTJSON](t, testkit.MustStatus(t, env.do(t, admin.Token, "POST", org+"/alerts/"+a.ID+"/acknowledge", nil), http.StatusOK))
			if ack.Status != "acknowledged" || ack.StatusBy == nil || *ack.StatusBy != admin.UserID {
				t.Errorf("acknowledged: %+v", ack)
			}
			mfaTProblem(t, env.do(t, admin.Token, "POST", org+"/alerts/"+a.ID+"/acknowledge", nil), http.StatusBadRequest, strongroom.EINVALID)
			res := alertTDecode[alertTJSON](t, testkit.MustStatus(t, env.do(t, admin.Token, "POST", org+"/alerts/"+a.ID+"/resolve", map[string]any{}), http.StatusOK))
			if res.Status != "resolved" {
				t.Errorf("resolved: %+v", res)
			}
			mfaTProblem(t, env.do(t, admin.Token, "POST", org+"/alerts/"+a.ID+"/resolve", nil), http.StatusBadRequest, strongroom.EINVALID)
			env.audited(t, strongroom.TenantID(admin.OrgID), head, "alert.acknowledge success", "alert.resolve success")
			for q, n := range map[string]int{"?status=resolved": 1, "?status=open": 0, "?kind=mass_read&status=resolved": 1, "?kind=brute_force": 0} {
				p := alertTDecode[alertTPage](t, testkit.MustStatus(t, env.do(t, admin.Token, "GET", org+"/alerts"+q, nil), http.StatusOK))
				if len(p.Items) != n {
					t.Errorf("%s: %d alerts, want %d", q, len(p.Items), n)
				}
			}
		})
	}
}

// TestAlertsBadInput: malformed, oversized and hostile requests get a clear
// problem and change nothing.
func TestAlertsBadInput(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			admin := env.srv.Signup(t, "bea@alerts.example", "Bad Input Org")
			org := "/api/v1/orgs/" + admin.OrgID
			ids := []string{}
			for i := range 3 {
				ids = append(ids, storeAlert(t, env.st, strongroom.TenantID(admin.OrgID), fmt.Sprintf("user:u%d", i)))
			}
			for _, q := range []string{"?status=bogus", "?kind=phishing", "?limit=0", "?limit=501", "?limit=1e3", "?limit=-1",
				"?cursor=%%%", "?cursor=bm90LWFuLWlk", "?org=x", "?status=open&status=open", "?" + strings.Repeat("a", 100) + "=1"} {
				mfaTProblem(t, env.do(t, admin.Token, "GET", org+"/alerts"+q, nil), http.StatusBadRequest, strongroom.EINVALID)
			}
			mfaTProblem(t, env.do(t, admin.Token, "GET", org+"/alerts/"+ids[0]+"?x=1", nil), http.StatusBadRequest, strongroom.EINVALID)
			for _, id := range []string{"not-an-id", "00000000-0000-7000-8000-000000000009", strings.ToUpper(ids[0])} {
				mfaTProblem(t, env.do(t, admin.Token, "GET", org+"/alerts/"+id, nil), http.StatusNotFound, strongroom.ENOTFOUND)
				mfaTProblem(t, env.do(t, admin.Token, "POST", org+"/alerts/"+id+"/acknowledge", nil), http.StatusNotFound, strongroom.ENOTFOUND)
			}
			ack := org + "/alerts/" + ids[0] + "/acknowledge"
			mfaTProblem(t, env.do(t, admin.Token, "POST", ack, map[string]any{"status": "resolved"}), http.StatusBadRequest, strongroom.EINVALID)
			mfaTProblem(t, env.do(t, admin.Token, "POST", ack, []int{1}), http.StatusBadRequest, strongroom.EINVALID)
			r := env.srv.Do(t, testkit.Request{Method: "POST", Path: ack, Token: admin.Token, Body: []byte("status=x"), ContentType: "text/plain"})
			mfaTProblem(t, r, http.StatusUnsupportedMediaType, strongroom.EUNSUPPORTED)
			r = env.srv.Do(t, testkit.Request{Method: "POST", Path: ack, Token: admin.Token, Body: []byte(`{"a":"` + strings.Repeat("x", 2<<20) + `"}`)})
			mfaTProblem(t, r, http.StatusRequestEntityTooLarge, strongroom.ETOOLARGE)
			// Nothing changed: every alert is still open.
			page := alertTDecode[alertTPage](t, testkit.MustStatus(t, env.do(t, admin.Token, "GET", org+"/alerts?status=open", nil), http.StatusOK))
			if len(page.Items) != 3 {
				t.Errorf("%d open alerts after refused requests, want 3", len(page.Items))
			}

			// Pages: newest first, two at a time.
			p1 := alertTDecode[alertTPage](t, testkit.MustStatus(t, env.do(t, admin.Token, "GET", org+"/alerts?limit=2", nil), http.StatusOK))
			if len(p1.Items) != 2 || p1.NextCursor == nil || p1.Items[0].ID != ids[2] || p1.Items[1].ID != ids[1] {
				t.Fatalf("first page %+v", p1)
			}
			p2 := alertTDecode[alertTPage](t, testkit.MustStatus(t, env.do(t, admin.Token, "GET", org+"/alerts?limit=2&cursor="+*p1.NextCursor, nil), http.StatusOK))
			if len(p2.Items) != 1 || p2.NextCursor != nil || p2.Items[0].ID != ids[0] {
				t.Errorf("second page %+v", p2)
			}
		})
	}
}

// TestAlertsOperator: the platform's alerts (sign-in attacks) are for
// operators signed in with their second factor, who are e-mailed; an
// organization's Admin cannot reach them.
func TestAlertsOperator(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			admin := env.srv.Signup(t, "amy@plain.example", "Plain Org")
			op := env.srv.Signup(t, "olga@ops.example", "Ops Org")
			if err := env.st.Write(context.Background(), store.Scope{}, func(tx *store.Tx) error {
				return tx.SetOperator(context.Background(), strongroom.UserID(op.UserID), true)
			}); err != nil {
				t.Fatal(err)
			}
			f := env.enrolTOTP(t, op.Token)
			ch := env.challenge(t, op.Email, "totp", "recovery")
			g := mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/mfa", map[string]string{"challenge": ch, "code": env.totp(t, f.Secret)}), http.StatusOK)
			// A brute force against the Admin's account: four wrong passwords.
			for range 4 {
				r := env.do(t, "", "POST", "/api/v1/auth/password", map[string]string{"email": admin.Email, "password": "wrong horse battery staple"})
				mfaTProblem(t, r, http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			}
			alertTMonitor(t, env, monitor.Thresholds{BruteForceFailures: 4})

			const path = "/api/v1/operator/alerts"
			page := alertTDecode[alertTPage](t, testkit.MustStatus(t, env.do(t, g.Token, "GET", path+"?kind=brute_force", nil), http.StatusOK))
			if len(page.Items) != 1 || page.Items[0].Subject != admin.UserID || page.Items[0].Count != 4 {
				t.Fatalf("platform alerts %+v", page)
			}
			a := page.Items[0]
			d := alertTDecode[alertTJSON](t, testkit.MustStatus(t, env.do(t, g.Token, "GET", path+"/"+a.ID, nil), http.StatusOK))
			if len(d.Evidence) != 4 || d.Evidence[0].Action != "auth.signin.password" {
				t.Errorf("evidence %+v", d.Evidence)
			}
			if m := env.mail(t, op.Email, "alert", 1); !strings.Contains(m.Text, "/api/v1/operator/alerts/"+a.ID) {
				t.Errorf("operator e-mail: %s", m.Text)
			}
			if n := len(env.mails(admin.Email, "alert")); n != 0 {
				t.Errorf("the attacked account's Admin got %d platform alert e-mails", n)
			}
			mfaTProblem(t, env.do(t, admin.Token, "GET", path, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, admin.Token, "POST", path+"/"+a.ID+"/resolve", nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			// A platform alert is not any organization's.
			mfaTProblem(t, env.do(t, admin.Token, "GET", "/api/v1/orgs/"+admin.OrgID+"/alerts/"+a.ID, nil), http.StatusNotFound, strongroom.ENOTFOUND)
			head := env.events(t, mfaTPlatform, 0)
			testkit.MustStatus(t, env.do(t, g.Token, "POST", path+"/"+a.ID+"/acknowledge", nil), http.StatusOK)
			testkit.MustStatus(t, env.do(t, g.Token, "POST", path+"/"+a.ID+"/resolve", nil), http.StatusOK)
			env.audited(t, mfaTPlatform, head[len(head)-1].Seq, "alert.acknowledge success", "alert.resolve success")
			mfaTProblem(t, env.do(t, g.Token, "GET", path+"?status=closed", nil), http.StatusBadRequest, strongroom.EINVALID)
		})
	}
}
