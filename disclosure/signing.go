package disclosure

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// SecurityTxtSigner clear-signs security.txt with an OpenPGP key (RFC 9116
// section 2.3, optional). The signed file is kept for the UTC day it was
// made for: the text changes only when Expires moves, once a day, and is
// signed again then.
type SecurityTxtSigner struct {
	entity *openpgp.Entity
	key    *packet.PrivateKey

	mu   sync.Mutex
	day  time.Time // the UTC day of signed
	text []byte
	// signed is the clear-signed text for day.
	signed []byte
}

// NewSecurityTxtSigner reads an ASCII-armored OpenPGP secret key (one
// entity, not passphrase-protected: the file's permissions protect it, like
// the master key file's) and checks that it can sign at now.
func NewSecurityTxtSigner(armored []byte, now time.Time) (*SecurityTxtSigner, error) {
	list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("security.txt signing key: %w", err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("security.txt signing key: the file holds %d keys, want one", len(list))
	}
	e := list[0]
	k, ok := e.SigningKey(now)
	switch {
	case !ok || k.PrivateKey == nil:
		return nil, errors.New("security.txt signing key: no usable secret signing key (expired, revoked, or a public key only)")
	case k.PrivateKey.Encrypted:
		return nil, errors.New("security.txt signing key: the secret key is passphrase-protected; export it without a passphrase into a file only the server can read")
	}
	return &SecurityTxtSigner{entity: e, key: k.PrivateKey}, nil
}

// Expires is when the signing key stops being usable: the earlier of the
// primary key's and the signing subkey's expiry. false: it never expires.
func (s *SecurityTxtSigner) Expires() (time.Time, bool) {
	var out time.Time
	add := func(created time.Time, life *uint32) {
		if life == nil || *life == 0 {
			return
		}
		if t := created.Add(time.Duration(*life) * time.Second); out.IsZero() || t.Before(out) {
			out = t
		}
	}
	if id := s.entity.PrimaryIdentity(); id != nil && id.SelfSignature != nil {
		add(s.entity.PrimaryKey.CreationTime, id.SelfSignature.KeyLifetimeSecs)
	}
	if s.entity.SelfSignature != nil {
		add(s.entity.PrimaryKey.CreationTime, s.entity.SelfSignature.KeyLifetimeSecs)
	}
	for _, sk := range s.entity.Subkeys {
		if sk.PrivateKey == s.key && sk.Sig != nil {
			add(sk.PublicKey.CreationTime, sk.Sig.KeyLifetimeSecs)
		}
	}
	return out.UTC(), !out.IsZero()
}

// Fingerprint is the signing key's primary fingerprint in upper-case hex, as
// an openpgp4fpr: URI of the Encryption field takes it.
func (s *SecurityTxtSigner) Fingerprint() string {
	return strings.ToUpper(hex.EncodeToString(s.entity.PrimaryKey.Fingerprint))
}

// sign returns text clear-signed, made at now; the same text on the same UTC
// day is signed once.
func (s *SecurityTxtSigner) sign(text []byte, now time.Time) ([]byte, error) {
	day := now.UTC().Truncate(24 * time.Hour)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signed != nil && s.day.Equal(day) && bytes.Equal(s.text, text) {
		return s.signed, nil
	}
	var out bytes.Buffer
	w, err := clearsign.Encode(&out, s.key, &packet.Config{Time: func() time.Time { return now }})
	if err != nil {
		return nil, fmt.Errorf("signing security.txt: %w", err)
	}
	if _, err := w.Write(text); err != nil {
		return nil, fmt.Errorf("signing security.txt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("signing security.txt: %w", err)
	}
	s.day, s.text, s.signed = day, bytes.Clone(text), out.Bytes()
	return s.signed, nil
}
