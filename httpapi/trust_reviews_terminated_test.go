package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// The access review scheduler leaves terminated organizations alone, on both
// engines: one inside its return window and one purged get no campaign and no
// reminder, while an open organization and one whose termination was
// cancelled are reviewed as usual; the store's in-transaction check agrees.
func TestAccessReviewSchedulerSkipsTerminated(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := mfaTNew(t, e, false)
			ctx := context.Background()
			terminate := func(token, org, name string) {
				t.Helper()
				testkit.MustStatus(t, env.do(t, token, "POST", "/api/v1/orgs/"+org+"/termination", map[string]string{"confirm": name}), http.StatusAccepted)
			}
			// P is terminated and, once its window has passed, purged.
			p := env.srv.Signup(t, "pia@p.example", "Org P")
			terminate(p.Token, p.OrgID, "Org P")
			env.clock.Advance(31 * 24 * time.Hour)
			if rep, err := env.srv.Service.PurgeTerminated(ctx, "purger", time.Minute); err != nil || len(rep.Purged) != 1 {
				t.Fatalf("purge %+v: %v", rep, err)
			}
			// Start at the beginning of a quarter (the default cadence), so that
			// the days below stay in one review period whatever today is.
			now := env.clock.Now().UTC()
			env.clock.Advance(time.Date(now.Year(), time.Month((int(now.Month())-1)/3*3+4), 1, 1, 0, 0, 0, time.UTC).Sub(now))
			// A is open; T is inside its return window; X's termination was cancelled.
			a := env.srv.Signup(t, "ada@a.example", "Org A")
			tt := env.srv.Signup(t, "tom@t.example", "Org T")
			x := env.srv.Signup(t, "xia@x.example", "Org X")
			terminate(tt.Token, tt.OrgID, "Org T")
			terminate(x.Token, x.OrgID, "Org X")
			testkit.MustStatus(t, env.do(t, x.Token, "DELETE", "/api/v1/orgs/"+x.OrgID+"/termination", nil), http.StatusNoContent)

			orgs := map[string]strongroom.TenantID{"A": strongroom.TenantID(a.OrgID), "T": strongroom.TenantID(tt.OrgID),
				"X": strongroom.TenantID(x.OrgID), "P": strongroom.TenantID(p.OrgID)}
			state := func() (campaigns map[string]int, open map[string]bool) {
				t.Helper()
				campaigns, open = map[string]int{}, map[string]bool{}
				for name, o := range orgs {
					if err := env.st.Read(ctx, store.TenantScope(o), func(tx *store.Tx) error {
						cs, err := tx.ReviewCampaigns(ctx)
						campaigns[name] = len(cs)
						if err != nil {
							return err
						}
						open[name], err = tx.OrganizationOpen(ctx)
						return err
					}); err != nil {
						t.Fatal(err)
					}
				}
				return campaigns, open
			}
			if _, open := state(); !cmp.Equal(open, map[string]bool{"A": true, "T": false, "X": true, "P": false}) {
				t.Errorf("OrganizationOpen %v", open)
			}
			if !env.srv.Service.ReviewJobsOnce(ctx, time.Minute, "scheduler") {
				t.Fatal("the scheduler did not take the free lease")
			}
			if c, _ := state(); !cmp.Equal(c, map[string]int{"A": 1, "T": 0, "X": 1, "P": 0}) {
				t.Fatalf("campaigns %v, want A and X only", c)
			}
			// Near the due date: A's and X's Admins are reminded, T's is not (its
			// window of 30 days still runs), and T still has no campaign.
			env.clock.Advance(12 * 24 * time.Hour)
			env.srv.Service.ReviewJobsOnce(ctx, time.Minute, "scheduler")
			for who, n := range map[string]int{a.Email: 1, x.Email: 1, tt.Email: 0, p.Email: 0} {
				if got := len(env.mails(who, "access-review-reminder")); got != n {
					t.Errorf("%d reminders to %s, want %d", got, who, n)
				}
			}
			if c, _ := state(); !cmp.Equal(c, map[string]int{"A": 1, "T": 0, "X": 1, "P": 0}) {
				t.Fatalf("campaigns %v after the reminders, want A and X only", c)
			}
		})
	}
}
