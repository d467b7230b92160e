package keyring

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/store"
)

// Storage keeps wrapped keys apart from tenant data (*store.Store implements it).
type Storage interface {
	TenantKeys(ctx context.Context, tenant strongroom.TenantID) ([]store.WrappedKey, error)
	AddTenantKey(ctx context.Context, k store.WrappedKey) error
	DestroyTenantKeys(ctx context.Context, tenant strongroom.TenantID) ([]store.WrappedKey, error)
	RewrapKeys(ctx context.Context, rewrap func(store.WrappedKey) ([]byte, string, error)) (int, error)
}

// TenantKeys are one tenant's unwrapped keys.
type TenantKeys struct {
	Tenant  strongroom.TenantID
	Current envelope.Key // seals new data
	Index   envelope.IndexKey
	byID    map[uint32]envelope.Key
}

// Key returns the data key with the given id (the id an envelope names).
func (t *TenantKeys) Key(id uint32) (envelope.Key, bool) {
	k, ok := t.byID[id]
	return k, ok
}

// Keyring hands out tenant keys, creating them on first use, and caches them
// unwrapped. A cached entry lives at most CacheTTL, so that a rotation or a
// shredding done by another replica takes effect everywhere within it; in this
// process both take effect at once.
type Keyring struct {
	kek      KEK            // the primary master key: wraps every new key
	keks     map[string]KEK // every master key that may unwrap, by ID
	storage  Storage
	rand     io.Reader
	now      func() time.Time
	cacheTTL time.Duration

	mu    sync.RWMutex
	cache map[strongroom.TenantID]cached

	signingMu sync.Mutex
	signing   *SigningKey // the audit checkpoint key, once loaded
}

type cached struct {
	keys    *TenantKeys
	expires time.Time
}

// Options configure a Keyring.
type Options struct {
	Rand     io.Reader        // nil: crypto/rand
	Now      func() time.Time // nil: time.Now
	CacheTTL time.Duration    // default 1 minute
}

// New returns a keyring over storage with master key kek. Keys wrapped by one
// of the previous master keys still unwrap: master-key rotation without
// downtime is (1) restart with the new key and the old one as previous, (2)
// RewrapAll, (3) drop the previous key.
func New(kek KEK, previous []KEK, storage Storage, opts Options) *Keyring {
	r := &Keyring{kek: kek, keks: map[string]KEK{kek.ID(): kek}, storage: storage, rand: opts.Rand, now: opts.Now,
		cacheTTL: opts.CacheTTL, cache: map[strongroom.TenantID]cached{}}
	for _, p := range previous {
		if _, ok := r.keks[p.ID()]; !ok {
			r.keks[p.ID()] = p
		}
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.cacheTTL <= 0 {
		r.cacheTTL = time.Minute
	}
	return r
}

// KEKID names the master key in use.
func (r *Keyring) KEKID() string { return r.kek.ID() }

// ErrShredded is returned for a tenant whose keys were destroyed.
var ErrShredded = strongroom.Errorf(strongroom.ENOTFOUND, "the organization's keys were destroyed")

// binding is prepended to a key before wrapping and checked after unwrapping, so
// that a wrapped key moved to another tenant, kind or version is refused, with
// any master key (KMS wrapping takes no associated data).
func binding(tenant strongroom.TenantID, kind store.KeyKind, version uint32) []byte {
	var b bytes.Buffer
	b.WriteString("strongroom tenant key v1\x00")
	b.WriteString(string(tenant))
	b.WriteByte(0)
	b.WriteString(string(kind))
	b.WriteByte(0)
	_ = binary.Write(&b, binary.BigEndian, version)
	return b.Bytes()
}

func (r *Keyring) wrap(ctx context.Context, tenant strongroom.TenantID, kind store.KeyKind, version uint32, material []byte) ([]byte, error) {
	w, err := r.kek.Wrap(ctx, append(binding(tenant, kind, version), material...))
	if err != nil {
		return nil, fmt.Errorf("wrapping %s key: %w", kind, err)
	}
	return w, nil
}

func (r *Keyring) unwrap(ctx context.Context, k store.WrappedKey) ([]byte, error) {
	kek, ok := r.keks[k.KEKID]
	if !ok {
		return nil, fmt.Errorf("%s key %d of %s is wrapped by master key %s, which is not configured (configured: %s)",
			k.Kind, k.Version, k.Tenant, k.KEKID, r.kek.ID())
	}
	p, err := kek.Unwrap(ctx, k.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("unwrapping %s key %d of %s with master key %s: %w", k.Kind, k.Version, k.Tenant, k.KEKID, err)
	}
	m, ok := bytes.CutPrefix(p, binding(k.Tenant, k.Kind, k.Version))
	if !ok || len(m) != 32 {
		return nil, fmt.Errorf("key %s/%s/%d is bound to another place", k.Tenant, k.Kind, k.Version)
	}
	return m, nil
}

// Keys returns a tenant's keys, creating the first data and index keys when the
// tenant has none yet.
func (r *Keyring) Keys(ctx context.Context, tenant strongroom.TenantID) (*TenantKeys, error) {
	r.mu.RLock()
	c, ok := r.cache[tenant]
	r.mu.RUnlock()
	if ok && r.now().Before(c.expires) {
		return c.keys, nil
	}
	keys, err := r.load(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		if err := r.create(ctx, tenant); err != nil {
			return nil, err
		}
		if keys, err = r.load(ctx, tenant); err != nil {
			return nil, err
		}
		if keys == nil {
			return nil, errors.New("keyring: keys vanished after creation")
		}
	}
	r.mu.Lock()
	r.cache[tenant] = cached{keys: keys, expires: r.now().Add(r.cacheTTL)}
	r.mu.Unlock()
	return keys, nil
}

// load reads and unwraps a tenant's keys; nil without error when it has none,
// or only the index key that create stores first.
func (r *Keyring) load(ctx context.Context, tenant strongroom.TenantID) (*TenantKeys, error) {
	all, err := r.storage.TenantKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	// The platform's signing key (signing.go) is not a data key.
	stored := slices.DeleteFunc(all, func(k store.WrappedKey) bool { return k.Kind == store.KeySigning })
	if len(stored) == 0 {
		return nil, nil
	}
	t := &TenantKeys{Tenant: tenant, byID: map[uint32]envelope.Key{}}
	haveIndex := false
	for _, k := range stored {
		if k.Kind == store.KeyShredded {
			return nil, ErrShredded
		}
		m, err := r.unwrap(ctx, k)
		if err != nil {
			return nil, err
		}
		switch k.Kind {
		case store.KeyData:
			dk, err := envelope.NewKey(k.Version, m)
			if err != nil {
				return nil, err
			}
			t.byID[k.Version] = dk
			if k.Version >= t.Current.ID() {
				t.Current = dk
			}
		case store.KeyIndex:
			if t.Index, err = envelope.NewIndexKey(m); err != nil {
				return nil, err
			}
			haveIndex = true
		}
	}
	if len(t.byID) == 0 && haveIndex {
		// create stores the index key first and the data key in a second
		// statement: another request is creating this tenant's keys right now,
		// or a crash came between the two. Keys completes them like a first use.
		return nil, nil
	}
	if len(t.byID) == 0 || !haveIndex {
		return nil, fmt.Errorf("keyring: tenant %s has an incomplete keyring", tenant)
	}
	return t, nil
}

// create stores a tenant's index key and then version 1 of its data key, each
// unless it exists. If another request or replica was first, its keys stand; a
// creation cut off between the two is completed.
func (r *Keyring) create(ctx context.Context, tenant strongroom.TenantID) error {
	for _, kind := range []store.KeyKind{store.KeyIndex, store.KeyData} {
		if err := r.add(ctx, tenant, kind, 1); err != nil && strongroom.ErrorCode(err) != strongroom.ECONFLICT {
			return err
		}
	}
	return nil
}

func (r *Keyring) add(ctx context.Context, tenant strongroom.TenantID, kind store.KeyKind, version uint32) error {
	var m []byte
	switch kind {
	case store.KeyData:
		k, err := envelope.GenerateKey(version, r.rand)
		if err != nil {
			return err
		}
		m = k.Material()
	default:
		k, err := envelope.GenerateIndexKey(r.rand)
		if err != nil {
			return err
		}
		m = k.Material()
	}
	w, err := r.wrap(ctx, tenant, kind, version, m)
	if err != nil {
		return err
	}
	return r.storage.AddTenantKey(ctx, store.WrappedKey{Tenant: tenant, Kind: kind, Version: version,
		KEKID: r.kek.ID(), Wrapped: w, CreatedAt: r.now().UTC()})
}

func (r *Keyring) forget(tenant strongroom.TenantID) {
	r.mu.Lock()
	delete(r.cache, tenant)
	r.mu.Unlock()
}

// Rotate adds a new data-key version, used for every new write from now on, and
// returns it. Data sealed with older versions stays readable until resealed.
func (r *Keyring) Rotate(ctx context.Context, tenant strongroom.TenantID) (uint32, error) {
	keys, err := r.Keys(ctx, tenant)
	if err != nil {
		return 0, err
	}
	next := keys.Current.ID() + 1
	if err := r.add(ctx, tenant, store.KeyData, next); err != nil {
		return 0, err
	}
	r.forget(tenant)
	return next, nil
}

// Destroy shreds a tenant's keys: every ciphertext of the tenant, in the live
// store and in every backup, becomes unreadable. It returns what was destroyed
// (for the deletion certificate). The cost does not depend on the data's size.
func (r *Keyring) Destroy(ctx context.Context, tenant strongroom.TenantID) ([]store.WrappedKey, error) {
	gone, err := r.storage.DestroyTenantKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	r.forget(tenant)
	return gone, nil
}

// RewrapAll re-wraps every stored key under the primary master key, in one
// transaction, without touching data (master-key rotation). Keys already under
// it are left as they are. It returns how many keys it re-wrapped.
func (r *Keyring) RewrapAll(ctx context.Context) (int, error) {
	n := 0
	_, err := r.storage.RewrapKeys(ctx, func(k store.WrappedKey) ([]byte, string, error) {
		if k.KEKID == r.kek.ID() {
			return k.Wrapped, k.KEKID, nil
		}
		m, err := r.unwrap(ctx, k)
		if err != nil {
			return nil, "", err
		}
		w, err := r.wrap(ctx, k.Tenant, k.Kind, k.Version, m)
		if err != nil {
			return nil, "", err
		}
		n++
		return w, r.kek.ID(), nil
	})
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	clear(r.cache)
	r.mu.Unlock()
	return n, nil
}
