package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// exportPeakHeap fills a new organization with n records and returns the peak
// heap in use while its export streams to io.Discard, sampled every
// millisecond, above the heap in use just before.
func exportPeakHeap(b *testing.B, n int) (peak uint64, archive int64) {
	b.Helper()
	svc, ctx, org := exportFixture(b, testkit.OpenSQLiteStore(b), n)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	x, err := svc.ExportOrg(ctx, org, service.ExportInput{Recipient: id.Recipient().String()})
	if err != nil {
		b.Fatal(err)
	}
	return measureExport(b, ctx, x, n)
}

// exportFixture starts a server on st with an organization of n records and
// returns its service, a context carrying its Admin (recently signed in)
// and the organization.
func exportFixture(b testing.TB, st *store.Store, n int) (*service.Service, context.Context, strongroom.TenantID) {
	b.Helper()
	srv := testkit.NewServer(b, st, httpapi.Options{})
	acct := srv.Signup(b, fmt.Sprintf("bench%d@export.example", n), "Export bench")
	org := strongroom.TenantID(acct.OrgID)
	admin := &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: strongroom.UserID(acct.UserID),
		Membership: &strongroom.Membership{TenantID: org, UserID: strongroom.UserID(acct.UserID), Role: strongroom.RoleAdmin},
		Session:    &strongroom.Session{AuthTime: time.Now(), AAL: 1, Methods: []string{"password"}}}
	ctx := strongroom.WithPrincipal(context.Background(), admin)
	svc := srv.Service
	if _, err := svc.CreateCollection(ctx, org, service.CollectionInput{Name: "people", Schema: []byte(`{"type":"object"}`),
		Searchable: []string{"email"}}); err != nil {
		b.Fatal(err)
	}
	// Records of about 300 bytes, created by 16 writers (group commit).
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				data, _ := json.Marshal(map[string]any{"email": fmt.Sprintf("p%d@example.com", i), "name": "Person", "i": i,
					"note": "a note of some length so that a record is a few hundred bytes, as real ones are; " +
						"padding padding padding padding padding padding padding padding padding padding"})
				if _, err := svc.CreateRecord(ctx, org, "people", service.RecordInput{Data: data}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return svc, ctx, org
}

func measureExport(b *testing.B, ctx context.Context, x *service.OrgExport, n int) (peak uint64, archive int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var max atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > max.Load() {
					max.Store(ms.HeapInuse)
				}
			}
		}
	}()
	cw := &counter{}
	if err := x.Write(ctx, cw); err != nil {
		b.Fatal(err)
	}
	close(done)
	<-sampled
	if m := max.Load(); m > base {
		peak = m - base
	}
	b.Logf("%d records: heap in use before %.1f MiB, peak above it %.1f MiB", n, float64(base)/(1<<20), float64(peak)/(1<<20))
	return peak, cw.n
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkOrgExportMemory measures the peak heap an organization export
// adds while it streams, for n and 10n records, in the same run: the export
// streams page by page, so the ratio should stay near 1 (target < 1.5). n is
// large enough that both exports run through several garbage collections: a
// smaller export ends before the first one, and its peak is simply all it
// allocated.
func BenchmarkOrgExportMemory(b *testing.B) {
	const n = 5000
	for range b.N {
		small, smallBytes := exportPeakHeap(b, n)
		large, largeBytes := exportPeakHeap(b, 10*n)
		b.ReportMetric(float64(small)/(1<<20), "peak-MiB-5k")
		b.ReportMetric(float64(large)/(1<<20), "peak-MiB-50k")
		b.ReportMetric(float64(large)/float64(max(small, 1)), "ratio")
		b.ReportMetric(float64(smallBytes)/(1<<20), "archive-MiB-5k")
		b.ReportMetric(float64(largeBytes)/(1<<20), "archive-MiB-50k")
	}
}

// failingWriter cancels the request and fails after limit bytes, as a client
// that goes away part way.
type failingWriter struct {
	n, limit int
	cancel   context.CancelFunc
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n > w.limit {
		w.cancel()
		return 0, errors.New("connection reset")
	}
	return len(p), nil
}

// TestOrgExportCutOff: an export whose client goes away part way is recorded
// as failed, with what was sent, even though the request's context ended.
func TestOrgExportCutOff(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			svc, ctx, org := exportFixture(t, e.Open(t), 1200)
			id, err := age.GenerateX25519Identity()
			if err != nil {
				t.Fatal(err)
			}
			x, err := svc.ExportOrg(ctx, org, service.ExportInput{Recipient: id.Recipient().String()})
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if err := x.Write(rctx, &failingWriter{limit: 4 << 10, cancel: cancel}); err == nil {
				t.Fatal("a cut-off export reported success")
			}
			j, err := svc.ExportJob(ctx, org, x.Job.ID)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status != "failed" || j.FinishedAt == nil || j.Bytes > 4<<10 || j.RecordsTotal != 1200 {
				t.Errorf("cut-off export recorded as %+v", j)
			}
		})
	}
}

// TestExportJobsList: the recent exports are listed newest first with their
// outcome, only the organization's own, and only to those who may export.
func TestExportJobsList(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			svc, ctx, org := exportFixture(t, e.Open(t), 3)
			id, err := age.GenerateX25519Identity()
			if err != nil {
				t.Fatal(err)
			}
			first, err := svc.ExportOrg(ctx, org, service.ExportInput{Recipient: id.Recipient().String()})
			if err != nil {
				t.Fatal(err)
			}
			if err := first.Write(ctx, io.Discard); err != nil {
				t.Fatal(err)
			}
			second, err := svc.ExportOrg(ctx, org, service.ExportInput{Passphrase: "a passphrase long enough"})
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := svc.ExportJobs(ctx, org)
			if err != nil {
				t.Fatal(err)
			}
			type row struct {
				ID, Status     string
				Records, Total int64
			}
			var got []row
			for _, j := range jobs {
				got = append(got, row{j.ID, j.Status, j.Records, j.RecordsTotal})
			}
			want := []row{{second.Job.ID, "running", 0, 3}, {first.Job.ID, "completed", 3, 3}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("exports listed (-want +got):\n%s", diff)
			}
			// Another organization's Admin sees none of them; a Viewer may not list.
			other := strongroom.TenantID(strongroom.PrincipalFrom(ctx).Membership.TenantID + "x")
			if _, err := svc.ExportJobs(ctx, other); err == nil {
				t.Error("listed another organization's exports")
			}
			viewer := *strongroom.PrincipalFrom(ctx)
			m := *viewer.Membership
			m.Role = strongroom.RoleViewer
			viewer.Membership = &m
			if _, err := svc.ExportJobs(strongroom.WithPrincipal(context.Background(), &viewer), org); strongroom.ErrorCode(err) != strongroom.EFORBIDDEN {
				t.Errorf("a Viewer listing exports: %v", err)
			}
		})
	}
}
