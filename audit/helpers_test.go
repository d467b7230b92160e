package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

const (
	tenantA strongroom.TenantID = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11"
	tenantB strongroom.TenantID = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d22"
)

var engines = []string{"sqlite", "postgres"}

// env is one engine's store with a raw connection behind its back (the file on
// SQLite, the owner on PostgreSQL), a signing key and a checkpoint folder.
type env struct {
	engine string
	st     *store.Store
	raw    *sql.DB
	key    ed25519.PrivateKey
	folder *audit.Folder
}

func newEnvKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newEnv(t *testing.T, engine string) *env {
	t.Helper()
	st, raw, _ := testkit.OpenRaw(t, engine)
	key := newEnvKey(t)
	folder, err := audit.OpenFolder(t.TempDir() + "/checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	return &env{engine: engine, st: st, raw: raw, key: key, folder: folder}
}

func (e *env) pub() ed25519.PublicKey { return e.key.Public().(ed25519.PublicKey) }

// clock is a settable time for leases and checkpoints.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (e *env) sequencer(t *testing.T, holder string, now func() time.Time, adjust ...func(*audit.Config)) *audit.Sequencer {
	t.Helper()
	cfg := audit.Config{Store: e.st, Signer: e.key, Folder: e.folder, Holder: holder, Now: now,
		Logger: slog.New(slog.DiscardHandler), SealInterval: 10 * time.Millisecond, CheckpointInterval: 50 * time.Millisecond,
		BatchSize: 7}
	for _, f := range adjust {
		f(&cfg)
	}
	s, err := audit.NewSequencer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// appendEvents appends n events to tenant, one transaction each, and returns
// them as stored.
func appendEvents(t testing.TB, st *store.Store, tenant strongroom.TenantID, n int) []strongroom.AuditEvent {
	t.Helper()
	out := make([]strongroom.AuditEvent, n)
	for i := range out {
		e := strongroom.NewAuditEvent(&strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "u1", IP: "198.51.100.7",
			DeviceType: "desktop", RequestID: fmt.Sprintf("req-%d", i)}, tenant, "record.create", "record", fmt.Sprintf("r%d", i),
			strongroom.ResultSuccess)
		e.Metadata = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
		if err := st.Write(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
			return tx.AppendAudit(context.Background(), &e)
		}); err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// verify runs Verify with the env's key and folder.
func (e *env) verify(t *testing.T, folder *audit.Folder) []audit.ChainReport {
	t.Helper()
	rs, err := audit.Verify(context.Background(), audit.VerifyConfig{Store: e.st, PublicKey: e.pub(), Folder: folder, PageSize: 5}, nil)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rs
}

func report(rs []audit.ChainReport, tenant strongroom.TenantID) audit.ChainReport {
	for _, r := range rs {
		if r.Tenant == tenant {
			return r
		}
	}
	return audit.ChainReport{Tenant: tenant}
}

// problemText is every problem of the reports, one per line.
func problemText(rs []audit.ChainReport) string {
	var b strings.Builder
	for _, r := range rs {
		for _, p := range r.Problems {
			b.WriteString(p.Error())
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// sealAll ticks s until every chain is sealed (on PostgreSQL the horizon may
// wait for other tests' transactions), then checkpoints.
func sealAll(t *testing.T, e *env, s *audit.Sequencer) {
	t.Helper()
	ctx := context.Background()
	testkit.WaitFor(t, 30*time.Second, func() bool {
		if _, err := s.Tick(ctx); err != nil {
			t.Fatalf("Tick: %v", err)
		}
		for _, r := range e.verify(t, nil) {
			if r.Unsealed > 0 {
				return false
			}
		}
		return true
	})
	if _, err := s.Checkpoint(ctx); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
}

// rawExec runs statements on the raw connection, failing the test on error.
func (e *env) rawExec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := e.raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// dropProtection removes the append-only triggers, as someone with control of
// the database would: SQLite's triggers are dropped; PostgreSQL's owner (a
// superuser in tests, so row-level security does not apply) disables them.
func (e *env) dropProtection(t *testing.T) {
	t.Helper()
	if e.engine == "sqlite" {
		for _, table := range []string{"audit_events", "audit_seals", "audit_checkpoints"} {
			for _, what := range []string{"update", "delete", "replace"} {
				e.rawExec(t, "DROP TRIGGER "+table+"_no_"+what)
			}
		}
		return
	}
	e.rawExec(t, "ALTER TABLE audit_events DISABLE TRIGGER USER", "ALTER TABLE audit_seals DISABLE TRIGGER USER",
		"ALTER TABLE audit_checkpoints DISABLE TRIGGER USER")
}

func (e *env) seqs(t *testing.T, tenant strongroom.TenantID) []int64 {
	t.Helper()
	rows, err := e.raw.Query("SELECT seq FROM audit_events WHERE tenant_id = $1 ORDER BY seq", string(tenant))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
