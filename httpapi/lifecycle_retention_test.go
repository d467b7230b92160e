package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// clock is a settable time for the service (records' times, the lease).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// retentionEnv is a server whose service runs on a settable clock, with one
// Admin who signs in again whenever the clock jumps (sessions expire).
type retentionEnv struct {
	srv   *testkit.Server
	clock *clock
	admin testkit.Account
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newRetentionEnv(t *testing.T, st *store.Store) *retentionEnv {
	t.Helper()
	c := &clock{t: t0}
	srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{Service: func(_ string, cfg *service.Config) {
		cfg.Now = c.now
	}})
	return &retentionEnv{srv: srv, clock: c, admin: srv.Signup(t, "admin@retention.example", "Retention")}
}

// at moves the clock and signs the Admin in again.
func (e *retentionEnv) at(t *testing.T, when time.Time) {
	t.Helper()
	e.clock.set(when)
	r := testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/password",
		Body: map[string]string{"email": e.admin.Email, "password": "correct horse battery staple"}}), http.StatusOK)
	e.admin.Token = r.JSON(t)["token"].(string)
}

func (e *retentionEnv) org(p string) string { return "/api/v1/orgs/" + e.admin.OrgID + p }

func (e *retentionEnv) call(t *testing.T, method, path string, body any) testkit.Response {
	t.Helper()
	return e.srv.Do(t, testkit.Request{Method: method, Path: e.org(path), Token: e.admin.Token, Body: body})
}

// collection creates a collection with a retention policy (nil: the org's default).
func (e *retentionEnv) collection(t *testing.T, name string, policy any) {
	t.Helper()
	testkit.MustStatus(t, e.call(t, "POST", "/collections", map[string]any{"name": name,
		"schema": json.RawMessage(`{"type":"object"}`), "searchable": []string{"email"}}), http.StatusCreated)
	if policy != nil {
		r := testkit.MustStatus(t, e.call(t, "PUT", "/collections/"+name+"/retention", map[string]any{"retention": policy}), http.StatusOK)
		if got := r.JSON(t)["retention"]; got == nil {
			t.Fatalf("collection %s: retention not set: %s", name, r.Body)
		}
	}
}

func (e *retentionEnv) record(t *testing.T, coll string, data map[string]any) string {
	t.Helper()
	return testkit.MustStatus(t, e.call(t, "POST", "/collections/"+coll+"/records", map[string]any{"data": data}),
		http.StatusCreated).JSON(t)["id"].(string)
}

// remaining lists a collection's record IDs as the Admin sees them (restricted ones too).
func (e *retentionEnv) remaining(t *testing.T, coll string) []string {
	t.Helper()
	r := testkit.MustStatus(t, e.call(t, "GET", "/collections/"+coll+"/records?limit=200", nil), http.StatusOK)
	var p pageOut
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return ids(p.Items)
}

// sweeps returns the retention.sweep events of the organization by collection name.
func (e *retentionEnv) sweeps(t *testing.T, st *store.Store) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, ev := range auditSince(t, st, e.admin.OrgID, 0) {
		if ev.Action != "retention.sweep" {
			continue
		}
		if ev.ActorType != strongroom.PrincipalSystem || ev.Result != strongroom.ResultSuccess {
			t.Errorf("sweep event by %s, %s; want the system, success", ev.ActorType, ev.Result)
		}
		var m map[string]any
		if err := json.Unmarshal(ev.Metadata, &m); err != nil {
			t.Fatal(err)
		}
		out[m["collection"].(string)] = append(out[m["collection"].(string)], m)
	}
	return out
}

func counts(m map[string]any) [2]float64 {
	return [2]float64{m["examined"].(float64), m["deleted"].(float64)}
}

// TestRetentionSweep: the sweeper deletes exactly the expired records under
// each rule (creation, last update, a date field, the organization's default),
// with the boundary (exactly N days old is kept, a microsecond more is not),
// never a restricted record, and audits each collection's sweep with counts.
func TestRetentionSweep(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			e := newRetentionEnv(t, st)
			e.collection(t, "by_created", map[string]any{"days": 10, "from": "created"})
			e.collection(t, "by_updated", map[string]any{"days": 10, "from": "updated"})
			e.collection(t, "by_field", map[string]any{"days": 1, "from": "field", "field": "contract.ends"})
			e.collection(t, "by_default", nil)
			e.collection(t, "kept", map[string]any{"days": 0})
			testkit.MustStatus(t, e.call(t, "PUT", "/settings", map[string]any{
				"default_retention": map[string]any{"days": 10, "from": "created"}}), http.StatusOK)

			// At t0.
			oldCreated := e.record(t, "by_created", map[string]any{"n": 1})
			restricted := e.record(t, "by_created", map[string]any{"email": "keep@retention.example"})
			oldUpdated := e.record(t, "by_updated", map[string]any{"n": 1})
			touched := e.record(t, "by_updated", map[string]any{"n": 2})
			oldDefault := e.record(t, "by_default", map[string]any{"n": 1})
			keptForever := e.record(t, "kept", map[string]any{"n": 1})
			fieldPast := e.record(t, "by_field", map[string]any{"contract": map[string]any{"ends": "2026-03-05"}})
			fieldFuture := e.record(t, "by_field", map[string]any{"contract": map[string]any{"ends": "2026-03-20T00:00:00Z"}})
			fieldBoundary := e.record(t, "by_field", map[string]any{"contract": map[string]any{"ends": "2026-03-10T12:00:00.000001Z"}})
			fieldMissing := e.record(t, "by_field", map[string]any{"contract": map[string]any{}})
			fieldGarbage := e.record(t, "by_field", map[string]any{"contract": map[string]any{"ends": "next spring"}})
			// Restrict one record through a data-subject request.
			d := testkit.MustStatus(t, e.call(t, "POST", "/dsr", map[string]any{"kind": "restrict",
				"identifiers": []map[string]any{{"field": "email", "value": "keep@retention.example"}}}), http.StatusCreated).JSON(t)
			testkit.MustStatus(t, e.call(t, "POST", "/dsr/"+d["id"].(string)+"/execute", nil), http.StatusOK)

			// A microsecond later: exactly ten days before the sweep.
			e.at(t, t0.Add(time.Microsecond))
			boundaryCreated := e.record(t, "by_created", map[string]any{"n": 2})
			boundaryDefault := e.record(t, "by_default", map[string]any{"n": 2})
			// Five days later: touched is updated.
			e.at(t, t0.Add(5*24*time.Hour))
			testkit.MustStatus(t, e.call(t, "PATCH", "/collections/by_updated/records/"+touched, map[string]any{"n": 3}), http.StatusOK)
			young := e.record(t, "by_created", map[string]any{"n": 3})

			// Sweep at t0 + 10 days + 1µs.
			e.at(t, t0.Add(10*24*time.Hour+time.Microsecond))
			rep, err := e.srv.Service.SweepRetention(t.Context(), service.SweepOptions{Holder: "replica-a", BatchSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Ran || rep.Deleted != 4 {
				t.Errorf("report %+v, want it to have run and deleted 4", rep)
			}
			_ = oldCreated
			_ = oldUpdated
			_ = oldDefault
			_ = fieldPast
			for coll, want := range map[string][]string{
				"by_created": {restricted, boundaryCreated, young},
				"by_updated": {touched},
				"by_field":   {fieldFuture, fieldBoundary, fieldMissing, fieldGarbage},
				"by_default": {boundaryDefault},
				"kept":       {keptForever},
			} {
				got := e.remaining(t, coll)
				slices.Sort(got)
				slices.Sort(want)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s after the sweep (-want +got):\n%s", coll, diff)
				}
			}
			sw := e.sweeps(t, st)
			for coll, want := range map[string][2]float64{
				"by_created": {1, 1}, // the restricted record is not even looked at
				"by_updated": {1, 1},
				"by_field":   {5, 1}, // every record is read for its date
				"by_default": {1, 1},
			} {
				if len(sw[coll]) != 1 || counts(sw[coll][0]) != want {
					t.Errorf("%s: sweep events %v, want one with examined, deleted = %v", coll, sw[coll], want)
				}
			}
			if len(sw["kept"]) != 0 {
				t.Errorf("a collection that keeps its records was swept: %v", sw["kept"])
			}

			// A second sweep finds nothing more to delete.
			rep, err = e.srv.Service.SweepRetention(t.Context(), service.SweepOptions{Holder: "replica-a"})
			if err != nil || rep.Deleted != 0 {
				t.Errorf("second sweep: %+v, %v; want nothing deleted", rep, err)
			}
		})
	}
}

var errInterrupted = errors.New("interrupted")

// TestRetentionSweepResumes: a sweep interrupted after its first batch (the
// process died holding the lease) is taken over by another replica once the
// lease expires, and resumes where it stopped; the sweep is audited once with
// the counts of both parts. While one sweeper holds the lease, another does
// not run.
func TestRetentionSweepResumes(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			e := newRetentionEnv(t, st)
			e.collection(t, "logs", map[string]any{"days": 1, "from": "created"})
			for i := range 7 {
				e.record(t, "logs", map[string]any{"n": i})
			}
			e.at(t, t0.Add(48*time.Hour))
			e.record(t, "logs", map[string]any{"n": "young"})

			var other service.SweepReport
			rep, err := e.srv.Service.SweepRetention(t.Context(), service.SweepOptions{Holder: "replica-a", BatchSize: 2,
				LeaseTTL: time.Minute, AfterBatch: func() error {
					// While A sweeps, B finds the lease taken and does nothing.
					var err error
					other, err = e.srv.Service.SweepRetention(t.Context(), service.SweepOptions{Holder: "replica-b", BatchSize: 2})
					if err != nil {
						t.Errorf("second sweeper: %v", err)
					}
					return errInterrupted
				}})
			if !errors.Is(err, errInterrupted) {
				t.Fatalf("interrupted sweep: %+v, %v", rep, err)
			}
			if other.Ran || other.Deleted != 0 {
				t.Errorf("a second sweeper ran while the lease was held: %+v", other)
			}
			if got := len(e.remaining(t, "logs")); got != 6 {
				t.Errorf("%d records after the interrupted first batch, want 6", got)
			}
			if sw := e.sweeps(t, st); len(sw) != 0 {
				t.Errorf("an unfinished sweep was audited as finished: %v", sw)
			}

			// B cannot take over before A's lease expires…
			rep, err = e.srv.Service.SweepRetention(t.Context(), service.SweepOptions{Holder: "replica-b", BatchSize: 2})
			if err != nil || rep.Ran {
				t.Fatalf("takeover before expiry: %+v, %v", rep, err)
			}
			// …and does after; it resumes with the first sweep's cutoff.
			e.at(t, t0.Add(48*time.Hour+2*time.Minute))
			rep, err = e.srv.Service.SweepRetention(t.Context(), service.SweepOptions{Holder: "replica-b", BatchSize: 2})
			if err != nil || !rep.Ran || rep.Deleted != 7 || rep.Collections != 1 {
				t.Fatalf("resumed sweep: %+v, %v; want 7 deleted in total", rep, err)
			}
			if got := len(e.remaining(t, "logs")); got != 1 {
				t.Errorf("%d records after the resumed sweep, want 1 (the young one)", got)
			}
			sw := e.sweeps(t, st)
			if len(sw["logs"]) != 1 || counts(sw["logs"][0]) != [2]float64{7, 7} {
				t.Errorf("sweep events %v, want one with examined 7, deleted 7", sw)
			}
			holder, _, err := st.LeaseHolder(t.Context(), service.RetentionLease)
			if err != nil || holder != "" {
				t.Errorf("lease after a finished sweep: %q, %v; want released", holder, err)
			}
		})
	}
}

// TestRetentionBadInput: malformed, hostile and out-of-range policies are
// refused with the failing path, and change nothing.
func TestRetentionBadInput(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			e := newRetentionEnv(t, st)
			e.collection(t, "c", map[string]any{"days": 5, "from": "updated"})
			path := "/collections/c/retention"
			for _, tc := range []struct {
				name   string
				body   any
				status int
				errAt  string
			}{
				{"no anchor", `{"retention":{"days":3}}`, 422, "/from"},
				{"missing", `{}`, 422, "/retention"},
				{"negative", `{"retention":{"days":-3,"from":"created"}}`, 422, "/days"},
				{"too long", `{"retention":{"days":36501,"from":"created"}}`, 422, "/days"},
				{"unknown anchor", `{"retention":{"days":3,"from":"read"}}`, 422, "/from"},
				{"field without path", `{"retention":{"days":3,"from":"field"}}`, 422, "/field"},
				{"hostile field", `{"retention":{"days":3,"from":"field","field":"x') OR 1=1 --"}}`, 422, "/field"},
				{"unknown member", `{"retention":{"days":3,"from":"created","keep":true}}`, 400, ""},
				{"wrong type", `{"retention":{"days":"3","from":"created"}}`, 400, ""},
				{"malformed", `{"retention":`, 400, ""},
				{"oversized", `{"retention":{"days":3,"from":"created","field":"` + string(make([]byte, 2<<20)) + `"}}`, 413, ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := e.call(t, "PUT", path, tc.body)
					p := mustProblem(t, r, tc.status)
					if tc.errAt != "" && (len(p.Errors) != 1 || p.Errors[0].Path != tc.errAt) {
						t.Errorf("errors %v, want one at %s", p.Errors, tc.errAt)
					}
				})
			}
			mustProblem(t, e.call(t, "PUT", "/collections/missing/retention", map[string]any{"retention": nil}), http.StatusNotFound)
			r := testkit.MustStatus(t, e.call(t, "GET", "/collections/c", nil), http.StatusOK)
			if diff := cmp.Diff(map[string]any{"days": 5.0, "from": "updated"}, r.JSON(t)["retention"]); diff != "" {
				t.Errorf("refused updates changed the policy (-want +got):\n%s", diff)
			}
			// null returns the collection to the organization's default.
			r = testkit.MustStatus(t, e.call(t, "PUT", path, map[string]any{"retention": nil}), http.StatusOK)
			if got, ok := r.JSON(t)["retention"]; !ok || got != nil {
				t.Errorf("retention after null: %v", got)
			}
		})
	}
}
