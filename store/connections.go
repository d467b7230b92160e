package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// OAuthState is a pending authorization request of a connection (DAT-04): the
// server-side half of the OAuth 2.0 state parameter. Only the state's SHA-256 is
// stored; the PKCE code verifier is stored sealed by the caller.
type OAuthState struct {
	StateHash []byte
	UserID    strongroom.UserID // who started it; the connection is made for them
	Provider  string
	Verifier  []byte // the sealed PKCE code verifier (an envelope)
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateOAuthState stores a pending authorization request of the bound tenant.
func (tx *Tx) CreateOAuthState(ctx context.Context, st *OAuthState) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx,
		`INSERT INTO oauth_states (tenant_id, state_hash, user_id, provider, verifier, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		string(t), st.StateHash, string(st.UserID), st.Provider, st.Verifier, micros(st.CreatedAt), micros(st.ExpiresAt))
	if err != nil {
		return fmt.Errorf("inserting oauth state: %w", err)
	}
	return nil
}

// TakeOAuthState deletes the bound tenant's pending request with the given
// state hash and returns it, so that a state is used at most once even by
// concurrent callbacks. A missing one (never issued, or already taken) is
// ENOTFOUND; expiry is the caller's to check.
func (tx *Tx) TakeOAuthState(ctx context.Context, stateHash []byte) (*OAuthState, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	if err := tx.mustWrite(); err != nil {
		return nil, err
	}
	st := OAuthState{StateHash: stateHash}
	var user string
	var created, expires int64
	err = tx.q.QueryRowContext(ctx,
		`DELETE FROM oauth_states WHERE tenant_id = $1 AND state_hash = $2
		 RETURNING user_id, provider, verifier, created_at, expires_at`, string(t), stateHash).
		Scan(&user, &st.Provider, &st.Verifier, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "authorization request not found")
	}
	if err != nil {
		return nil, fmt.Errorf("taking oauth state: %w", err)
	}
	st.UserID, st.CreatedAt, st.ExpiresAt = strongroom.UserID(user), fromMicros(created), fromMicros(expires)
	return &st, nil
}

// DeleteExpiredOAuthStates removes the bound tenant's pending requests that
// expired at or before now, and reports how many.
func (tx *Tx) DeleteExpiredOAuthStates(ctx context.Context, now time.Time) (int64, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	res, err := tx.exec(ctx, "DELETE FROM oauth_states WHERE tenant_id = $1 AND expires_at <= $2", string(t), micros(now))
	if err != nil {
		return 0, fmt.Errorf("deleting expired oauth states: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("deleting expired oauth states: %w", err)
	}
	return n, nil
}

const connectionColumns = "id, provider, status, scopes, connected_by, refreshable, expires_at, key_id, version, created_at, updated_at"

func scanConnection(t strongroom.TenantID, row interface{ Scan(...any) error }, extra ...any) (*strongroom.Connection, error) {
	c := strongroom.Connection{TenantID: t}
	var scopes string
	var refreshable int64
	var expires sql.NullInt64
	var created, updated int64
	dest := append([]any{&c.ID, &c.Provider, &c.Status, &scopes, &c.ConnectedBy, &refreshable, &expires,
		&c.KeyID, &c.Version, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "connection not found")
		}
		return nil, fmt.Errorf("reading connection: %w", err)
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, fmt.Errorf("reading connection %s scopes: %w", c.ID, err)
	}
	if expires.Valid {
		e := fromMicros(expires.Int64)
		c.ExpiresAt = &e
	}
	c.Refreshable, c.CreatedAt, c.UpdatedAt = refreshable == 1, fromMicros(created), fromMicros(updated)
	return &c, nil
}

func scopesJSON(scopes []string) (string, error) {
	if scopes == nil {
		scopes = []string{}
	}
	b, err := json.Marshal(scopes)
	if err != nil {
		return "", fmt.Errorf("encoding connection scopes: %w", err)
	}
	return string(b), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateConnection inserts a connection with its sealed tokens into the bound
// organization. A duplicate ID is ECONFLICT.
func (tx *Tx) CreateConnection(ctx context.Context, c *strongroom.Connection) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	scopes, err := scopesJSON(c.Scopes)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx,
		`INSERT INTO connections (tenant_id, id, provider, status, scopes, connected_by, tokens, key_id, refreshable,
		 expires_at, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		string(t), string(c.ID), c.Provider, string(c.Status), scopes, string(c.ConnectedBy), c.Tokens, c.KeyID,
		boolInt(c.Refreshable), nullMicros(c.ExpiresAt), c.Version, micros(c.CreatedAt), micros(c.UpdatedAt))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "a connection with this ID already exists")
	}
	if err != nil {
		return fmt.Errorf("inserting connection: %w", err)
	}
	c.TenantID = t
	return nil
}

// Connection returns one connection of the bound organization with its sealed
// tokens.
func (tx *Tx) Connection(ctx context.Context, id strongroom.ConnectionID) (*strongroom.Connection, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	var tokens []byte
	c, err := scanConnection(t, tx.q.QueryRowContext(ctx,
		"SELECT "+connectionColumns+", tokens FROM connections WHERE tenant_id = $1 AND id = $2", string(t), string(id)), &tokens)
	if err != nil {
		return nil, err
	}
	c.Tokens = tokens
	return c, nil
}

// Connections lists the bound organization's connections in creation order,
// without their tokens.
func (tx *Tx) Connections(ctx context.Context) ([]strongroom.Connection, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "connections", func(r interface{ Scan(...any) error }) (*strongroom.Connection, error) { return scanConnection(t, r) },
		"SELECT "+connectionColumns+" FROM connections WHERE tenant_id = $1 ORDER BY id", string(t))
}

// UpdateConnection stores a connection's new tokens, key version, scopes,
// expiry and status, and its version, if the stored version is still
// c.Version-1 (compare and set). It reports false, changing nothing, when the
// connection changed meanwhile or is gone.
func (tx *Tx) UpdateConnection(ctx context.Context, c *strongroom.Connection) (bool, error) {
	t, err := tx.tenant()
	if err != nil {
		return false, err
	}
	scopes, err := scopesJSON(c.Scopes)
	if err != nil {
		return false, err
	}
	res, err := tx.exec(ctx,
		`UPDATE connections SET status = $1, scopes = $2, tokens = $3, key_id = $4, refreshable = $5, expires_at = $6,
		 version = $7, updated_at = $8 WHERE tenant_id = $9 AND id = $10 AND version = $11`,
		string(c.Status), scopes, c.Tokens, c.KeyID, boolInt(c.Refreshable), nullMicros(c.ExpiresAt),
		c.Version, micros(c.UpdatedAt), string(t), string(c.ID), c.Version-1)
	if err != nil {
		return false, fmt.Errorf("updating connection: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("updating connection: %w", err)
	}
	return n == 1, nil
}

// DeleteConnection removes a connection and its sealed tokens.
func (tx *Tx) DeleteConnection(ctx context.Context, id strongroom.ConnectionID) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "DELETE FROM connections WHERE tenant_id = $1 AND id = $2", string(t), string(id))
	return affectedOne(res, err, "connection")
}
