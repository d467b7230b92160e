package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"strongroom.dev/strongroom/internal/testkit"
)

// --security-txt-signing-key: a private key file signs the served file (the
// signature verifies with the public key); a file others can read, a
// passphrase-protected key, or a key without security.txt is refused at start.
func TestConfigSecurityTxtSigningKey(t *testing.T) {
	e, _ := testkit.OpenPGPKey(t, 0)
	write := func(name string, mode os.FileMode, protect bool) string {
		t.Helper()
		var buf bytes.Buffer
		w, _ := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
		x := e
		if protect {
			cp := *e
			pk := *e.PrivateKey
			cp.PrivateKey = &pk
			if err := cp.PrivateKey.Encrypt([]byte("secret")); err != nil {
				t.Fatal(err)
			}
			cp.Subkeys = nil
			x = &cp
		}
		if err := x.SerializePrivateWithoutSigning(w, nil); err != nil {
			t.Fatal(err)
		}
		_ = w.Close()
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, buf.Bytes(), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	load := func(args ...string) (*Config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return loadConfig(fs, args, func(string) string { return "" })
	}
	good := write("key.asc", 0o600, false)
	cfg, err := load("--security-contacts", "mailto:security@strongroom.test", "--security-txt-signing-key", good,
		"--security-txt-encryption", "https://strongroom.test/pgp-key.txt")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	file, err := cfg.securityTxt().Render(now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := clearsign.Decode(file)
	if b == nil {
		t.Fatalf("not clear-signed:\n%s", file)
	}
	if _, err := b.VerifySignature(openpgp.EntityList{e}, nil); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if !strings.Contains(string(b.Plaintext), "Encryption: https://strongroom.test/pgp-key.txt\n") {
		t.Errorf("signed text lacks the Encryption field:\n%s", b.Plaintext)
	}
	for name, args := range map[string][]string{
		"readable by others":   {"--security-contacts", "mailto:s@strongroom.test", "--security-txt-signing-key", write("open.asc", 0o644, false)},
		"passphrase-protected": {"--security-contacts", "mailto:s@strongroom.test", "--security-txt-signing-key", write("locked.asc", 0o600, true)},
		"no security.txt":      {"--security-txt-signing-key", good},
		"missing file":         {"--security-contacts", "mailto:s@strongroom.test", "--security-txt-signing-key", filepath.Join(t.TempDir(), "none")},
		"http encryption":      {"--security-contacts", "mailto:s@strongroom.test", "--security-txt-encryption", "http://strongroom.test/key"},
	} {
		if _, err := load(args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
