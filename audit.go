package strongroom

import (
	"encoding/json"
	"time"
)

// AuditResult is the outcome recorded with an audit event.
type AuditResult string

// The audit results.
const (
	ResultSuccess AuditResult = "success"
	ResultFailure AuditResult = "failure"
	ResultDenied  AuditResult = "denied"
)

// AuditEvent is one entry of a tenant's audit log (LOG-01). Events are written in
// the same transaction as the change they describe (security invariant 4).
//
// Evolution rules: fields are never renamed or renumbered and their meaning never
// changes; new fields are optional and absent means "unknown". Each field has a
// fixed tag in the canonical encoding that the tamper-evident hash chain seals
// (auditlog.Tag, docs/audit-log.md): a new field needs a new tag there, and an
// event without it must encode exactly as before.
type AuditEvent struct {
	TenantID   TenantID
	Seq        int64 // assigned by the store
	Time       time.Time
	ActorType  PrincipalKind
	ActorID    string
	IP         string
	DeviceType string
	Action     string // e.g. "record.create"; see docs/controls.md
	TargetType string
	TargetID   string
	Result     AuditResult
	Reason     string
	RequestID  string
	Metadata   json.RawMessage // small JSON object, never secrets or record data
}

// NewAuditEvent returns an event for action by p on target, with the principal's
// actor, address and request fields filled in.
func NewAuditEvent(p *Principal, tenant TenantID, action, targetType, targetID string, result AuditResult) AuditEvent {
	e := AuditEvent{
		TenantID:   tenant,
		Action:     action,
		TargetType: targetType,
		TargetID:   targetID,
		Result:     result,
		ActorType:  PrincipalAnonymous,
	}
	if p != nil {
		e.ActorType = p.Kind
		e.ActorID = string(p.UserID)
		if p.Kind == PrincipalAPIKey && p.APIKey != nil {
			e.ActorID = string(p.APIKey.ID)
		}
		e.IP = p.IP
		e.DeviceType = p.DeviceType
		e.RequestID = p.RequestID
	}
	if e.ActorType == "" {
		e.ActorType = PrincipalAnonymous
	}
	return e
}
