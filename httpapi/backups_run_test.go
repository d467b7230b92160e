package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

type backupRunOut struct {
	CanStart bool   `json:"can_start"`
	Location string `json:"location"`
	Run      *struct {
		ID        string `json:"id"`
		Trigger   string `json:"trigger"`
		StartedBy string `json:"started_by"`
		Running   bool   `json:"running"`
		Rows      int64  `json:"rows"`
		Outcome   string `json:"outcome"`
		Name      string `json:"name"`
	} `json:"run"`
}

// TestOperatorBackupRun: operators with a second factor start a backup
// (POST, 202, backup.start in the platform log naming them) and follow it
// (GET, not audited) to its end (backup.create); others are refused; a body
// is refused; a second start while a backup runs is 409 and starts nothing;
// a server without backups answers 409.
func TestOperatorBackupRun(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			loc := testkit.OpenBackupLocation(t)
			id, _ := age.GenerateX25519Identity()
			// The backup reads every tenant: on PostgreSQL as the owner (in
			// production a role with BYPASSRLS, --backup-database).
			var st, src *store.Store
			if e.Name == "postgres" {
				var db testkit.PostgresDB
				var err error
				st, db = testkit.OpenPostgresStore(t)
				if src, err = store.Open(ctx, store.Config{URL: db.OwnerURL}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { src.Close() })
			} else {
				st = e.Open(t)
				src = st
			}
			ops := newBackupOps(t, st, loc)
			env, op := ops.env, ops.op
			const path = "/api/v1/operator/backup-run"
			for _, method := range []string{"GET", "POST"} {
				ops.refused(t, method, path)
			}
			token := operatorGrant(t, env, op)
			get := func() backupRunOut {
				t.Helper()
				r := testkit.MustStatus(t, env.do(t, token, "GET", path, nil), http.StatusOK)
				var out backupRunOut
				if err := json.Unmarshal(r.Body, &out); err != nil {
					t.Fatal(err)
				}
				if r.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
				}
				return out
			}

			// No scheduler: nothing can start.
			seq := env.seq(t, mfaTPlatform)
			if out := get(); out.CanStart || out.Run != nil || out.Location != loc.String() {
				t.Errorf("before any run, without a scheduler: %+v", out)
			}
			mfaTProblem(t, env.do(t, token, "POST", path, nil), http.StatusConflict, strongroom.ECONFLICT)

			sched, err := backup.NewScheduler(backup.SchedulerConfig{Store: env.st, Source: src, Location: loc,
				Recipients: []age.Recipient{id.Recipient()}, Every: 24 * time.Hour, Holder: "api-test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sched.Close)
			env.srv.Service.OnBackupNow(sched)
			// Bad bodies: refused, nothing started.
			for name, body := range map[string][]byte{
				"unknown field": []byte(`{"location": "/tmp/elsewhere"}`),
				"malformed":     []byte(`[`),
				"oversized":     []byte(`{"x": "` + strings.Repeat("x", 2<<20) + `"}`),
			} {
				r := env.srv.Do(t, testkit.Request{Method: "POST", Path: path, Token: token, Body: body, ContentType: "application/json"})
				if r.Status < 400 || r.Status >= 500 {
					t.Errorf("%s body: status %d", name, r.Status)
				}
			}
			env.audited(t, mfaTPlatform, seq) // reads and refusals: nothing

			r := testkit.MustStatus(t, env.do(t, token, "POST", path, nil), http.StatusAccepted)
			var started backupRunOut
			if err := json.Unmarshal(r.Body, &started); err != nil || started.Run == nil || !started.CanStart ||
				started.Run.Trigger != "operator" || started.Run.StartedBy != op.Email {
				t.Fatalf("started: %s %v", r.Body, err)
			}
			var done backupRunOut
			testkit.WaitFor(t, time.Minute, func() bool { done = get(); return done.Run != nil && !done.Run.Running })
			if done.Run.ID != started.Run.ID || done.Run.Outcome != "succeeded" || done.Run.Rows == 0 || !strings.HasPrefix(done.Run.Name, "strongroom-backup-") {
				t.Errorf("finished: %+v", done.Run)
			}
			if list, _ := loc.List(ctx); len(list) != 1 || list[0].Name != done.Run.Name {
				t.Errorf("the location holds %+v", list)
			}
			env.audited(t, mfaTPlatform, seq, "backup.start success", "backup.create success")
			seq = env.seq(t, mfaTPlatform)

			// A backup running (elsewhere): refused, nothing appended.
			other := &store.BackupRun{ID: "run-elsewhere", Trigger: store.BackupBySchedule, Location: loc.String(), StartedAt: time.Now(), Phase: "starting"}
			platform := store.TenantScope(strongroom.PlatformTenant)
			if err := env.st.Write(ctx, platform, func(tx *store.Tx) error { return tx.StartBackupRun(ctx, other, time.Now().Add(-time.Minute)) }); err != nil {
				t.Fatal(err)
			}
			p := mfaTProblem(t, env.do(t, token, "POST", path, nil), http.StatusConflict, strongroom.ECONFLICT)
			if !strings.Contains(p.Detail, "already running") {
				t.Errorf("refusal: %+v", p)
			}
			if out := get(); out.Run == nil || out.Run.ID != "run-elsewhere" || !out.Run.Running {
				t.Errorf("the running run: %+v", out.Run)
			}
			env.audited(t, mfaTPlatform, seq)
		})
	}
}
