// Package keyring manages Strongroom's keys: the master key (KEK) from a key
// file, an environment variable or a KMS, and the per-tenant data and index keys
// that it wraps. Tenant keys are versioned by key id; the current version seals
// new data, older versions still open what they sealed until rotation reseals
// it. Destroying a tenant's keys makes its data unreadable everywhere
// (crypto-shredding). All cryptography is done by package envelope.
package keyring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"strongroom.dev/strongroom/envelope"
)

// KEK is a master key that wraps tenant keys. Local keys and KMS keepers
// (package kms) implement it.
type KEK interface {
	Wrap(ctx context.Context, plaintext []byte) ([]byte, error)
	Unwrap(ctx context.Context, wrapped []byte) ([]byte, error)
	// ID is a stable, non-secret name of the key, stored beside each wrapped key.
	ID() string
	Close() error
}

// LocalKEK is a 256-bit master key held in memory, read from a key file or an
// environment variable. It wraps with envelope (AES-256-GCM).
type LocalKEK struct {
	key envelope.Key
	id  string
}

var kekAD = envelope.AD{Table: "keyring", Row: "master-key", Field: "wrap"}

// NewLocalKEK returns a master key from 32 bytes of key material.
func NewLocalKEK(material []byte) (*LocalKEK, error) {
	k, err := envelope.NewKey(1, material)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	// The ID is a fingerprint: it names the key without revealing it.
	sum := sha256.Sum256(append([]byte("strongroom kek id\x00"), material...))
	return &LocalKEK{key: k, id: "local:" + hex.EncodeToString(sum[:8])}, nil
}

// Wrap seals plaintext under the master key.
func (k *LocalKEK) Wrap(_ context.Context, plaintext []byte) ([]byte, error) {
	return envelope.Seal(k.key, kekAD, plaintext, nil)
}

// Unwrap opens what Wrap sealed.
func (k *LocalKEK) Unwrap(_ context.Context, wrapped []byte) ([]byte, error) {
	return envelope.Open(k.key, kekAD, wrapped)
}

// ID names the key by fingerprint.
func (k *LocalKEK) ID() string { return k.id }

// Close does nothing; the key lives as long as the process.
func (k *LocalKEK) Close() error { return nil }

// The key file holds the key as base64 (44 characters) and a newline.
func encodeKeyFile(material []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(material) + "\n")
}

func decodeKey(text string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(b) != 32 {
		return nil, errors.New("must be 32 bytes in standard base64 (44 characters), such as the output of: openssl rand -base64 32")
	}
	return b, nil
}

// LoadKeyFile reads a master key file. A file that group or others can read or
// write is refused: the key protects every tenant's data (fail closed).
func LoadKeyFile(path string) (*LocalKEK, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s has mode %04o: only its owner may read it (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	m, err := decodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return NewLocalKEK(m)
}

// CreateKeyFile generates a master key file (0600, its folder 0700), written
// atomically, unless one exists. created reports a new key: its owner must back
// it up apart from the data.
func CreateKeyFile(path string, r io.Reader) (kek *LocalKEK, created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		k, err := LoadKeyFile(path)
		return k, false, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	if r == nil {
		r = rand.Reader
	}
	m := make([]byte, 32)
	if _, err := io.ReadFull(r, m); err != nil {
		return nil, false, fmt.Errorf("generating master key: %w", err)
	}
	if err := writeFileAtomic(path, encodeKeyFile(m)); err != nil {
		return nil, false, err
	}
	k, err := NewLocalKEK(m)
	return k, true, err
}

// writeFileAtomic writes a secret file: 0600 in a 0700 folder, via a temporary
// file, fsync and rename, so a crash never leaves half a key.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating key folder: %w", err)
	}
	f, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return fmt.Errorf("writing master key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("writing master key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing master key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing master key: %w", err)
	}
	if err := os.Link(tmp, path); err != nil { // fails if the file appeared meanwhile
		return fmt.Errorf("writing master key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// FromEnv reads a base64 master key from the environment variable name. The
// operator names the variable; the key itself never appears in argv.
func FromEnv(name string, getenv func(string) string) (*LocalKEK, error) {
	v := getenv(name)
	if v == "" {
		return nil, fmt.Errorf("master key: environment variable %s is empty or unset", name)
	}
	m, err := decodeKey(v)
	if err != nil {
		return nil, fmt.Errorf("master key in %s: %w", name, err)
	}
	return NewLocalKEK(m)
}
