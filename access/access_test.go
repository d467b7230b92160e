package access

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
)

// TestRoleTable pins the permission table (IAM-08): least privilege, written
// out literally so that a change to roleGrants is a deliberate change here too.
func TestRoleTable(t *testing.T) {
	want := map[strongroom.Role][]Permission{
		strongroom.RoleAdmin: {OrgRead, MembersRead, MembersWrite, ClientsRead, ClientsWrite,
			CollectionsRead, CollectionsWrite, RecordsRead, RecordsWrite, ConnectionsRead, ConnectionsWrite,
			APIKeysRead, APIKeysWrite, InvitationsRead, InvitationsWrite, SettingsRead, SettingsWrite, AuditRead,
			AlertsRead, AlertsWrite, DataSubjectRequests, OrgExport, OrgTerminate,
			NoticesRead, NoticesAck, AccessReviews},
		strongroom.RoleEditor: {OrgRead, ClientsRead, CollectionsRead, RecordsRead, RecordsWrite},
		strongroom.RoleViewer: {OrgRead, ClientsRead, CollectionsRead, RecordsRead},
	}
	for _, role := range strongroom.Roles {
		var got []Permission
		for _, p := range Permissions() {
			if Granted(role, p) {
				got = append(got, p)
			}
		}
		if diff := cmp.Diff(want[role], got); diff != "" {
			t.Errorf("%s permissions (-want +got):\n%s", role, diff)
		}
	}
}

func TestDecide(t *testing.T) {
	const a, b = strongroom.TenantID("org-a"), strongroom.TenantID("org-b")
	c1, c2 := strongroom.ClientID("c1"), strongroom.ClientID("c2")
	member := func(role strongroom.Role, clients ...strongroom.ClientID) *strongroom.Principal {
		return &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "u",
			Membership: &strongroom.Membership{TenantID: a, UserID: "u", Role: role, Clients: clients}}
	}
	anon := &strongroom.Principal{Kind: strongroom.PrincipalAnonymous}
	signedIn := &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "u"}
	tests := []struct {
		name string
		p    *strongroom.Principal
		perm Permission
		res  Resource
		want Decision
	}{
		{"public for anyone", anon, Public, Resource{}, Allow},
		{"operator work for a non-operator", signedIn, Operator, Resource{}, Forbidden},
		{"operator work for an operator", &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "o", Operator: true}, Operator, Resource{}, Allow},
		{"operator work, anonymous", anon, Operator, Resource{}, Unauthenticated},
		{"editor cannot manage API keys", member(strongroom.RoleEditor), APIKeysWrite, Resource{Tenant: a}, Forbidden},
		{"viewer cannot read settings", member(strongroom.RoleViewer), SettingsRead, Resource{Tenant: a}, Forbidden},
		{"anonymous needs credentials", anon, Authenticated, Resource{}, Unauthenticated},
		{"anonymous on org route", anon, RecordsRead, Resource{Tenant: a}, Unauthenticated},
		{"signed in, no org needed", signedIn, Authenticated, Resource{}, Allow},
		{"signed in, not a member", signedIn, OrgRead, Resource{Tenant: a}, NotFound},
		{"member of A targets B", member(strongroom.RoleAdmin), RecordsRead, Resource{Tenant: b}, NotFound},
		{"no tenant named", member(strongroom.RoleAdmin), RecordsRead, Resource{}, NotFound},
		{"viewer reads", member(strongroom.RoleViewer), RecordsRead, Resource{Tenant: a}, Allow},
		{"viewer writes", member(strongroom.RoleViewer), RecordsWrite, Resource{Tenant: a}, Forbidden},
		{"editor writes", member(strongroom.RoleEditor), RecordsWrite, Resource{Tenant: a}, Allow},
		{"editor manages members", member(strongroom.RoleEditor), MembersWrite, Resource{Tenant: a}, Forbidden},
		{"admin connects", member(strongroom.RoleAdmin), ConnectionsWrite, Resource{Tenant: a}, Allow},
		{"editor reads connections", member(strongroom.RoleEditor), ConnectionsRead, Resource{Tenant: a}, Forbidden},
		{"viewer connects", member(strongroom.RoleViewer), ConnectionsWrite, Resource{Tenant: a}, Forbidden},
		{"admin reads the audit log", member(strongroom.RoleAdmin), AuditRead, Resource{Tenant: a}, Allow},
		{"editor reads the audit log", member(strongroom.RoleEditor), AuditRead, Resource{Tenant: a}, Forbidden},
		{"viewer reads the audit log", member(strongroom.RoleViewer), AuditRead, Resource{Tenant: a}, Forbidden},
		{"admin reads breach notices", member(strongroom.RoleAdmin), NoticesRead, Resource{Tenant: a}, Allow},
		{"admin acknowledges breach notices", member(strongroom.RoleAdmin), NoticesAck, Resource{Tenant: a}, Allow},
		{"editor reads breach notices", member(strongroom.RoleEditor), NoticesRead, Resource{Tenant: a}, Forbidden},
		{"viewer acknowledges breach notices", member(strongroom.RoleViewer), NoticesAck, Resource{Tenant: a}, Forbidden},
		{"assigned editor, own client", member(strongroom.RoleEditor, c1), RecordsWrite, Resource{Tenant: a, Client: &c1}, Allow},
		{"assigned editor, other client", member(strongroom.RoleEditor, c1), RecordsRead, Resource{Tenant: a, Client: &c2}, NotFound},
		{"assigned viewer, other client, write", member(strongroom.RoleViewer, c1), RecordsWrite, Resource{Tenant: a, Client: &c2}, NotFound},
		{"unassigned editor sees every client", member(strongroom.RoleEditor), RecordsRead, Resource{Tenant: a, Client: &c2}, Allow},
		{"admin never limited", member(strongroom.RoleAdmin, c1), RecordsRead, Resource{Tenant: a, Client: &c2}, Allow},
		{"undeclared permission", member(strongroom.RoleAdmin), Permission("made.up"), Resource{Tenant: a}, Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.p, tt.perm, tt.res); got != tt.want {
				t.Errorf("Decide = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestDecideTerminated: in a terminated organization's return window its
// Admin may export it and manage the termination, nothing else.
func TestDecideTerminated(t *testing.T) {
	org := strongroom.TenantID("org")
	p := &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "u", OrgTerminated: true,
		Membership: &strongroom.Membership{TenantID: org, UserID: "u", Role: strongroom.RoleAdmin}}
	for _, perm := range Permissions() {
		want := NotFound
		if perm == OrgExport || perm == OrgTerminate {
			want = Allow
		}
		if got := Decide(p, perm, Resource{Tenant: org}); got != want {
			t.Errorf("Decide(terminated Admin, %s) = %v, want %v", perm, got, want)
		}
	}
	p.OrgTerminated = false
	if got := Decide(p, RecordsRead, Resource{Tenant: org}); got != Allow {
		t.Errorf("Decide(Admin, records.read) = %v, want Allow", got)
	}
}
