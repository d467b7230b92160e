package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"strongroom.dev/strongroom/retention"
)

// TestCertificateVerify: a signed certificate verifies offline; a tampered
// one, another key and bad flags are refused.
func TestCertificateVerify(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := retention.Certificate{Tenant: "01a1feb2-44ed-7891-9e13-f9dce0e88222", Organization: "Acme",
		Deleted: map[string]int64{"records": 7, "organizations": 1}}
	if err := c.Sign(priv); err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(c)
	dir := t.TempDir()
	good := filepath.Join(dir, "cert.json")
	bad := filepath.Join(dir, "tampered.json")
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(good, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, bytes.Replace(doc, []byte(`"records":7`), []byte(`"records":6`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), maxCertificateSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(pub)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"genuine", []string{"--file", good, "--public-key", key}, 0, "OK organization 01a1feb2-44ed-7891-9e13-f9dce0e88222 (Acme)"},
		{"tampered", []string{"--file", bad, "--public-key", key}, 1, "FAIL"},
		{"other key", []string{"--file", good, "--public-key", base64.StdEncoding.EncodeToString(other)}, 1, "FAIL"},
		{"oversized", []string{"--file", big, "--public-key", key}, 1, ""},
		{"missing file", []string{"--file", filepath.Join(dir, "none"), "--public-key", key}, 1, ""},
		{"no key", []string{"--file", good}, 2, ""},
		{"short key", []string{"--file", good, "--public-key", "AAAA"}, 2, ""},
		{"no file", []string{"--public-key", key}, 2, ""},
		{"extra argument", []string{"--file", good, "--public-key", key, "x"}, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"certificate", "verify"}, tc.args...), &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.out) {
				t.Errorf("exit %d, want %d; out %q (want %q); err %q", code, tc.code, out.String(), tc.out, errb.String())
			}
		})
	}
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"certificate", "verify", "--help"}, &bytes.Buffer{}, &errb); code != 0 ||
		!strings.Contains(errb.String(), "Usage: strongroom certificate verify") {
		t.Errorf("help: exit %d: %s", code, errb.String())
	}
}
