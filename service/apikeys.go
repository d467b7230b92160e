package service

import (
	"context"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/store"
)

// API keys (IAM-14): per organization, "srk_" plus 256 random bits shown once,
// stored as SHA-256; a role and optionally one client; an expiry; last-used
// time; rotation with an overlap window; revocation effective on the next
// request. Creating and rotating keys needs a recent sign-in.

// MaxAPIKeyLifetime bounds an API key's expiry.
const MaxAPIKeyLifetime = 2 * 365 * 24 * time.Hour

// APIKeyInput describes a new key.
type APIKeyInput struct {
	Name      string
	Role      strongroom.Role
	ClientID  *strongroom.ClientID
	ExpiresAt *time.Time
}

// NewAPIKey is a created key with its secret, shown once.
type NewAPIKey struct {
	Key    strongroom.APIKey
	Secret string
}

func (s *Service) authenticateAPIKey(ctx context.Context, token string, base strongroom.Principal) (*strongroom.Principal, error) {
	hash := authn.HashToken(token)
	gen := s.apiKeys.generation() // before the lookup: see cache
	k, ok := s.apiKeys.get(string(hash))
	if !ok {
		// Two lookups one after the other, never one inside the other: on
		// PostgreSQL each holds a pooled connection, and nesting them lets
		// as many concurrent requests as the pool has connections wait on
		// each other for ever.
		var t strongroom.TenantID
		err := s.store.Lookup(ctx, store.Scope{}, func(tx *store.Tx) error {
			var err error
			t, err = tx.TokenTenant(ctx, "api_key", hash)
			return err
		})
		if err == nil {
			err = s.store.Lookup(ctx, store.TenantScope(t), func(tx *store.Tx) error {
				k, err = tx.APIKeyBySecretHash(ctx, hash)
				return err
			})
		}
		if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			return nil, errInvalidSession
		}
		if err != nil {
			return nil, err
		}
		s.apiKeys.putAt(string(hash), k, gen)
	}
	now := s.clock()
	if !k.Active(now) {
		return nil, errInvalidSession
	}
	if ok, wait := s.guards.api.Allow("key:" + string(k.ID)); !ok {
		s.obs.RateLimited("api")
		return nil, strongroom.RateLimited(wait, "too many requests for this API key")
	}
	p := base
	p.Kind, p.APIKey = strongroom.PrincipalAPIKey, k
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= touchEvery {
		// Use is recorded (and audited) at most once a minute per key.
		pctx := strongroom.WithPrincipal(ctx, &p)
		err := s.store.Write(ctx, store.TenantScope(k.TenantID), func(tx *store.Tx) error {
			if err := tx.TouchAPIKey(ctx, k.ID, now); err != nil {
				return err
			}
			return audit(pctx, tx, "api_key.use", "api_key", string(k.ID), nil)
		})
		if err != nil {
			return nil, err
		}
		touched := *k
		touched.LastUsedAt = &now
		s.apiKeys.putAt(string(hash), &touched, gen)
	}
	return &p, nil
}

// enterOrgWithKey gives an API key the membership its role and client scope
// describe, in its own organization only.
func (s *Service) enterOrgWithKey(ctx context.Context, org strongroom.TenantID) (*strongroom.Principal, error) {
	p := strongroom.PrincipalFrom(ctx)
	k := p.APIKey
	if k == nil || k.TenantID != org {
		return nil, s.Authorize(ctx, access.OrgRead, access.Resource{Tenant: org})
	}
	m := &strongroom.Membership{TenantID: org, Role: k.Role, CreatedAt: k.CreatedAt}
	if k.ClientID != nil {
		m.Clients = []strongroom.ClientID{*k.ClientID}
	}
	q := *p
	q.Membership = m
	return &q, nil
}

// CreateAPIKey creates a key for the organization; its secret is returned once.
func (s *Service) CreateAPIKey(ctx context.Context, org strongroom.TenantID, in APIKeyInput) (*NewAPIKey, error) {
	if err := s.Authorize(ctx, access.APIKeysWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if err := s.requireStepUp(ctx); err != nil {
		return nil, err
	}
	k, err := s.validAPIKey(in)
	if err != nil {
		return nil, err
	}
	secret, err := s.fillAPIKey(ctx, &k)
	if err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.CreateAPIKey(ctx, &k); err != nil {
			return err
		}
		return audit(ctx, tx, "api_key.create", "api_key", string(k.ID),
			map[string]any{"role": k.Role, "client": k.ClientID, "expires_at": k.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	return &NewAPIKey{Key: k, Secret: secret}, nil
}

func (s *Service) validAPIKey(in APIKeyInput) (strongroom.APIKey, error) {
	name, err := validName("/name", in.Name, 100)
	if err != nil {
		return strongroom.APIKey{}, err
	}
	if !in.Role.Valid() {
		return strongroom.APIKey{}, validation("/role", "must be admin, editor or viewer")
	}
	now := s.clock()
	if in.ExpiresAt != nil && (!in.ExpiresAt.After(now) || in.ExpiresAt.Sub(now) > MaxAPIKeyLifetime) {
		return strongroom.APIKey{}, validation("/expires_at", "must be in the future and at most two years ahead")
	}
	if in.Role == strongroom.RoleAdmin && in.ClientID != nil {
		// An Admin sees every client (Principal.Visibility), so the limit
		// would be silently ignored: refused, as for members and invitations.
		return strongroom.APIKey{}, validation("/client_id", "Admin keys see every client and cannot be limited to one")
	}
	if in.ClientID != nil && !ValidID(string(*in.ClientID)) {
		return strongroom.APIKey{}, strongroom.Errorf(strongroom.ENOTFOUND, "client not found")
	}
	return strongroom.APIKey{Name: name, Role: in.Role, ClientID: in.ClientID, ExpiresAt: in.ExpiresAt}, nil
}

// fillAPIKey gives k its ID, secret, prefix and creator.
func (s *Service) fillAPIKey(ctx context.Context, k *strongroom.APIKey) (string, error) {
	id, err := s.newID()
	if err != nil {
		return "", err
	}
	secret, hash, err := authn.NewToken(s.rand, authn.APIKeyPrefix)
	if err != nil {
		return "", err
	}
	k.ID, k.SecretHash, k.Prefix = strongroom.APIKeyID(id), hash, secret[:len(authn.APIKeyPrefix)+8]
	k.CreatedBy, k.CreatedAt = strongroom.PrincipalFrom(ctx).UserID, s.clock()
	return secret, nil
}

// APIKeys lists the organization's keys (never their secrets).
func (s *Service) APIKeys(ctx context.Context, org strongroom.TenantID) ([]strongroom.APIKey, error) {
	if err := s.Authorize(ctx, access.APIKeysRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	var ks []strongroom.APIKey
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		ks, err = tx.APIKeys(ctx)
		return err
	})
	return ks, err
}

// RevokeAPIKey revokes a key; it stops working on its next request.
func (s *Service) RevokeAPIKey(ctx context.Context, org strongroom.TenantID, id strongroom.APIKeyID) error {
	if err := s.Authorize(ctx, access.APIKeysWrite, access.Resource{Tenant: org}); err != nil {
		return err
	}
	if !ValidID(string(id)) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "API key not found")
	}
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.RevokeAPIKey(ctx, id, s.clock()); err != nil {
			return err
		}
		return audit(ctx, tx, "api_key.revoke", "api_key", string(id), nil)
	})
	s.apiKeys.delFunc(func(_ string, v *strongroom.APIKey) bool { return v.ID == id })
	return err
}

// DefaultRotationOverlap is how long a rotated key keeps working by default.
const DefaultRotationOverlap = 24 * time.Hour

// RotateAPIKey creates a replacement with the same name, role, client and
// lifetime, and lets the old key work only until the overlap ends.
func (s *Service) RotateAPIKey(ctx context.Context, org strongroom.TenantID, id strongroom.APIKeyID, overlap time.Duration) (*NewAPIKey, error) {
	if err := s.Authorize(ctx, access.APIKeysWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if err := s.requireStepUp(ctx); err != nil {
		return nil, err
	}
	if !ValidID(string(id)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "API key not found")
	}
	if overlap < 0 || overlap > 30*24*time.Hour {
		return nil, validation("/overlap_seconds", "must be between 0 and 30 days")
	}
	var out NewAPIKey
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		old, err := tx.APIKey(ctx, id)
		if err != nil {
			return err
		}
		if !old.Active(s.clock()) || old.RotatedTo != nil {
			return strongroom.Errorf(strongroom.ECONFLICT, "only an active key that was not rotated yet can be rotated")
		}
		k := strongroom.APIKey{Name: old.Name, Role: old.Role, ClientID: old.ClientID}
		secret, err := s.fillAPIKey(ctx, &k)
		if err != nil {
			return err
		}
		if old.ExpiresAt != nil {
			life := old.ExpiresAt.Sub(old.CreatedAt)
			exp := k.CreatedAt.Add(life)
			k.ExpiresAt = &exp
		}
		if err := tx.CreateAPIKey(ctx, &k); err != nil {
			return err
		}
		if err := tx.RotateAPIKey(ctx, id, k.ID, k.CreatedAt.Add(overlap)); err != nil {
			return err
		}
		out = NewAPIKey{Key: k, Secret: secret}
		return audit(ctx, tx, "api_key.rotate", "api_key", string(id),
			map[string]any{"replacement": k.ID, "overlap_seconds": int64(overlap / time.Second)})
	})
	s.apiKeys.delFunc(func(_ string, v *strongroom.APIKey) bool { return v.ID == id })
	if err != nil {
		return nil, err
	}
	return &out, nil
}
