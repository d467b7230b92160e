package strongroom

import "time"

// Access reviews (IAM-15) and security-policy changes (INC-07).

// ReviewCampaign is one access review of an organization's members, or of the
// platform's operators (Tenant is PlatformTenant). Completed campaigns are
// evidence and never change.
type ReviewCampaign struct {
	ID          string
	Period      string // schedule period start ("2026-10-01") or "manual:<id>"
	OpenedBy    UserID // empty for the scheduler
	OpenedAt    time.Time
	DueAt       time.Time
	RemindedAt  *time.Time
	CompletedAt *time.Time
	CompletedBy UserID
	// Entries and Decided are the campaign's progress: how many accounts it
	// reviews and how many have a decision (filled by listings, not stored).
	Entries, Decided int
}

// The review decisions. ReviewKeepUnreviewed records the one account nobody
// else could review (an organization's only Admin, the only operator).
const (
	ReviewKeep           = "keep"
	ReviewRevoke         = "revoke"
	ReviewKeepUnreviewed = "keep_unreviewed"
)

// ReviewEntry is one reviewed account as it was when the campaign opened,
// with the reviewer's decision.
type ReviewEntry struct {
	UserID        UserID
	Email         string
	Role          string // admin, editor, viewer, or operator
	Rank          int    // 0 most privileged
	Clients       []ClientID
	LastSessionAt *time.Time // last request of any of the account's sessions
	LastKeyUseAt  *time.Time // last use of an API key the account created here
	Decision      string     // "" until decided
	DecidedBy     UserID
	DecidedAt     *time.Time
	Note          string
}

// PolicyChange is a change to the security policy published by operators.
type PolicyChange struct {
	ID          string
	Title       string
	Summary     string
	Body        string
	URL         string
	EffectiveAt time.Time
	PublishedBy UserID
	PublishedAt time.Time
	// AcknowledgedAt and AcknowledgedBy are the reading organization's
	// acknowledgement (set only in an organization's view).
	AcknowledgedAt *time.Time
	AcknowledgedBy UserID
}
