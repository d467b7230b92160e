package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// backupOps is what the operator backup endpoints are tested on: a server
// on a store whose backup location is set, a user of a plain organization,
// and an operator without a second factor yet.
type backupOps struct {
	env       *mfaTEnv
	plain, op testkit.Account
}

func newBackupOps(t *testing.T, st *store.Store, loc *backup.Location) *backupOps {
	t.Helper()
	env := &mfaTEnv{st: st, clock: &testClock{}}
	env.srv = testkit.NewServerWithConfig(t, env.st, testkit.ServerConfig{Service: func(u string, cfg *service.Config) {
		cfg.Now = env.clock.Now
		cfg.BackupLocation = loc.String()
	}})
	return &backupOps{env: env, plain: env.srv.Signup(t, "pia@ops.example", "Plain Org"),
		op: signupOperator(t, env, "otto@ops.example", "Ops Org")}
}

// refused checks that method on path is refused to everyone but an operator
// signed in with a second factor: signed out, the plain user, the operator
// without one.
func (o *backupOps) refused(t *testing.T, method, path string) {
	t.Helper()
	mfaTProblem(t, o.env.do(t, "", method, path, nil), http.StatusUnauthorized, strongroom.EUNAUTHORIZED)
	mfaTProblem(t, o.env.do(t, o.plain.Token, method, path, nil), http.StatusForbidden, strongroom.EFORBIDDEN)
	mfaTProblem(t, o.env.do(t, o.op.Token, method, path, nil), http.StatusForbidden, strongroom.EMFAENROLL)
}

// TestOperatorBackups (LIF-05, LIF-06): operators signed in with a second
// factor list the backups and the restore drills; others are refused; every
// read is audited in the platform log; a server without backups says so.
// The lists are the store's records (failed attempts too), not the location.
func TestOperatorBackups(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			// A location with one backup and one drill, of another (SQLite) store.
			src, loc := testkit.OpenSQLiteStore(t), testkit.OpenBackupLocation(t)
			id, _ := age.GenerateX25519Identity()
			when := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
			idx, err := loc.Put(ctx, src, nil, []age.Recipient{id.Recipient()}, when)
			if err != nil {
				t.Fatal(err)
			}
			st := e.Open(t)
			// Recorded in the server's store: the backup, a failed attempt
			// before it, and a drill of it.
			if err := backup.RecordBackup(ctx, st, loc, when.Add(-time.Hour), when.Add(-time.Hour), nil, errors.New("bucket unreachable")); err != nil {
				t.Fatal(err)
			}
			if err := backup.RecordBackup(ctx, st, loc, when, when.Add(time.Minute), idx, nil); err != nil {
				t.Fatal(err)
			}
			drill := &backup.DrillResult{Backup: idx.Name, StartedAt: when.Add(time.Hour), Duration: 1500 * time.Millisecond, Tables: 20, Rows: 3, Chains: 1, OK: true}
			if err := backup.RecordDrill(ctx, st, loc, drill.StartedAt, drill, nil); err != nil {
				t.Fatal(err)
			}
			ops := newBackupOps(t, st, loc)
			env := ops.env
			for _, path := range []string{"/api/v1/operator/backups", "/api/v1/operator/drills"} {
				ops.refused(t, "GET", path)
			}
			token := operatorGrant(t, env, ops.op)

			seq := env.seq(t, mfaTPlatform)
			r := testkit.MustStatus(t, env.do(t, token, "GET", "/api/v1/operator/backups", nil), http.StatusOK)
			var backups struct {
				Configured bool   `json:"configured"`
				Location   string `json:"location"`
				Items      []struct {
					Name, Engine, SHA256, Outcome, Error, Location string
					ManifestSHA256                                 string    `json:"manifest_sha256"`
					CreatedAt                                      time.Time `json:"created_at"`
					Rows, Bytes                                    int64
				} `json:"items"`
			}
			if err := json.Unmarshal(r.Body, &backups); err != nil {
				t.Fatal(err)
			}
			if !backups.Configured || backups.Location != loc.String() || len(backups.Items) != 2 {
				t.Fatalf("backups: %s", r.Body)
			}
			if failed := backups.Items[0]; failed.Outcome != "failed" || failed.Error != "bucket unreachable" || failed.Name != backup.ArchiveName(when.Add(-time.Hour)) {
				t.Errorf("failed backup: %+v", failed)
			}
			if b := backups.Items[1]; b.Name != idx.Name || b.SHA256 != idx.ArchiveSHA256 || b.ManifestSHA256 != idx.ManifestSHA256 || b.Outcome != "succeeded" ||
				!b.CreatedAt.Equal(when) || b.Engine != "sqlite" || b.Bytes != idx.ArchiveBytes || b.Location != loc.String() {
				t.Errorf("backup: %+v", b)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
			env.audited(t, mfaTPlatform, seq, "backup.list success")

			seq = env.seq(t, mfaTPlatform)
			r = testkit.MustStatus(t, env.do(t, token, "GET", "/api/v1/operator/drills", nil), http.StatusOK)
			var drills struct {
				Configured bool `json:"configured"`
				Items      []struct {
					Backup     string
					Outcome    string
					OK         bool
					DurationMS int64 `json:"duration_ms"`
					Tables     int
				} `json:"items"`
			}
			if err := json.Unmarshal(r.Body, &drills); err != nil {
				t.Fatal(err)
			}
			if !drills.Configured || len(drills.Items) != 1 || drills.Items[0].Backup != idx.Name || !drills.Items[0].OK || drills.Items[0].Outcome != "succeeded" ||
				drills.Items[0].DurationMS != 1500 || drills.Items[0].Tables != 20 {
				t.Errorf("drills: %s", r.Body)
			}
			env.audited(t, mfaTPlatform, seq, "backup.drill_list success")
		})
	}
}
