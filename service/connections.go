package service

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/oauthclient"
	"strongroom.dev/strongroom/store"
)

// Connections (DAT-04): an organization's Admin connects the organization to a
// third-party platform through OAuth 2.0's authorization-code flow with PKCE.
// The pending request is kept server-side (only the state's hash, the verifier
// sealed); the tokens are sealed with the organization's data key and bound to
// their row; they are refreshed when they expire, and disconnecting revokes
// them at the provider and deletes them. See docs/connections.md.

// ConnectionStateTTL is how long an authorization request may take, from the
// start to the provider's redirect back.
const ConnectionStateTTL = 10 * time.Minute

// errBadState answers every callback whose state is unknown, already used,
// expired or malformed: the same 400, so a prober learns nothing.
var errBadState = strongroom.Errorf(strongroom.EINVALID, "unknown or expired authorization request; start connecting again")

// ConnectionProviders lists the providers the operator configured.
func (s *Service) ConnectionProviders(ctx context.Context, org strongroom.TenantID) ([]oauthclient.Info, error) {
	if err := s.Authorize(ctx, access.ConnectionsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if s.conns == nil {
		return nil, nil
	}
	return s.conns.Providers(), nil
}

func (s *Service) provider(name string) (oauthclient.Info, bool) {
	if s.conns == nil {
		return oauthclient.Info{}, false
	}
	return s.conns.Provider(name)
}

// ConnectionStart is where to send the Admin's browser to grant access.
type ConnectionStart struct {
	AuthorizationURL string
	ExpiresAt        time.Time
}

// stateAD binds a pending request's sealed verifier to its tenant and row.
func stateAD(t strongroom.TenantID, stateHash []byte) envelope.AD {
	return envelope.AD{Tenant: string(t), Table: "oauth_states", Row: hex.EncodeToString(stateHash), Field: "verifier"}
}

// connectionAD binds a connection's sealed tokens to its tenant and row.
func connectionAD(t strongroom.TenantID, id strongroom.ConnectionID) envelope.AD {
	return envelope.AD{Tenant: string(t), Table: "connections", Row: string(id), Field: "tokens"}
}

// StartConnection begins connecting org to provider: it stores a pending
// request bound to the organization and the calling user, single use and
// valid for ConnectionStateTTL, and returns the provider's authorization URL
// with the state and the PKCE S256 challenge.
func (s *Service) StartConnection(ctx context.Context, org strongroom.TenantID, provider string) (*ConnectionStart, error) {
	if err := s.Authorize(ctx, access.ConnectionsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	info, ok := s.provider(provider)
	if !ok {
		return nil, validation("/provider", "is not a configured provider (GET /api/v1/orgs/{org}/connection-providers lists them)")
	}
	p := strongroom.PrincipalFrom(ctx)
	if p.UserID == "" {
		return nil, strongroom.Errorf(strongroom.EFORBIDDEN, "only a user can connect an organization")
	}
	// The state names the organization, so that the callback can bind its
	// transaction to it; the rest is 256 random bits. Only its hash is stored.
	state, stateHash, err := authn.NewToken(s.rand, string(org)+".")
	if err != nil {
		return nil, err
	}
	verifier, _, err := authn.NewToken(s.rand, "") // 43 characters, RFC 7636's recommendation
	if err != nil {
		return nil, err
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, err
	}
	sealed, err := envelope.Seal(keys.Current, stateAD(org, stateHash), []byte(verifier), s.rand)
	if err != nil {
		return nil, fmt.Errorf("sealing code verifier: %w", err)
	}
	authURL, err := s.conns.AuthCodeURL(provider, state, verifier)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	st := &store.OAuthState{StateHash: stateHash, UserID: p.UserID, Provider: provider, Verifier: sealed,
		CreatedAt: now, ExpiresAt: now.Add(ConnectionStateTTL)}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if _, err := tx.DeleteExpiredOAuthStates(ctx, now); err != nil {
			return err
		}
		if err := tx.CreateOAuthState(ctx, st); err != nil {
			return err
		}
		return audit(ctx, tx, "connection.start", "oauth_provider", provider,
			map[string]any{"provider": provider, "scopes": info.Scopes, "expires_at": st.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	return &ConnectionStart{AuthorizationURL: authURL, ExpiresAt: st.ExpiresAt}, nil
}

// CallbackInput is what the provider's redirect carries (RFC 6749 section
// 4.1.2): a code, or an error, and the state.
type CallbackInput struct {
	State string
	Code  string
	Error string // the provider's error code, when it refused
}

// stateOrg returns the organization a state names, if it is well formed.
func stateOrg(state string) (strongroom.TenantID, bool) {
	org, secret, ok := strings.Cut(state, ".")
	if !ok || !ValidID(org) || !authn.WellFormed(secret, "") {
		return "", false
	}
	return strongroom.TenantID(org), true
}

// callbackActor is the principal a callback acts as: the user who started the
// request (the state binds it), from the address the callback came from.
func callbackActor(base *strongroom.Principal, user strongroom.UserID) *strongroom.Principal {
	p := *base
	p.Kind, p.UserID, p.SessionID, p.Membership = strongroom.PrincipalUser, user, "", nil
	return &p
}

// CompleteConnection handles the provider's redirect: it takes the pending
// request its state names (single use), checks that it has not expired and
// that its user is still an Admin, trades the code and the PKCE verifier for
// tokens, and stores them sealed as a new connection. Every outcome of a known
// state is audited; an unknown state changes nothing.
func (s *Service) CompleteConnection(ctx context.Context, in CallbackInput) (*strongroom.Connection, error) {
	org, ok := stateOrg(in.State)
	if !ok || s.conns == nil {
		return nil, errBadState
	}
	stateHash := authn.HashToken(in.State)
	now := s.clock()
	var st *store.OAuthState
	var actx context.Context
	var refusal error // an outcome decided in the transaction, returned after it commits
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if st, err = tx.TakeOAuthState(ctx, stateHash); err != nil {
			return err
		}
		actx = strongroom.WithPrincipal(ctx, callbackActor(strongroom.PrincipalFrom(ctx), st.UserID))
		fail := func(reason string, e error) error {
			refusal = e
			return auditResult(actx, tx, "connection.callback", "oauth_provider", st.Provider,
				strongroom.ResultFailure, reason, map[string]string{"provider": st.Provider})
		}
		switch {
		case !now.Before(st.ExpiresAt):
			return fail("the authorization request expired", errBadState)
		case in.Error != "":
			code := oauthclient.SafeCode(in.Error)
			return fail("the provider answered "+code, strongroom.Errorf(strongroom.EINVALID, "the provider did not grant access (%s)", code))
		case in.Code == "":
			return fail("the callback carried no code", strongroom.Errorf(strongroom.EINVALID, "the callback carries no authorization code"))
		}
		if _, ok := s.provider(st.Provider); !ok {
			return fail("the provider is no longer configured", strongroom.Errorf(strongroom.EINVALID, "the provider is no longer configured"))
		}
		m, err := tx.Member(ctx, st.UserID)
		if err != nil && strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
			return err
		}
		if m == nil || !access.Granted(m.Role, access.ConnectionsWrite) {
			return fail("the user may no longer connect the organization",
				strongroom.Errorf(strongroom.EFORBIDDEN, "you may no longer connect this organization"))
		}
		return nil
	})
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return nil, errBadState // never issued, already used, or another organization's
	}
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, err
	}
	verifier, err := openSealed(keys, stateAD(org, stateHash), st.Verifier)
	if err != nil {
		return nil, fmt.Errorf("opening the code verifier: %w", err)
	}
	tok, err := s.conns.Exchange(ctx, st.Provider, in.Code, string(verifier))
	if err != nil {
		reason, e := providerFailure(err, "the provider refused the authorization code")
		s.auditAfter(actx, org, "connection.callback", "oauth_provider", st.Provider, reason, map[string]string{"provider": st.Provider})
		return nil, e
	}
	// The provider has issued tokens: store them even if the browser has gone.
	actx = context.WithoutCancel(actx)
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	c := &strongroom.Connection{ID: strongroom.ConnectionID(id), Provider: st.Provider, Status: strongroom.ConnectionActive,
		ConnectedBy: st.UserID, Version: 1, CreatedAt: now, UpdatedAt: now}
	info, _ := s.provider(st.Provider)
	if err := s.sealTokens(keys, c, tokenSetFrom(tok, now, nil, info.Scopes)); err != nil {
		return nil, err
	}
	err = s.store.Write(actx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.CreateConnection(actx, c); err != nil {
			return err
		}
		return audit(actx, tx, "connection.callback", "connection", id, map[string]any{
			"provider": c.Provider, "scopes": c.Scopes, "refreshable": c.Refreshable, "expires_at": c.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	c.TenantID, c.Tokens = org, nil
	return c, nil
}

// providerFailure turns an error of a provider's endpoint into the audited
// reason and the error to return: a refusal is the caller's problem (400 with
// refused as the message), anything else is the provider's (503).
func providerFailure(err error, refused string) (string, error) {
	var pe *oauthclient.Error
	if errors.As(err, &pe) {
		return fmt.Sprintf("the provider's %s endpoint answered %d %s", pe.Endpoint, pe.Status, pe.Code),
			strongroom.Errorf(strongroom.EINVALID, "%s (%s)", refused, pe.Code)
	}
	return "the provider could not be reached", fmt.Errorf("%w: %w",
		strongroom.Errorf(strongroom.EUNAVAILABLE, "the provider could not be reached; try again later"), err)
}

// auditResult appends an event with the given result for the principal in
// ctx to tx's tenant.
func auditResult(ctx context.Context, tx *store.Tx, action, targetType, targetID string, result strongroom.AuditResult, reason string, meta any) error {
	e := strongroom.NewAuditEvent(strongroom.PrincipalFrom(ctx), tx.Tenant(), action, targetType, targetID, result)
	e.Reason = reason
	if meta != nil {
		b, err := json.Marshal(meta)
		if err != nil {
			return fmt.Errorf("encoding audit metadata: %w", err)
		}
		e.Metadata = b
	}
	return tx.AppendAudit(ctx, &e)
}

// auditAfter records a failure that happened outside a transaction (at the
// provider) in its own write; a failure to record it is logged.
func (s *Service) auditAfter(ctx context.Context, org strongroom.TenantID, action, targetType, targetID, reason string, meta any) {
	ctx = context.WithoutCancel(ctx) // recorded even when the caller has gone
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		return auditResult(ctx, tx, action, targetType, targetID, strongroom.ResultFailure, reason, meta)
	})
	if err != nil {
		s.log.Error("auditing a connection failure", "err", err, "action", action, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
	}
}

// Connections lists org's connections, without tokens.
func (s *Service) Connections(ctx context.Context, org strongroom.TenantID) ([]strongroom.Connection, error) {
	if err := s.Authorize(ctx, access.ConnectionsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	var out []strongroom.Connection
	err := s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		out, err = tx.Connections(ctx)
		return err
	})
	now := s.clock()
	for i := range out {
		out[i].Status, out[i].Tokens = out[i].State(now), nil
	}
	return out, err
}

// Connection returns one connection, without its tokens.
func (s *Service) Connection(ctx context.Context, org strongroom.TenantID, id strongroom.ConnectionID) (*strongroom.Connection, error) {
	if err := s.Authorize(ctx, access.ConnectionsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	c, err := s.readConnection(ctx, org, id)
	if err != nil {
		return nil, err
	}
	c.Status, c.Tokens = c.State(s.clock()), nil
	return c, nil
}

func (s *Service) readConnection(ctx context.Context, org strongroom.TenantID, id strongroom.ConnectionID) (*strongroom.Connection, error) {
	if !ValidID(string(id)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "connection not found")
	}
	var c *strongroom.Connection
	err := s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		c, err = tx.Connection(ctx, id)
		return err
	})
	return c, err
}

// openSealed opens an envelope with the key its header names.
func openSealed(keys *keyring.TenantKeys, ad envelope.AD, sealed []byte) ([]byte, error) {
	id, err := envelope.KeyID(sealed)
	if err != nil {
		return nil, err
	}
	k, ok := keys.Key(id)
	if !ok {
		return nil, fmt.Errorf("sealed with key %d, which the keyring does not hold", id)
	}
	return envelope.Open(k, ad, sealed)
}
