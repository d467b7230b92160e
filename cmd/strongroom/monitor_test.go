package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/monitor"
)

// The security monitor's thresholds are settings like any other (LOG-04):
// defaults as documented, each from a flag, the environment or the file.

func TestMonitorThresholdSettings(t *testing.T) {
	load := func(t *testing.T, args []string, env map[string]string) (*Config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return loadConfig(fs, args, func(k string) string { return env[k] })
	}
	cfg, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(monitor.DefaultThresholds(), withAlpha(cfg.Monitor)); diff != "" {
		t.Errorf("defaults differ from monitor.DefaultThresholds (-want +got):\n%s", diff)
	}
	file := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(file, []byte(`{"monitor-mass-read-floor":"42","monitor-stuffing-window":"5m"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = load(t, []string{"--config", file, "--monitor-brute-force-failures", "3", "--monitor-mass-read-factor", "2.5"},
		map[string]string{"STRONGROOM_MONITOR_STUFFING_ACCOUNTS": "7", "STRONGROOM_MONITOR_MASS_READ_WINDOW": "30m"})
	if err != nil {
		t.Fatal(err)
	}
	want := monitor.DefaultThresholds()
	want.BruteForceFailures, want.MassReadFactor, want.StuffingAccounts, want.MassReadWindow = 3, 2.5, 7, 30*time.Minute
	want.MassReadFloor, want.StuffingWindow = 42, 5*time.Minute
	if diff := cmp.Diff(want, withAlpha(cfg.Monitor)); diff != "" {
		t.Errorf("thresholds from flags, environment and file (-want +got):\n%s", diff)
	}
	for _, args := range [][]string{
		{"--monitor-brute-force-failures", "1"},
		{"--monitor-brute-force-failures", "ten"},
		{"--monitor-stuffing-accounts", "100000"},
		{"--monitor-stuffing-window", "10s"},
		{"--monitor-brute-force-window", "48h"},
		{"--monitor-mass-read-factor", "0.5"},
		{"--monitor-mass-read-factor", "NaN"},
		{"--monitor-mass-read-floor", "0"},
		{"--monitor-mass-read-window", "soon"},
	} {
		if _, err := load(t, args, nil); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(args[0], "--")) {
			t.Errorf("%v: error %v, want one naming the flag", args, err)
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, &out, &errb); code != 0 ||
		!strings.Contains(errb.String(), "STRONGROOM_MONITOR_BRUTE_FORCE_FAILURES") || !strings.Contains(errb.String(), "mass-read alert") {
		t.Errorf("serve --help does not describe the monitor's settings (exit %d)", code)
	}
}

// withAlpha fills the one threshold that is not a setting.
func withAlpha(th monitor.Thresholds) monitor.Thresholds {
	th.BaselineAlpha = monitor.DefaultThresholds().BaselineAlpha
	return th
}

// TestServeMonitorThresholdFromFlag: a server started with
// --monitor-brute-force-failures 3 raises a brute-force alert after three
// failed sign-ins against one account (the default would need ten).
func TestServeMonitorThresholdFromFlag(t *testing.T) {
	dir := t.TempDir()
	url, _, stop := startServe(t, "--data-dir", dir, "--monitor-brute-force-failures", "3")
	defer stop()
	postCreated(t, url, "/api/v1/signup", "", map[string]string{"email": "target@example.com",
		"password": "correct horse battery staple", "organization": "Target Org"})
	for range 3 {
		b, _ := json.Marshal(map[string]string{"email": "target@example.com", "password": "wrong horse battery staple"})
		resp, err := http.Post(url+"/api/v1/auth/password", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "strongroom.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var kind string
	var count int
	testkit.WaitFor(t, 15*time.Second, func() bool {
		err := db.QueryRow("SELECT kind, count FROM alerts").Scan(&kind, &count)
		return err == nil
	})
	if kind != "brute_force" || count != 3 {
		t.Errorf("alert %s with %d events, want brute_force with 3", kind, count)
	}
}
