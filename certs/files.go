package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of certificate validation, for errors.Is. The returned errors wrap them
// with the file and the details.
var (
	// ErrKeyPermissions: the private key file can be read by its group or by
	// other users (mode & 0o077 != 0).
	ErrKeyPermissions = errors.New("private key file is readable by group or others")
	// ErrKeyMismatch: the private key is not the certificate's.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
	// ErrExpired: the certificate's NotAfter has passed.
	ErrExpired = errors.New("certificate has expired")
	// ErrNotYetValid: the certificate's NotBefore is in the future.
	ErrNotYetValid = errors.New("certificate is not valid yet")
	// ErrWeakKey: an RSA key shorter than 2048 bits or an unsupported key type.
	ErrWeakKey = errors.New("certificate key is too weak or of an unsupported type")
)

// DefaultCheckInterval is how often, at most, a FileSource looks at its files.
const DefaultCheckInterval = 30 * time.Second

// maxPEMBytes bounds what is read from a certificate or key file.
const maxPEMBytes = 1 << 20

// FileConfig configures a FileSource.
type FileConfig struct {
	CertFile string // PEM: the leaf certificate first, then intermediates
	KeyFile  string // PEM private key (PKCS #1, PKCS #8 or SEC 1); mode 0600 or stricter
	// CheckEvery is the least time between two looks at the files; default
	// DefaultCheckInterval.
	CheckEvery time.Duration
	Logger     *slog.Logger     // default slog.Default()
	Now        func() time.Time // default time.Now
}

// FileSource serves a certificate loaded from a PEM certificate file and a PEM
// key file and picks up replacements of those files.
//
// Reloading is lazy, with no goroutine to stop: when a certificate is asked
// for (a TLS handshake, Describe) and CheckEvery has passed since the last
// look, one caller reads both files and compares their SHA-256 with what is
// loaded, while concurrent handshakes keep the current certificate. Changed
// files are parsed and validated exactly as at start; on success the new
// certificate is served from the next handshake on, and on failure the error is
// logged once per distinct content and the last good certificate stays in use.
// A half-done replacement (new certificate, old key) is therefore refused as a
// mismatch and taken as soon as the key follows. Replace the files atomically
// (write elsewhere, rename) and, with CheckEvery at its default, expect the new
// certificate within 30 seconds; Reload forces a look (for SIGHUP).
type FileSource struct {
	certFile, keyFile string
	every             time.Duration
	log               *slog.Logger
	now               func() time.Time

	cur       atomic.Pointer[loadedCert]
	nextCheck atomic.Int64 // unix nanoseconds; a look is due from then on

	mu            sync.Mutex  // held while looking at the files
	failedSums    [2][32]byte // content last refused (zero if unreadable)
	lastErr       error       // why; nil when the files hold what is served
	expiredLogged bool
}

type loadedCert struct {
	cert *tls.Certificate // Leaf set
	sums [2][32]byte      // SHA-256 of the certificate and key files
}

// NewFileSource loads and validates the certificate and key. It fails if
// either file is missing or malformed, if the key file can be read by group
// or others (fail closed: fix with chmod 600), if the key is not the
// certificate's, or if the certificate is expired or not valid yet.
func NewFileSource(cfg FileConfig) (*FileSource, error) {
	if cfg.CertFile == "" || cfg.KeyFile == "" {
		return nil, errors.New("certificate file and key file are both required")
	}
	s := &FileSource{
		certFile: cfg.CertFile,
		keyFile:  cfg.KeyFile,
		every:    cfg.CheckEvery,
		log:      cfg.Logger,
		now:      cfg.Now,
	}
	if s.every <= 0 {
		s.every = DefaultCheckInterval
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	lc, err := s.load()
	if err != nil {
		return nil, err
	}
	s.cur.Store(lc)
	s.nextCheck.Store(s.now().Add(s.every).UnixNano())
	s.log.Info("tls certificate loaded", certAttrs(lc.cert.Leaf, s.now())...)
	return s, nil
}

// GetCertificate serves the current certificate, first looking at the files if
// a look is due. It implements tls.Config.GetCertificate.
func (s *FileSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.Certificate(), nil
}

// Certificate returns the current certificate (its Leaf is set), first looking
// at the files if a look is due. Never nil.
func (s *FileSource) Certificate() *tls.Certificate {
	if s.now().UnixNano() >= s.nextCheck.Load() && s.mu.TryLock() {
		// Re-check under the lock: another caller may just have looked.
		if s.now().UnixNano() >= s.nextCheck.Load() {
			_ = s.checkLocked()
		}
		s.mu.Unlock()
	}
	return s.cur.Load().cert
}

// Reload looks at the files now. It returns nil if they are unchanged or the
// new certificate was taken, and the reason otherwise; the last good
// certificate stays in use on error.
func (s *FileSource) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkLocked()
}

// LastError returns why the files as they are now were refused, or nil if the
// certificate in use is what the files hold (as of the last look).
func (s *FileSource) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// checkLocked looks at the files; s.mu is held. A refused content is parsed
// again at every look (a certificate not valid yet becomes valid) but logged
// only once.
func (s *FileSource) checkLocked() error {
	now := s.now()
	s.nextCheck.Store(now.Add(s.every).UnixNano())
	cur := s.cur.Load()
	if now.After(cur.cert.Leaf.NotAfter) && !s.expiredLogged {
		s.expiredLogged = true
		s.log.Error("tls certificate in use has expired; replace the files", certAttrs(cur.cert.Leaf, now)...)
	}
	certPEM, keyPEM, err := s.read()
	var sums [2][32]byte
	if err == nil {
		sums = [2][32]byte{sha256.Sum256(certPEM), sha256.Sum256(keyPEM)}
		if sums == cur.sums {
			s.lastErr = nil
			return nil
		}
		var lc *loadedCert
		if lc, err = s.parse(certPEM, keyPEM, sums); err == nil {
			s.cur.Store(lc)
			s.lastErr, s.expiredLogged = nil, false
			s.log.Info("tls certificate reloaded", certAttrs(lc.cert.Leaf, now)...)
			return nil
		}
	}
	if s.lastErr == nil || sums != s.failedSums || s.lastErr.Error() != err.Error() {
		s.log.Error("tls certificate reload failed; keeping the current certificate",
			"cert_file", s.certFile, "key_file", s.keyFile, "err", err)
	}
	s.failedSums, s.lastErr = sums, err
	return err
}

// load reads, parses and validates both files.
func (s *FileSource) load() (*loadedCert, error) {
	certPEM, keyPEM, err := s.read()
	if err != nil {
		return nil, err
	}
	return s.parse(certPEM, keyPEM, [2][32]byte{sha256.Sum256(certPEM), sha256.Sum256(keyPEM)})
}

// read returns the contents of both files, refusing a key file that group or
// others can read. The mode is taken from the open file, so it describes what
// was read.
func (s *FileSource) read() (certPEM, keyPEM []byte, err error) {
	certPEM, _, err = readFile(s.certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("reading certificate file: %w", err)
	}
	keyPEM, mode, err := readFile(s.keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("reading key file: %w", err)
	}
	if runtime.GOOS != "windows" && mode.Perm()&0o077 != 0 {
		return nil, nil, fmt.Errorf("key file %s has mode %#o: %w; run chmod 600 on it", s.keyFile, mode.Perm(), ErrKeyPermissions)
	}
	return certPEM, keyPEM, nil
}

func readFile(name string) ([]byte, os.FileMode, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPEMBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if len(b) > maxPEMBytes {
		return nil, 0, fmt.Errorf("%s is larger than %d bytes", name, maxPEMBytes)
	}
	return b, fi.Mode(), nil
}

// parse builds and validates the certificate.
func (s *FileSource) parse(certPEM, keyPEM []byte, sums [2][32]byte) (*loadedCert, error) {
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			chain = append(chain, b.Bytes)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			return nil, fmt.Errorf("certificate file %s contains a private key; keep the key in the key file only", s.certFile)
		}
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("certificate file %s holds no PEM CERTIFICATE block", s.certFile)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("parsing the first certificate of %s: %w", s.certFile, err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", s.keyFile, err)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("%s and %s: %w (the first certificate in the file must be the one issued for this key)", s.certFile, s.keyFile, ErrKeyMismatch)
	}
	if err := validateLeaf(leaf, s.now()); err != nil {
		return nil, fmt.Errorf("certificate %s: %w", s.certFile, err)
	}
	cert := &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}
	return &loadedCert{cert: cert, sums: sums}, nil
}

// parseKey parses the first private key in keyPEM: PKCS #8, PKCS #1 (RSA) or
// SEC 1 (EC), as crypto/tls does.
func parseKey(keyPEM []byte) (crypto.Signer, error) {
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM PRIVATE KEY block")
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
			signer, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("unsupported private key type %T", k)
			}
			return signer, nil
		}
		if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		return nil, errors.New("the private key is neither PKCS #8, PKCS #1 nor SEC 1 (an encrypted key is not supported)")
	}
}

// validateLeaf checks the validity period and the key of a certificate.
func validateLeaf(leaf *x509.Certificate, now time.Time) error {
	if now.After(leaf.NotAfter) {
		return fmt.Errorf("%w: NotAfter %s (subject %q)", ErrExpired, leaf.NotAfter.UTC().Format(time.RFC3339), leaf.Subject.String())
	}
	if now.Before(leaf.NotBefore) {
		return fmt.Errorf("%w: NotBefore %s (subject %q)", ErrNotYetValid, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.Subject.String())
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("%w: RSA key of %d bits, at least 2048 required", ErrWeakKey, k.N.BitLen())
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("%w: %T", ErrWeakKey, k)
	}
	return nil
}

// certAttrs describes a certificate for logs.
func certAttrs(leaf *x509.Certificate, now time.Time) []any {
	return []any{
		"subject", leaf.Subject.String(),
		"dns_names", leaf.DNSNames,
		"issuer", leaf.Issuer.String(),
		"serial", leaf.SerialNumber.Text(16),
		"not_after", leaf.NotAfter.UTC().Format(time.RFC3339),
		"days_left", daysLeft(leaf.NotAfter, now),
	}
}
