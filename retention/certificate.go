package retention

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"strongroom.dev/strongroom/auditlog"
)

// Deletion certificates (LIF-03): when a terminated organization's return
// window ends and its data is deleted, the platform signs a statement of what
// was deleted, when, and which keys were destroyed, with the same Ed25519 key
// that signs audit checkpoints, so anyone holding that public key can check it
// away from the server.
//
// The signed message is the label CertificateLabel followed by the
// certificate's JSON encoding (encoding/json: members in the order of the
// struct below, map keys sorted, no insignificant space) with Signature empty.
// Evolution: members are never renamed or reordered; a new member is added at
// the end with omitempty and V is raised.

// CertificateFormat names the document; CertificateVersion is its version.
const (
	CertificateFormat  = "strongroom-deletion-certificate"
	CertificateVersion = 1
	CertificateLabel   = "strongroom deletion certificate v1\n"
)

// DestroyedKey describes a destroyed data key (never the key).
type DestroyedKey struct {
	Kind      string `json:"kind"`
	Version   uint32 `json:"version"`
	KEKID     string `json:"kek_id"`
	CreatedAt string `json:"created_at"`
}

// Certificate is a signed deletion certificate. Times are RFC 3339 in UTC.
type Certificate struct {
	Format       string `json:"format"`
	V            int    `json:"v"`
	Tenant       string `json:"tenant"`
	Organization string `json:"organization"`
	RequestedBy  string `json:"requested_by"`
	RequestedAt  string `json:"requested_at"`
	WindowEnded  string `json:"window_ended"`
	DeletedAt    string `json:"deleted_at"`
	// Deleted counts the rows deleted, by table.
	Deleted map[string]int64 `json:"deleted"`
	// Retained counts what was kept on purpose, by table (the audit log,
	// append-only and under its legal retention; it holds no record data).
	Retained      map[string]int64 `json:"retained"`
	KeysDestroyed []DestroyedKey   `json:"keys_destroyed"`
	KeyID         string           `json:"key_id"`
	Signature     string           `json:"signature"`
}

func (c *Certificate) message() ([]byte, error) {
	u := *c
	u.Signature = ""
	b, err := json.Marshal(&u)
	if err != nil {
		return nil, fmt.Errorf("encoding deletion certificate: %w", err)
	}
	return append([]byte(CertificateLabel), b...), nil
}

// Sign fills the format, version and key id, and signs the certificate with
// signer's Ed25519 key.
func (c *Certificate) Sign(signer crypto.Signer) error {
	pub, ok := signer.Public().(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("retention: certificates are signed with Ed25519, not %T", signer.Public())
	}
	c.Format, c.V, c.KeyID = CertificateFormat, CertificateVersion, auditlog.KeyID(pub)
	if c.Deleted == nil {
		c.Deleted = map[string]int64{}
	}
	if c.Retained == nil {
		c.Retained = map[string]int64{}
	}
	if c.KeysDestroyed == nil {
		c.KeysDestroyed = []DestroyedKey{}
	}
	msg, err := c.message()
	if err != nil {
		return err
	}
	sig, err := signer.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		return fmt.Errorf("signing deletion certificate: %w", err)
	}
	c.Signature = base64.StdEncoding.EncodeToString(sig)
	return nil
}

// ErrCertificate is returned for a certificate that does not verify.
var ErrCertificate = errors.New("retention: the deletion certificate does not verify")

// VerifyCertificate parses a certificate and checks its signature against pub.
func VerifyCertificate(doc []byte, pub ed25519.PublicKey) (*Certificate, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("retention: not an Ed25519 public key")
	}
	var c Certificate
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	if c.Format != CertificateFormat || c.V != CertificateVersion {
		return nil, fmt.Errorf("%w: not a version %d deletion certificate", ErrCertificate, CertificateVersion)
	}
	if c.KeyID != auditlog.KeyID(pub) {
		return nil, fmt.Errorf("%w: signed by key %q, not %q", ErrCertificate, c.KeyID, auditlog.KeyID(pub))
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, ErrCertificate
	}
	msg, err := c.message()
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return nil, ErrCertificate
	}
	return &c, nil
}
