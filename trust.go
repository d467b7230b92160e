package strongroom

import "time"

// Trust and incidents (INC-01..03, INC-05, INC-06). The rules (phases,
// deadlines, required contents) live in packages incident and disclosure;
// these are the stored shapes. Operator-owned rows belong to PlatformTenant.

// VulnReport is a vulnerability report sent through the public intake
// (INC-05). Its text, the reporter's contact and attachments are sealed at
// rest and never served publicly; the reporter holds a status token, of which
// only the SHA-256 is stored.
type VulnReport struct {
	ID             string
	TokenHash      []byte
	Title          string
	Status         string // disclosure.Status
	Severity       string // incident.Severity, once triaged; "" before
	Sealed         []byte // sealed JSON: description and reporter contact
	CreditName     string // published only when the reporter asked for credit; "" otherwise
	Attachments    int
	ReceivedAt     time.Time
	AckDue         time.Time
	AcknowledgedAt *time.Time
	TriagedAt      *time.Time
	ResolutionDue  *time.Time
	ClosedAt       *time.Time
	RemindedAt     *time.Time
}

// VulnAttachment is one file attached to a vulnerability report, sealed.
type VulnAttachment struct {
	ReportID    string
	N           int
	Name        string
	ContentType string
	Size        int64
	Sealed      []byte
}
