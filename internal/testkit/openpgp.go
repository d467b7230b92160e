package testkit

import (
	"bytes"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"strongroom.dev/strongroom/disclosure"
)

// OpenPGPKey makes a new EdDSA OpenPGP key for signing security.txt and
// returns it with its ASCII-armored secret key (no passphrase), the form
// --security-txt-signing-key reads. A lifetime above zero makes the key
// expire that long after now; zero, never.
func OpenPGPKey(t testing.TB, lifetime time.Duration) (*openpgp.Entity, []byte) {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}
	if lifetime > 0 {
		cfg.KeyLifetimeSecs = uint32(lifetime / time.Second)
	}
	e, err := openpgp.NewEntity("Security", "", "security@strongroom.test", cfg)
	if err != nil {
		t.Fatalf("making an OpenPGP key: %v", err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatalf("serializing an OpenPGP key: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return e, buf.Bytes()
}

// SecurityTxtSigner returns a security.txt signer with a new key, and the key.
func SecurityTxtSigner(t testing.TB) (*disclosure.SecurityTxtSigner, *openpgp.Entity) {
	t.Helper()
	e, armored := OpenPGPKey(t, 0)
	s, err := disclosure.NewSecurityTxtSigner(armored, time.Now())
	if err != nil {
		t.Fatalf("security.txt signer: %v", err)
	}
	return s, e
}
