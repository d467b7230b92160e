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

// Authentication challenges, MFA factors, recovery codes and federated
// identities are global (they belong to users, not organizations).

const challengeColumns = "id, purpose, user_id, email, token_hash, code_hash, attempts, data, created_at, expires_at"

// CreateChallenge inserts an authentication challenge.
func (tx *Tx) CreateChallenge(ctx context.Context, c *strongroom.AuthChallenge) error {
	var user any
	if c.UserID != nil {
		user = string(*c.UserID)
	}
	_, err := tx.exec(ctx, "INSERT INTO auth_challenges ("+challengeColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		c.ID, c.Purpose, user, c.Email, c.TokenHash, c.CodeHash, c.Attempts, c.Data, micros(c.CreatedAt), micros(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("inserting challenge: %w", err)
	}
	return nil
}

func scanChallenge(row interface{ Scan(...any) error }) (*strongroom.AuthChallenge, error) {
	var c strongroom.AuthChallenge
	var user sql.NullString
	var created, expires int64
	err := row.Scan(&c.ID, &c.Purpose, &user, &c.Email, &c.TokenHash, &c.CodeHash, &c.Attempts, &c.Data, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "challenge not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading challenge: %w", err)
	}
	if user.Valid {
		u := strongroom.UserID(user.String)
		c.UserID = &u
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &c, nil
}

// ChallengeByToken finds a challenge of a purpose by the SHA-256 of its token.
func (tx *Tx) ChallengeByToken(ctx context.Context, purpose string, tokenHash []byte) (*strongroom.AuthChallenge, error) {
	return scanChallenge(tx.q.QueryRowContext(ctx,
		"SELECT "+challengeColumns+" FROM auth_challenges WHERE token_hash = $1 AND purpose = $2", tokenHash, purpose))
}

// LatestChallenge finds the newest challenge of a purpose for an e-mail address.
func (tx *Tx) LatestChallenge(ctx context.Context, purpose, email string) (*strongroom.AuthChallenge, error) {
	return scanChallenge(tx.q.QueryRowContext(ctx,
		"SELECT "+challengeColumns+" FROM auth_challenges WHERE email = $1 AND purpose = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
		email, purpose))
}

// CountChallenges counts the challenges of a purpose for an e-mail address
// created at or after since (to limit how many codes one address receives).
func (tx *Tx) CountChallenges(ctx context.Context, purpose, email string, since time.Time) (int, error) {
	var n int
	err := tx.q.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM auth_challenges WHERE email = $1 AND purpose = $2 AND created_at >= $3",
		email, purpose, micros(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting challenges: %w", err)
	}
	return n, nil
}

// CountChallengeAttempt adds one failed attempt to a challenge and returns the
// new count.
func (tx *Tx) CountChallengeAttempt(ctx context.Context, id string) (int, error) {
	if err := tx.mustWrite(); err != nil {
		return 0, err
	}
	var n int
	err := tx.q.QueryRowContext(ctx,
		"UPDATE auth_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts", id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, strongroom.Errorf(strongroom.ENOTFOUND, "challenge not found")
	}
	if err != nil {
		return 0, fmt.Errorf("counting attempt: %w", err)
	}
	return n, nil
}

// DeleteChallenge removes a challenge; ENOTFOUND when it was already used, so
// that of two concurrent uses only one succeeds.
func (tx *Tx) DeleteChallenge(ctx context.Context, id string) error {
	res, err := tx.exec(ctx, "DELETE FROM auth_challenges WHERE id = $1", id)
	return affectedOne(res, err, "challenge")
}

// DeleteChallenges removes every challenge of a purpose for an e-mail address
// (a new code replaces the old ones; a used reset link voids its siblings).
func (tx *Tx) DeleteChallenges(ctx context.Context, purpose, email string) error {
	if _, err := tx.exec(ctx, "DELETE FROM auth_challenges WHERE email = $1 AND purpose = $2", email, purpose); err != nil {
		return fmt.Errorf("deleting challenges: %w", err)
	}
	return nil
}

// DeleteExpiredChallenges removes challenges that expired at or before now.
func (tx *Tx) DeleteExpiredChallenges(ctx context.Context, now time.Time) (int64, error) {
	res, err := tx.exec(ctx, "DELETE FROM auth_challenges WHERE expires_at <= $1", micros(now))
	if err != nil {
		return 0, fmt.Errorf("deleting expired challenges: %w", err)
	}
	return res.RowsAffected()
}

const factorColumns = "id, user_id, kind, name, credential_id, secret, last_step, confirmed_at, created_at, last_used_at"

// CreateFactor inserts an MFA factor.
func (tx *Tx) CreateFactor(ctx context.Context, f *strongroom.MFAFactor) error {
	var cred any
	if len(f.CredentialID) > 0 {
		cred = f.CredentialID
	}
	_, err := tx.exec(ctx, "INSERT INTO mfa_factors ("+factorColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		f.ID, string(f.UserID), f.Kind, f.Name, cred, f.Secret, f.LastStep, nullMicros(f.ConfirmedAt),
		micros(f.CreatedAt), nullMicros(f.LastUsedAt))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "this credential is already registered")
	}
	if err != nil {
		return fmt.Errorf("inserting factor: %w", err)
	}
	return nil
}

func scanFactor(row interface{ Scan(...any) error }) (*strongroom.MFAFactor, error) {
	var f strongroom.MFAFactor
	var confirmed, used sql.NullInt64
	var created int64
	err := row.Scan(&f.ID, &f.UserID, &f.Kind, &f.Name, &f.CredentialID, &f.Secret, &f.LastStep, &confirmed, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "factor not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading factor: %w", err)
	}
	f.ConfirmedAt, f.LastUsedAt, f.CreatedAt = optMicros(confirmed), optMicros(used), fromMicros(created)
	return &f, nil
}

// Factors lists a user's MFA factors, oldest first.
func (tx *Tx) Factors(ctx context.Context, user strongroom.UserID) ([]strongroom.MFAFactor, error) {
	return list(ctx, tx.q, "factors", scanFactor,
		"SELECT "+factorColumns+" FROM mfa_factors WHERE user_id = $1 ORDER BY created_at, id", string(user))
}

// FactorByCredentialID finds a WebAuthn factor by its credential ID.
func (tx *Tx) FactorByCredentialID(ctx context.Context, id []byte) (*strongroom.MFAFactor, error) {
	return scanFactor(tx.q.QueryRowContext(ctx, "SELECT "+factorColumns+" FROM mfa_factors WHERE credential_id = $1", id))
}

// UseTOTPFactor records a TOTP code's time step, only if it is later than the
// last accepted one: false means the step was already used (replay), even by a
// concurrent request.
func (tx *Tx) UseTOTPFactor(ctx context.Context, user strongroom.UserID, id string, step int64, at time.Time) (bool, error) {
	res, err := tx.exec(ctx,
		`UPDATE mfa_factors SET last_step = $1, last_used_at = $2, confirmed_at = COALESCE(confirmed_at, $2)
		 WHERE id = $3 AND user_id = $4 AND kind = 'totp' AND last_step < $1`,
		step, micros(at), id, string(user))
	if err != nil {
		return false, fmt.Errorf("using factor: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("using factor: %w", err)
	}
	return n == 1, nil
}

// UpdateWebAuthnFactor stores a credential's new state (sign count, flags)
// after a successful assertion.
func (tx *Tx) UpdateWebAuthnFactor(ctx context.Context, user strongroom.UserID, id string, secret []byte, at time.Time) error {
	res, err := tx.exec(ctx,
		"UPDATE mfa_factors SET secret = $1, last_used_at = $2 WHERE id = $3 AND user_id = $4 AND kind = 'webauthn'",
		secret, micros(at), id, string(user))
	return affectedOne(res, err, "factor")
}

// DeleteFactor removes one of a user's factors.
func (tx *Tx) DeleteFactor(ctx context.Context, user strongroom.UserID, id string) error {
	res, err := tx.exec(ctx, "DELETE FROM mfa_factors WHERE id = $1 AND user_id = $2", id, string(user))
	return affectedOne(res, err, "factor")
}

// DeleteUnconfirmedFactors removes TOTP enrolments that were never confirmed.
func (tx *Tx) DeleteUnconfirmedFactors(ctx context.Context, user strongroom.UserID) error {
	_, err := tx.exec(ctx, "DELETE FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NULL", string(user))
	if err != nil {
		return fmt.Errorf("deleting unconfirmed factors: %w", err)
	}
	return nil
}

// ReplaceRecoveryCodes stores a new set of recovery-code hashes, voiding the old.
func (tx *Tx) ReplaceRecoveryCodes(ctx context.Context, user strongroom.UserID, hashes [][]byte, at time.Time) error {
	if _, err := tx.exec(ctx, "DELETE FROM recovery_codes WHERE user_id = $1", string(user)); err != nil {
		return fmt.Errorf("replacing recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.exec(ctx, "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
			string(user), h, micros(at)); err != nil {
			return fmt.Errorf("replacing recovery codes: %w", err)
		}
	}
	return nil
}

// UseRecoveryCode deletes a recovery code by its hash; false when there was none
// (wrong or already used).
func (tx *Tx) UseRecoveryCode(ctx context.Context, user strongroom.UserID, hash []byte) (bool, error) {
	res, err := tx.exec(ctx, "DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2", string(user), hash)
	if err != nil {
		return false, fmt.Errorf("using recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("using recovery code: %w", err)
	}
	return n == 1, nil
}

// CountRecoveryCodes counts a user's unused recovery codes.
func (tx *Tx) CountRecoveryCodes(ctx context.Context, user strongroom.UserID) (int, error) {
	var n int
	if err := tx.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1", string(user)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting recovery codes: %w", err)
	}
	return n, nil
}

// CreateFederatedIdentity links an (issuer, subject) to a user.
func (tx *Tx) CreateFederatedIdentity(ctx context.Context, f *strongroom.FederatedIdentity) error {
	_, err := tx.exec(ctx,
		`INSERT INTO federated_identities (issuer, subject, user_id, email, created_at, last_used_at)
		 VALUES ($1, $2, $3, $4, $5, $6)`,
		f.Issuer, f.Subject, string(f.UserID), f.Email, micros(f.CreatedAt), micros(f.LastUsedAt))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "this account is already linked")
	}
	if err != nil {
		return fmt.Errorf("inserting federated identity: %w", err)
	}
	return nil
}

// FederatedIdentity finds the user linked to (issuer, subject).
func (tx *Tx) FederatedIdentity(ctx context.Context, issuer, subject string) (*strongroom.FederatedIdentity, error) {
	var f strongroom.FederatedIdentity
	var created, used int64
	err := tx.q.QueryRowContext(ctx,
		`SELECT issuer, subject, user_id, email, created_at, last_used_at FROM federated_identities
		 WHERE issuer = $1 AND subject = $2`, issuer, subject).
		Scan(&f.Issuer, &f.Subject, &f.UserID, &f.Email, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "federated identity not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading federated identity: %w", err)
	}
	f.CreatedAt, f.LastUsedAt = fromMicros(created), fromMicros(used)
	return &f, nil
}

// TouchFederatedIdentity records a sign-in through a linked identity.
func (tx *Tx) TouchFederatedIdentity(ctx context.Context, issuer, subject string, at time.Time) error {
	res, err := tx.exec(ctx, "UPDATE federated_identities SET last_used_at = $1 WHERE issuer = $2 AND subject = $3",
		micros(at), issuer, subject)
	return affectedOne(res, err, "federated identity")
}

// OrgSettings returns the bound tenant's settings (the zero value when never set).
func (tx *Tx) OrgSettings(ctx context.Context) (*strongroom.OrgSettings, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	var raw string
	err = tx.q.QueryRowContext(ctx, "SELECT settings FROM org_settings WHERE tenant_id = $1", string(t)).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return &strongroom.OrgSettings{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading settings: %w", err)
	}
	var s strongroom.OrgSettings
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, fmt.Errorf("decoding settings: %w", err)
	}
	return &s, nil
}

// SetOrgSettings replaces the bound tenant's settings.
func (tx *Tx) SetOrgSettings(ctx context.Context, s *strongroom.OrgSettings, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding settings: %w", err)
	}
	_, err = tx.exec(ctx,
		`INSERT INTO org_settings (tenant_id, settings, updated_at) VALUES ($1, $2, $3)
		 ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
		string(t), string(raw), micros(at))
	if err != nil {
		return fmt.Errorf("writing settings: %w", err)
	}
	return nil
}

// TokenTenant returns the organization an API key ("api_key") or invitation
// ("invitation") token belongs to, by the SHA-256 of the token, before the
// tenant is known. On PostgreSQL a SECURITY DEFINER function answers only the
// tenant id.
func (tx *Tx) TokenTenant(ctx context.Context, kind string, hash []byte) (strongroom.TenantID, error) {
	var q string
	switch kind {
	case "api_key":
		q = "SELECT tenant_id FROM api_keys WHERE $1 = 'api_key' AND secret_hash = $2"
	case "invitation":
		q = "SELECT tenant_id FROM invitations WHERE $1 = 'invitation' AND token_hash = $2"
	default:
		// A programming mistake on both engines, not "not found".
		return "", fmt.Errorf("token tenant: unknown kind %q", kind)
	}
	if tx.s.engine == Postgres {
		q = "SELECT token_tenant($1, $2)"
	}
	var t sql.NullString
	err := tx.q.QueryRowContext(ctx, q, kind, hash).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !t.Valid) {
		return "", strongroom.Errorf(strongroom.ENOTFOUND, "token not found")
	}
	if err != nil {
		return "", fmt.Errorf("finding token tenant: %w", err)
	}
	return strongroom.TenantID(t.String), nil
}
