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

const apiKeyColumns = "id, name, prefix, secret_hash, role, client_id, created_by, created_at, expires_at, last_used_at, revoked_at, rotated_to"

// CreateAPIKey inserts an API key into the bound organization.
func (tx *Tx) CreateAPIKey(ctx context.Context, k *strongroom.APIKey) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx,
		"INSERT INTO api_keys (tenant_id, "+apiKeyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		string(t), string(k.ID), k.Name, k.Prefix, k.SecretHash, string(k.Role), nullClient(k.ClientID), string(k.CreatedBy),
		micros(k.CreatedAt), nullMicros(k.ExpiresAt), nullMicros(k.LastUsedAt), nullMicros(k.RevokedAt), nullKeyID(k.RotatedTo))
	if isForeignKeyViolation(err) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "client not found")
	}
	if err != nil {
		return fmt.Errorf("inserting api key: %w", err)
	}
	k.TenantID = t
	return nil
}

func nullKeyID(k *strongroom.APIKeyID) any {
	if k == nil {
		return nil
	}
	return string(*k)
}

func scanAPIKey(t strongroom.TenantID, row interface{ Scan(...any) error }) (*strongroom.APIKey, error) {
	k := strongroom.APIKey{TenantID: t}
	var client, rotated sql.NullString
	var created int64
	var expires, used, revoked sql.NullInt64
	err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.SecretHash, &k.Role, &client, &k.CreatedBy, &created,
		&expires, &used, &revoked, &rotated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "API key not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading api key: %w", err)
	}
	if client.Valid {
		c := strongroom.ClientID(client.String)
		k.ClientID = &c
	}
	if rotated.Valid {
		r := strongroom.APIKeyID(rotated.String)
		k.RotatedTo = &r
	}
	k.CreatedAt = fromMicros(created)
	k.ExpiresAt, k.LastUsedAt, k.RevokedAt = optMicros(expires), optMicros(used), optMicros(revoked)
	return &k, nil
}

// APIKey returns one API key of the bound organization.
func (tx *Tx) APIKey(ctx context.Context, id strongroom.APIKeyID) (*strongroom.APIKey, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanAPIKey(t, tx.q.QueryRowContext(ctx,
		"SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = $1 AND id = $2", string(t), string(id)))
}

// APIKeyBySecretHash finds an API key of the bound organization by the SHA-256
// of the whole key.
func (tx *Tx) APIKeyBySecretHash(ctx context.Context, hash []byte) (*strongroom.APIKey, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanAPIKey(t, tx.q.QueryRowContext(ctx,
		"SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = $1 AND secret_hash = $2", string(t), hash))
}

// APIKeys lists the bound organization's API keys, newest first.
func (tx *Tx) APIKeys(ctx context.Context) ([]strongroom.APIKey, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "api keys", func(r interface{ Scan(...any) error }) (*strongroom.APIKey, error) { return scanAPIKey(t, r) },
		"SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC", string(t))
}

// RevokeAPIKey marks a key revoked at at; ENOTFOUND if absent or already revoked.
func (tx *Tx) RevokeAPIKey(ctx context.Context, id strongroom.APIKeyID, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL",
		micros(at), string(t), string(id))
	return affectedOne(res, err, "API key")
}

// RotateAPIKey points an old key at its replacement and shortens its life to
// the overlap window's end.
func (tx *Tx) RotateAPIKey(ctx context.Context, id, to strongroom.APIKeyID, until time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx,
		`UPDATE api_keys SET rotated_to = $1,
		   expires_at = CASE WHEN expires_at IS NULL OR expires_at > $2 THEN $2 ELSE expires_at END
		 WHERE tenant_id = $3 AND id = $4 AND revoked_at IS NULL AND rotated_to IS NULL`,
		string(to), micros(until), string(t), string(id))
	return affectedOne(res, err, "API key")
}

// TouchAPIKey records a key's use.
func (tx *Tx) TouchAPIKey(ctx context.Context, id strongroom.APIKeyID, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "UPDATE api_keys SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3",
		micros(at), string(t), string(id)); err != nil {
		return fmt.Errorf("touching api key: %w", err)
	}
	return nil
}

const invitationColumns = "id, email, role, clients, token_hash, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at"

// CreateInvitation inserts an invitation into the bound organization.
func (tx *Tx) CreateInvitation(ctx context.Context, inv *strongroom.Invitation) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	clients, err := json.Marshal(append([]strongroom.ClientID{}, inv.Clients...))
	if err != nil {
		return fmt.Errorf("encoding invitation clients: %w", err)
	}
	_, err = tx.exec(ctx,
		"INSERT INTO invitations (tenant_id, "+invitationColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
		string(t), string(inv.ID), inv.Email, string(inv.Role), string(clients), inv.TokenHash, string(inv.InvitedBy),
		micros(inv.CreatedAt), micros(inv.ExpiresAt), nullMicros(inv.AcceptedAt), nullUserID(inv.AcceptedBy), nullMicros(inv.RevokedAt))
	if err != nil {
		return fmt.Errorf("inserting invitation: %w", err)
	}
	inv.TenantID = t
	return nil
}

func nullUserID(u *strongroom.UserID) any {
	if u == nil {
		return nil
	}
	return string(*u)
}

func scanInvitation(t strongroom.TenantID, row interface{ Scan(...any) error }) (*strongroom.Invitation, error) {
	inv := strongroom.Invitation{TenantID: t}
	var clients string
	var by sql.NullString
	var created, expires int64
	var accepted, revoked sql.NullInt64
	err := row.Scan(&inv.ID, &inv.Email, &inv.Role, &clients, &inv.TokenHash, &inv.InvitedBy, &created, &expires,
		&accepted, &by, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "invitation not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading invitation: %w", err)
	}
	if err := json.Unmarshal([]byte(clients), &inv.Clients); err != nil {
		return nil, fmt.Errorf("decoding invitation clients: %w", err)
	}
	if by.Valid {
		u := strongroom.UserID(by.String)
		inv.AcceptedBy = &u
	}
	inv.CreatedAt, inv.ExpiresAt = fromMicros(created), fromMicros(expires)
	inv.AcceptedAt, inv.RevokedAt = optMicros(accepted), optMicros(revoked)
	return &inv, nil
}

// Invitation returns one invitation of the bound organization.
func (tx *Tx) Invitation(ctx context.Context, id strongroom.InvitationID) (*strongroom.Invitation, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanInvitation(t, tx.q.QueryRowContext(ctx,
		"SELECT "+invitationColumns+" FROM invitations WHERE tenant_id = $1 AND id = $2", string(t), string(id)))
}

// InvitationByTokenHash finds an invitation of the bound organization by the
// SHA-256 of its token.
func (tx *Tx) InvitationByTokenHash(ctx context.Context, hash []byte) (*strongroom.Invitation, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanInvitation(t, tx.q.QueryRowContext(ctx,
		"SELECT "+invitationColumns+" FROM invitations WHERE tenant_id = $1 AND token_hash = $2", string(t), hash))
}

// Invitations lists the bound organization's invitations, newest first.
func (tx *Tx) Invitations(ctx context.Context) ([]strongroom.Invitation, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "invitations", func(r interface{ Scan(...any) error }) (*strongroom.Invitation, error) { return scanInvitation(t, r) },
		"SELECT "+invitationColumns+" FROM invitations WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC", string(t))
}

// AcceptInvitation marks an open invitation accepted by user; ENOTFOUND when it
// was already accepted or revoked (single use, also under concurrency).
func (tx *Tx) AcceptInvitation(ctx context.Context, id strongroom.InvitationID, user strongroom.UserID, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx,
		`UPDATE invitations SET accepted_at = $1, accepted_by = $2
		 WHERE tenant_id = $3 AND id = $4 AND accepted_at IS NULL AND revoked_at IS NULL`,
		micros(at), string(user), string(t), string(id))
	return affectedOne(res, err, "invitation")
}

// RevokeInvitation withdraws an open invitation.
func (tx *Tx) RevokeInvitation(ctx context.Context, id strongroom.InvitationID, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx,
		`UPDATE invitations SET revoked_at = $1
		 WHERE tenant_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL`,
		micros(at), string(t), string(id))
	return affectedOne(res, err, "invitation")
}
