package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"strongroom.dev/strongroom"
)

// Users and sessions are global (not tenant-owned): one identity per e-mail.

// CreateUser inserts a user. An e-mail already taken is ECONFLICT.
func (tx *Tx) CreateUser(ctx context.Context, u *strongroom.User) error {
	_, err := tx.exec(ctx,
		"INSERT INTO users (id, email, password_hash, email_verified_at, created_at) VALUES ($1, $2, $3, $4, $5)",
		string(u.ID), u.Email, u.PasswordHash, nullMicros(u.EmailVerifiedAt), micros(u.CreatedAt))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "an account with this e-mail address already exists")
	}
	if err != nil {
		return fmt.Errorf("inserting user: %w", err)
	}
	return nil
}

const userColumns = "id, email, password_hash, email_verified_at, created_at"

func scanUser(row interface{ Scan(...any) error }) (*strongroom.User, error) {
	var u strongroom.User
	var verified sql.NullInt64
	var created int64
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &verified, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "user not found")
		}
		return nil, fmt.Errorf("reading user: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	if verified.Valid {
		t := fromMicros(verified.Int64)
		u.EmailVerifiedAt = &t
	}
	return &u, nil
}

// UserByEmail finds a user by normalized e-mail.
func (tx *Tx) UserByEmail(ctx context.Context, email string) (*strongroom.User, error) {
	return scanUser(tx.q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email = $1", email))
}

// UserByID finds a user by ID.
func (tx *Tx) UserByID(ctx context.Context, id strongroom.UserID) (*strongroom.User, error) {
	return scanUser(tx.q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", string(id)))
}

// SetPasswordHash replaces a user's password hash (rehash on parameter upgrade,
// password change).
func (tx *Tx) SetPasswordHash(ctx context.Context, id strongroom.UserID, hash string) error {
	res, err := tx.exec(ctx, "UPDATE users SET password_hash = $1 WHERE id = $2", hash, string(id))
	return affectedOne(res, err, "user")
}

// CreateSession inserts a session.
func (tx *Tx) CreateSession(ctx context.Context, s *strongroom.Session) error {
	_, err := tx.exec(ctx,
		`INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at, last_seen_at, ip, device_type, user_agent)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		string(s.ID), string(s.UserID), s.TokenHash, micros(s.CreatedAt), micros(s.ExpiresAt),
		micros(s.LastSeenAt), s.IP, s.DeviceType, s.UserAgent)
	if err != nil {
		return fmt.Errorf("inserting session: %w", err)
	}
	return nil
}

// SessionByTokenHash finds a session by the SHA-256 hash of its token.
func (tx *Tx) SessionByTokenHash(ctx context.Context, hash []byte) (*strongroom.Session, error) {
	var s strongroom.Session
	var created, expires, seen int64
	err := tx.q.QueryRowContext(ctx,
		`SELECT id, user_id, token_hash, created_at, expires_at, last_seen_at, ip, device_type, user_agent
		 FROM sessions WHERE token_hash = $1`, hash).
		Scan(&s.ID, &s.UserID, &s.TokenHash, &created, &expires, &seen, &s.IP, &s.DeviceType, &s.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "session not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = fromMicros(created), fromMicros(expires), fromMicros(seen)
	return &s, nil
}

// DeleteSession ends one session of a user.
func (tx *Tx) DeleteSession(ctx context.Context, user strongroom.UserID, id strongroom.SessionID) error {
	res, err := tx.exec(ctx, "DELETE FROM sessions WHERE id = $1 AND user_id = $2", string(id), string(user))
	return affectedOne(res, err, "session")
}

// affectedOne turns "no row changed" into ENOTFOUND.
func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("changing %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("changing %s: %w", what, err)
	}
	if n == 0 {
		return strongroom.Errorf(strongroom.ENOTFOUND, "%s not found", what)
	}
	return nil
}
