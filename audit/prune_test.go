package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/auditlog"
	"strongroom.dev/strongroom/store"
)

// appendAt appends n events to tenant dated at, one transaction each, and
// returns their seqs.
func appendAt(t *testing.T, st *store.Store, tenant strongroom.TenantID, at time.Time, n int) []int64 {
	t.Helper()
	var out []int64
	for i := range n {
		e := strongroom.NewAuditEvent(&strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "u1"}, tenant,
			"record.read", "record", fmt.Sprintf("r%d", i), strongroom.ResultSuccess)
		e.Time = at.Add(time.Duration(i) * time.Second)
		if err := st.Write(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
			return tx.AppendAudit(context.Background(), &e)
		}); err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Seq)
	}
	return out
}

// makeOrg makes tenant an organization whose audit retention is days.
func makeOrg(t *testing.T, st *store.Store, tenant strongroom.TenantID, days int, now time.Time) {
	t.Helper()
	err := st.Write(context.Background(), store.TenantScope(tenant), func(tx *store.Tx) error {
		if err := tx.CreateOrganization(context.Background(), &strongroom.Organization{ID: tenant, Name: "Org", CreatedAt: now}); err != nil {
			return err
		}
		return tx.SetOrgSettings(context.Background(), &strongroom.OrgSettings{AuditRetentionDays: days}, now)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// prunedEnv has tenant A (retention 30 days, legal minimum 365) with 5 events
// 400 days old, 2 events 100 days old and 3 events 10 days old, and tenant B
// (retention 0: forever) with 4 events 400 days old, sealed, checkpointed and
// then pruned in batches of 2. It returns A's seqs before the prune.
func prunedEnv(t *testing.T, engine string) (*env, []int64, audit.PruneReport) {
	t.Helper()
	e := newEnv(t, engine)
	now := time.Now().UTC()
	makeOrg(t, e.st, tenantA, 30, now)
	makeOrg(t, e.st, tenantB, 0, now)
	seqs := appendAt(t, e.st, tenantA, now.AddDate(0, 0, -400), 5)
	appendAt(t, e.st, tenantB, now.AddDate(0, 0, -400), 4)
	seqs = append(seqs, appendAt(t, e.st, tenantA, now.AddDate(0, 0, -100), 2)...)
	s := e.sequencer(t, "sealer", nil)
	sealAll(t, e, s)
	seqs = append(seqs, appendAt(t, e.st, tenantA, now.AddDate(0, 0, -10), 3)...)
	sealAll(t, e, s)
	if txt := problemText(e.verify(t, e.folder)); txt != "" {
		t.Fatalf("problems before pruning:\n%s", txt)
	}
	rep, err := audit.Prune(context.Background(), e.pruneConfig())
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	return e, seqs, rep
}

func (e *env) pruneConfig() audit.PruneConfig {
	return audit.PruneConfig{Store: e.st, Signer: e.key, Folder: e.folder, Holder: "pruner", MinDays: 365,
		BatchSize: 2, Logger: slog.New(slog.DiscardHandler)}
}

// TestPrune deletes exactly the events older than the retention, never those
// within the legal minimum, and leaves every chain verifiable.
func TestPrune(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e, seqs, rep := prunedEnv(t, engine)
			if !rep.Ran || rep.Markers != 1 || rep.Deleted.Events != 5 || rep.Deleted.Seals != 4 {
				t.Errorf("report %+v, want one marker, 5 events and 4 seals deleted (the seal at the marker stays)", rep)
			}
			if got := e.seqs(t, tenantA); !slices.Equal(got, seqs[5:]) {
				t.Errorf("tenant A keeps %v, want %v (the 100-day-old ones are within the legal minimum)", got, seqs[5:])
			}
			if got := e.seqs(t, tenantB); len(got) != 4 {
				t.Errorf("tenant B, kept forever, has %d events, want 4", len(got))
			}
			rs := e.verify(t, e.folder)
			if txt := problemText(rs); txt != "" {
				t.Fatalf("problems after pruning:\n%s", txt)
			}
			a := report(rs, tenantA)
			if a.PrunedThrough != seqs[4] || a.Sealed != 5 {
				t.Errorf("tenant A verified %d events from seq %d, want 5 from %d", a.Sealed, a.PrunedThrough, seqs[4])
			}
			// The marker is in the folder too, as a line of its own.
			b, err := os.ReadFile(filepath.Join(e.folder.Dir(), string(tenantA)+".jsonl"))
			if err != nil || !strings.Contains(string(b), fmt.Sprintf(`"seq":%d,`, seqs[4])) || !strings.Contains(string(b), `"prune":true`) {
				t.Errorf("no prune marker in the checkpoint file (%v):\n%s", err, b)
			}
			// The prune is audited, with its counts, in the platform chain.
			var meta string
			if err := e.raw.QueryRow("SELECT metadata FROM audit_events WHERE tenant_id = $1 AND action = 'audit.prune'",
				string(strongroom.PlatformTenant)).Scan(&meta); err != nil {
				t.Fatalf("no audit.prune event: %v", err)
			}
			var m struct {
				Tenant     string `json:"tenant"`
				ThroughSeq int64  `json:"through_seq"`
				Events     int64  `json:"events"`
			}
			if err := json.Unmarshal([]byte(meta), &m); err != nil || m.Tenant != string(tenantA) || m.ThroughSeq != seqs[4] || m.Events != 5 {
				t.Errorf("audit.prune metadata %s", meta)
			}
			// Pruning again changes nothing; the chain grows and verifies on.
			rep, err = audit.Prune(context.Background(), e.pruneConfig())
			if err != nil || rep.Markers != 0 || !rep.Deleted.Zero() {
				t.Errorf("second prune: %+v, %v", rep, err)
			}
			appendAt(t, e.st, tenantA, time.Now(), 3)
			sealAll(t, e, e.sequencer(t, "sealer2", nil))
			if txt := problemText(e.verify(t, e.folder)); txt != "" {
				t.Fatalf("problems after sealing past the marker:\n%s", txt)
			}
		})
	}
}

// TestPruneResumes interrupts a prune after its first batch; the next run
// finishes it without signing another marker.
func TestPruneResumes(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			now := time.Now().UTC()
			makeOrg(t, e.st, tenantA, 400, now)
			seqs := appendAt(t, e.st, tenantA, now.AddDate(0, 0, -500), 7)
			appendAt(t, e.st, tenantA, now, 1)
			sealAll(t, e, e.sequencer(t, "sealer", nil))
			cfg := e.pruneConfig()
			stop := errors.New("stop")
			cfg.AfterBatch = func() error { return stop }
			rep, err := audit.Prune(context.Background(), cfg)
			if !errors.Is(err, stop) || rep.Deleted.Events != 2 {
				t.Fatalf("interrupted prune: %+v, %v", rep, err)
			}
			if txt := problemText(e.verify(t, e.folder)); txt != "" {
				t.Fatalf("problems midway:\n%s", txt)
			}
			cfg.AfterBatch = nil
			cfg.Now = func() time.Time { return time.Now().Add(10 * time.Minute) } // the interrupted holder's lease ran out
			cfg.Holder = "another"
			rep, err = audit.Prune(context.Background(), cfg)
			if err != nil || rep.Markers != 0 || rep.Deleted.Events != 5 {
				t.Fatalf("resumed prune: %+v, %v", rep, err)
			}
			if got := e.seqs(t, tenantA); len(got) != 1 || got[0] <= seqs[6] {
				t.Errorf("tenant A keeps %v", got)
			}
			if txt := problemText(e.verify(t, e.folder)); txt != "" {
				t.Fatalf("problems after resuming:\n%s", txt)
			}
		})
	}
}

// TestPruneRefusesABrokenChain signs no marker over a chain that does not
// verify: that would hide the tampering.
func TestPruneRefusesABrokenChain(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			now := time.Now().UTC()
			makeOrg(t, e.st, tenantA, 400, now)
			seqs := appendAt(t, e.st, tenantA, now.AddDate(0, 0, -500), 4)
			appendAt(t, e.st, tenantA, now, 1)
			sealAll(t, e, e.sequencer(t, "sealer", nil))
			e.dropProtection(t)
			e.rawExec(t, fmt.Sprintf("UPDATE audit_events SET reason = 'x' WHERE seq = %d", seqs[1]))
			rep, err := audit.Prune(context.Background(), e.pruneConfig())
			if err == nil || rep.Markers != 0 || !rep.Deleted.Zero() {
				t.Fatalf("prune of a tampered chain: %+v, %v", rep, err)
			}
			wantProblem(t, e.verify(t, e.folder), seqs[1], auditlog.ProblemSeal)
		})
	}
}

// TestVerifyDetectsTamperingAfterPrune tampers with pruned chains behind the
// store's back and expects verify to notice.
func TestVerifyDetectsTamperingAfterPrune(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			tampered := func(t *testing.T) (*env, []int64) {
				e, seqs, _ := prunedEnv(t, engine)
				e.dropProtection(t)
				return e, seqs
			}
			t.Run("an event after the marker edited", func(t *testing.T) {
				e, seqs := tampered(t)
				e.rawExec(t, fmt.Sprintf("UPDATE audit_events SET reason = 'nothing to see' WHERE seq = %d", seqs[6]))
				wantProblem(t, e.verify(t, e.folder), seqs[6], auditlog.ProblemSeal)
			})
			t.Run("an event after the marker deleted", func(t *testing.T) {
				e, seqs := tampered(t)
				e.rawExec(t, fmt.Sprintf("DELETE FROM audit_events WHERE seq = %d", seqs[6]))
				wantProblem(t, e.verify(t, e.folder), seqs[6], auditlog.ProblemMissing)
			})
			t.Run("the event right after the marker deleted with its seal", func(t *testing.T) {
				e, seqs := tampered(t)
				e.rawExec(t, fmt.Sprintf("DELETE FROM audit_events WHERE seq = %d", seqs[5]),
					fmt.Sprintf("DELETE FROM audit_seals WHERE tenant_id = '%s' AND seq = %d", tenantA, seqs[5]))
				wantProblem(t, e.verify(t, e.folder), seqs[6], auditlog.ProblemSeal)
			})
			t.Run("two events after the marker reordered", func(t *testing.T) {
				e, seqs := tampered(t)
				a, b := seqs[7], seqs[8]
				if engine == "postgres" {
					e.rawExec(t, "ALTER TABLE audit_events ALTER COLUMN seq SET GENERATED BY DEFAULT")
				}
				e.rawExec(t, fmt.Sprintf("UPDATE audit_events SET seq = -1 WHERE seq = %d", a),
					fmt.Sprintf("UPDATE audit_events SET seq = %d WHERE seq = %d", a, b),
					fmt.Sprintf("UPDATE audit_events SET seq = %d WHERE seq = -1", b))
				wantProblem(t, e.verify(t, e.folder), a, auditlog.ProblemSeal)
			})
			t.Run("the chain after the marker truncated", func(t *testing.T) {
				e, seqs := tampered(t)
				cut := seqs[6]
				e.rawExec(t, fmt.Sprintf("DELETE FROM audit_events WHERE tenant_id = '%s' AND seq > %d", tenantA, cut),
					fmt.Sprintf("DELETE FROM audit_seals WHERE tenant_id = '%s' AND seq > %d", tenantA, cut),
					fmt.Sprintf("DELETE FROM audit_checkpoints WHERE tenant_id = '%s' AND seq > %d", tenantA, cut))
				wantProblem(t, e.verify(t, e.folder), seqs[len(seqs)-1], auditlog.ProblemCheckpoint)
			})
			t.Run("the marker deleted from the database and the folder", func(t *testing.T) {
				e, seqs := tampered(t)
				if engine == "sqlite" {
					e.rawExec(t, "DROP TRIGGER audit_prune_markers_no_delete")
				} else {
					e.rawExec(t, "ALTER TABLE audit_prune_markers DISABLE TRIGGER USER")
				}
				e.rawExec(t, fmt.Sprintf("DELETE FROM audit_prune_markers WHERE tenant_id = '%s'", tenantA))
				if err := os.Remove(filepath.Join(e.folder.Dir(), string(tenantA)+".jsonl")); err != nil {
					t.Fatal(err)
				}
				// From the genesis, the pruned events are missing.
				rs := e.verify(t, e.folder)
				if a := report(rs, tenantA); a.OK() || a.PrunedThrough != 0 {
					t.Fatalf("a chain without its marker verifies: %+v", a)
				}
				_ = seqs
			})
			t.Run("events deleted below a forged marker", func(t *testing.T) {
				e, seqs := tampered(t)
				// Someone without the signing key marks the chain pruned through
				// a later event, in the database and the folder, and deletes up to it.
				_, forger, _ := ed25519.GenerateKey(rand.Reader)
				var head []byte
				if err := e.raw.QueryRow(fmt.Sprintf("SELECT hash FROM audit_seals WHERE tenant_id = '%s' AND seq = %d", tenantA, seqs[6])).
					Scan(&head); err != nil {
					t.Fatal(err)
				}
				m := auditlog.Checkpoint{Tenant: tenantA, Seq: seqs[6], Time: time.Now(), Prune: true}
				copy(m.Head[:], head)
				if err := m.Sign(forger); err != nil {
					t.Fatal(err)
				}
				if err := e.folder.Append(m); err != nil {
					t.Fatal(err)
				}
				if _, err := e.raw.Exec("INSERT INTO audit_prune_markers (tenant_id, seq, head, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)",
					string(tenantA), m.Seq, m.Head[:], m.Time.UnixMicro(), m.KeyID, m.Signature); err != nil {
					t.Fatal(err)
				}
				e.rawExec(t, fmt.Sprintf("DELETE FROM audit_events WHERE tenant_id = '%s' AND seq <= %d", tenantA, seqs[6]),
					fmt.Sprintf("DELETE FROM audit_seals WHERE tenant_id = '%s' AND seq < %d", tenantA, seqs[6]))
				rs := e.verify(t, e.folder)
				a := report(rs, tenantA)
				if a.OK() || a.PrunedThrough != seqs[4] {
					t.Fatalf("a forged marker was accepted: %+v\n%s", a, problemText(rs))
				}
				txt := problemText(rs)
				if !strings.Contains(txt, string(auditlog.ProblemSignature)) || !strings.Contains(txt, string(auditlog.ProblemMissing)) {
					t.Errorf("want the forged markers and the missing events reported:\n%s", txt)
				}
			})
			t.Run("an ordinary checkpoint's signature passed off as a marker", func(t *testing.T) {
				e, seqs := tampered(t)
				var c store.AuditCheckpoint
				if err := e.raw.QueryRow(fmt.Sprintf("SELECT seq, head, signed_at, key_id, signature FROM audit_checkpoints WHERE tenant_id = '%s' AND seq > %d ORDER BY seq LIMIT 1", tenantA, seqs[4])).
					Scan(&c.Seq, &c.Head, new(int64), &c.KeyID, &c.Signature); err != nil {
					t.Fatal(err)
				}
				if _, err := e.raw.Exec("INSERT INTO audit_prune_markers (tenant_id, seq, head, signed_at, key_id, signature) SELECT tenant_id, seq, head, signed_at, key_id, signature FROM audit_checkpoints WHERE tenant_id = $1 AND seq = $2",
					string(tenantA), c.Seq); err != nil {
					t.Fatal(err)
				}
				e.rawExec(t, fmt.Sprintf("DELETE FROM audit_events WHERE tenant_id = '%s' AND seq <= %d", tenantA, c.Seq))
				rs := e.verify(t, e.folder)
				if a := report(rs, tenantA); a.OK() || a.PrunedThrough != seqs[4] {
					t.Fatalf("a checkpoint was accepted as a prune marker: %+v", a)
				}
			})
		})
	}
}

// TestDeletingWithoutMarkerDetected deletes a chain's oldest events, with
// their seals and checkpoints, where no prune marker allows it.
func TestDeletingWithoutMarkerDetected(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e, seqs := sealedEnv(t, engine)
			// Without the triggers dropped, the store refuses.
			e2 := newEnv(t, engine)
			appendEvents(t, e2.st, tenantA, 2)
			if _, err := e2.raw.Exec(fmt.Sprintf("DELETE FROM audit_events WHERE tenant_id = '%s'", tenantA)); err == nil {
				t.Error("deleting audit events without a prune marker was not refused")
			}
			e.rawExec(t, fmt.Sprintf("DELETE FROM audit_events WHERE tenant_id = '%s' AND seq <= %d", tenantA, seqs[2]),
				fmt.Sprintf("DELETE FROM audit_seals WHERE tenant_id = '%s' AND seq <= %d", tenantA, seqs[2]))
			wantProblem(t, e.verify(t, e.folder), seqs[3], auditlog.ProblemSeal)
		})
	}
}

// TestExportAfterPrune: a pruned chain's export starts at its prune marker and
// verifies offline; without the marker line, or with a forged one, it does not.
func TestExportAfterPrune(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e, seqs, _ := prunedEnv(t, engine)
			ctx := context.Background()
			plan, err := audit.PlanExport(ctx, e.st, tenantA, []ed25519.PublicKey{e.pub()}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := audit.Export(ctx, &b, e.st, plan); err != nil {
				t.Fatal(err)
			}
			sum, err := audit.VerifyExport(strings.NewReader(b.String()), e.pub())
			if err != nil {
				t.Fatalf("VerifyExport: %v\n%s", err, b.String())
			}
			if sum.PrunedThrough != seqs[4] || sum.Events != 5 || sum.ThroughSeq != seqs[9] {
				t.Errorf("summary %+v, want 5 events after the marker at %d through %d", sum, seqs[4], seqs[9])
			}
			lines := strings.SplitAfter(b.String(), "\n")
			if !strings.Contains(lines[0], `"v":2,`) || !strings.Contains(lines[1], `"prune":true`) {
				t.Fatalf("header and marker:\n%s%s", lines[0], lines[1])
			}
			without := lines[0] + strings.Join(lines[2:], "")
			if _, err := audit.VerifyExport(strings.NewReader(without), e.pub()); err == nil {
				t.Error("an export without its prune marker verifies")
			}
			// The marker replaced by one under another key.
			_, forger, _ := ed25519.GenerateKey(rand.Reader)
			var m auditlog.Checkpoint
			if err := json.Unmarshal([]byte(`{`+strings.TrimPrefix(strings.TrimSpace(lines[1]), `{"type":"checkpoint",`)), &m); err != nil {
				t.Fatal(err)
			}
			if err := m.Sign(forger); err != nil {
				t.Fatal(err)
			}
			mb, _ := json.Marshal(m)
			forged := lines[0] + `{"type":"checkpoint",` + string(mb[1:]) + "\n" + strings.Join(lines[2:], "")
			if _, err := audit.VerifyExport(strings.NewReader(forged), e.pub()); err == nil || !strings.Contains(err.Error(), "prune marker does not verify") {
				t.Errorf("a forged prune marker: %v", err)
			}
			// An event after the marker edited.
			edited := strings.Replace(b.String(), `"id":"r1"}`, `"id":"r7"}`, 1)
			if edited == b.String() {
				t.Fatal("no event to edit")
			}
			if _, err := audit.VerifyExport(strings.NewReader(edited), e.pub()); err == nil {
				t.Error("an edited event verifies")
			}
		})
	}
}
