// Package incident is the domain logic of incident response and breach
// notification (INC-01, INC-02, INC-03): incident kinds, severities and phases,
// the order phases move in, the breach-notification deadline counted from the
// moment the team became aware, the post-incident report's due date, and the
// required contents of a breach notice. Everything here is a pure function of
// its arguments (the clock is always passed in), so every deadline is tested
// without waiting and without storage.
package incident

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom"
)

// Kind classifies an incident.
type Kind string

// The incident kinds.
const (
	Availability Kind = "availability"
	Security     Kind = "security"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Availability || k == Security }

// Severity ranks an incident (and a vulnerability report, see package
// disclosure).
type Severity string

// The severities, least to most severe.
const (
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// Severities lists the severities, least to most severe.
var Severities = []Severity{Low, Medium, High, Critical}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool {
	for _, v := range Severities {
		if s == v {
			return true
		}
	}
	return false
}

// Phase is a step of the incident process (INC-01).
type Phase string

// The phases, in the order an incident moves through them.
const (
	Identify  Phase = "identify"
	Contain   Phase = "contain"
	Eradicate Phase = "eradicate"
	Recover   Phase = "recover"
	Review    Phase = "review"
)

// Phases lists the phases in order. An incident starts in Identify; it is
// resolved when it enters Review (the post-incident report falls due then).
var Phases = []Phase{Identify, Contain, Eradicate, Recover, Review}

// index returns the phase's place in Phases, or -1.
func (p Phase) index() int {
	for i, v := range Phases {
		if p == v {
			return i
		}
	}
	return -1
}

// Valid reports whether p is a known phase.
func (p Phase) Valid() bool { return p.index() >= 0 }

// Next returns the phase after p; ok is false for Review and unknown phases.
func (p Phase) Next() (next Phase, ok bool) {
	i := p.index()
	if i < 0 || i == len(Phases)-1 {
		return "", false
	}
	return Phases[i+1], true
}

// CheckTransition reports whether an incident in phase from may move to phase
// to. Phases move forward one at a time: skipping a phase would leave no record
// of it, and moving back would rewrite history (a new finding is a timeline
// update in the current phase, not a step back).
func CheckTransition(from, to Phase) error {
	if !to.Valid() {
		return strongroom.Errorf(strongroom.EVALIDATION, "unknown phase %q (one of %s)", to, joinPhases())
	}
	next, ok := from.Next()
	if !ok {
		return strongroom.Errorf(strongroom.ECONFLICT, "the incident is in its last phase (%s)", from)
	}
	if to != next {
		return strongroom.Errorf(strongroom.ECONFLICT, "an incident in phase %s moves next to %s, not %s", from, next, to)
	}
	return nil
}

func joinPhases() string {
	s := make([]string, len(Phases))
	for i, p := range Phases {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// Notification windows for personal-data breaches (INC-02): 72 hours is the
// GDPR Art. 33 limit for telling the supervisory authority; many customer
// contracts promise 24 hours. The serve flag --breach-notification-window
// chooses one.
const (
	Window24h = 24 * time.Hour
	Window72h = 72 * time.Hour
)

// ParseWindow accepts exactly the supported notification windows, "24h" and
// "72h".
func ParseWindow(s string) (time.Duration, error) {
	switch s {
	case "24h":
		return Window24h, nil
	case "72h":
		return Window72h, nil
	}
	return 0, errors.New(`must be "24h" or "72h"`)
}

// NotificationDeadline is when the affected customers must have been notified
// of a personal-data breach: window after the team became aware of it. The
// window is elapsed time, not wall-clock time, so a daylight-saving change in
// between neither lengthens nor shortens it. Only 24 h and 72 h are accepted.
func NotificationDeadline(awareAt time.Time, window time.Duration) (time.Time, error) {
	if window != Window24h && window != Window72h {
		return time.Time{}, fmt.Errorf("notification window %v: must be 24h or 72h", window)
	}
	if awareAt.IsZero() {
		return time.Time{}, errors.New("the time the team became aware is required")
	}
	return awareAt.Add(window).UTC(), nil
}

// ReportWindow is how long after resolution the post-incident report is due
// (INC-03).
const ReportWindow = 7 * 24 * time.Hour

// ReportDue is when the post-incident report of an incident resolved at
// resolvedAt (the moment it entered Review) is due: seven times 24 hours later.
func ReportDue(resolvedAt time.Time) time.Time { return resolvedAt.Add(ReportWindow).UTC() }

// Overdue reports whether something due at deadline and not done (doneAt zero)
// or done after the deadline is overdue at now. Done exactly at the deadline is
// on time.
func Overdue(deadline, doneAt, now time.Time) bool {
	if !doneAt.IsZero() {
		return doneAt.After(deadline)
	}
	return now.After(deadline)
}

// Notice is a personal-data breach notification to an affected organization.
// Every field is required (INC-02; GDPR Art. 33(3) and 34(2) name the same
// elements): a notice missing any of them is refused, never sent.
type Notice struct {
	Nature       string `json:"nature"`        // what happened
	DataAffected string `json:"data_affected"` // which categories of data and records
	LikelyImpact string `json:"likely_impact"` // the likely consequences
	Mitigation   string `json:"mitigation"`    // measures taken or planned
	Contact      string `json:"contact"`       // point of contact for more information
}

// MaxNoticeField bounds each notice field, in characters.
const MaxNoticeField = 4000

// Validate returns an EVALIDATION error naming every missing or oversized
// field, or nil when the notice is complete.
func (n Notice) Validate() error {
	var fields []strongroom.FieldError
	for _, f := range []struct{ path, name, v string }{
		{"/nature", "the nature of the breach", n.Nature},
		{"/data_affected", "the data affected", n.DataAffected},
		{"/likely_impact", "the likely impact", n.LikelyImpact},
		{"/mitigation", "the mitigation taken or planned", n.Mitigation},
		{"/contact", "a point of contact", n.Contact},
	} {
		switch {
		case strings.TrimSpace(f.v) == "":
			fields = append(fields, strongroom.FieldError{Path: f.path, Message: "a breach notice must state " + f.name})
		case !utf8.ValidString(f.v):
			fields = append(fields, strongroom.FieldError{Path: f.path, Message: "must be valid UTF-8"})
		case utf8.RuneCountInString(f.v) > MaxNoticeField:
			fields = append(fields, strongroom.FieldError{Path: f.path, Message: fmt.Sprintf("at most %d characters", MaxNoticeField)})
		}
	}
	if len(fields) > 0 {
		e := strongroom.Errorf(strongroom.EVALIDATION, "the breach notice is incomplete")
		e.Fields = fields
		return e
	}
	return nil
}

// Classification is what an operator decides about an incident.
type Classification struct {
	Kind     Kind     `json:"kind"`
	Breach   bool     `json:"personal_data_breach"`
	Severity Severity `json:"severity"`
}

// Validate checks the classification. A personal-data breach is a security
// incident by definition.
func (c Classification) Validate() error {
	var fields []strongroom.FieldError
	if !c.Kind.Valid() {
		fields = append(fields, strongroom.FieldError{Path: "/kind", Message: `must be "availability" or "security"`})
	}
	if !c.Severity.Valid() {
		fields = append(fields, strongroom.FieldError{Path: "/severity", Message: "must be low, medium, high or critical"})
	}
	if c.Breach && c.Kind == Availability {
		fields = append(fields, strongroom.FieldError{Path: "/personal_data_breach", Message: "a personal-data breach is a security incident"})
	}
	if len(fields) > 0 {
		e := strongroom.Errorf(strongroom.EVALIDATION, "invalid classification")
		e.Fields = fields
		return e
	}
	return nil
}
