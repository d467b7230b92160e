package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"strongroom.dev/strongroom/certs"
)

// The HSTS settings reach the policy the HTTP layer sends and the trust page
// states (one value for both); policies browsers or preload lists refuse are
// refused at start.
func TestConfigHSTS(t *testing.T) {
	load := func(args ...string) (*Config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return loadConfig(fs, args, func(string) string { return "" })
	}
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HSTS != certs.DefaultHSTS || cfg.trustPage().HSTS != nil {
		t.Fatalf("defaults %+v, trust page %+v (plain HTTP sends none)", cfg.HSTS, cfg.trustPage().HSTS)
	}
	cfg, err = load("--tls-proxy", "--trusted-proxies", "10.0.0.0/8", "--hsts-max-age-days", "365", "--hsts-preload")
	if err != nil {
		t.Fatal(err)
	}
	want := certs.HSTS{MaxAge: 365 * 24 * time.Hour, IncludeSubDomains: true, Preload: true}
	if cfg.HSTS != want || cfg.trustPage().HSTS == nil || *cfg.trustPage().HSTS != want || cfg.HSTS.Value() != "max-age=31536000; includeSubDomains; preload" {
		t.Fatalf("HSTS %+v, trust page %+v", cfg.HSTS, cfg.trustPage().HSTS)
	}
	for _, args := range [][]string{
		{"--hsts-max-age-days", "-1"},
		{"--hsts-max-age-days", "3651"},
		{"--hsts-max-age-days", "two years"},
		{"--hsts-preload", "--hsts-max-age-days", "0"},
		{"--hsts-preload", "--hsts-max-age-days", "364"},
		{"--hsts-preload", "--hsts-include-subdomains=false"},
	} {
		if _, err := load(args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
