package strongroom

import "time"

// AlertKind is what a security alert detected (LOG-04).
type AlertKind string

// The alert kinds (docs/audit-log.md, "Monitoring").
const (
	// AlertBruteForce: many failed sign-ins against one account.
	AlertBruteForce AlertKind = "brute_force"
	// AlertCredentialStuffing: failed sign-ins against many accounts from one
	// network (/24 IPv4, /64 IPv6).
	AlertCredentialStuffing AlertKind = "credential_stuffing"
	// AlertMassRead: one principal reading or exporting far beyond its usual
	// volume.
	AlertMassRead AlertKind = "mass_read"
	// AlertNewDevice: a sign-in from a device or network none of the user's
	// other sessions used (the user is e-mailed too).
	AlertNewDevice AlertKind = "new_device"
	// AlertIncidentOverdue: an incident obligation passed its deadline — a
	// personal-data breach's notices not sent by the notification deadline,
	// sent notices left unacknowledged, or the post-incident report not
	// published by its due date (INC-02, INC-03).
	AlertIncidentOverdue AlertKind = "incident_overdue"
)

// AlertKinds lists every kind, for validation and documentation.
func AlertKinds() []AlertKind {
	return []AlertKind{AlertBruteForce, AlertCredentialStuffing, AlertMassRead, AlertNewDevice, AlertIncidentOverdue}
}

// AlertSeverity ranks alerts: low alerts are stored and listed; medium and
// high ones are e-mailed as well.
type AlertSeverity string

// The severities.
const (
	SeverityLow    AlertSeverity = "low"
	SeverityMedium AlertSeverity = "medium"
	SeverityHigh   AlertSeverity = "high"
)

// AlertStatus is where an alert is in its handling. An alert is open until a
// person acknowledges it (looking into it) or resolves it (done); resolved is
// final.
type AlertStatus string

// The statuses.
const (
	AlertOpen         AlertStatus = "open"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertResolved     AlertStatus = "resolved"
)

// MaxAlertEvidence is the most evidence events an alert lists; Count goes on
// counting beyond it.
const MaxAlertEvidence = 200

// Alert is one detection of the security monitor, with the audit events that
// triggered it. Alerts of the platform (sign-in attacks, which concern global
// accounts and networks, not one organization) belong to PlatformTenant and are
// shown to operators; the others to the organization's Admins.
type Alert struct {
	ID       string
	TenantID TenantID
	Kind     AlertKind
	Severity AlertSeverity
	// Subject is what the alert is about: an account (user ID), a network
	// ("203.0.113.0/24") or a principal ("user:ID", "api_key:ID").
	Subject   string
	Summary   string // one line, no secrets
	FirstSeen time.Time
	LastSeen  time.Time
	Count     int64   // evidence events counted, also beyond the listed ones
	Evidence  []int64 // audit event seqs in the alert's tenant log, oldest first
	Status    AlertStatus
	StatusBy  string // who acknowledged or resolved it (user ID)
	StatusAt  *time.Time
}
