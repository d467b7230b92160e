package disclosure

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// testSigningKey makes an OpenPGP key and returns the entity and its armored
// secret key; with passphrase set, the secret key is protected by it.
func testSigningKey(t *testing.T, passphrase string) (*openpgp.Entity, []byte) {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}
	e, err := openpgp.NewEntity("Strongroom security", "", "security@strongroom.test", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if passphrase != "" {
		if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if passphrase == "" {
		err = e.SerializePrivate(w, nil)
	} else {
		err = e.SerializePrivateWithoutSigning(w, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return e, buf.Bytes()
}

// verified checks that file is clear-signed by e's key and returns the
// signed text.
func verified(t *testing.T, file []byte, e *openpgp.Entity, at time.Time) string {
	t.Helper()
	if !bytes.HasPrefix(file, []byte("-----BEGIN PGP SIGNED MESSAGE-----\n")) {
		t.Fatalf("not clear-signed:\n%s", file)
	}
	b, rest := clearsign.Decode(file)
	if b == nil || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("clearsign.Decode: block %v, rest %q", b, rest)
	}
	signer, err := b.VerifySignature(openpgp.EntityList{e}, &packet.Config{Time: func() time.Time { return at }})
	if err != nil || signer == nil || !bytes.Equal(signer.PrimaryKey.Fingerprint, e.PrimaryKey.Fingerprint) {
		t.Fatalf("signature: signer %v, %v", signer, err)
	}
	return string(b.Plaintext)
}

// TestSecurityTxtSigned (RFC 9116 2.3): the file is clear-signed, the
// signature verifies with the key's public part, the signed text is exactly
// the unsigned file, a tampered file fails, and each daily renewal of Expires
// is signed again (the same day reuses the signed file).
func TestSecurityTxtSigned(t *testing.T) {
	e, armored := testSigningKey(t, "")
	day := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	signer, err := NewSecurityTxtSigner(armored, day)
	if err != nil {
		t.Fatal(err)
	}
	if fp := signer.Fingerprint(); len(fp) != 40 || fp != strings.ToUpper(fp) {
		t.Errorf("fingerprint %q", fp)
	}
	c := validSecurityTxt()
	c.Encryption = "openpgp4fpr:" + signer.Fingerprint()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	plain := c.text(day)
	c.Signer = signer
	first := render(t, c, day)
	if got := verified(t, first, e, day); got != strings.TrimSuffix(string(plain), "\n") && got != string(plain) {
		t.Errorf("signed text %q, want %q", got, plain)
	}
	f := parseFields(t, []byte(verified(t, first, e, day)))
	if f["encryption"][0] != "openpgp4fpr:"+signer.Fingerprint() || len(f["expires"]) != 1 {
		t.Errorf("fields %v", f)
	}
	if later := render(t, c, day.Add(14*time.Hour)); !bytes.Equal(later, first) {
		t.Error("signed again within the same day")
	}
	// The next day Expires moves and the new text is signed.
	next := render(t, c, day.Add(24*time.Hour))
	nf := parseFields(t, []byte(verified(t, next, e, day.Add(24*time.Hour))))
	if nf["expires"][0] == f["expires"][0] {
		t.Fatalf("Expires did not renew: %v", nf["expires"])
	}
	want, _ := time.Parse(time.RFC3339, nf["expires"][0])
	if !want.Equal(c.Expires(day.Add(24 * time.Hour))) {
		t.Errorf("signed Expires %v, want %v", want, c.Expires(day.Add(24*time.Hour)))
	}
	// A changed byte fails verification.
	tampered := bytes.Replace(next, []byte("Contact: "), []byte("Contact:  "), 1)
	b, _ := clearsign.Decode(tampered)
	if b == nil {
		t.Fatal("tampered file does not decode")
	}
	if _, err := b.VerifySignature(openpgp.EntityList{e}, &packet.Config{Time: func() time.Time { return day.Add(24 * time.Hour) }}); err == nil {
		t.Error("a tampered file verified")
	}
}

func TestSecurityTxtSignerRefuses(t *testing.T) {
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	e, _ := testSigningKey(t, "")
	var pub bytes.Buffer
	w, _ := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	_, locked := testSigningKey(t, "a passphrase")
	a, _ := testSigningKey(t, "")
	b, _ := testSigningKey(t, "")
	var two bytes.Buffer
	tw, _ := armor.Encode(&two, openpgp.PrivateKeyType, nil)
	for _, x := range []*openpgp.Entity{a, b} {
		if err := x.SerializePrivate(tw, nil); err != nil {
			t.Fatal(err)
		}
	}
	_ = tw.Close()
	for name, key := range map[string][]byte{
		"not a key":            []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnonsense\n-----END PGP PRIVATE KEY BLOCK-----\n"),
		"public key only":      pub.Bytes(),
		"passphrase-protected": locked,
		"two keys":             two.Bytes(),
		"empty":                nil,
	} {
		if _, err := NewSecurityTxtSigner(key, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
