package keyring

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
	"strongroom.dev/strongroom/store"
)

// SigningKey is the platform's Ed25519 key that signs audit checkpoints
// (auditlog.Checkpoint). Its seed is kept in the keyring like the data keys:
// wrapped by the master key, bound to the platform tenant, kind "signing" and
// its version. The private key is unexported; a SigningKey cannot be compared
// with ==, and printing it shows only its key id. It implements crypto.Signer.
type SigningKey struct {
	_    [0]func() // not comparable
	priv ed25519.PrivateKey
	id   string
}

// Public returns the ed25519.PublicKey.
func (k *SigningKey) Public() crypto.PublicKey { return k.PublicKey() }

// PublicKey returns a copy of the public key, which verifies checkpoints.
func (k *SigningKey) PublicKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), k.priv.Public().(ed25519.PublicKey)...)
}

// KeyID names the key (auditlog.KeyID of its public key).
func (k *SigningKey) KeyID() string { return k.id }

// Sign signs message with Ed25519 (opts must be crypto.Hash(0)).
func (k *SigningKey) Sign(r io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.priv.Sign(r, message, opts)
}

// String shows the key id only.
func (k *SigningKey) String() string { return "keyring.SigningKey(" + k.id + ")" }

// GoString shows the key id only.
func (k *SigningKey) GoString() string { return k.String() }

// Format shows the key id only, whatever the verb.
func (k *SigningKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

const signingVersion = 1

// SigningKey returns the platform's checkpoint-signing key, creating it the
// first time (another replica creating it at the same moment wins, and both use
// its key). It is kept in memory from then on.
func (r *Keyring) SigningKey(ctx context.Context) (*SigningKey, error) {
	r.signingMu.Lock()
	defer r.signingMu.Unlock()
	if r.signing != nil {
		return r.signing, nil
	}
	k, err := r.loadSigning(ctx)
	if err != nil || k != nil {
		r.signing = k
		return k, err
	}
	seed := make([]byte, ed25519.SeedSize)
	defer clear(seed)
	rnd := r.rand
	if rnd == nil {
		rnd = rand.Reader
	}
	if _, err := io.ReadFull(rnd, seed); err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	w, err := r.wrap(ctx, strongroom.PlatformTenant, store.KeySigning, signingVersion, seed)
	if err != nil {
		return nil, err
	}
	err = r.storage.AddTenantKey(ctx, store.WrappedKey{Tenant: strongroom.PlatformTenant, Kind: store.KeySigning,
		Version: signingVersion, KEKID: r.kek.ID(), Wrapped: w, CreatedAt: r.now().UTC()})
	if err != nil && strongroom.ErrorCode(err) != strongroom.ECONFLICT {
		return nil, err
	}
	if k, err = r.loadSigning(ctx); err == nil && k == nil {
		err = fmt.Errorf("keyring: signing key vanished after creation")
	}
	r.signing = k
	return k, err
}

// ExistingSigningKey returns the platform's signing key without creating it:
// nil without error when there is none yet.
func (r *Keyring) ExistingSigningKey(ctx context.Context) (*SigningKey, error) {
	r.signingMu.Lock()
	defer r.signingMu.Unlock()
	if r.signing == nil {
		k, err := r.loadSigning(ctx)
		if err != nil {
			return nil, err
		}
		r.signing = k
	}
	return r.signing, nil
}

// loadSigning reads the newest signing key; nil without error when none exists.
func (r *Keyring) loadSigning(ctx context.Context) (*SigningKey, error) {
	stored, err := r.storage.TenantKeys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return nil, err
	}
	var newest *store.WrappedKey
	for i, k := range stored {
		if k.Kind == store.KeySigning && (newest == nil || k.Version > newest.Version) {
			newest = &stored[i]
		}
	}
	if newest == nil {
		return nil, nil
	}
	seed, err := r.unwrap(ctx, *newest)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	priv := ed25519.NewKeyFromSeed(seed)
	return &SigningKey{priv: priv, id: auditlog.KeyID(priv.Public().(ed25519.PublicKey))}, nil
}
