package status_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/status"
)

func TestDayBoundaries(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data")
	}
	cases := []struct {
		name string
		a, b time.Time
		same bool
	}{
		{"last and first instant of a UTC day", time.Date(2026, 3, 1, 23, 59, 59, 999999999, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), false},
		{"same UTC day", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 23, 59, 59, 0, time.UTC), true},
		{"local midnight is not a boundary", time.Date(2026, 3, 2, 0, 30, 0, 0, berlin), time.Date(2026, 3, 1, 23, 30, 0, 0, berlin), true},
		{"leap day to March", time.Date(2028, 2, 29, 23, 59, 0, 0, time.UTC), time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), false},
		{"before the epoch", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := status.Day(c.a) == status.Day(c.b); got != c.same {
				t.Errorf("Day(%v)=%d, Day(%v)=%d, same=%v, want %v", c.a, status.Day(c.a), c.b, status.Day(c.b), got, c.same)
			}
			for _, x := range []time.Time{c.a, c.b} {
				d := status.Day(x)
				if s := status.DayStart(d); x.Before(s) || !x.Before(s.Add(24*time.Hour)) {
					t.Errorf("%v is not within its day starting %v", x, s)
				}
			}
		})
	}
}

func TestHistoryMissingSamples(t *testing.T) {
	now := time.Date(2026, 11, 21, 0, 0, 1, 0, time.UTC) // one second into today
	today := status.Day(now)
	days := map[int64]status.Counts{
		today:      {Operational: 1},                     // one sample so far today
		today - 1:  {Operational: 1438, Outage: 2},       // two minutes down
		today - 2:  {Maintenance: 60, Operational: 1380}, // maintenance is not downtime
		today - 3:  {Degraded: 10, Operational: 10},      // slow is up
		today - 4:  {Maintenance: 30},                    // only maintenance: no data
		today - 89: {Outage: 1},                          // the oldest day shown
		today - 90: {Outage: 1000},                       // beyond the window: ignored
		today + 1:  {Outage: 1000},                       // the future: ignored
	}
	hist, up, ok := status.History(days, now, status.HistoryDays)
	if len(hist) != 90 {
		t.Fatalf("%d days, want 90", len(hist))
	}
	if !hist[89].Date.Equal(status.DayStart(today)) || !hist[0].Date.Equal(status.DayStart(today-89)) {
		t.Fatalf("window %v..%v", hist[0].Date, hist[89].Date)
	}
	pct := func(h status.HistoryDay) string {
		if h.Uptime == nil {
			return "no data"
		}
		return fmt.Sprintf("%.4f", *h.Uptime)
	}
	got := map[string]string{}
	states := map[string]status.State{}
	for _, i := range []int{89, 88, 87, 86, 85, 50, 0} {
		k := hist[i].Date.Format("01-02")
		got[k] = pct(hist[i])
		states[k] = hist[i].State
	}
	want := map[string]string{"11-21": "1.0000", "11-20": "0.9986", "11-19": "1.0000", "11-18": "1.0000", "11-17": "no data", "10-13": "no data", "08-24": "0.0000"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("uptime per day (-want +got):\n%s", d)
	}
	wantStates := map[string]status.State{"11-21": status.Operational, "11-20": status.Outage, "11-19": status.Maintenance,
		"11-18": status.Degraded, "11-17": status.Maintenance, "10-13": status.NotMonitored, "08-24": status.Outage}
	if d := cmp.Diff(wantStates, states); d != "" {
		t.Errorf("state per day (-want +got):\n%s", d)
	}
	// Over the window: 1+1438+1380+20 up of 1+1440+1380+20+1 monitored.
	if want := float64(2839) / 2842; !ok || up != want {
		t.Errorf("uptime %v (%v), want %v", up, ok, want)
	}
	if _, _, ok := status.History(nil, now, 90); ok {
		t.Error("no samples at all must be no data, not 0% or 100%")
	}
}

func TestWorst(t *testing.T) {
	cases := []struct {
		in   []status.State
		want status.State
	}{
		{nil, status.Operational},
		{[]status.State{status.Operational, status.NotMonitored}, status.Operational},
		{[]status.State{status.Maintenance, status.Operational}, status.Maintenance},
		{[]status.State{status.Degraded, status.Maintenance}, status.Degraded},
		{[]status.State{status.Degraded, status.Outage, status.Operational}, status.Outage},
	}
	for _, c := range cases {
		if got := status.Worst(c.in...); got != c.want {
			t.Errorf("Worst(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestBackupState(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cases := []struct {
		name            string
		newest, started time.Time
		interval        time.Duration
		want            status.State
	}{
		{"not configured", time.Time{}, now, 0, status.NotMonitored},
		{"first backup due", time.Time{}, now.Add(-time.Hour), day, status.Operational},
		{"never taken", time.Time{}, now.Add(-2 * day), day, status.Outage},
		{"fresh", now.Add(-23 * time.Hour), now.Add(-9 * day), day, status.Operational},
		{"at 1.5 intervals", now.Add(-36 * time.Hour), now.Add(-9 * day), day, status.Operational},
		{"late", now.Add(-37 * time.Hour), now.Add(-9 * day), day, status.Degraded},
		{"far too late", now.Add(-73 * time.Hour), now.Add(-9 * day), day, status.Outage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := status.BackupState(c.newest, c.started, c.interval, now)
			if r.State != c.want || r.Detail == "" {
				t.Errorf("got %+v, want %s with a detail", r, c.want)
			}
		})
	}
}

// TestSMTPProbeRedGreen probes a real SMTP server (operational), a closed
// port (outage), and the server again (operational).
func TestSMTPProbeRedGreen(t *testing.T) {
	srv := testkit.NewSMTPServer(t, testkit.SMTPServerOptions{TLS: mail.TLSNone})
	up := net.JoinHostPort(srv.Host, fmt.Sprint(srv.Port))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, c := range []struct {
		addr string
		want status.State
	}{{up, status.Operational}, {closed, status.Outage}, {up, status.Operational}} {
		if r := status.SMTPProbe(c.addr, nil)(ctx); r.State != c.want || strings.Contains(r.Detail, "127.0.0.1") {
			t.Errorf("step %d: %+v, want %s without the address", i, r, c.want)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("the probe sent %d messages", n)
	}
}

func TestSMTPProbeRefusals(t *testing.T) {
	cases := map[string]string{
		"no greeting":  "554 go away\r\n",
		"refuses NOOP": "220 hi\r\n502 no\r\n",
		"hangs up":     "220 hi\r\n",
		"garbage":      "hello there\r\n",
	}
	want := map[string]status.State{"no greeting": status.Outage, "refuses NOOP": status.Degraded, "hangs up": status.Outage, "garbage": status.Outage}
	for name, script := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = c.Write([]byte(script))
				buf := make([]byte, 64)
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				_, _ = c.Read(buf)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if r := status.SMTPProbe(l.Addr().String(), nil)(ctx); r.State != want[name] {
				t.Errorf("got %+v, want %s", r, want[name])
			}
		})
	}
}

func TestHTTPProbe(t *testing.T) {
	code := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
	defer srv.Close()
	p := status.HTTPProbe(srv.Client(), srv.URL+"/readyz")
	ctx := context.Background()
	if r := p(ctx); r.State != status.Operational {
		t.Errorf("200: %+v", r)
	}
	code = http.StatusServiceUnavailable
	if r := p(ctx); r.State != status.Outage {
		t.Errorf("503: %+v", r)
	}
	slow := status.Timed(func(context.Context) status.Result {
		time.Sleep(20 * time.Millisecond)
		return status.Result{State: status.Operational}
	}, time.Millisecond)
	if r := slow(ctx); r.State != status.Degraded {
		t.Errorf("slow: %+v", r)
	}
}

// TestFeedStructure parses the feed as XML and checks RFC 4287's required
// elements: feed id, title, updated, author, self link; each entry's id,
// title, updated (RFC 3339); entries' ids unique.
func TestFeedStructure(t *testing.T) {
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	out, err := status.Feed("https://status.example", "Example & Co <x>", []status.Entry{
		{ID: "u1", Title: "Sign-in errors <resolved>", Summary: "Fixed & monitored", Updated: at, Link: "https://status.example/status#u1"},
		{ID: "m1", Title: "Database upgrade", Summary: "Planned", Updated: at.Add(-time.Hour), Link: "https://status.example/status#m1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		XMLName xml.Name
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Author  struct {
			Name string `xml:"name"`
		} `xml:"author"`
		Links []struct {
			Href string `xml:"href,attr"`
			Rel  string `xml:"rel,attr"`
		} `xml:"link"`
		Entries []struct {
			ID      string `xml:"id"`
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Summary string `xml:"summary"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(out, &f); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	if f.XMLName.Space != "http://www.w3.org/2005/Atom" || f.XMLName.Local != "feed" {
		t.Errorf("root %v", f.XMLName)
	}
	if f.ID == "" || f.Title != "Example & Co <x> status" || f.Author.Name == "" || f.Updated != "2026-11-20T08:00:00Z" {
		t.Errorf("feed head %+v", f)
	}
	self := false
	for _, l := range f.Links {
		self = self || (l.Rel == "self" && l.Href == "https://status.example/status/feed.atom")
	}
	if !self {
		t.Error("no self link")
	}
	if len(f.Entries) != 2 {
		t.Fatalf("%d entries", len(f.Entries))
	}
	seen := map[string]bool{}
	for _, e := range f.Entries {
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil || e.ID == "" || e.Title == "" || seen[e.ID] {
			t.Errorf("entry %+v", e)
		}
		seen[e.ID] = true
	}
	if f.Entries[0].Title != "Sign-in errors <resolved>" || f.Entries[0].Summary != "Fixed & monitored" {
		t.Errorf("text not round-tripped: %+v", f.Entries[0])
	}
	empty, err := status.Feed("https://status.example", "X", nil)
	if err != nil || xml.Unmarshal(empty, &f) != nil || f.Updated == "" {
		t.Errorf("empty feed: %v %s", err, empty)
	}
}
