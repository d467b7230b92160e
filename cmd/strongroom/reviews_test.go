package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"strongroom.dev/strongroom/service"
)

// The access review settings (docs/trust.md "Access reviews"): defaults,
// flags and environment, and refusals that name the setting.
func TestConfigAccessReviews(t *testing.T) {
	load := func(args []string, env map[string]string) (*Config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return loadConfig(fs, args, func(k string) string { return env[k] })
	}
	cfg, err := load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.reviews(); got != (service.ReviewConfig{CadenceMonths: 3, DueDays: 14, RemindDays: 3}) {
		t.Fatalf("defaults %+v", got)
	}
	cfg, err = load([]string{"--access-review-cadence-months", "6", "--access-review-due-days", "30"},
		map[string]string{"STRONGROOM_ACCESS_REVIEW_REMIND_DAYS": "7"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.reviews(); got != (service.ReviewConfig{CadenceMonths: 6, DueDays: 30, RemindDays: 7}) {
		t.Fatalf("settings %+v", got)
	}
	for _, args := range [][]string{
		{"--access-review-cadence-months", "5"},
		{"--access-review-cadence-months", "0"},
		{"--access-review-cadence-months", "quarterly"},
		{"--access-review-due-days", "0"},
		{"--access-review-due-days", "91"},
		{"--access-review-remind-days", "0"},
		{"--access-review-due-days", "5", "--access-review-remind-days", "6"},
	} {
		if _, err := load(args, nil); err == nil {
			t.Errorf("%v accepted", args)
		} else if !strings.Contains(err.Error(), strings.TrimPrefix(args[len(args)-2], "--")) {
			t.Errorf("%v: error %q does not name the setting", args, err)
		}
	}
}
