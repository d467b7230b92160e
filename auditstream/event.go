package auditstream

import (
	"encoding/hex"
	"encoding/json"

	"strongroom.dev/strongroom/store"
)

// Event is a sealed audit event as sinks receive it: one JSON object, the
// same in a webhook batch and on a line of the file sink. docs/audit-log.md
// ("Streaming to a SIEM") documents every field.
//
// Evolution rules: a field is never renamed, removed, or given another meaning
// or type; new fields may be added, so receivers must ignore fields they do
// not know. Every field below is always present (an empty string when the
// event has no such value), so receivers see one schema.
type Event struct {
	// ID identifies the event across tenants and installations: the first 16
	// bytes of Hash, in hex. Deliveries are at least once; receivers drop an
	// ID they have already stored.
	ID string `json:"id"`
	// Seq is the event's place in the installation's one sequence of audit
	// events (all tenants), Tenant its organization (the platform's events:
	// 00000000-0000-0000-0000-000000000000), Hash its seal: the hash of the
	// tenant's chain through it (hex; docs/audit-log.md, "Chain").
	Seq    int64  `json:"seq"`
	Tenant string `json:"tenant"`
	Hash   string `json:"hash"`
	// Time is when the event happened: RFC 3339, UTC, six decimals.
	Time       string `json:"time"`
	ActorType  string `json:"actor_type"`
	ActorID    string `json:"actor_id"`
	IP         string `json:"ip"`
	DeviceType string `json:"device_type"`
	Action     string `json:"action"`
	TargetType string `json:"target_type"`
	TargetID   string `json:"target_id"`
	Result     string `json:"result"`
	Reason     string `json:"reason"`
	RequestID  string `json:"request_id"`
	// Metadata is the event's JSON object, exactly as stored. (Should stored
	// metadata ever not be valid JSON, it is sent as a JSON string of the
	// stored text rather than holding the stream back.)
	Metadata json.RawMessage `json:"metadata"`
}

// timeFormat is RFC 3339 with a fixed six decimals: the store keeps
// microseconds, and a fixed width sorts as text.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

// idSize is how many bytes of the seal make an event's ID: 128 bits, so that
// IDs do not collide across every installation there will ever be.
const idSize = 16

// NewEvent returns the sink form of a sealed event.
func NewEvent(e *store.SealedAuditEvent) Event {
	meta := json.RawMessage(e.Metadata)
	switch {
	case len(meta) == 0:
		meta = json.RawMessage("{}")
	case !json.Valid(meta):
		meta, _ = json.Marshal(string(e.Metadata))
	}
	id := e.Hash
	if len(id) > idSize {
		id = id[:idSize]
	}
	return Event{
		ID:         hex.EncodeToString(id),
		Seq:        e.Seq,
		Tenant:     string(e.TenantID),
		Hash:       hex.EncodeToString(e.Hash),
		Time:       e.Time.UTC().Format(timeFormat),
		ActorType:  string(e.ActorType),
		ActorID:    e.ActorID,
		IP:         e.IP,
		DeviceType: e.DeviceType,
		Action:     e.Action,
		TargetType: e.TargetType,
		TargetID:   e.TargetID,
		Result:     string(e.Result),
		Reason:     e.Reason,
		RequestID:  e.RequestID,
		Metadata:   meta,
	}
}
