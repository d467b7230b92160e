// Package status holds the rules of the public status page (INC-04): the
// component states, the health probes that produce them, the daily uptime
// history computed from probe results, and the Atom feed of status updates
// and maintenance. It does no storage; the service applies it.
package status

import (
	"fmt"
	"time"
)

// State is a component's state on the status page.
type State string

// The states, from best to worst; NotMonitored is a component with nothing to
// probe (backups that are not configured).
const (
	Operational  State = "operational"
	Degraded     State = "degraded"
	Outage       State = "outage"
	Maintenance  State = "maintenance"
	NotMonitored State = "not_monitored"
)

// Valid reports whether s is one of the states a probe may report.
func (s State) Valid() bool {
	switch s {
	case Operational, Degraded, Outage, Maintenance, NotMonitored:
		return true
	}
	return false
}

// Label is the state's text on the page.
func (s State) Label() string {
	switch s {
	case Operational:
		return "Operational"
	case Degraded:
		return "Degraded performance"
	case Outage:
		return "Outage"
	case Maintenance:
		return "Under maintenance"
	case NotMonitored:
		return "Not monitored"
	}
	return string(s)
}

// rank orders states for the overall state: the worst wins.
func rank(s State) int {
	switch s {
	case Outage:
		return 4
	case Degraded:
		return 3
	case Maintenance:
		return 2
	case Operational:
		return 1
	}
	return 0
}

// Worst returns the overall state of several components: the worst of them
// (not monitored counts for nothing; none at all is operational).
func Worst(states ...State) State {
	w := Operational
	for _, s := range states {
		if rank(s) > rank(w) {
			w = s
		}
	}
	return w
}

// The components of the status page, in the order shown.
const (
	API     = "api"
	SignIn  = "sign-in"
	Storage = "storage"
	Email   = "email"
	Backups = "backups"
)

// Components lists the component names in page order.
var Components = []string{API, SignIn, Storage, Email, Backups}

// ComponentLabel is a component's name on the page.
func ComponentLabel(c string) string {
	switch c {
	case API:
		return "API"
	case SignIn:
		return "Sign-in"
	case Storage:
		return "Storage (database)"
	case Email:
		return "E-mail"
	case Backups:
		return "Backups"
	}
	return c
}

// ValidComponent reports whether c names a component.
func ValidComponent(c string) bool {
	for _, k := range Components {
		if k == c {
			return true
		}
	}
	return false
}

// Result is one probe's outcome. Detail is public text: it must never hold an
// address, a secret or an internal error message.
type Result struct {
	State  State
	Detail string
}

// BackupState judges the newest backup's age against the backup interval:
// within 1.5 intervals operational, within 3 degraded, older (or none since
// the server started more than 1.5 intervals ago) an outage. A zero interval
// means backups are not configured: not monitored.
func BackupState(newest, started time.Time, interval time.Duration, now time.Time) Result {
	if interval <= 0 {
		return Result{NotMonitored, "backups are not configured"}
	}
	ref := newest
	if ref.IsZero() {
		ref = started
	}
	age := now.Sub(ref)
	switch {
	case newest.IsZero() && age <= interval*3/2:
		return Result{Operational, "the first backup is due"}
	case newest.IsZero():
		return Result{Outage, "no backup has been taken"}
	case age <= interval*3/2:
		return Result{Operational, fmt.Sprintf("last backup %s ago", roundAge(age))}
	case age <= interval*3:
		return Result{Degraded, fmt.Sprintf("last backup %s ago, later than scheduled", roundAge(age))}
	}
	return Result{Outage, fmt.Sprintf("last backup %s ago, far later than scheduled", roundAge(age))}
}

func roundAge(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	if d >= time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}
