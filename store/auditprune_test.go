package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

const pruneTenant strongroom.TenantID = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d33"

func appendPruneEvents(t *testing.T, st *store.Store, n int) []int64 {
	t.Helper()
	var seqs []int64
	for i := range n {
		e := strongroom.NewAuditEvent(nil, pruneTenant, "record.read", "record", fmt.Sprintf("r%d", i), strongroom.ResultSuccess)
		if err := st.Write(context.Background(), store.TenantScope(pruneTenant), func(tx *store.Tx) error {
			return tx.AppendAudit(context.Background(), &e)
		}); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

func storeMarker(t *testing.T, st *store.Store, seq int64) {
	t.Helper()
	err := st.Write(context.Background(), store.TenantScope(pruneTenant), func(tx *store.Tx) error {
		return tx.AppendAuditPruneMarker(context.Background(), &store.AuditCheckpoint{Tenant: pruneTenant, Seq: seq,
			Head: make([]byte, 32), SignedAt: time.Now(), KeyID: "ed25519:test", Signature: []byte("not checked here")})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func prune(t *testing.T, st *store.Store) store.AuditPruned {
	t.Helper()
	var p store.AuditPruned
	if err := st.Write(context.Background(), store.TenantScope(pruneTenant), func(tx *store.Tx) error {
		var err error
		p, err = tx.PruneAudit(context.Background(), 100)
		return err
	}); err != nil {
		t.Fatalf("PruneAudit: %v", err)
	}
	return p
}

// TestPruneAuditOnlyBelowMarker: audit events are deleted only at or below a
// stored prune marker of their chain, on both engines (the signature is
// verify's business, not the store's).
func TestPruneAuditOnlyBelowMarker(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			seqs := appendPruneEvents(t, st, 4)
			if p := prune(t, st); !p.Zero() {
				t.Fatalf("pruned %+v without a marker", p)
			}
			storeMarker(t, st, seqs[1])
			if p := prune(t, st); p.Events != 2 {
				t.Fatalf("pruned %+v, want the 2 events through the marker", p)
			}
			if p := prune(t, st); !p.Zero() {
				t.Fatalf("pruned %+v again", p)
			}
			var left []strongroom.AuditEvent
			if err := st.Read(context.Background(), store.TenantScope(pruneTenant), func(tx *store.Tx) error {
				var err error
				left, err = tx.AuditEventsBetween(context.Background(), 0, 1<<62, 100)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(left) != 2 || left[0].Seq != seqs[2] {
				t.Errorf("left %d events from seq %d, want 2 from %d", len(left), left[0].Seq, seqs[2])
			}
		})
	}
}

// TestPostgresAppRoleCannotDeleteAudit: the application role has no DELETE on
// the audit tables, even with the prune setting forged; the owner's own DELETE
// is refused by the triggers outside audit_prune (a barrier against mistakes:
// the owner can drop triggers); audit_prune refuses another tenant than the
// bound one.
func TestPostgresAppRoleCannotDeleteAudit(t *testing.T) {
	st, db := testkit.OpenPostgresStore(t)
	seqs := appendPruneEvents(t, st, 3)
	storeMarker(t, st, seqs[2])
	try := func(url, stmt string, forge bool) error {
		conn, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tx, err := conn.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec("SELECT set_config('strongroom.tenant_id', $1, true), set_config('strongroom.audit_prune', $2, true)",
			string(pruneTenant), map[bool]string{true: string(pruneTenant)}[forge]); err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(stmt)
		return err
	}
	for _, table := range []string{"audit_events", "audit_seals", "audit_checkpoints", "audit_prune_markers"} {
		for _, stmt := range []string{"DELETE FROM " + table, "TRUNCATE " + table, "UPDATE " + table + " SET seq = seq"} {
			if err := try(db.AppURL, stmt, true); err == nil {
				t.Errorf("the application role ran %q", stmt)
			}
		}
	}
	for _, stmt := range []string{"DELETE FROM audit_events", "TRUNCATE audit_events", "DELETE FROM audit_prune_markers"} {
		if err := try(db.OwnerURL, stmt, false); err == nil {
			t.Errorf("the owner ran %q outside audit_prune", stmt)
		}
	}
	if err := try(db.AppURL, "SELECT * FROM audit_prune('0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d44', 10)", false); err == nil {
		t.Error("audit_prune pruned a tenant other than the bound one")
	}
	if p := prune(t, st); p.Events != 3 {
		t.Errorf("audit_prune deleted %+v, want the 3 events through the marker", p)
	}
}
