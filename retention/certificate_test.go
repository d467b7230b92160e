package retention_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"

	"strongroom.dev/strongroom/retention"
)

func signedCertificate(t *testing.T) (ed25519.PublicKey, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := retention.Certificate{Tenant: "01a1feb2-44ed-7891-9e13-f9dce0e88222", Organization: "Acme", RequestedBy: "u",
		RequestedAt: "2026-01-01T00:00:00Z", WindowEnded: "2026-01-31T00:00:00Z", DeletedAt: "2026-01-31T00:00:01Z",
		Deleted: map[string]int64{"records": 1000, "collections": 2}, Retained: map[string]int64{"audit_events": 40},
		KeysDestroyed: []retention.DestroyedKey{{Kind: "data", Version: 1, KEKID: "local:abc", CreatedAt: "2026-01-01T00:00:00Z"}}}
	if err := c.Sign(priv); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return pub, b
}

func TestCertificateVerifies(t *testing.T) {
	pub, doc := signedCertificate(t)
	c, err := retention.VerifyCertificate(doc, pub)
	if err != nil {
		t.Fatal(err)
	}
	if c.Deleted["records"] != 1000 || c.Format != retention.CertificateFormat || len(c.KeysDestroyed) != 1 {
		t.Errorf("verified certificate %+v", c)
	}
	// Re-indenting the document does not change what is signed.
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	if _, err := retention.VerifyCertificate(pretty.Bytes(), pub); err != nil {
		t.Errorf("indented certificate: %v", err)
	}
}

func TestCertificateRefusesTampering(t *testing.T) {
	pub, doc := signedCertificate(t)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	for name, tc := range map[string]struct {
		doc []byte
		pub ed25519.PublicKey
	}{
		"count changed":  {bytes.Replace(doc, []byte(`"records":1000`), []byte(`"records":999`), 1), pub},
		"tenant changed": {bytes.Replace(doc, []byte(`01a1feb2`), []byte(`01a1feb3`), 1), pub},
		"key removed":    {bytes.Replace(doc, []byte(`"version":1,`), []byte(`"version":2,`), 1), pub},
		"other key":      {doc, otherPub},
		"not JSON":       {doc[:len(doc)/2], pub},
		"no signature":   {bytes.Replace(doc, []byte(`"signature":"`), []byte(`"signature":"x`), 1), pub},
		"empty":          {nil, pub},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := retention.VerifyCertificate(tc.doc, tc.pub); !errors.Is(err, retention.ErrCertificate) {
				t.Errorf("VerifyCertificate = %v, want ErrCertificate", err)
			}
		})
	}
	if _, err := retention.VerifyCertificate(doc, pub[:10]); err == nil {
		t.Error("a short public key was accepted")
	}
}

// FuzzVerifyCertificate: no input panics or verifies without the key's signature.
func FuzzVerifyCertificate(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c := retention.Certificate{Tenant: "t", Deleted: map[string]int64{"records": 1}}
	if err := c.Sign(priv); err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(c)
	f.Add(good)
	f.Add([]byte(`{"format":"strongroom-deletion-certificate","v":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := retention.VerifyCertificate(doc, pub)
		if err == nil && got.Tenant != "t" {
			t.Errorf("a certificate not signed by the key verified: %s", doc)
		}
	})
}
