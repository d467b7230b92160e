// Package access decides who may do what (IAM-08, IAM-09). Every HTTP route
// declares the Permission it needs, and Decide is the one function that answers,
// for a principal, a permission and a resource, whether the action is allowed —
// and if not, whether the refusal must look like "not found" (the resource is
// outside the principal's organizations or clients) or "forbidden".
package access

import (
	"strongroom.dev/strongroom"
)

// Permission is what a route or service operation needs.
type Permission string

// The permissions. Public and Authenticated need no organization; the others are
// checked against the principal's role in the target organization.
const (
	Public           Permission = "public"        // anyone, signed in or not
	Authenticated    Permission = "authenticated" // any signed-in principal
	OrgRead          Permission = "org.read"
	MembersRead      Permission = "members.read"
	MembersWrite     Permission = "members.write"
	ClientsRead      Permission = "clients.read"
	ClientsWrite     Permission = "clients.write"
	CollectionsRead  Permission = "collections.read"
	CollectionsWrite Permission = "collections.write"
	RecordsRead      Permission = "records.read"
	RecordsWrite     Permission = "records.write"
	ConnectionsRead  Permission = "connections.read"  // third-party connections: list, read, providers
	ConnectionsWrite Permission = "connections.write" // connect, refresh, disconnect
	APIKeysRead      Permission = "api_keys.read"
	APIKeysWrite     Permission = "api_keys.write" // create, rotate, revoke
	InvitationsRead  Permission = "invitations.read"
	InvitationsWrite Permission = "invitations.write"
	SettingsRead     Permission = "settings.read"
	SettingsWrite    Permission = "settings.write"
	// AuditRead is querying and exporting the organization's audit log.
	AuditRead Permission = "audit.read"
	// AlertsRead is listing and reading the organization's security alerts
	// with their evidence; AlertsWrite is acknowledging and resolving them
	// (LOG-04).
	AlertsRead  Permission = "alerts.read"
	AlertsWrite Permission = "alerts.write"
	// DataSubjectRequests is finding, exporting, deleting and restricting a
	// person's records across collections (LIF-02): Admins only.
	DataSubjectRequests Permission = "dsr"
	// OrgExport is exporting the whole organization (portability, LIF-02):
	// Admins only, also during a termination's return window.
	OrgExport Permission = "org.export"
	// OrgTerminate is terminating an organization, cancelling its
	// termination in the return window, and reading its status (LIF-03).
	OrgTerminate Permission = "org.terminate"
	// NoticesRead and NoticesAck are reading and acknowledging the breach
	// notices and post-incident reports the platform sends the organization
	// (INC-02, INC-03).
	NoticesRead Permission = "notices.read"
	NoticesAck  Permission = "notices.ack"
	// AccessReviews is running the organization's access review campaigns:
	// opening, reading, deciding, completing and exporting them (IAM-15).
	// Admins only: reviewing access is deciding who keeps it.
	AccessReviews Permission = "access_reviews"
	// Operator is platform staff's work outside any organization (IAM-07:
	// always with MFA). It is not an organization permission.
	Operator Permission = "operator"
)

// roleGrants is the permission table: least privilege, one place.
var roleGrants = map[strongroom.Role]map[Permission]bool{
	strongroom.RoleAdmin: {
		OrgRead: true, MembersRead: true, MembersWrite: true, ClientsRead: true, ClientsWrite: true,
		CollectionsRead: true, CollectionsWrite: true, RecordsRead: true, RecordsWrite: true,
		// Connections hold an organization's access to other platforms: only
		// Admins see or change them (DAT-04).
		ConnectionsRead: true, ConnectionsWrite: true,
		APIKeysRead: true, APIKeysWrite: true, InvitationsRead: true, InvitationsWrite: true,
		SettingsRead: true, SettingsWrite: true,
		// The audit log records every member's actions, sign-ins with their
		// addresses and devices: Admins only (LOG-01).
		AuditRead: true,
		// Alerts name accounts, networks and principals under attack or
		// reading too much, with their audit events: Admins only (LOG-04).
		AlertsRead: true, AlertsWrite: true,
		// Data-subject requests reach every record of a person, restricted
		// ones included (LIF-02).
		DataSubjectRequests: true,
		OrgExport:           true, OrgTerminate: true,
		// Breach notices go to the people accountable for the organization.
		NoticesRead: true, NoticesAck: true,
		// Access reviews decide who keeps access (IAM-15); policy-change
		// notices are read and acknowledged with NoticesRead/NoticesAck.
		AccessReviews: true,
	},
	strongroom.RoleEditor: {
		OrgRead: true, ClientsRead: true, CollectionsRead: true, RecordsRead: true, RecordsWrite: true,
	},
	strongroom.RoleViewer: {
		OrgRead: true, ClientsRead: true, CollectionsRead: true, RecordsRead: true,
	},
}

// Permissions lists every organization permission, for tests and documentation.
func Permissions() []Permission {
	return []Permission{OrgRead, MembersRead, MembersWrite, ClientsRead, ClientsWrite,
		CollectionsRead, CollectionsWrite, RecordsRead, RecordsWrite, ConnectionsRead, ConnectionsWrite,
		APIKeysRead, APIKeysWrite, InvitationsRead, InvitationsWrite, SettingsRead, SettingsWrite, AuditRead,
		AlertsRead, AlertsWrite, DataSubjectRequests, OrgExport, OrgTerminate,
		NoticesRead, NoticesAck, AccessReviews}
}

// Granted reports whether role holds perm.
func Granted(role strongroom.Role, perm Permission) bool { return roleGrants[role][perm] }

// Known reports whether perm is a declared permission.
func Known(perm Permission) bool {
	if perm == Public || perm == Authenticated || perm == Operator {
		return true
	}
	for _, p := range Permissions() {
		if p == perm {
			return true
		}
	}
	return false
}

// Resource is what an action targets. Tenant is empty for actions outside any
// organization; Client is set when the target belongs to a client.
type Resource struct {
	Tenant strongroom.TenantID
	Client *strongroom.ClientID
}

// Decision is Decide's answer.
type Decision int

// The decisions.
const (
	Allow           Decision = iota
	Unauthenticated          // no valid credentials: 401
	NotFound                 // outside the principal's reach: 404, like a missing resource
	Forbidden                // visible but not permitted for the role: 403
)

// Decide is the one access decision.
func Decide(p *strongroom.Principal, perm Permission, res Resource) Decision {
	if perm == Public {
		return Allow
	}
	if !p.Authenticated() {
		return Unauthenticated
	}
	if perm == Authenticated {
		return Allow
	}
	if perm == Operator {
		if p.Operator {
			return Allow
		}
		return Forbidden
	}
	if !Known(perm) {
		return Forbidden // an undeclared permission is never granted
	}
	m := p.Membership
	if res.Tenant == "" || m == nil || m.TenantID != res.Tenant {
		return NotFound
	}
	if !p.Visibility().Allows(res.Client) {
		return NotFound
	}
	if !Granted(m.Role, perm) {
		return Forbidden
	}
	// A terminated organization in its return window answers its Admins'
	// export and termination requests only; everything else is gone (LIF-03).
	if p.OrgTerminated && perm != OrgExport && perm != OrgTerminate {
		return NotFound
	}
	return Allow
}
