package disclosure

import (
	"testing"
	"time"
	_ "time/tzdata" // DST cases must not depend on the machine's zoneinfo

	"pgregory.net/rapid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/incident"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// INC-05: acknowledgement within n business days, weekends skipped, in a time zone.
func TestAckDeadline(t *testing.T) {
	utc := time.UTC
	tokyo := mustLoc(t, "Asia/Tokyo")
	la := mustLoc(t, "America/Los_Angeles")
	newYork := mustLoc(t, "America/New_York")
	berlin := mustLoc(t, "Europe/Berlin")
	cases := []struct {
		name     string
		received string
		days     int
		loc      *time.Location
		want     string
	}{
		{"Monday, 5 days: next Monday", "2026-11-16T10:00:00Z", 5, utc, "2026-11-24T00:00:00Z"},
		{"Friday, 5 days skips the weekend", "2026-11-20T15:00:00Z", 5, utc, "2026-11-28T00:00:00Z"},
		{"Saturday counts from Monday", "2026-11-21T09:00:00Z", 5, utc, "2026-11-28T00:00:00Z"},
		{"Sunday late counts from Monday", "2026-11-22T23:59:59Z", 5, utc, "2026-11-28T00:00:00Z"},
		{"Friday, 1 day: end of Monday", "2026-11-20T23:00:00Z", 1, utc, "2026-11-24T00:00:00Z"},
		{"Thursday at midnight exactly", "2026-11-19T00:00:00Z", 1, utc, "2026-11-21T00:00:00Z"},
		{"across a month end", "2026-04-30T12:00:00Z", 3, utc, "2026-05-06T00:00:00Z"},
		{"across a year end", "2026-12-30T12:00:00Z", 5, utc, "2027-01-07T00:00:00Z"},
		{"into a leap day", "2028-02-28T12:00:00Z", 2, utc, "2028-03-02T00:00:00Z"},
		{"30 days (six weeks)", "2026-11-16T10:00:00Z", 30, utc, "2026-12-29T00:00:00Z"},
		// Friday 23:30 UTC is Saturday 08:30 in Tokyo: counting starts Monday; ends at Tokyo midnight.
		{"Friday UTC is Saturday in Tokyo", "2026-11-20T23:30:00Z", 5, tokyo, "2026-11-27T15:00:00Z"},
		// Monday 03:00 UTC is Sunday 19:00 in Los Angeles: Monday counts.
		{"Monday UTC is Sunday in Los Angeles", "2026-11-16T03:00:00Z", 5, la, "2026-11-21T08:00:00Z"},
		// New York falls back on Sunday 2026-11-01: the deadline is local midnight, now UTC-5.
		{"across DST end (New York)", "2026-10-29T16:00:00Z", 2, newYork, "2026-11-03T05:00:00Z"},
		// Berlin springs forward on Sunday 2026-03-29: local midnight is now UTC+2.
		{"across DST start (Berlin)", "2026-03-27T09:00:00Z", 1, berlin, "2026-03-30T22:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := AckDeadline(mustTime(t, c.received), c.days, c.loc)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustTime(t, c.want); !got.Equal(want) {
				t.Fatalf("deadline %s (%s local), want %s", got.Format(time.RFC3339), got.In(c.loc).Format(time.RFC3339), c.want)
			}
		})
	}
}

func TestAckDeadlineRefuses(t *testing.T) {
	now := mustTime(t, "2026-11-16T10:00:00Z")
	for _, d := range []int{-1, 0, MaxBusinessDays + 1} {
		if _, err := AckDeadline(now, d, time.UTC); err == nil {
			t.Errorf("%d days accepted", d)
		}
	}
	if _, err := AckDeadline(now, 5, nil); err == nil {
		t.Error("nil location accepted")
	}
}

// Properties over any instant, zone and window: the deadline is a local
// midnight ending a business day, after receipt, with exactly n business days
// counted after the day of receipt.
func TestAckDeadlineProperties(t *testing.T) {
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "America/Sao_Paulo", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Kiritimati"}
	rapid.Check(t, func(t *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Fatal(err)
		}
		received := time.Unix(rapid.Int64Range(946684800, 4102444800).Draw(t, "received"), 0)
		n := rapid.IntRange(1, MaxBusinessDays).Draw(t, "days")
		d, err := AckDeadline(received, n, loc)
		if err != nil {
			t.Fatal(err)
		}
		local := d.In(loc)
		if local.Hour() != 0 || local.Minute() != 0 || local.Second() != 0 {
			// Zones whose DST change happens at midnight have no local midnight on that
			// day; Go then normalizes forward to 01:00.
			if local.Hour() != 1 || local.Minute() != 0 {
				t.Fatalf("deadline %s is not local midnight", local)
			}
		}
		if !d.After(received) {
			t.Fatalf("deadline %s not after receipt %s", d, received)
		}
		lastDay := local.Add(-2 * time.Hour)
		if !IsBusinessDay(lastDay) {
			t.Fatalf("last day %s is not a business day", lastDay)
		}
		r := received.In(loc)
		count := 0
		for day := time.Date(r.Year(), r.Month(), r.Day()+1, 12, 0, 0, 0, loc); day.Before(local); day = time.Date(day.Year(), day.Month(), day.Day()+1, 12, 0, 0, 0, loc) {
			if IsBusinessDay(day) {
				count++
			}
		}
		if count != n {
			t.Fatalf("%d business days between %s and %s, want %d", count, r, local, n)
		}
		// A longer window never ends earlier.
		if n < MaxBusinessDays {
			d2, _ := AckDeadline(received, n+1, loc)
			if !d2.After(d) {
				t.Fatalf("n+1 deadline %s not after %s", d2, d)
			}
		}
	})
}

// INC-05: resolution deadlines by severity, calendar days at the same local time.
func TestResolutionDeadline(t *testing.T) {
	newYork := mustLoc(t, "America/New_York")
	p := DefaultResolution()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		received time.Time
		sev      incident.Severity
		loc      *time.Location
		want     string
	}{
		{"critical: 30 days", mustTime(t, "2026-11-16T10:00:00Z"), incident.Critical, time.UTC, "2026-12-16T10:00:00Z"},
		{"high: 60 days", mustTime(t, "2026-11-16T10:00:00Z"), incident.High, time.UTC, "2027-01-15T10:00:00Z"},
		{"medium: 90 days", mustTime(t, "2026-11-16T10:00:00Z"), incident.Medium, time.UTC, "2027-02-14T10:00:00Z"},
		{"low: 180 days across month ends", mustTime(t, "2026-01-15T12:00:00Z"), incident.Low, time.UTC, "2026-07-14T12:00:00Z"},
		// 10:00 EST on 03-01 → 10:00 EDT on 03-31 (DST started 03-08): 14:00 UTC, not 15:00.
		{"critical across DST start keeps local time", time.Date(2026, 3, 1, 10, 0, 0, 0, newYork), incident.Critical, newYork, "2026-03-31T14:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.ResolutionDeadline(c.received, c.sev, c.loc)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustTime(t, c.want); !got.Equal(want) {
				t.Fatalf("deadline %s, want %s", got.Format(time.RFC3339), c.want)
			}
		})
	}
	if _, err := p.ResolutionDeadline(time.Now(), "sev0", time.UTC); strongroom.ErrorCode(err) != strongroom.EVALIDATION {
		t.Errorf("unknown severity: %v", err)
	}
}

func TestResolutionPolicyValidate(t *testing.T) {
	bad := []ResolutionPolicy{
		{},
		{incident.Critical: 30, incident.High: 60, incident.Medium: 90},
		{incident.Critical: 0, incident.High: 60, incident.Medium: 90, incident.Low: 180},
		{incident.Critical: 30, incident.High: 60, incident.Medium: 90, incident.Low: 366},
		{incident.Critical: 90, incident.High: 60, incident.Medium: 90, incident.Low: 180},
		{incident.Critical: 30, incident.High: 60, incident.Medium: 90, incident.Low: 180, "sev0": 1},
	}
	for i, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("policy %d accepted: %v", i, p)
		}
	}
	if err := (ResolutionPolicy{incident.Critical: 7, incident.High: 7, incident.Medium: 7, incident.Low: 7}).Validate(); err != nil {
		t.Errorf("equal windows refused: %v", err)
	}
}

func TestStatusTransitions(t *testing.T) {
	all := []Status{New, Acknowledged, Triaged, Fixed, WontFix}
	allowed := map[[2]Status]bool{
		{New, Acknowledged}: true, {Acknowledged, Triaged}: true, {Triaged, Fixed}: true, {Triaged, WontFix}: true,
	}
	for _, from := range all {
		for _, to := range all {
			err := CheckTransition(from, to)
			if allowed[[2]Status{from, to}] != (err == nil) {
				t.Errorf("%s → %s: %v", from, to, err)
			}
		}
	}
	if err := CheckTransition(New, "closed"); strongroom.ErrorCode(err) != strongroom.EVALIDATION {
		t.Errorf("unknown status: %v", err)
	}
	if !Fixed.Closed() || !WontFix.Closed() || Triaged.Closed() {
		t.Error("Closed wrong")
	}
}

func TestReminderDue(t *testing.T) {
	received := mustTime(t, "2026-11-16T00:00:00Z")
	deadline := received.Add(100 * time.Hour)
	for _, c := range []struct {
		now  time.Duration
		want bool
	}{{0, false}, {74 * time.Hour, false}, {75 * time.Hour, false}, {75*time.Hour + time.Second, true}, {100 * time.Hour, true}, {200 * time.Hour, true}} {
		if got := ReminderDue(received, deadline, received.Add(c.now)); got != c.want {
			t.Errorf("at +%v: %v, want %v", c.now, got, c.want)
		}
	}
}

func TestParseResolutionPolicy(t *testing.T) {
	p, err := ParseResolutionPolicy(" critical=7, high=14,medium=30 ,low=90")
	if err != nil || p[incident.Critical] != 7 || p[incident.Low] != 90 {
		t.Fatalf("%v %v", p, err)
	}
	for _, s := range []string{"", "critical=30", "critical=30,high=60,medium=90,low=180,critical=30", "critical=x,high=60,medium=90,low=180",
		"sev0=1,critical=30,high=60,medium=90", "critical=90,high=60,medium=90,low=180"} {
		if _, err := ParseResolutionPolicy(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
