package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/oauthclient"
	"strongroom.dev/strongroom/store"
)

// RefreshSkew is how long before its expiry an access token is refreshed
// rather than handed out.
const RefreshSkew = time.Minute

// revocationTimeout bounds the calls to a provider's revocation endpoint, so
// that a disconnect deletes the tokens promptly whatever the provider does.
const revocationTimeout = 10 * time.Second

// tokenSet is the plaintext of a connection's sealed tokens. It exists only in
// memory; what is stored is its envelope.
type tokenSet struct {
	AccessToken  string     `json:"access_token"`
	RefreshToken string     `json:"refresh_token,omitempty"`
	TokenType    string     `json:"token_type"`
	Expiry       *time.Time `json:"expiry,omitempty"`
	Scopes       []string   `json:"scopes"`
}

// tokenSetFrom builds the set to store from a provider's answer received at
// now; old is the set it replaces (nil for a new connection) and requested the
// scopes asked for: a provider that does not list the granted scopes granted
// those (RFC 6749 section 5.1), or, on refresh, the ones granted before.
func tokenSetFrom(tok *oauthclient.Token, now time.Time, old *tokenSet, requested []string) *tokenSet {
	ts := &tokenSet{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Scopes: tok.Scopes}
	if tok.ExpiresIn > 0 {
		e := now.Add(tok.ExpiresIn)
		ts.Expiry = &e
	}
	if ts.Scopes == nil {
		ts.Scopes = slices.Clone(requested)
		if old != nil {
			ts.Scopes = old.Scopes
		}
	}
	if ts.RefreshToken == "" && old != nil {
		ts.RefreshToken = old.RefreshToken
	}
	return ts
}

// fresh reports whether the access token can still be used at now.
func (ts *tokenSet) fresh(now time.Time) bool {
	return ts.AccessToken != "" && (ts.Expiry == nil || now.Add(RefreshSkew).Before(*ts.Expiry))
}

// sealTokens seals ts into c with the tenant's current key and sets the
// columns that describe it (never the tokens themselves).
func (s *Service) sealTokens(keys *keyring.TenantKeys, c *strongroom.Connection, ts *tokenSet) error {
	b, err := json.Marshal(ts)
	if err != nil {
		return fmt.Errorf("encoding tokens: %w", err)
	}
	env, err := envelope.Seal(keys.Current, connectionAD(keys.Tenant, c.ID), b, s.rand)
	if err != nil {
		return fmt.Errorf("sealing tokens: %w", err)
	}
	c.Tokens, c.KeyID = env, keys.Current.ID()
	c.Scopes, c.ExpiresAt, c.Refreshable = ts.Scopes, ts.Expiry, ts.RefreshToken != ""
	return nil
}

// openTokens opens a connection's sealed tokens. A set that does not open is
// an error, never an empty set.
func openTokens(keys *keyring.TenantKeys, c *strongroom.Connection) (*tokenSet, error) {
	b, err := openSealed(keys, connectionAD(keys.Tenant, c.ID), c.Tokens)
	if err != nil {
		return nil, fmt.Errorf("opening tokens of connection %s: %w", c.ID, err)
	}
	var ts tokenSet
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("decoding tokens of connection %s: %w", c.ID, err)
	}
	return &ts, nil
}

// ConnectionToken is an access token handed to Strongroom's own code.
type ConnectionToken struct {
	AccessToken string
	TokenType   string
	Expiry      *time.Time
}

// ConnectionToken returns a usable access token of a connection for
// Strongroom's own use (an integration calling the provider's API), refreshing
// it first with the refresh token when it has expired or is about to; the new
// tokens are stored sealed and the refresh is audited. It makes no access
// decision: it must never be reachable from a route. The caller's principal
// (the system, when none) is the actor of the audit event.
func (s *Service) ConnectionToken(ctx context.Context, org strongroom.TenantID, id strongroom.ConnectionID) (*ConnectionToken, error) {
	if p := strongroom.PrincipalFrom(ctx); !p.Authenticated() {
		ctx = strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem, RequestID: p.RequestID})
	}
	_, ts, err := s.refreshConnection(ctx, org, id, false)
	if err != nil {
		return nil, err
	}
	return &ConnectionToken{AccessToken: ts.AccessToken, TokenType: ts.TokenType, Expiry: ts.Expiry}, nil
}

// RefreshConnection refreshes a connection's tokens now, whether or not they
// have expired (an Admin's action, also useful to check a connection).
func (s *Service) RefreshConnection(ctx context.Context, org strongroom.TenantID, id strongroom.ConnectionID) (*strongroom.Connection, error) {
	if err := s.Authorize(ctx, access.ConnectionsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	c, _, err := s.refreshConnection(ctx, org, id, true)
	if err != nil {
		return nil, err
	}
	c.Status, c.Tokens = c.State(s.clock()), nil
	return c, nil
}

// refreshConnection returns a connection and its open tokens, refreshed at the
// provider when force is set or the access token is no longer fresh.
//
// Refreshes of one connection never overlap in this process (a per-connection
// lock). Across replicas the stored version is compared and set: when another
// replica stored a refresh first, its tokens are returned and this replica's
// are dropped (see docs/connections.md for what that means at providers that
// rotate refresh tokens).
func (s *Service) refreshConnection(ctx context.Context, org strongroom.TenantID, id strongroom.ConnectionID, force bool) (*strongroom.Connection, *tokenSet, error) {
	unlock := s.connLocks.lock(string(org) + "/" + string(id))
	defer unlock()
	c, err := s.readConnection(ctx, org, id)
	if err != nil {
		return nil, nil, err
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, nil, err
	}
	ts, err := openTokens(keys, c)
	if err != nil {
		return nil, nil, err
	}
	now := s.clock()
	if !force && c.Status == strongroom.ConnectionActive && ts.fresh(now) {
		return c, ts, nil
	}
	meta := map[string]any{"provider": c.Provider, "forced": force}
	switch {
	case !force && c.Status == strongroom.ConnectionFailed:
		return nil, nil, strongroom.Errorf(strongroom.ECONFLICT, "the provider refused to refresh this connection; connect again")
	case ts.RefreshToken == "":
		s.auditAfter(ctx, org, "connection.refresh", "connection", string(id), "no refresh token", meta)
		return nil, nil, strongroom.Errorf(strongroom.ECONFLICT, "the provider issued no refresh token; connect again when the access token expires")
	}
	if _, ok := s.provider(c.Provider); !ok {
		s.auditAfter(ctx, org, "connection.refresh", "connection", string(id), "the provider is no longer configured", meta)
		return nil, nil, strongroom.Errorf(strongroom.ECONFLICT, "the connection's provider is no longer configured")
	}
	tok, err := s.conns.Refresh(ctx, c.Provider, ts.RefreshToken)
	// From here on the provider has answered: what it said is stored and
	// audited even if the caller goes away (a rotated refresh token is only
	// usable from the stored set).
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		reason, e := providerFailure(err, "the provider refused the refresh token")
		if !oauthclient.Refused(err, "invalid_grant") {
			s.auditAfter(ctx, org, "connection.refresh", "connection", string(id), reason, meta)
			if strongroom.ErrorCode(e) == strongroom.EINVALID {
				// The provider refused for another reason (its client
				// configuration, say): not the caller's request.
				e = fmt.Errorf("%w: %w", strongroom.Errorf(strongroom.EUNAVAILABLE, "the provider refused to refresh the token; try again later"), err)
			}
			return nil, nil, e
		}
		// The grant is gone at the provider: the connection stays, marked
		// failed, until an Admin connects again or disconnects it.
		failed := *c
		failed.Status, failed.Version, failed.UpdatedAt = strongroom.ConnectionFailed, c.Version+1, now
		err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
			if _, err := tx.UpdateConnection(ctx, &failed); err != nil {
				return err
			}
			return auditResult(ctx, tx, "connection.refresh", "connection", string(id), strongroom.ResultFailure, reason, meta)
		})
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, strongroom.Errorf(strongroom.ECONFLICT, "the provider refused the refresh token (the grant was revoked or expired); connect again")
	}
	next := *c
	next.Status, next.Version, next.UpdatedAt = strongroom.ConnectionActive, c.Version+1, now
	nts := tokenSetFrom(tok, now, ts, nil)
	if err := s.sealTokens(keys, &next, nts); err != nil {
		return nil, nil, err
	}
	meta["expires_at"], meta["scopes"] = next.ExpiresAt, next.Scopes
	var stored bool
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if stored, err = tx.UpdateConnection(ctx, &next); err != nil || !stored {
			return err
		}
		return audit(ctx, tx, "connection.refresh", "connection", string(id), meta)
	})
	if err != nil {
		return nil, nil, err
	}
	if !stored {
		// Another replica refreshed (or an Admin disconnected) meanwhile.
		if c, err = s.readConnection(ctx, org, id); err != nil {
			return nil, nil, err
		}
		if ts, err = openTokens(keys, c); err != nil {
			return nil, nil, err
		}
		return c, ts, nil
	}
	return &next, nts, nil
}

// Disconnection reports how a disconnect went at the provider.
type Disconnection struct {
	// Revocation is "revoked" (the provider confirmed), "failed" (it refused or
	// could not be reached: revoke the grant at the provider by hand),
	// "unsupported" (it has no revocation endpoint) or "skipped" (the provider
	// is no longer configured, or the tokens could not be opened).
	Revocation string
}

// revocationOutcome is recorded in the disconnect's audit event.
type revocationOutcome struct {
	Result string            `json:"result"`
	Tokens map[string]string `json:"tokens,omitempty"` // token type hint → "revoked" or the provider's error
}

// Disconnect revokes a connection's tokens at the provider (RFC 7009: the
// refresh token, then the access token) and deletes them, whatever the
// revocation's outcome, which the audit event records. The deletion does not
// wait for a revocation longer than revocationTimeout and is not abandoned
// when the caller goes away.
func (s *Service) Disconnect(ctx context.Context, org strongroom.TenantID, id strongroom.ConnectionID) (*Disconnection, error) {
	if err := s.Authorize(ctx, access.ConnectionsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	unlock := s.connLocks.lock(string(org) + "/" + string(id))
	defer unlock()
	c, err := s.readConnection(ctx, org, id)
	if err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	out := s.revoke(ctx, org, c)
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.DeleteConnection(ctx, id); err != nil {
			return err
		}
		return audit(ctx, tx, "connection.disconnect", "connection", string(id),
			map[string]any{"provider": c.Provider, "revocation": out})
	})
	if err != nil {
		return nil, err
	}
	return &Disconnection{Revocation: out.Result}, nil
}

// revoke asks the provider to revoke a connection's tokens.
func (s *Service) revoke(ctx context.Context, org strongroom.TenantID, c *strongroom.Connection) revocationOutcome {
	if _, ok := s.provider(c.Provider); !ok {
		return revocationOutcome{Result: "skipped"}
	}
	keys, err := s.keys.Keys(ctx, org)
	var ts *tokenSet
	if err == nil {
		ts, err = openTokens(keys, c)
	}
	if err != nil {
		s.log.Error("disconnecting without revocation", "err", err, "connection", c.ID,
			"request_id", strongroom.PrincipalFrom(ctx).RequestID)
		return revocationOutcome{Result: "skipped"}
	}
	ctx, cancel := context.WithTimeout(ctx, revocationTimeout)
	defer cancel()
	out := revocationOutcome{Result: "revoked", Tokens: map[string]string{}}
	for _, t := range []struct{ hint, token string }{{"refresh_token", ts.RefreshToken}, {"access_token", ts.AccessToken}} {
		if t.token == "" {
			continue
		}
		err := s.conns.Revoke(ctx, c.Provider, t.token, t.hint)
		var pe *oauthclient.Error
		switch {
		case errors.Is(err, oauthclient.ErrNoRevocation):
			return revocationOutcome{Result: "unsupported"}
		case err == nil:
			out.Tokens[t.hint] = "revoked"
		case errors.As(err, &pe):
			out.Tokens[t.hint] = pe.Code
			// A server that cannot revoke this type of token (RFC 7009
			// section 2.2.1) is not a failure: the refresh token's
			// revocation ends the grant.
			if pe.Code != "unsupported_token_type" {
				out.Result = "failed"
			}
		default:
			out.Tokens[t.hint], out.Result = "unreachable", "failed"
		}
	}
	return out
}

// keyedLocks is a mutex per key, kept only while someone holds or waits for it.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns the function that unlocks it.
func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyedLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
