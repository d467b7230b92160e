package strongroom

import "time"

// The public status page (INC-04): stored shapes. The rules (states, uptime,
// feed) live in package status. Every row belongs to PlatformTenant.

// StatusComponent is a component's latest probe result.
type StatusComponent struct {
	Component string
	State     string
	Detail    string
	CheckedAt time.Time
	Since     time.Time // when the component entered State
}

// StatusDay counts one component's probe results of one UTC day by state.
type StatusDay struct {
	Component                                  string
	Day                                        int64
	Operational, Degraded, Outage, Maintenance int64
}

// StatusMaintenance is a scheduled maintenance window: its components show
// "maintenance" from StartsAt until EndsAt unless it was cancelled.
type StatusMaintenance struct {
	ID          string
	Title       string
	Body        string
	Components  []string
	StartsAt    time.Time
	EndsAt      time.Time
	CancelledAt *time.Time
	CreatedAt   time.Time
}

// StatusUpdate is a public status update posted by an operator.
type StatusUpdate struct {
	ID         string
	Title      string
	Body       string
	State      string // investigating, identified, monitoring, resolved
	Components []string
	CreatedAt  time.Time
}
