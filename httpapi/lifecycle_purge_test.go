package httpapi_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/retention"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// TestTerminationPurgeResumes interrupts a termination purge after a few
// bounded batches: the rows left stay unreadable, nothing is certified yet,
// and the next run finishes with a certificate whose counts are exactly the
// rows there were.
func TestTerminationPurgeResumes(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			e := newRetentionEnv(t, st)
			org := strongroom.TenantID(e.admin.OrgID)
			e.collection(t, "people", nil)
			for i := range 30 {
				e.record(t, "people", map[string]any{"email": "p@x.example", "n": i})
			}
			testkit.MustStatus(t, e.call(t, "POST", "/api-keys", map[string]string{"name": "etl", "role": "admin"}), http.StatusCreated)
			rowCounts := func() map[string]int64 {
				t.Helper()
				var counts map[string]int64
				if err := st.Read(t.Context(), store.TenantScope(org), func(tx *store.Tx) error {
					var err error
					counts, err = tx.TenantRowCounts(t.Context())
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return counts
			}
			before := rowCounts()
			var total int64
			for table, n := range before {
				if !isRetained(table) {
					total += n
				}
			}
			testkit.MustStatus(t, e.call(t, "POST", "/termination", map[string]string{"confirm": "Retention"}), http.StatusAccepted)
			e.at(t, t0.Add(31*24*time.Hour))

			stop := errors.New("interrupted")
			batches := 0
			e.srv.Service.SetPurgeBatching(service.PurgeBatching{Size: 7, AfterBatch: func() error {
				batches++
				if batches == 3 {
					return stop
				}
				return nil
			}})
			if _, err := e.srv.Service.PurgeTerminated(t.Context(), "replica-a", time.Minute); !errors.Is(err, stop) {
				t.Fatalf("interrupted purge: %v", err)
			}
			mid := rowCounts()
			var left int64
			for table, n := range mid {
				if !isRetained(table) {
					left += n
				}
			}
			if left != total-21 {
				t.Errorf("after 3 batches of 7, %d of %d rows left, want %d", left, total, total-21)
			}
			if tm, err := st.TerminationOf(t.Context(), org); err != nil || tm == nil || tm.Certificate != nil {
				t.Fatalf("a certificate before the purge finished: %+v, %v", tm, err)
			}
			if _, err := e.srv.Keyring.Keys(t.Context(), org); err == nil {
				t.Error("the keys survive an interrupted purge")
			}

			// The next run (another replica, once the lease has run out) resumes.
			e.srv.Service.SetPurgeBatching(service.PurgeBatching{Size: 7})
			e.at(t, t0.Add(31*24*time.Hour+2*time.Minute))
			rep, err := e.srv.Service.PurgeTerminated(t.Context(), "replica-b", time.Minute)
			if err != nil || len(rep.Purged) != 1 {
				t.Fatalf("resumed purge: %+v, %v", rep, err)
			}
			for table, n := range rowCounts() {
				if n != 0 && !isRetained(table) {
					t.Errorf("%d rows left in %s", n, table)
				}
			}
			tm, err := st.TerminationOf(t.Context(), org)
			if err != nil || tm == nil || tm.Certificate == nil {
				t.Fatalf("no certificate: %+v, %v", tm, err)
			}
			signer, err := e.srv.Keyring.ExistingSigningKey(t.Context())
			if err != nil || signer == nil {
				t.Fatalf("signing key: %v", err)
			}
			cert, err := retention.VerifyCertificate(tm.Certificate, signer.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			for table, n := range before {
				if isRetained(table) {
					continue
				}
				if cert.Deleted[table] != n {
					t.Errorf("certificate: %d %s deleted, want %d (as there were)", cert.Deleted[table], table, n)
				}
			}
			if cert.Deleted["records"] != 30 {
				t.Errorf("certificate: %d records deleted, want 30", cert.Deleted["records"])
			}
		})
	}
}

func isRetained(table string) bool {
	for _, r := range store.RetainedTables {
		if r == table {
			return true
		}
	}
	return false
}
