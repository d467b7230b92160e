package incident

import (
	"testing"
	"time"
	_ "time/tzdata" // the DST cases must not depend on the machine's zoneinfo

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"strongroom.dev/strongroom"
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

// INC-02: the notification deadline is elapsed time from awareness.
func TestNotificationDeadline(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	newYork := mustLoc(t, "America/New_York")
	cases := []struct {
		name   string
		aware  time.Time
		window time.Duration
		want   string
	}{
		{"24h plain", mustTime(t, "2026-11-18T09:30:00Z"), Window24h, "2026-11-19T09:30:00Z"},
		{"72h plain", mustTime(t, "2026-11-18T09:30:00Z"), Window72h, "2026-11-21T09:30:00Z"},
		{"72h over a weekend counts the weekend", mustTime(t, "2026-11-20T17:00:00Z"), Window72h, "2026-11-23T17:00:00Z"},
		{"72h across a month end", mustTime(t, "2026-01-30T20:00:00Z"), Window72h, "2026-02-02T20:00:00Z"},
		{"24h into a leap day", mustTime(t, "2028-02-28T10:00:00Z"), Window24h, "2028-02-29T10:00:00Z"},
		{"24h across a year end", mustTime(t, "2026-12-31T23:59:59Z"), Window24h, "2027-01-01T23:59:59Z"},
		// Berlin springs forward on 2026-03-29: 24 elapsed hours end at 13:00 local, not 12:00.
		{"24h across DST start (Berlin)", time.Date(2026, 3, 28, 12, 0, 0, 0, berlin), Window24h, "2026-03-29T11:00:00Z"},
		{"72h across DST start (Berlin)", time.Date(2026, 3, 28, 12, 0, 0, 0, berlin), Window72h, "2026-03-31T11:00:00Z"},
		// New York falls back on 2026-11-01: 24 elapsed hours end at 11:00 local, not 12:00.
		{"24h across DST end (New York)", time.Date(2026, 10, 31, 12, 0, 0, 0, newYork), Window24h, "2026-11-01T16:00:00Z"},
		{"sub-second awareness kept", mustTime(t, "2026-11-18T09:30:00.123456789Z"), Window24h, "2026-11-19T09:30:00.123456789Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := NotificationDeadline(c.aware, c.window)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustTime(t, c.want); !got.Equal(want) {
				t.Fatalf("deadline %s, want %s", got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
			}
			if got.Location() != time.UTC {
				t.Fatalf("deadline in %v, want UTC", got.Location())
			}
		})
	}
	if berlinWall := mustTime(t, "2026-03-29T11:00:00Z").In(berlin).Hour(); berlinWall != 13 {
		t.Fatalf("DST case is not a DST case: local hour %d", berlinWall)
	}
}

func TestNotificationDeadlineRefuses(t *testing.T) {
	aware := mustTime(t, "2026-11-18T09:30:00Z")
	for _, w := range []time.Duration{0, -Window24h, 48 * time.Hour, Window72h + time.Nanosecond, 7 * 24 * time.Hour} {
		if _, err := NotificationDeadline(aware, w); err == nil {
			t.Errorf("window %v accepted", w)
		}
	}
	if _, err := NotificationDeadline(time.Time{}, Window24h); err == nil {
		t.Error("zero awareness time accepted")
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]time.Duration{"24h": Window24h, "72h": Window72h} {
		got, err := ParseWindow(in)
		if err != nil || got != want {
			t.Errorf("ParseWindow(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "48h", "24", "72H", "1d", "24h0m", " 24h", "3d"} {
		if _, err := ParseWindow(in); err == nil {
			t.Errorf("ParseWindow(%q) accepted", in)
		}
	}
}

// INC-03: the post-incident report is due seven times 24 hours after resolution.
func TestReportDue(t *testing.T) {
	newYork := mustLoc(t, "America/New_York")
	cases := []struct {
		name     string
		resolved time.Time
		want     string
	}{
		{"plain", mustTime(t, "2026-11-02T08:00:00Z"), "2026-11-09T08:00:00Z"},
		{"across February's end", mustTime(t, "2026-02-25T00:00:00Z"), "2026-03-04T00:00:00Z"},
		{"across a leap February", mustTime(t, "2028-02-25T00:00:00Z"), "2028-03-03T00:00:00Z"},
		{"across a year end", mustTime(t, "2026-12-28T15:00:00Z"), "2027-01-04T15:00:00Z"},
		// 05:00 EDT on 10-28 plus 168 h is 04:00 EST on 11-04 (DST ended 11-01).
		{"across DST end (New York)", time.Date(2026, 10, 28, 5, 0, 0, 0, newYork), "2026-11-04T09:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, want := ReportDue(c.resolved), mustTime(t, c.want); !got.Equal(want) {
				t.Fatalf("due %s, want %s", got.Format(time.RFC3339), c.want)
			}
		})
	}
}

func TestOverdue(t *testing.T) {
	d := mustTime(t, "2026-11-19T09:30:00Z")
	cases := []struct {
		name      string
		done, now time.Time
		want      bool
	}{
		{"open, before", time.Time{}, d.Add(-time.Second), false},
		{"open, at the deadline", time.Time{}, d, false},
		{"open, one nanosecond late", time.Time{}, d.Add(time.Nanosecond), true},
		{"done on time, checked later", d.Add(-time.Hour), d.Add(1000 * time.Hour), false},
		{"done exactly at the deadline", d, d.Add(time.Hour), false},
		{"done late", d.Add(time.Minute), d.Add(time.Hour), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Overdue(d, c.done, c.now); got != c.want {
				t.Fatalf("Overdue = %v, want %v", got, c.want)
			}
		})
	}
}

func TestDeadlineProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		aware := time.Unix(rapid.Int64Range(0, 4102444800).Draw(t, "aware"), rapid.Int64Range(0, 999999999).Draw(t, "ns"))
		zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"}
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Fatal(err)
		}
		aware = aware.In(loc)
		w := rapid.SampledFrom([]time.Duration{Window24h, Window72h}).Draw(t, "window")
		d, err := NotificationDeadline(aware, w)
		if err != nil {
			t.Fatal(err)
		}
		if d.Sub(aware) != w {
			t.Fatalf("deadline - aware = %v, want %v", d.Sub(aware), w)
		}
		if Overdue(d, time.Time{}, d) || !Overdue(d, time.Time{}, d.Add(time.Nanosecond)) {
			t.Fatal("overdue boundary wrong")
		}
		if ReportDue(aware).Sub(aware) != 168*time.Hour {
			t.Fatal("report due is not 168 h")
		}
	})
}

// INC-01: phases move forward one at a time.
func TestCheckTransition(t *testing.T) {
	for i, from := range Phases {
		for j, to := range Phases {
			err := CheckTransition(from, to)
			if ok := j == i+1; ok != (err == nil) {
				t.Errorf("%s → %s: err %v", from, to, err)
			}
			if err != nil && strongroom.ErrorCode(err) != strongroom.ECONFLICT {
				t.Errorf("%s → %s: code %s, want conflict", from, to, strongroom.ErrorCode(err))
			}
		}
	}
	if err := CheckTransition(Identify, "closed"); strongroom.ErrorCode(err) != strongroom.EVALIDATION {
		t.Errorf("unknown phase: %v", err)
	}
	if _, ok := Review.Next(); ok {
		t.Error("review has a next phase")
	}
	if _, ok := Phase("bogus").Next(); ok {
		t.Error("unknown phase has a next phase")
	}
}

// INC-02: each required element of a notice is required; a notice missing any is refused.
func TestNoticeValidate(t *testing.T) {
	full := Notice{
		Nature:       "An unauthorized party read backups through a leaked storage credential.",
		DataAffected: "Names and e-mail addresses of 120 members.",
		LikelyImpact: "Phishing aimed at the affected members.",
		Mitigation:   "Credential revoked, backups re-encrypted, members told to watch for phishing.",
		Contact:      "security@example.com",
	}
	if err := full.Validate(); err != nil {
		t.Fatalf("complete notice refused: %v", err)
	}
	blank := func(f func(*Notice)) Notice { n := full; f(&n); return n }
	cases := []struct {
		name   string
		notice Notice
		paths  []string
	}{
		{"no nature", blank(func(n *Notice) { n.Nature = "" }), []string{"/nature"}},
		{"no data affected", blank(func(n *Notice) { n.DataAffected = " \t\n" }), []string{"/data_affected"}},
		{"no likely impact", blank(func(n *Notice) { n.LikelyImpact = "" }), []string{"/likely_impact"}},
		{"no mitigation", blank(func(n *Notice) { n.Mitigation = "" }), []string{"/mitigation"}},
		{"no contact", blank(func(n *Notice) { n.Contact = "" }), []string{"/contact"}},
		{"empty", Notice{}, []string{"/nature", "/data_affected", "/likely_impact", "/mitigation", "/contact"}},
		{"oversized", blank(func(n *Notice) { n.Nature = string(make([]rune, MaxNoticeField+1)) }), []string{"/nature"}},
		{"invalid UTF-8", blank(func(n *Notice) { n.Contact = "sec\xffurity" }), []string{"/contact"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.notice.Validate()
			if strongroom.ErrorCode(err) != strongroom.EVALIDATION {
				t.Fatalf("err %v, want validation", err)
			}
			var got []string
			for _, f := range strongroom.ErrorFields(err) {
				got = append(got, f.Path)
			}
			if diff := cmp.Diff(c.paths, got); diff != "" {
				t.Fatalf("paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassificationValidate(t *testing.T) {
	cases := []struct {
		name string
		c    Classification
		ok   bool
	}{
		{"security breach", Classification{Security, true, Critical}, true},
		{"availability", Classification{Availability, false, Low}, true},
		{"availability breach", Classification{Availability, true, High}, false},
		{"unknown kind", Classification{"outage", false, High}, false},
		{"unknown severity", Classification{Security, false, "sev1"}, false},
		{"empty", Classification{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.c.Validate(); (err == nil) != c.ok {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
		})
	}
}
