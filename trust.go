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

// Incident is an operator-managed incident (INC-01). Kind, Severity and Phase
// take the values of package incident.
type Incident struct {
	ID                string
	Title             string
	Kind              string
	Breach            bool // a personal-data breach: notices are due by NotifyBy
	Severity          string
	Phase             string
	AwareAt           time.Time  // when the team became aware
	NotifyBy          *time.Time // breach notification deadline (breaches only)
	ResolvedAt        *time.Time // when it entered Review
	ReportDue         *time.Time // post-incident report due (ResolvedAt + 7 days)
	ReportPublishedAt *time.Time
	CreatedBy         UserID
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// IncidentUpdate is one entry of an incident's timeline: a phase change or a
// note.
type IncidentUpdate struct {
	Seq    int64
	Phase  string
	Note   string
	Author UserID
	At     time.Time
}

// IncidentOrg is an organization an incident affects, and when it was sent
// the breach notice.
type IncidentOrg struct {
	Org        TenantID
	NotifiedAt *time.Time
}

// IncidentNotice is what an affected organization's console shows: a breach
// notice (Kind "breach"; Contents the JSON of incident.Notice) or the
// published post-incident report (Kind "report").
type IncidentNotice struct {
	TenantID       TenantID
	ID             string
	IncidentID     string
	Kind           string
	Title          string
	Contents       string
	Deadline       *time.Time
	SentAt         time.Time
	AcknowledgedAt *time.Time
	AcknowledgedBy *UserID
}

// Subprocessor is a third party that processes customers' data (INC-06). A
// row takes effect at EffectiveAt and, when EndsAt is set, stops then;
// subscribers are told of each change before it takes effect.
type Subprocessor struct {
	ID             string
	Name           string
	Purpose        string
	Location       string
	Certifications []string
	DataCategories []string
	EffectiveAt    time.Time
	EndsAt         *time.Time
	AnnouncedAt    *time.Time
	EndAnnouncedAt *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// The topics an address can subscribe to by e-mail (Subscriber.Topic).
const (
	TopicStatus        = "status"        // status updates and maintenance (INC-04)
	TopicSubprocessors = "subprocessors" // subprocessor changes (INC-06)
)

// Subscriber is an address subscribed to one topic's notices by double
// opt-in: ConfirmedAt is set once the e-mailed link came back. Only the
// SHA-256 of the link's token is kept.
type Subscriber struct {
	ID          string
	Topic       string
	Email       string
	TokenHash   []byte
	ConfirmedAt *time.Time
	CreatedAt   time.Time
}
