package status

import "time"

// HistoryDays is how many days of uptime history the page shows and the
// store keeps.
const HistoryDays = 90

// Day is a UTC day number: whole days since the Unix epoch. Every sample of
// one UTC calendar day has the same Day.
func Day(t time.Time) int64 {
	u := t.Unix()
	d := u / 86400
	if u%86400 < 0 {
		d-- // floor for instants before 1970
	}
	return d
}

// DayStart is the first instant of day d (UTC).
func DayStart(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// Counts are one component's probe results in one day, by state.
type Counts struct {
	Operational, Degraded, Outage, Maintenance int64
}

// Add counts one result in state s (not monitored is not counted).
func (c *Counts) Add(s State) {
	switch s {
	case Operational:
		c.Operational++
	case Degraded:
		c.Degraded++
	case Outage:
		c.Outage++
	case Maintenance:
		c.Maintenance++
	}
}

// monitored is the number of samples that count towards uptime: maintenance
// is announced ahead of time and is not downtime.
func (c Counts) monitored() int64 { return c.Operational + c.Degraded + c.Outage }

// Uptime is the share of monitored samples that were not an outage
// (degraded counts as up, slow is not down); ok is false for a day without
// monitored samples, which is "no data", neither up nor down.
func (c Counts) Uptime() (float64, bool) {
	n := c.monitored()
	if n == 0 {
		return 0, false
	}
	return float64(c.Operational+c.Degraded) / float64(n), true
}

// HistoryDay is one day of a component's history.
type HistoryDay struct {
	Date   time.Time // the day's first instant, UTC
	Counts Counts
	// Uptime is nil for a day without data (no samples, or only
	// maintenance).
	Uptime *float64
	// State is the day's summary: outage if any sample was an outage,
	// degraded if any was degraded, maintenance if it had maintenance and
	// nothing worse, operational, or not_monitored without data.
	State State
}

// History lays out the last n days ending with now's day, oldest first,
// from the stored day counters (missing days have no data), and the uptime
// over the days that have data (ok false when none has).
func History(days map[int64]Counts, now time.Time, n int) (out []HistoryDay, uptime float64, ok bool) {
	last := Day(now)
	var total Counts
	for d := last - int64(n) + 1; d <= last; d++ {
		c := days[d]
		h := HistoryDay{Date: DayStart(d), Counts: c, State: NotMonitored}
		if u, has := c.Uptime(); has {
			h.Uptime = &u
		}
		switch {
		case c.Outage > 0:
			h.State = Outage
		case c.Degraded > 0:
			h.State = Degraded
		case c.Maintenance > 0:
			h.State = Maintenance
		case c.Operational > 0:
			h.State = Operational
		}
		total.Operational += c.Operational
		total.Degraded += c.Degraded
		total.Outage += c.Outage
		total.Maintenance += c.Maintenance
		out = append(out, h)
	}
	uptime, ok = total.Uptime()
	return out, uptime, ok
}
