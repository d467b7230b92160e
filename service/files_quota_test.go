package service_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// TestFileQuotaConcurrentUploads: uploads racing for the last room under
// the organization's quota never take it past the quota together, on both
// engines; the refused ones are ETOOLARGE and leave no blob behind.
func TestFileQuotaConcurrentUploads(t *testing.T) {
	const (
		fileSize = 40 << 10
		quota    = 5*fileSize + fileSize/2 // room for five files
		uploads  = 16
	)
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{Service: func(_ string, c *service.Config) {
				c.Files.OrgQuotaBytes = quota
			}})
			acct := srv.Signup(t, "quota@files.example", "Quota org")
			org := strongroom.TenantID(acct.OrgID)
			ctx := strongroom.WithPrincipal(context.Background(), &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: strongroom.UserID(acct.UserID),
				Membership: &strongroom.Membership{TenantID: org, UserID: strongroom.UserID(acct.UserID), Role: strongroom.RoleAdmin},
				Session:    &strongroom.Session{AuthTime: time.Now(), AAL: 1, Methods: []string{"password"}}})
			svc := srv.Service
			if _, err := svc.CreateCollection(ctx, org, service.CollectionInput{Name: "docs", Schema: []byte(`{"type":"object"}`)}); err != nil {
				t.Fatal(err)
			}
			rec, err := svc.CreateRecord(ctx, org, "docs", service.RecordInput{Data: []byte(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			var (
				wg      sync.WaitGroup
				start   = make(chan struct{})
				mu      sync.Mutex
				ok, big int
				other   []error
			)
			for i := range uploads {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := svc.UploadFile(ctx, org, "docs", rec.ID, fmt.Sprintf("f%d.bin", i), bytes.NewReader(make([]byte, fileSize)))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case strongroom.ErrorCode(err) == strongroom.ETOOLARGE:
						big++
					default:
						other = append(other, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(other) > 0 {
				t.Fatalf("uploads failed otherwise than by quota: %v", other)
			}
			var count, used int64
			if err := st.Read(context.Background(), store.TenantScope(org), func(tx *store.Tx) error {
				var err error
				count, used, err = tx.FileUsage(context.Background())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if used > quota {
				t.Fatalf("%d uploads together hold %d bytes, over the quota of %d", count, used, quota)
			}
			if ok != 5 || big != uploads-5 || count != 5 {
				t.Errorf("%d uploads succeeded (%d rows), %d refused; want 5 and %d", ok, count, big, uploads-5)
			}
			testkit.WaitFor(t, 10*time.Second, func() bool {
				objs, _, err := srv.Blobs.List(context.Background(), "", "", 100)
				if err != nil {
					t.Fatal(err)
				}
				return len(objs) == 5
			})
		})
	}
}
