package strongroom

import "time"

// Retention anchors (RetentionPolicy.From): what a record's age is counted from.
const (
	RetainFromCreated = "created" // the record's creation time
	RetainFromUpdated = "updated" // the record's last update
	RetainFromField   = "field"   // a date or date-time value in the record's data
)

// RetentionPolicy says how long records are kept (LIF-01): Days after the
// anchor From, a record is deleted by the retention sweeper. The zero value
// (Days 0) keeps records until they are deleted by hand.
type RetentionPolicy struct {
	Days int    `json:"days"`
	From string `json:"from,omitempty"`
	// Field is the dotted path of the date (YYYY-MM-DD) or RFC 3339 date-time
	// when From is "field". A record without the field, or with a value that is
	// not a date, is kept.
	Field string `json:"field,omitempty"`
}

// Active reports whether the policy deletes anything.
func (p *RetentionPolicy) Active() bool { return p != nil && p.Days > 0 }

// DSR kinds: what a data-subject request does with the records it found (LIF-02).
const (
	DSRExport   = "export"   // hand the records over as JSON
	DSRDelete   = "delete"   // delete them
	DSRRestrict = "restrict" // hide them from everyone but Admins and from processing
	DSRLift     = "lift"     // end a restriction
)

// DSR statuses.
const (
	DSROpen      = "open"      // found, not yet carried out
	DSRCompleted = "completed" // carried out
)

// DSRMatch is one record a data-subject request found.
type DSRMatch struct {
	Collection string       `json:"collection"`
	RecordID   RecordID     `json:"record_id"`
	ClientID   *ClientID    `json:"client_id"`
	ID         CollectionID `json:"collection_id"`
}

// DSR is a data-subject request: the records that refer to a person, found
// through searchable fields, and what is to be done with them. The values that
// identify the person are never stored: only the field names.
type DSR struct {
	TenantID    TenantID
	ID          string
	Kind        string
	Status      string
	Fields      []string // the searchable fields the person was looked up by
	Matches     []DSRMatch
	RequestedBy string // the actor who opened it
	CreatedAt   time.Time
	Deadline    time.Time
	CompletedAt *time.Time
	// Done counts what execution did (records exported, deleted, restricted).
	Done int
}
