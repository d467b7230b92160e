package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom/incident"
)

// The trust settings (docs/trust.md): defaults, flags and environment, and
// refusals that name the setting.
func TestConfigTrust(t *testing.T) {
	load := func(args []string, env map[string]string) (*Config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return loadConfig(fs, args, func(k string) string { return env[k] })
	}
	cfg, err := load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.trust()
	if tc.SecurityTxt != nil || tc.BreachWindow != incident.Window72h || tc.AckDays != 5 || tc.TimeZone.String() != "UTC" ||
		tc.Resolution[incident.Critical] != 30 || tc.SubprocessorNoticeDays != 30 {
		t.Fatalf("defaults %+v", tc)
	}
	cfg, err = load([]string{"--security-contacts", "mailto:sec@example.com, https://example.com/report", "--public-url", "https://sr.example.com",
		"--breach-notification-window", "24h", "--disclosure-ack-days", "3", "--disclosure-time-zone", "Europe/Berlin",
		"--disclosure-resolution-days", "critical=7,high=30,medium=60,low=90"},
		map[string]string{"STRONGROOM_SUBPROCESSOR_NOTICE_DAYS": "45", "STRONGROOM_SECURITY_LANGUAGES": "de,en"})
	if err != nil {
		t.Fatal(err)
	}
	tc = cfg.trust()
	st := tc.SecurityTxt
	if st == nil || len(st.Contacts) != 2 || st.Canonical != "https://sr.example.com/.well-known/security.txt" ||
		st.Acknowledgments != "https://sr.example.com/api/v1/disclosure/credits" || strings.Join(st.Languages, ",") != "de,en" ||
		st.ExpiresIn != 4320*time.Hour {
		t.Fatalf("security.txt %+v", st)
	}
	if tc.BreachWindow != incident.Window24h || tc.AckDays != 3 || tc.TimeZone.String() != "Europe/Berlin" ||
		tc.Resolution[incident.Critical] != 7 || tc.SubprocessorNoticeDays != 45 {
		t.Fatalf("settings %+v", tc)
	}
	for _, args := range [][]string{
		{"--security-contacts", "security@example.com"},
		{"--security-contacts", "http://example.com/report"},
		{"--security-contacts", "mailto:a@example.com", "--security-policy-url", "http://example.com/p"},
		{"--security-contacts", "mailto:a@example.com", "--security-txt-expires", "8760h"},
		{"--security-txt-expires", "soon"},
		{"--breach-notification-window", "48h"},
		{"--disclosure-ack-days", "0"},
		{"--disclosure-ack-days", "31"},
		{"--disclosure-time-zone", "Mars/Olympus"},
		{"--disclosure-time-zone", "Local"},
		{"--disclosure-resolution-days", "critical=90,high=30,medium=60,low=90"},
		{"--subprocessor-notice-days", "0"},
	} {
		if _, err := load(args, nil); err == nil {
			t.Errorf("%v accepted", args)
		} else if !strings.Contains(err.Error(), strings.TrimPrefix(args[len(args)-2], "--")) {
			t.Errorf("%v: error %q does not name the setting", args, err)
		}
	}
}
