package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

func appendN(t *testing.T, s *store.Store, tenant strongroom.TenantID, n int) []int64 {
	t.Helper()
	var seqs []int64
	for range n {
		e := strongroom.NewAuditEvent(nil, tenant, "test.event", "", "", strongroom.ResultSuccess)
		if err := s.Write(t.Context(), store.TenantScope(tenant), func(tx *store.Tx) error { return tx.AppendAudit(t.Context(), &e) }); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

func hashOf(b byte) []byte {
	h := make([]byte, 32)
	h[0] = b
	return h
}

// TestAuditChainStorage covers the queries of the sequencer and of verify on
// both engines: seals are compare-and-set, chain pages merge events and seals
// whatever is missing, checkpoints are unique per seq, chains are listed
// across tenants, and leases pass between holders.
func TestAuditChainStorage(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Open(t)
			ctx := t.Context()
			a, b := strongroom.TenantID("tenant-a"), strongroom.TenantID("tenant-b")
			sa := appendN(t, s, a, 3)
			sb := appendN(t, s, b, 2)
			sa = append(sa, appendN(t, s, a, 4)...)
			write := func(tenant strongroom.TenantID, fn func(tx *store.Tx) error) error {
				return s.Write(ctx, store.TenantScope(tenant), fn)
			}
			// Seal a's first three; the next extension must name seq sa[2].
			seals := []store.AuditSeal{{Seq: sa[0], Hash: hashOf(1)}, {Seq: sa[1], Hash: hashOf(2)}, {Seq: sa[2], Hash: hashOf(3)}}
			if err := write(a, func(tx *store.Tx) error { return tx.AppendAuditSeals(ctx, 0, seals) }); err != nil {
				t.Fatal(err)
			}
			for name, bad := range map[string]func(tx *store.Tx) error{
				"stale prev": func(tx *store.Tx) error {
					return tx.AppendAuditSeals(ctx, 0, []store.AuditSeal{{Seq: sa[3], Hash: hashOf(4)}})
				},
				"prev ahead": func(tx *store.Tx) error {
					return tx.AppendAuditSeals(ctx, sa[3], []store.AuditSeal{{Seq: sa[4], Hash: hashOf(4)}})
				},
			} {
				if err := write(a, bad); strongroom.ErrorCode(err) != strongroom.ECONFLICT {
					t.Errorf("%s: %v, want ECONFLICT", name, err)
				}
			}
			if err := write(a, func(tx *store.Tx) error {
				return tx.AppendAuditSeals(ctx, sa[2], []store.AuditSeal{{Seq: sa[4], Hash: hashOf(5)}, {Seq: sa[3], Hash: hashOf(4)}})
			}); err == nil {
				t.Error("seals out of order accepted")
			}
			var last store.AuditSeal
			if err := s.Read(ctx, store.TenantScope(a), func(tx *store.Tx) error {
				var err error
				last, err = tx.LastAuditSeal(ctx)
				return err
			}); err != nil || last.Seq != sa[2] {
				t.Fatalf("LastAuditSeal = %+v, %v", last, err)
			}
			// Pages of every size give the same merged chain, with the events
			// after the last seal unsealed.
			var want []store.AuditLink
			for i, seq := range sa {
				l := store.AuditLink{Seq: seq}
				if i < 3 {
					l.Seal = hashOf(byte(i + 1))
				}
				want = append(want, l)
			}
			for _, size := range []int{1, 2, 3, 100} {
				var got []store.AuditLink
				after := int64(0)
				for {
					var page []store.AuditLink
					if err := s.Read(ctx, store.TenantScope(a), func(tx *store.Tx) error {
						var err error
						page, err = tx.AuditChainPage(ctx, after, size)
						return err
					}); err != nil {
						t.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					for _, l := range page {
						if l.Event == nil || l.Event.Seq != l.Seq || l.Event.TenantID != a {
							t.Fatalf("page size %d: link %+v", size, l)
						}
						got = append(got, store.AuditLink{Seq: l.Seq, Seal: l.Seal})
					}
					after = page[len(page)-1].Seq
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("page size %d (-want +got):\n%s", size, diff)
				}
			}
			// Checkpoints: one per seq.
			cp := store.AuditCheckpoint{Tenant: a, Seq: sa[2], Head: hashOf(3), SignedAt: time.UnixMicro(1_700_000_000_000_000).UTC(), KeyID: "k", Signature: []byte{1, 2}}
			if err := write(a, func(tx *store.Tx) error { return tx.AppendAuditCheckpoint(ctx, &cp) }); err != nil {
				t.Fatal(err)
			}
			if err := write(a, func(tx *store.Tx) error { return tx.AppendAuditCheckpoint(ctx, &cp) }); strongroom.ErrorCode(err) != strongroom.ECONFLICT {
				t.Errorf("second checkpoint at a seq: %v", err)
			}
			if err := write(b, func(tx *store.Tx) error { return tx.AppendAuditCheckpoint(ctx, &cp) }); err == nil {
				t.Error("a checkpoint of tenant a stored in b's transaction")
			}
			var cps []store.AuditCheckpoint
			var lastCP int64
			if err := s.Read(ctx, store.TenantScope(a), func(tx *store.Tx) error {
				var err error
				if cps, err = tx.AuditCheckpoints(ctx, 0, 10); err != nil {
					return err
				}
				lastCP, err = tx.LastAuditCheckpointSeq(ctx)
				return err
			}); err != nil || lastCP != sa[2] {
				t.Fatal(err, lastCP)
			}
			if diff := cmp.Diff([]store.AuditCheckpoint{cp}, cps); diff != "" {
				t.Errorf("checkpoints (-want +got):\n%s", diff)
			}
			// Chains across tenants, as the application role sees them.
			if got, err := s.AuditChainTenants(ctx); err != nil || !cmp.Equal(got, []strongroom.TenantID{a, b}) {
				t.Errorf("AuditChainTenants = %v, %v", got, err)
			}
			if got, err := s.AuditTenantsBetween(ctx, sb[1], sa[6]); err != nil || !cmp.Equal(got, []strongroom.TenantID{a}) {
				t.Errorf("AuditTenantsBetween(%d, %d) = %v, %v", sb[1], sa[6], got, err)
			}
			if got, err := s.AuditTenantsBetween(ctx, 0, sb[0]); err != nil || !cmp.Equal(got, []strongroom.TenantID{a, b}) {
				t.Errorf("AuditTenantsBetween(0, %d) = %v, %v", sb[0], got, err)
			}
			h := s.NewAuditHorizon()
			testkit.WaitFor(t, 30*time.Second, func() bool {
				f, err := h.Final(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return f == sa[6]
			})
		})
	}
}

func TestLeases(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Open(t)
			ctx := context.Background()
			now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
			acquire := func(holder string, at time.Time, want bool) {
				t.Helper()
				ok, err := s.AcquireLease(ctx, "job", holder, at, 10*time.Second)
				if err != nil || ok != want {
					t.Fatalf("%s at %v: %v, %v; want %v", holder, at.Sub(now), ok, err, want)
				}
			}
			acquire("a", now, true)
			acquire("b", now.Add(time.Second), false)
			acquire("a", now.Add(5*time.Second), true) // renewed until 15s
			acquire("b", now.Add(12*time.Second), false)
			acquire("b", now.Add(15*time.Second), true) // expired
			acquire("a", now.Add(16*time.Second), false)
			if holder, until, err := s.LeaseHolder(ctx, "job"); err != nil || holder != "b" || !until.Equal(now.Add(25*time.Second)) {
				t.Errorf("LeaseHolder = %q %v %v", holder, until, err)
			}
			if err := s.ReleaseLease(ctx, "job", "a"); err != nil { // not a's: no effect
				t.Fatal(err)
			}
			acquire("a", now.Add(17*time.Second), false)
			if err := s.ReleaseLease(ctx, "job", "b"); err != nil {
				t.Fatal(err)
			}
			acquire("a", now.Add(17*time.Second), true)
			if _, err := s.AcquireLease(ctx, "", "a", now, time.Second); err == nil {
				t.Error("a lease without a name")
			}
		})
	}
}

// TestSQLiteAuditSealsAppendOnly: the triggers refuse changes to seals and
// checkpoints, as they do to events.
func TestSQLiteAuditSealsAppendOnly(t *testing.T) {
	dir := t.TempDir()
	s := testkit.OpenSQLiteStoreIn(t, dir)
	ctx := t.Context()
	seqs := appendN(t, s, "t", 1)
	if err := s.Write(ctx, store.TenantScope("t"), func(tx *store.Tx) error {
		if err := tx.AppendAuditSeals(ctx, 0, []store.AuditSeal{{Seq: seqs[0], Hash: hashOf(1)}}); err != nil {
			return err
		}
		return tx.AppendAuditCheckpoint(ctx, &store.AuditCheckpoint{Tenant: "t", Seq: seqs[0], Head: hashOf(1), KeyID: "k", Signature: []byte{1}})
	}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "strongroom.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, stmt := range []string{
		"UPDATE audit_seals SET hash = zeroblob(32)",
		"DELETE FROM audit_seals",
		"REPLACE INTO audit_seals SELECT * FROM audit_seals",
		"UPDATE audit_checkpoints SET head = zeroblob(32)",
		"DELETE FROM audit_checkpoints",
		"REPLACE INTO audit_checkpoints SELECT * FROM audit_checkpoints",
	} {
		t.Run(stmt, func(t *testing.T) {
			_, err := raw.ExecContext(ctx, stmt)
			var se *sqlite.Error
			if !errors.As(err, &se) || se.Code() != sqlite3.SQLITE_CONSTRAINT_TRIGGER {
				t.Errorf("err = %v, want SQLITE_CONSTRAINT_TRIGGER", err)
			}
		})
	}
}
