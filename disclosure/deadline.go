// Package disclosure is the domain logic of responsible disclosure (INC-05):
// the acknowledgement deadline in business days, resolution deadlines by
// severity, the status a vulnerability report moves through, and the RFC 9116
// security.txt file. Everything is a pure function of its arguments; the clock
// is always passed in.
package disclosure

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/incident"
)

// MaxBusinessDays bounds the acknowledgement window.
const MaxBusinessDays = 30

// AckDeadline is when a report received at receivedAt must be acknowledged:
// the end (midnight) of the days-th business day after the day of receipt,
// counted in loc. Saturdays and Sundays are not business days; a report that
// arrives on a weekend starts counting from the next Monday like one that
// arrives on the Friday evening before. Midnight is computed on the local
// calendar, so a daylight-saving change in between moves the absolute instant
// by the change and the deadline stays at local midnight. days must be 1..30.
func AckDeadline(receivedAt time.Time, days int, loc *time.Location) (time.Time, error) {
	if days < 1 || days > MaxBusinessDays {
		return time.Time{}, fmt.Errorf("acknowledgement window %d business days: must be 1..%d", days, MaxBusinessDays)
	}
	if loc == nil {
		return time.Time{}, errors.New("a time zone is required")
	}
	t := receivedAt.In(loc)
	y, m, d := t.Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, loc) // noon: never ambiguous or skipped
	for n := 0; n < days; {
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 12, 0, 0, 0, loc)
		if IsBusinessDay(day) {
			n++
		}
	}
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc).UTC(), nil
}

// IsBusinessDay reports whether t's calendar day (in t's location) is a
// weekday.
func IsBusinessDay(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// ResolutionPolicy is the number of calendar days allowed from receipt to fix,
// by severity (INC-05: critical within 30 days).
type ResolutionPolicy map[incident.Severity]int

// DefaultResolution is the default policy: critical 30 days, high 60, medium
// 90, low 180.
func DefaultResolution() ResolutionPolicy {
	return ResolutionPolicy{incident.Critical: 30, incident.High: 60, incident.Medium: 90, incident.Low: 180}
}

// Validate checks that every severity has a window of 1..365 days and that a
// more severe finding never gets more time than a less severe one.
func (p ResolutionPolicy) Validate() error {
	prev := 0
	for i := len(incident.Severities) - 1; i >= 0; i-- {
		s := incident.Severities[i]
		d, ok := p[s]
		if !ok {
			return fmt.Errorf("no resolution window for severity %s", s)
		}
		if d < 1 || d > 365 {
			return fmt.Errorf("resolution window for %s: %d days, must be 1..365", s, d)
		}
		if d < prev {
			return fmt.Errorf("resolution window for %s (%d days) is shorter than for a more severe finding (%d days)", s, d, prev)
		}
		prev = d
	}
	if len(p) != len(incident.Severities) {
		return errors.New("unknown severity in the resolution policy")
	}
	return nil
}

// ResolutionDeadline is when a report of severity sev received at receivedAt
// must be fixed: the policy's number of calendar days later at the same local
// time of day in loc (so a daylight-saving change keeps the wall-clock time).
func (p ResolutionPolicy) ResolutionDeadline(receivedAt time.Time, sev incident.Severity, loc *time.Location) (time.Time, error) {
	d, ok := p[sev]
	if !ok {
		return time.Time{}, strongroom.Errorf(strongroom.EVALIDATION, "unknown severity %q", sev)
	}
	if loc == nil {
		return time.Time{}, errors.New("a time zone is required")
	}
	return receivedAt.In(loc).AddDate(0, 0, d).UTC(), nil
}

// Status is where a vulnerability report stands.
type Status string

// The statuses: new → acknowledged → triaged → fixed or won't fix.
const (
	New          Status = "new"
	Acknowledged Status = "acknowledged"
	Triaged      Status = "triaged"
	Fixed        Status = "fixed"
	WontFix      Status = "wont_fix"
)

// next lists the statuses each status may move to.
var next = map[Status][]Status{
	New:          {Acknowledged},
	Acknowledged: {Triaged},
	Triaged:      {Fixed, WontFix},
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case New, Acknowledged, Triaged, Fixed, WontFix:
		return true
	}
	return false
}

// Closed reports whether no further status can follow.
func (s Status) Closed() bool { return s == Fixed || s == WontFix }

// CheckTransition reports whether a report may move from one status to
// another.
func CheckTransition(from, to Status) error {
	if !to.Valid() {
		return strongroom.Errorf(strongroom.EVALIDATION, "unknown status %q (new, acknowledged, triaged, fixed, wont_fix)", to)
	}
	for _, s := range next[from] {
		if s == to {
			return nil
		}
	}
	return strongroom.Errorf(strongroom.ECONFLICT, "a report that is %s cannot become %s", from, to)
}

// ReminderDue reports whether operators should be reminded of a report that is
// still new at now: when less than a quarter of the acknowledgement window is
// left, or it is already overdue.
func ReminderDue(receivedAt, deadline, now time.Time) bool {
	left := deadline.Sub(now)
	return left < deadline.Sub(receivedAt)/4
}

// ParseResolutionPolicy reads "critical=30,high=60,medium=90,low=180" (the
// --disclosure-resolution-days setting): every severity once, days 1..365,
// and a more severe finding never given longer.
func ParseResolutionPolicy(s string) (ResolutionPolicy, error) {
	if len(s) > 200 {
		return nil, errors.New("resolution policy too long")
	}
	p := ResolutionPolicy{}
	for _, kv := range strings.Split(s, ",") {
		k, d, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(strings.TrimSpace(d))
		sev := incident.Severity(strings.TrimSpace(k))
		if !ok || err != nil || !sev.Valid() {
			return nil, errors.New("must be severity=days pairs such as critical=30,high=60,medium=90,low=180")
		}
		if _, dup := p[sev]; dup {
			return nil, fmt.Errorf("severity %s given twice", sev)
		}
		p[sev] = n
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}
