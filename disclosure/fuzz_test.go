package disclosure

import (
	"testing"
	"time"
)

// FuzzParseResolutionPolicy: any input is either refused or yields a valid
// policy; never a panic.
func FuzzParseResolutionPolicy(f *testing.F) {
	for _, s := range []string{"critical=30,high=60,medium=90,low=180", "critical=1,high=1,medium=1,low=1", "", "critical=30",
		"critical=30,critical=30,high=60,medium=90,low=180", "critical=-1,high=60,medium=90,low=180", "critical = 30 , high=60,medium=90,low=180",
		"critical=99999999999999999999,high=60,medium=90,low=180", "=,=,=,=", "critical=30,high=60,medium=90,low=180,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseResolutionPolicy(s)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParseResolutionPolicy(%q) accepted an invalid policy: %v", s, err)
		}
	})
}

// FuzzAckDeadline: for any instant and window the deadline is after receipt
// and lands at the end of a business day.
func FuzzAckDeadline(f *testing.F) {
	f.Add(int64(1763719200), 5, uint8(0))
	f.Add(int64(1774569600), 1, uint8(2))
	f.Add(int64(-62135596800), 30, uint8(3))
	f.Add(int64(253402300799), 0, uint8(1))
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"}
	f.Fuzz(func(t *testing.T, unix int64, days int, zone uint8) {
		loc, err := time.LoadLocation(zones[int(zone)%len(zones)])
		if err != nil {
			t.Skip(err)
		}
		received := time.Unix(unix%(1<<40), 0)
		d, err := AckDeadline(received, days, loc)
		if days < 1 || days > MaxBusinessDays {
			if err == nil {
				t.Fatalf("%d days accepted", days)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !d.After(received) || !IsBusinessDay(d.In(loc).Add(-2*time.Hour)) {
			t.Fatalf("deadline %s for %s (+%d business days in %s)", d, received, days, loc)
		}
	})
}
