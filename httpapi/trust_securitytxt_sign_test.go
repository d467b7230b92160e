package httpapi_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
)

// With a signing key, /.well-known/security.txt is served clear-signed at the
// same URL and media type, and the signature verifies with the public key.
func TestSecurityTxtServedSigned(t *testing.T) {
	signer, e := testkit.SecurityTxtSigner(t)
	srv := testkit.NewServerWithConfig(t, testkit.OpenSQLiteStore(t), testkit.ServerConfig{Service: func(_ string, cfg *service.Config) {
		st := *cfg.Trust.SecurityTxt
		st.Signer, st.Encryption = signer, "openpgp4fpr:"+signer.Fingerprint()
		cfg.Trust.SecurityTxt = &st
	}})
	r := testkit.MustStatus(t, call(t, srv, "", "GET", "/.well-known/security.txt", nil), http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	b, _ := clearsign.Decode(r.Body)
	if b == nil {
		t.Fatalf("not clear-signed:\n%s", r.Body)
	}
	if _, err := b.VerifySignature(openpgp.EntityList{e}, nil); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if !bytes.Contains(b.Plaintext, []byte("\nContact: mailto:security@strongroom.test\n")) ||
		!bytes.Contains(b.Plaintext, []byte("\nEncryption: openpgp4fpr:"+signer.Fingerprint())) {
		t.Errorf("signed text:\n%s", b.Plaintext)
	}
}
