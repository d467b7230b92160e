package disclosure

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func validSecurityTxt() *SecurityTxt {
	return &SecurityTxt{
		Contacts:        []string{"mailto:security@example.com", "https://example.com/report"},
		Policy:          "https://example.com/disclosure",
		Acknowledgments: "https://example.com/api/v1/disclosure/credits",
		Languages:       []string{"en", "de"},
		Canonical:       "https://example.com/.well-known/security.txt",
		ExpiresIn:       180 * 24 * time.Hour,
	}
}

// parseFields reads "Name: value" lines, skipping comments, as RFC 9116 section 4 parses them.
func parseFields(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("line %q is not a field", line)
		}
		out[strings.ToLower(name)] = append(out[strings.ToLower(name)], value)
	}
	return out
}

// INC-05: every field, in RFC 9116's form.
func TestSecurityTxtFields(t *testing.T) {
	c := validSecurityTxt()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 15, 4, 5, 0, time.UTC)
	got := parseFields(t, render(t, c, now))
	want := map[string][]string{
		"contact":             {"mailto:security@example.com", "https://example.com/report"},
		"expires":             {"2027-05-20T00:00:00Z"},
		"acknowledgments":     {"https://example.com/api/v1/disclosure/credits"},
		"preferred-languages": {"en, de"},
		"canonical":           {"https://example.com/.well-known/security.txt"},
		"policy":              {"https://example.com/disclosure"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("fields (-want +got):\n%s", diff)
	}
	min := &SecurityTxt{Contacts: []string{"mailto:s@example.com"}, ExpiresIn: 30 * 24 * time.Hour}
	if err := min.Validate(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"contact": {"mailto:s@example.com"}, "expires": {"2026-12-21T00:00:00Z"}}, parseFields(t, render(t, min, now))); diff != "" {
		t.Fatalf("minimal file (-want +got):\n%s", diff)
	}
}

// Expires renews itself with the clock: always in the future, exactly once,
// RFC 3339, never a year or more ahead.
func TestSecurityTxtExpiresRenewal(t *testing.T) {
	for _, in := range []time.Duration{25 * time.Hour, 7 * 24 * time.Hour, 364 * 24 * time.Hour, MaxExpiresIn - time.Second} {
		c := validSecurityTxt()
		c.ExpiresIn = in
		if err := c.Validate(); err != nil {
			t.Fatalf("%v: %v", in, err)
		}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		prev := time.Time{}
		for now := start; now.Before(start.Add(3 * 365 * 24 * time.Hour)); now = now.Add(7*time.Hour + 13*time.Minute) {
			f := parseFields(t, render(t, c, now))
			if len(f["expires"]) != 1 {
				t.Fatalf("Expires %d times", len(f["expires"]))
			}
			exp, err := time.Parse(time.RFC3339, f["expires"][0])
			if err != nil {
				t.Fatalf("Expires %q is not RFC 3339: %v", f["expires"][0], err)
			}
			if !exp.After(now) {
				t.Fatalf("at %s Expires %s is not in the future", now, exp)
			}
			if exp.Sub(now) >= MaxExpiresIn {
				t.Fatalf("at %s Expires %s is a year or more ahead", now, exp)
			}
			if exp.Before(prev) {
				t.Fatalf("Expires went back: %s after %s", exp, prev)
			}
			prev = exp
		}
	}
	// Same all day (cacheable), renewed the next day.
	c := validSecurityTxt()
	a := render(t, c, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
	b := render(t, c, time.Date(2026, 11, 21, 23, 59, 59, 0, time.UTC))
	n := render(t, c, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	if string(a) != string(b) || string(a) == string(n) {
		t.Fatal("Expires does not renew daily")
	}
}

func TestSecurityTxtValidateRefuses(t *testing.T) {
	cases := map[string]func(*SecurityTxt){
		"no contact":             func(c *SecurityTxt) { c.Contacts = nil },
		"http contact":           func(c *SecurityTxt) { c.Contacts = []string{"http://example.com/report"} },
		"bare address":           func(c *SecurityTxt) { c.Contacts = []string{"security@example.com"} },
		"empty mailto":           func(c *SecurityTxt) { c.Contacts = []string{"mailto:"} },
		"https without host":     func(c *SecurityTxt) { c.Contacts = []string{"https:///x"} },
		"contact with newline":   func(c *SecurityTxt) { c.Contacts = []string{"mailto:a@example.com\nExpires: 1999-01-01T00:00:00Z"} },
		"javascript contact":     func(c *SecurityTxt) { c.Contacts = []string{"javascript:alert(1)"} },
		"http policy":            func(c *SecurityTxt) { c.Policy = "http://example.com/policy" },
		"canonical with newline": func(c *SecurityTxt) { c.Canonical = "https://example.com/\r\nContact: mailto:x@evil.test" },
		"bad language":           func(c *SecurityTxt) { c.Languages = []string{"not a language"} },
		"language list":          func(c *SecurityTxt) { c.Languages = []string{"en,de"} },
		"expiry a day":           func(c *SecurityTxt) { c.ExpiresIn = 24 * time.Hour },
		"http encryption":        func(c *SecurityTxt) { c.Encryption = "http://example.com/key.asc" },
		"short fingerprint":      func(c *SecurityTxt) { c.Encryption = "openpgp4fpr:ABCDEF" },
		"fingerprint not hex":    func(c *SecurityTxt) { c.Encryption = "openpgp4fpr:" + strings.Repeat("Z", 40) },
		"expiry a year":          func(c *SecurityTxt) { c.ExpiresIn = MaxExpiresIn },
		"expiry negative":        func(c *SecurityTxt) { c.ExpiresIn = -time.Hour },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			c := validSecurityTxt()
			f(c)
			if err := c.Validate(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// render is c.Render at now, failing the test on an error.
func render(t *testing.T, c *SecurityTxt, now time.Time) []byte {
	t.Helper()
	b, err := c.Render(now)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
