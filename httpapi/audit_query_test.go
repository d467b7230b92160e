package httpapi_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// auditTEnv is an organization A with an Admin and an Editor who did some
// work, on a server whose audit sequencer the test runs by hand.
type auditTEnv struct {
	*mfaTEnv
	admin, editor testkit.Account
	org           strongroom.TenantID
	seqr          *audit.Sequencer
}

func auditTNew(t *testing.T, e testkit.Engine) *auditTEnv {
	t.Helper()
	env := &auditTEnv{mfaTEnv: mfaTNew(t, e, false)}
	env.admin = env.srv.Signup(t, "ada@audit.example", "Audit Org")
	env.org = strongroom.TenantID(env.admin.OrgID)
	env.editor = env.srv.Signup(t, "ed@audit.example", "Ed's Org")
	testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.orgPath(env.admin.OrgID)+"/members",
		map[string]string{"email": env.editor.Email, "role": "editor"}), http.StatusCreated)
	testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.orgPath(env.admin.OrgID)+"/collections",
		map[string]any{"name": "notes", "schema": map[string]any{"type": "object"}}), http.StatusCreated)
	for i := range 3 {
		testkit.MustStatus(t, env.do(t, env.editor.Token, "POST", env.orgPath(env.admin.OrgID)+"/collections/notes/records",
			map[string]any{"data": map[string]any{"n": i}}), http.StatusCreated)
	}
	// A refusal: the Editor may not read the audit log.
	mfaTProblem(t, env.do(t, env.editor.Token, "GET", env.orgPath(env.admin.OrgID)+"/audit", nil), http.StatusForbidden, strongroom.EFORBIDDEN)
	key, err := env.srv.Keyring.SigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	env.seqr, err = audit.NewSequencer(audit.Config{Store: env.st, Signer: key, Logger: slog.New(slog.DiscardHandler),
		CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// seal seals every event (on PostgreSQL the horizon may wait for other tests'
// transactions) and, with checkpoint, signs the heads.
func (env *auditTEnv) seal(t *testing.T, checkpoint bool) {
	t.Helper()
	ctx := context.Background()
	testkit.WaitFor(t, 30*time.Second, func() bool {
		if _, err := env.seqr.Tick(ctx); err != nil {
			t.Fatalf("sealing: %v", err)
		}
		var last store.AuditSeal
		if err := env.st.Read(ctx, store.TenantScope(env.org), func(tx *store.Tx) error {
			var err error
			last, err = tx.LastAuditSeal(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return last.Seq == env.seq(t, env.org)
	})
	if checkpoint {
		if _, err := env.seqr.Checkpoint(ctx); err != nil {
			t.Fatalf("checkpointing: %v", err)
		}
	}
}

// auditTPage is the documented answer of an audit query, decoded strictly.
type auditTPage struct {
	Items      []audit.EventJSON `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

func (env *auditTEnv) query(t *testing.T, token, path string) auditTPage {
	t.Helper()
	r := testkit.MustStatus(t, env.do(t, token, "GET", path, nil), http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	var p auditTPage
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v: %s", path, err, r.Body)
	}
	return p
}

// walk pages through a query with its limit and returns every event's seq
// and the number of pages.
func (env *auditTEnv) walk(t *testing.T, token, base string, params url.Values) ([]int64, int) {
	t.Helper()
	var seqs []int64
	for pages := 1; pages < 100; pages++ {
		p := env.query(t, token, base+"?"+params.Encode())
		for _, it := range p.Items {
			seqs = append(seqs, it.Seq)
		}
		if p.NextCursor == nil {
			return seqs, pages
		}
		params.Set("cursor", *p.NextCursor)
	}
	t.Fatal("paging does not end")
	return nil, 0
}

func seqsOf(evs []strongroom.AuditEvent, keep func(strongroom.AuditEvent) bool) []int64 {
	var out []int64
	for _, e := range evs {
		if keep(e) {
			out = append(out, e.Seq)
		}
	}
	return out
}

// TestAuditQuery: an Admin pages through the organization's log oldest
// first, filtered; every page read is audited; the log as it stood at the
// first page is walked to its end even though each page adds an event.
func TestAuditQuery(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := auditTNew(t, e)
			base := env.orgPath(env.admin.OrgID) + "/audit"
			all := env.events(t, env.org, 0)

			t.Run("walk", func(t *testing.T) {
				for _, limit := range []string{"1", "2", "500"} {
					before := env.events(t, env.org, 0)
					got, pages := env.walk(t, env.admin.Token, base, url.Values{"limit": {limit}})
					if d := cmp.Diff(seqsOf(before, func(strongroom.AuditEvent) bool { return true }), got); d != "" {
						t.Errorf("limit %s: seqs (-log +walk):\n%s", limit, d)
					}
					// One audit.read per page, after everything the walk read.
					reads := env.events(t, env.org, before[len(before)-1].Seq)
					if len(reads) != pages {
						t.Errorf("limit %s: %d pages, %d events after them", limit, pages, len(reads))
					}
					for _, r := range reads {
						if r.Action != "audit.read" || r.ActorID != env.admin.UserID || r.TargetType != "audit_log" || r.TargetID != env.admin.OrgID {
							t.Errorf("limit %s: a page read was audited as %+v", limit, r)
						}
					}
				}
			})

			t.Run("filters", func(t *testing.T) {
				first, last := all[0], all[len(all)-1]
				mid := all[len(all)/2]
				tests := []struct {
					name   string
					params url.Values
					keep   func(strongroom.AuditEvent) bool
				}{
					{"action exact", url.Values{"action": {"record.create"}}, func(e strongroom.AuditEvent) bool { return e.Action == "record.create" }},
					{"action prefix", url.Values{"action": {"record.*"}}, func(e strongroom.AuditEvent) bool { return strings.HasPrefix(e.Action, "record.") }},
					{"actor", url.Values{"actor": {env.editor.UserID}}, func(e strongroom.AuditEvent) bool { return e.ActorID == env.editor.UserID }},
					{"result", url.Values{"result": {"denied"}}, func(e strongroom.AuditEvent) bool { return e.Result == strongroom.ResultDenied }},
					{"target", url.Values{"target": {env.admin.OrgID}}, func(e strongroom.AuditEvent) bool { return e.TargetID == env.admin.OrgID }},
					{"from", url.Values{"from": {mid.Time.Format(time.RFC3339Nano)}}, func(e strongroom.AuditEvent) bool { return !e.Time.Before(mid.Time) }},
					{"to", url.Values{"to": {mid.Time.Format(time.RFC3339Nano)}}, func(e strongroom.AuditEvent) bool { return e.Time.Before(mid.Time) }},
					{"window", url.Values{"from": {first.Time.Format(time.RFC3339Nano)}, "to": {last.Time.Add(time.Microsecond).Format(time.RFC3339Nano)},
						"actor": {env.editor.UserID}, "action": {"record.*"}, "result": {"success"}, "limit": {"2"}},
						func(e strongroom.AuditEvent) bool {
							return e.ActorID == env.editor.UserID && strings.HasPrefix(e.Action, "record.") && e.Result == strongroom.ResultSuccess
						}},
					{"a window after everything", url.Values{"from": {last.Time.Add(time.Hour).Format(time.RFC3339)}}, func(strongroom.AuditEvent) bool { return false }},
					{"an action no event has", url.Values{"action": {"nothing.*"}}, func(strongroom.AuditEvent) bool { return false }},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						// The log as the walk will see it, with the reads so far.
						want := seqsOf(env.events(t, env.org, 0), tt.keep)
						got, _ := env.walk(t, env.admin.Token, base, tt.params)
						if d := cmp.Diff(want, got); d != "" {
							t.Errorf("seqs (-want +got):\n%s", d)
						}
						if len(want) == 0 && !strings.Contains(tt.name, "no event") && !strings.Contains(tt.name, "after everything") {
							t.Errorf("the filter matches nothing in the fixture: a weak test")
						}
					})
				}
			})

			t.Run("fields and seals", func(t *testing.T) {
				p := env.query(t, env.admin.Token, base+"?action=access.denied")
				if len(p.Items) != 1 {
					t.Fatalf("denied events: %+v", p.Items)
				}
				d := p.Items[0]
				want := audit.EventJSON{Seq: d.Seq, Time: d.Time, Actor: audit.Ref{Type: "user", ID: env.editor.UserID},
					IP: "127.0.0.1", DeviceType: d.DeviceType, Action: "access.denied", Target: audit.Ref{Type: "organization", ID: env.admin.OrgID},
					Result: "denied", Reason: "role lacks audit.read", RequestID: d.RequestID, Metadata: json.RawMessage(`{"permission":"audit.read"}`)}
				if diff := cmp.Diff(want, d); diff != "" || len(d.RequestID) != 24 || !strings.HasSuffix(d.Time, "Z") {
					t.Errorf("the denied event (-want +got):\n%s", diff)
				}
				// Sealed within moments: then the seal is shown.
				env.seal(t, false)
				p = env.query(t, env.admin.Token, base+"?action=access.denied")
				var seal []byte
				if err := env.st.Read(context.Background(), store.TenantScope(env.org), func(tx *store.Tx) error {
					links, err := tx.AuditChainPage(context.Background(), d.Seq-1, 1)
					if len(links) == 1 {
						seal = links[0].Seal
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if it := p.Items[0]; !it.Sealed || it.Hash != hex.EncodeToString(seal) || len(seal) != 32 {
					t.Errorf("sealed event: sealed %v hash %q, stored %x", it.Sealed, it.Hash, seal)
				}
				// Every documented field is present in the raw answer.
				r := env.do(t, env.admin.Token, "GET", base+"?limit=1", nil)
				var raw struct{ Items []map[string]json.RawMessage }
				if err := json.Unmarshal(r.Body, &raw); err != nil || len(raw.Items) != 1 {
					t.Fatalf("%v: %s", err, r.Body)
				}
				var keys []string
				for k := range raw.Items[0] {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				if diff := cmp.Diff([]string{"action", "actor", "device_type", "hash", "ip", "metadata", "reason", "request_id",
					"result", "sealed", "seq", "target", "time"}, keys); diff != "" {
					t.Errorf("item fields (-want +got):\n%s", diff)
				}
			})

			t.Run("the read is audited with its query", func(t *testing.T) {
				before := env.seq(t, env.org)
				p := env.query(t, env.admin.Token, base+"?action=record.*&limit=2")
				evs := env.events(t, env.org, before)
				if len(evs) != 1 {
					t.Fatalf("%d events after one query", len(evs))
				}
				if got, want := string(evs[0].Metadata), fmt.Sprintf(`{"query":{"action":"record.*","limit":"2"},"returned":%d}`, len(p.Items)); got != want {
					t.Errorf("audit.read metadata %s, want %s", got, want)
				}
			})

			t.Run("bad queries", func(t *testing.T) {
				tests := []struct{ query, detail string }{
					{"actr=x", `query parameter "actr" is not known here`},
					{"Action=x", `query parameter "Action" is not known here`},
					{"action=a&action=b", `query parameter "action" is given more than once`},
					{"from=yesterday", `query parameter "from": must be an RFC 3339 time`},
					{"to=2025-13-01T00:00:00Z", `query parameter "to": must be an RFC 3339 time`},
					{"from=2025-03-14T00:00:00Z&to=2025-03-14T00:00:00Z", `query parameter "to": must be later than from`},
					{"limit=0", `query parameter "limit": must be a whole number from 1 to 500`},
					{"limit=501", `query parameter "limit"`},
					{"limit=01", `query parameter "limit"`},
					{"limit=ten", `query parameter "limit"`},
					{"action=Auth.*", `query parameter "action"`},
					{"action=*", `query parameter "action"`},
					{"action=auth.*.x", `query parameter "action"`},
					{"action=auth*", `query parameter "action"`},
					{"result=ok", `query parameter "result": must be success, failure or denied`},
					{"actor=" + url.QueryEscape("a\nb"), `query parameter "actor"`},
					{"target=" + strings.Repeat("x", 257), `query parameter "target"`},
					{"cursor=xyz", `query parameter "cursor": is not a cursor this server returned`},
					{"cursor=MTI", `query parameter "cursor"`},    // "12": no bound
					{"cursor=MC4w", `query parameter "cursor"`},   // "0.0"
					{"cursor=NS4z", `query parameter "cursor"`},   // "5.3": past its bound
					{"cursor=MDUuOQ", `query parameter "cursor"`}, // "05.9": not canonical
					{"cursor=MS45PQ", `query parameter "cursor"`}, // "1.9="
					{"limit=5;from=x", "the query string is malformed"},
					{"limit=%zz", "the query string is malformed"},
				}
				for _, tt := range tests {
					t.Run(tt.query, func(t *testing.T) {
						before := env.seq(t, env.org)
						p := mfaTProblem(t, env.do(t, env.admin.Token, "GET", base+"?"+tt.query, nil), http.StatusBadRequest, strongroom.EINVALID)
						if !strings.Contains(p.Detail, tt.detail) {
							t.Errorf("detail %q, want %q", p.Detail, tt.detail)
						}
						if after := env.seq(t, env.org); after != before {
							t.Errorf("a refused query was audited")
						}
					})
				}
			})

			t.Run("who may read", func(t *testing.T) {
				mfaTProblem(t, env.do(t, env.editor.Token, "GET", base, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
				mfaTProblem(t, env.do(t, "", "GET", base, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
				outsider := env.srv.Signup(t, "out@other.example", "Other Org")
				mfaTProblem(t, env.do(t, outsider.Token, "GET", base, nil), http.StatusNotFound, strongroom.ENOTFOUND)
				// An Admin API key reads the log; its reads are audited as the key's.
				key := testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.orgPath(env.admin.OrgID)+"/api-keys",
					map[string]string{"name": "siem", "role": "admin"}), http.StatusCreated).JSON(t)
				before := env.seq(t, env.org)
				env.query(t, key["secret"].(string), base+"?limit=1")
				evs := env.events(t, env.org, before)
				id := key["key"].(map[string]any)["id"].(string)
				if last := evs[len(evs)-1]; last.Action != "audit.read" || last.ActorType != strongroom.PrincipalAPIKey || last.ActorID != id {
					t.Errorf("the key's read was audited as %+v", last)
				}
				// The other organization's log is its own.
				for _, it := range env.query(t, outsider.Token, env.orgPath(outsider.OrgID)+"/audit?limit=500").Items {
					if it.Actor.ID == env.admin.UserID || it.Actor.ID == env.editor.UserID {
						t.Errorf("organization A's event in B's log: %+v", it)
					}
				}
			})
		})
	}
}

// TestAuditOperatorQuery: operators signed in with their second factor query
// the platform's log; nobody else can.
func TestAuditOperatorQuery(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			plain := env.srv.Signup(t, "pia@ops.example", "Plain Org")
			op := env.srv.Signup(t, "otto@ops.example", "Ops Org")
			if err := env.st.Write(context.Background(), store.Scope{}, func(tx *store.Tx) error {
				return tx.SetOperator(context.Background(), strongroom.UserID(op.UserID), true)
			}); err != nil {
				t.Fatal(err)
			}
			const path = "/api/v1/operator/audit"
			mfaTProblem(t, env.do(t, "", "GET", path, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
			mfaTProblem(t, env.do(t, plain.Token, "GET", path, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			mfaTProblem(t, env.do(t, op.Token, "GET", path, nil), http.StatusForbidden, strongroom.EMFAENROLL)
			f := env.enrolTOTP(t, op.Token)
			ch := env.challenge(t, op.Email, "totp", "recovery")
			g := mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/mfa", map[string]string{"challenge": ch, "code": env.totp(t, f.Secret)}), http.StatusOK)

			before := env.events(t, mfaTPlatform, 0)
			r := testkit.MustStatus(t, env.do(t, g.Token, "GET", path+"?action=access.*&limit=500", nil), http.StatusOK)
			var p auditTPage
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, it := range p.Items {
				got = append(got, it.Seq)
			}
			want := seqsOf(before, func(e strongroom.AuditEvent) bool { return strings.HasPrefix(e.Action, "access.") })
			if d := cmp.Diff(want, got); d != "" || len(want) < 2 {
				t.Errorf("the platform's access events (-want +got):\n%s", d)
			}
			env.audited(t, mfaTPlatform, before[len(before)-1].Seq, "audit.read success")
			mfaTProblem(t, env.do(t, g.Token, "GET", path+"?limit=0", nil), http.StatusBadRequest, strongroom.EINVALID)
			mfaTProblem(t, env.do(t, g.Token, "GET", path+"?org=x", nil), http.StatusBadRequest, strongroom.EINVALID)
		})
	}
}

// TestAuditExport: an Admin who signed in recently exports the log; the file
// verifies with the signing key, holds the checkpointed chain, and the export
// is audited before it is written.
func TestAuditExport(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := auditTNew(t, e)
			path := env.orgPath(env.admin.OrgID) + "/audit/export"
			env.seal(t, true)
			checkpointed := env.events(t, env.org, 0)
			// One more event, sealed but not checkpointed.
			testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.orgPath(env.admin.OrgID)+"/clients",
				map[string]string{"name": "Acme"}), http.StatusCreated)
			env.seal(t, false)

			r := testkit.MustStatus(t, env.do(t, env.admin.Token, "GET", path, nil), http.StatusOK)
			if ct, cc, cd := r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"), r.Header.Get("Content-Disposition"); ct != "application/jsonl" ||
				cc != "no-store" || !strings.HasPrefix(cd, `attachment; filename="audit-`+env.admin.OrgID+"-") {
				t.Errorf("headers: %q %q %q", ct, cc, cd)
			}
			key, err := env.srv.Keyring.SigningKey(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			sum, err := audit.VerifyExport(bytes.NewReader(r.Body), key.PublicKey())
			if err != nil {
				t.Fatalf("the export does not verify: %v", err)
			}
			if sum.Events != int64(len(checkpointed)) || sum.ThroughSeq != checkpointed[len(checkpointed)-1].Seq ||
				sum.ExcludedSealed != 1 || sum.ExcludedUnsealed != 0 || sum.Tenant != env.org {
				t.Errorf("summary %+v; %d events were checkpointed", sum, len(checkpointed))
			}
			// Audited before it was written, with the header's counts.
			evs := env.events(t, env.org, checkpointed[len(checkpointed)-1].Seq)
			last := evs[len(evs)-1]
			want := fmt.Sprintf(`{"checkpoints":%d,"events":%d,"excluded_sealed":1,"excluded_unsealed":0,"through_seq":%d}`,
				sum.Checkpoints, sum.Events, sum.ThroughSeq)
			if last.Action != "audit.export" || last.ActorID != env.admin.UserID || string(last.Metadata) != want {
				t.Errorf("the export was audited as %+v, want metadata %s", last, want)
			}
			// A byte changed is found.
			tampered := bytes.Replace(r.Body, []byte(`"action":"record.create"`), []byte(`"action":"record.delete"`), 1)
			if _, err := audit.VerifyExport(bytes.NewReader(tampered), key.PublicKey()); err == nil || !strings.Contains(err.Error(), `the decoded field "action"`) {
				t.Errorf("a tampered export: %v", err)
			}

			// Refusals, none of them audited as an export.
			before := env.seq(t, env.org)
			mfaTProblem(t, env.do(t, env.admin.Token, "GET", path+"?from=2025-01-01T00:00:00Z", nil), http.StatusBadRequest, strongroom.EINVALID)
			mfaTProblem(t, env.do(t, env.editor.Token, "GET", path, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			apiKey := testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", env.orgPath(env.admin.OrgID)+"/api-keys",
				map[string]string{"name": "exporter", "role": "admin"}), http.StatusCreated).JSON(t)["secret"].(string)
			mfaTProblem(t, env.do(t, apiKey, "GET", path, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
			env.clock.Advance(16 * time.Minute) // past the step-up window
			mfaTProblem(t, env.do(t, env.admin.Token, "GET", path, nil), http.StatusForbidden, strongroom.ESTEPUP)
			for _, ev := range env.events(t, env.org, before) {
				if ev.Action == "audit.export" {
					t.Errorf("a refused export was audited: %+v", ev)
				}
			}
			// After a step-up, the export works again.
			up := testkit.MustStatus(t, env.do(t, env.admin.Token, "POST", "/api/v1/auth/step-up", map[string]string{"password": mfaTPassword}), http.StatusOK).JSON(t)
			r = testkit.MustStatus(t, env.do(t, up["token"].(string), "GET", path, nil), http.StatusOK)
			if _, err := audit.VerifyExport(bytes.NewReader(r.Body), key.PublicKey()); err != nil {
				t.Errorf("the export after a step-up: %v", err)
			}
		})
	}
}
