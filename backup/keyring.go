package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// Keyring backups hold the keyring's rows exactly as stored: every tenant key
// still wrapped by the master key (a keyring backup without the master key
// reveals no key), and the tombstones of shredded tenants. They are
// age-encrypted JSON, small (a few keys per tenant), and kept in their own
// location, apart from data backups, so that one stolen place never holds
// both.
//
// Because the keyring only grows — rotation adds versions and keeps the old
// ones; a master-key rotation re-wraps the same keys — the newest keyring
// backup opens every older data backup. Shredding is the one removal: after
// keyring.Destroy, RewriteKeyringBackups writes a new keyring backup from the
// live keyring (the tenant's keys gone, its tombstone in) and deletes every
// older keyring backup, so no keyring backup can open the tenant's data in any
// data backup. It needs no restore identity, which can stay offline.

// KeyringFormat is the keyring backup format version.
const KeyringFormat = 1

// maxKeyring bounds a keyring backup's plaintext (millions of keys).
const maxKeyring = 1 << 30

// KeyringArchive is a keyring backup's plaintext.
type KeyringArchive struct {
	Format    int          `json:"format"`
	Kind      string       `json:"kind"` // "strongroom-keyring"
	CreatedAt time.Time    `json:"created_at"`
	Keys      []KeyringKey `json:"keys"`
}

// KeyringKey is one stored key, still wrapped.
type KeyringKey struct {
	Tenant    strongroom.TenantID `json:"tenant"`
	Kind      store.KeyKind       `json:"kind"`
	Version   uint32              `json:"version"`
	KEKID     string              `json:"kek_id"`
	Wrapped   []byte              `json:"wrapped"`
	CreatedAt time.Time           `json:"created_at"`
}

// WriteKeyring writes an encrypted backup of st's keyring to w.
func WriteKeyring(ctx context.Context, st *store.Store, w io.Writer, recipients []age.Recipient, now time.Time) (*KeyringArchive, error) {
	if len(recipients) == 0 {
		return nil, errors.New("backup: no recipient to encrypt to")
	}
	keys, err := st.AllWrappedKeys(ctx)
	if err != nil {
		return nil, err
	}
	ka := &KeyringArchive{Format: KeyringFormat, Kind: "strongroom-keyring", CreatedAt: now.UTC(), Keys: make([]KeyringKey, 0, len(keys))}
	for _, k := range keys {
		ka.Keys = append(ka.Keys, KeyringKey{Tenant: k.Tenant, Kind: k.Kind, Version: k.Version, KEKID: k.KEKID, Wrapped: k.Wrapped, CreatedAt: k.CreatedAt.UTC()})
	}
	aw, err := age.Encrypt(w, recipients...)
	if err != nil {
		return nil, fmt.Errorf("starting encryption: %w", err)
	}
	if err := json.NewEncoder(aw).Encode(ka); err != nil {
		return nil, fmt.Errorf("writing keyring backup: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("finishing encryption: %w", err)
	}
	return ka, nil
}

// ReadKeyring decrypts and parses a keyring backup.
func ReadKeyring(r io.Reader, identities []age.Identity) (*KeyringArchive, error) {
	if len(identities) == 0 {
		return nil, errors.New("backup: no identity to decrypt with")
	}
	ar, err := age.Decrypt(r, identities...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("backup: the identity does not open this keyring backup: %w", err)
		}
		return nil, fmt.Errorf("backup: opening the keyring backup: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(ar, maxKeyring+1))
	if err != nil {
		return nil, fmt.Errorf("backup: reading the keyring backup: %w", err)
	}
	return parseKeyring(b)
}

// parseKeyring parses and checks a keyring backup's plaintext.
func parseKeyring(b []byte) (*KeyringArchive, error) {
	if len(b) > maxKeyring {
		return nil, formatErr("the keyring backup is over %d bytes", maxKeyring)
	}
	var ka KeyringArchive
	if err := strictJSON(bytes.TrimSpace(b), &ka); err != nil {
		return nil, formatErr("keyring backup: %v", err)
	}
	if ka.Kind != "strongroom-keyring" || ka.Format != KeyringFormat {
		return nil, formatErr("not a keyring backup of format %d (kind %q, format %d)", KeyringFormat, ka.Kind, ka.Format)
	}
	seen := map[string]bool{}
	for _, k := range ka.Keys {
		switch k.Kind {
		case store.KeyData, store.KeyIndex, store.KeyShredded, store.KeySigning:
		default:
			return nil, formatErr("a key of unknown kind %q", k.Kind)
		}
		id := fmt.Sprintf("%s/%s/%d", k.Tenant, k.Kind, k.Version)
		if k.Tenant == "" || seen[id] {
			return nil, formatErr("a key without a tenant or repeated (%s)", id)
		}
		seen[id] = true
	}
	return &ka, nil
}

// RestoreKeyring loads a keyring backup into st's keyring, which must be
// empty; the keys stay wrapped, so the same master key (file or KMS key) must
// be configured to use them.
func RestoreKeyring(ctx context.Context, st *store.Store, r io.Reader, identities []age.Identity) (*KeyringArchive, error) {
	ka, err := ReadKeyring(r, identities)
	if err != nil {
		return nil, err
	}
	keys := make([]store.WrappedKey, 0, len(ka.Keys))
	for _, k := range ka.Keys {
		keys = append(keys, store.WrappedKey{Tenant: k.Tenant, Kind: k.Kind, Version: k.Version, KEKID: k.KEKID, Wrapped: k.Wrapped, CreatedAt: k.CreatedAt})
	}
	if err := st.LoadWrappedKeys(ctx, keys); err != nil {
		return nil, err
	}
	return ka, nil
}

// PutKeyring writes a keyring backup of st into a keyring location, with an
// index (time, key count, size, SHA-256) beside it; in a folder both are
// synced to disk before it returns, as Put's.
func (l *Location) PutKeyring(ctx context.Context, st *store.Store, recipients []age.Recipient, now time.Time) (*Index, error) {
	if l.kind != keyringKind {
		return nil, errors.New("backup: a keyring backup put into a data location")
	}
	name := keyringKind.name(now)
	var b bytes.Buffer
	ka, err := WriteKeyring(ctx, st, &b, recipients, now)
	if err != nil {
		return nil, err
	}
	if err := l.bucket.WriteAll(ctx, name, b.Bytes(), writerOptions("application/octet-stream")); err != nil {
		return nil, fmt.Errorf("writing %s: %w", name, err)
	}
	if err := l.syncArchive(ctx, name); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b.Bytes())
	idx := &Index{Name: name, Format: KeyringFormat, CreatedAt: ka.CreatedAt, Rows: int64(len(ka.Keys)),
		ArchiveBytes: int64(b.Len()), ArchiveSHA256: hex.EncodeToString(sum[:])}
	ib, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the index: %w", err)
	}
	if err := l.bucket.WriteAll(ctx, l.kind.index(name), ib, writerOptions("application/json")); err != nil {
		return nil, fmt.Errorf("writing the index of %s: %w", name, err)
	}
	if err := l.syncObject(l.kind.index(name)); err != nil {
		return nil, err
	}
	return idx, nil
}

// RewriteKeyringBackups is what shredding calls after keyring.Destroy: it
// writes a keyring backup of st's keyring as it is now (without the shredded
// tenants' keys) into the keyring location, then deletes every older keyring
// backup there. It returns the new backup and the names deleted. Data backups
// are left as they are: without a keyring backup holding the tenant's keys,
// its rows in them can no longer be decrypted.
func RewriteKeyringBackups(ctx context.Context, st *store.Store, l *Location, recipients []age.Recipient, now time.Time) (*Index, []string, error) {
	idx, err := l.PutKeyring(ctx, st, recipients, now)
	if err != nil {
		return nil, nil, err
	}
	deleted, err := l.pruneBefore(ctx, idx.CreatedAt)
	if err != nil {
		return idx, deleted, fmt.Errorf("deleting keyring backups from before the shredding: %w", err)
	}
	return idx, deleted, nil
}
