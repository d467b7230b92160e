package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
)

// exportPeakHeap fills a new organization with n records and returns the peak
// heap in use while its export streams to io.Discard, sampled every
// millisecond, above the heap in use just before.
func exportPeakHeap(b *testing.B, n int) (peak uint64, archive int64) {
	b.Helper()
	st := testkit.OpenSQLiteStore(b)
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
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	x, err := svc.ExportOrg(ctx, org, service.ExportInput{Recipient: id.Recipient().String()})
	if err != nil {
		b.Fatal(err)
	}
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
