package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom/disclosure"
	"strongroom.dev/strongroom/internal/testkit"
)

// TestDoctorHSTSAndSecurityTxt: doctor reports the HSTS policy sent over TLS
// (and fails on max-age 0, which tells browsers to forget HTTPS), and
// whether security.txt is served and signed, with the signing key's
// fingerprint and expiry — never the key itself.
func TestDoctorHSTSAndSecurityTxt(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "d")
	cert, key := selfSigned(t, dir)
	doctor := func(want int, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if code := run(context.Background(), append([]string{"doctor", "--data-dir", data, "--tls-cert", cert, "--tls-key", key}, args...), &out, io.Discard); code != want {
			t.Fatalf("doctor %v: exit %d, want %d:\n%s", args, code, want, out.String())
		}
		return out.String()
	}
	contains := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("doctor output lacks %q:\n%s", w, out)
			}
		}
	}

	out := doctor(0)
	contains(out, "ok   HSTS: max-age=63072000; includeSubDomains (730 days)", "ok   security.txt: not served (no --security-contacts)")
	contains(doctor(0, "--hsts-max-age-days", "400", "--hsts-preload"), "ok   HSTS: max-age=34560000; includeSubDomains; preload (400 days; preload asked")
	contains(doctor(1, "--hsts-max-age-days", "0"), "FAIL HSTS: max-age=0; includeSubDomains: browsers are told to forget HTTPS")
	contains(doctor(0, "--security-contacts", "mailto:security@strongroom.test"), "ok   security.txt: served unsigned (no --security-txt-signing-key)")

	write := func(name string, armored []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, armored, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A key without expiry, and one expiring in 20 days (a reminder).
	_, forever := testkit.OpenPGPKey(t, 0)
	_, soon := testkit.OpenPGPKey(t, 20*24*time.Hour)
	for _, c := range []struct {
		name    string
		armored []byte
		want    string
	}{
		{"forever.asc", forever, ", no expiry"},
		{"soon.asc", soon, "; renew it"},
	} {
		signer, err := disclosure.NewSecurityTxtSigner(c.armored, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out := doctor(0, "--security-contacts", "mailto:security@strongroom.test", "--security-txt-signing-key", write(c.name, c.armored))
		contains(out, "ok   security.txt: signed with key "+signer.Fingerprint(), c.want)
		if exp, ok := signer.Expires(); c.name == "soon.asc" && (!ok || !strings.Contains(out, "expires "+exp.Format(time.DateOnly))) {
			t.Errorf("expiry %v (%v) not reported:\n%s", exp, ok, out)
		}
		if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, string(c.armored[40:80])) {
			t.Errorf("doctor printed the key:\n%s", out)
		}
	}
}
