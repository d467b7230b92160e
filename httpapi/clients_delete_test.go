package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"strongroom.dev/strongroom/internal/testkit"
)

// TestClientDeleteKeepsLimits is IAM-09: the members list shows who is
// limited to which clients, and a client to which a member is
// limited cannot be deleted (the cascade would leave a member limited to it
// alone with no limit, seeing every client's records); the refusal changes
// nothing, and once the member's clients change the deletion goes through.
func TestClientDeleteKeepsLimits(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			f := newFixture(t, st)
			srv, admin, viewer := f.srv, f.admin, f.viewer
			x, z := f.newClient(t), f.newClient(t)
			testkit.MustStatus(t, call(t, srv, admin.Token, "PUT", f.org("/members/"+viewer.UserID+"/clients"),
				map[string]any{"client_ids": []string{z}}), http.StatusOK)

			// The members list carries each member's clients, as the one-member read does.
			list := testkit.MustStatus(t, call(t, srv, admin.Token, "GET", f.org("/members"), nil), http.StatusOK).JSON(t)
			found := false
			for _, it := range list["items"].([]any) {
				m := it.(map[string]any)
				got, _ := m["client_ids"].([]any)
				switch m["user_id"] {
				case viewer.UserID:
					found = true
					if len(got) != 1 || got[0] != z {
						t.Errorf("the viewer in the members list: %v", m)
					}
				default:
					if len(got) != 0 {
						t.Errorf("an unlimited member in the members list: %v", m)
					}
				}
			}
			if !found {
				t.Error("the viewer is not in the members list")
			}

			before := snapshot(t, f)
			head := auditHead(t, st, admin.OrgID)
			p := mustProblem(t, call(t, srv, admin.Token, "DELETE", f.org("/clients/"+z), nil), http.StatusConflict)
			if !strings.Contains(p.Detail, "1 members are limited to this client") {
				t.Errorf("refusal: %+v", p)
			}
			if after := snapshot(t, f); after != before {
				t.Errorf("the refused deletion changed the organization:\nbefore %s\nafter  %s", before, after)
			}
			expectAudit(t, st, admin.OrgID, head, nil)
			r := testkit.MustStatus(t, call(t, srv, admin.Token, "GET", f.org("/members/"+viewer.UserID), nil), http.StatusOK)
			if got, _ := r.JSON(t)["client_ids"].([]any); len(got) != 1 || got[0] != z {
				t.Errorf("the viewer's limit after the refusal: %s", r.Body)
			}

			testkit.MustStatus(t, call(t, srv, admin.Token, "PUT", f.org("/members/"+viewer.UserID+"/clients"),
				map[string]any{"client_ids": []string{x}}), http.StatusOK)
			testkit.MustStatus(t, call(t, srv, admin.Token, "DELETE", f.org("/clients/"+z), nil), http.StatusNoContent)
			mustProblem(t, call(t, srv, admin.Token, "GET", f.org("/clients/"+z), nil), http.StatusNotFound)
			mustProblem(t, call(t, srv, admin.Token, "DELETE", f.org("/clients/"+z), nil), http.StatusNotFound)
		})
	}
}
