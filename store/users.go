package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"strongroom.dev/strongroom"
)

// Users and sessions are global (not tenant-owned): one identity per e-mail.

// CreateUser inserts a user. An e-mail already taken is ECONFLICT.
func (tx *Tx) CreateUser(ctx context.Context, u *strongroom.User) error {
	_, err := tx.exec(ctx,
		`INSERT INTO users (id, email, password_hash, email_verified_at, created_at, operator, password_changed_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		string(u.ID), u.Email, u.PasswordHash, nullMicros(u.EmailVerifiedAt), micros(u.CreatedAt),
		boolInt(u.Operator), nullMicros(u.PasswordChangedAt))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "an account with this e-mail address already exists")
	}
	if err != nil {
		return fmt.Errorf("inserting user: %w", err)
	}
	return nil
}

const userColumns = "id, email, password_hash, email_verified_at, created_at, operator, password_changed_at"

func scanUser(row interface{ Scan(...any) error }) (*strongroom.User, error) {
	var u strongroom.User
	var verified, changed sql.NullInt64
	var created int64
	var operator int
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &verified, &created, &operator, &changed); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "user not found")
		}
		return nil, fmt.Errorf("reading user: %w", err)
	}
	u.CreatedAt, u.Operator = fromMicros(created), operator == 1
	u.EmailVerifiedAt, u.PasswordChangedAt = optMicros(verified), optMicros(changed)
	return &u, nil
}

// optMicros converts a nullable microsecond column.
func optMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// UserByEmail finds a user by normalized e-mail.
func (tx *Tx) UserByEmail(ctx context.Context, email string) (*strongroom.User, error) {
	return scanUser(tx.q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email = $1", email))
}

// UserByID finds a user by ID.
func (tx *Tx) UserByID(ctx context.Context, id strongroom.UserID) (*strongroom.User, error) {
	return scanUser(tx.q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", string(id)))
}

// SetPasswordHash replaces a user's password hash (rehash on parameter upgrade).
func (tx *Tx) SetPasswordHash(ctx context.Context, id strongroom.UserID, hash string) error {
	res, err := tx.exec(ctx, "UPDATE users SET password_hash = $1 WHERE id = $2", hash, string(id))
	return affectedOne(res, err, "user")
}

// ChangePassword sets a new password hash and records when it changed.
func (tx *Tx) ChangePassword(ctx context.Context, id strongroom.UserID, hash string, at time.Time) error {
	res, err := tx.exec(ctx, "UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3",
		hash, micros(at), string(id))
	return affectedOne(res, err, "user")
}

// SetEmailVerified records that the user proved control of their address.
func (tx *Tx) SetEmailVerified(ctx context.Context, id strongroom.UserID, at time.Time) error {
	if _, err := tx.exec(ctx, "UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL",
		micros(at), string(id)); err != nil {
		return fmt.Errorf("verifying e-mail: %w", err)
	}
	return nil
}

// SetOperator grants or withdraws platform operator status.
func (tx *Tx) SetOperator(ctx context.Context, id strongroom.UserID, operator bool) error {
	res, err := tx.exec(ctx, "UPDATE users SET operator = $1 WHERE id = $2", boolInt(operator), string(id))
	return affectedOne(res, err, "user")
}

const sessionColumns = `id, user_id, token_hash, created_at, expires_at, last_seen_at, ip, device_type, user_agent,
	aal, methods, auth_time, idle_seconds, os, browser, cookie`

// CreateSession inserts a session.
func (tx *Tx) CreateSession(ctx context.Context, s *strongroom.Session) error {
	_, err := tx.exec(ctx,
		"INSERT INTO sessions ("+sessionColumns+`)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		string(s.ID), string(s.UserID), s.TokenHash, micros(s.CreatedAt), micros(s.ExpiresAt),
		micros(s.LastSeenAt), s.IP, s.DeviceType, s.UserAgent,
		max(s.AAL, 1), strings.Join(s.Methods, ","), micros(s.AuthTime), int64(s.IdleTimeout/time.Second),
		s.OS, s.Browser, boolInt(s.Cookie))
	if err != nil {
		return fmt.Errorf("inserting session: %w", err)
	}
	return nil
}

func scanSession(row interface{ Scan(...any) error }) (*strongroom.Session, error) {
	var s strongroom.Session
	var created, expires, seen, authTime, idle int64
	var methods string
	var cookie int
	err := row.Scan(&s.ID, &s.UserID, &s.TokenHash, &created, &expires, &seen, &s.IP, &s.DeviceType, &s.UserAgent,
		&s.AAL, &methods, &authTime, &idle, &s.OS, &s.Browser, &cookie)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "session not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = fromMicros(created), fromMicros(expires), fromMicros(seen)
	s.AuthTime, s.IdleTimeout, s.Cookie = fromMicros(authTime), time.Duration(idle)*time.Second, cookie == 1
	if methods != "" {
		s.Methods = strings.Split(methods, ",")
	}
	return &s, nil
}

// SessionByTokenHash finds a session by the SHA-256 hash of its token.
func (tx *Tx) SessionByTokenHash(ctx context.Context, hash []byte) (*strongroom.Session, error) {
	return scanSession(tx.q.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE token_hash = $1", hash))
}

// Sessions lists a user's sessions, most recently seen first.
func (tx *Tx) Sessions(ctx context.Context, user strongroom.UserID) ([]strongroom.Session, error) {
	return list(ctx, tx.q, "sessions", scanSession,
		"SELECT "+sessionColumns+" FROM sessions WHERE user_id = $1 ORDER BY last_seen_at DESC, id", string(user))
}

// TouchSession records activity: the last-seen time and address.
func (tx *Tx) TouchSession(ctx context.Context, id strongroom.SessionID, at time.Time, ip string) error {
	_, err := tx.exec(ctx, "UPDATE sessions SET last_seen_at = $1, ip = $2 WHERE id = $3", micros(at), ip, string(id))
	if err != nil {
		return fmt.Errorf("touching session: %w", err)
	}
	return nil
}

// UpgradeSession replaces a session's token (rotation after MFA or step-up) and
// records its new assurance level, methods and authentication time.
func (tx *Tx) UpgradeSession(ctx context.Context, s *strongroom.Session) error {
	res, err := tx.exec(ctx,
		"UPDATE sessions SET token_hash = $1, aal = $2, methods = $3, auth_time = $4 WHERE id = $5 AND user_id = $6",
		s.TokenHash, max(s.AAL, 1), strings.Join(s.Methods, ","), micros(s.AuthTime), string(s.ID), string(s.UserID))
	return affectedOne(res, err, "session")
}

// ShortenSession lowers a session's idle and absolute lifetimes (an
// organization's stricter lifetimes, applied when the session enters it).
func (tx *Tx) ShortenSession(ctx context.Context, id strongroom.SessionID, idle time.Duration, expires time.Time) error {
	res, err := tx.exec(ctx, "UPDATE sessions SET idle_seconds = $1, expires_at = $2 WHERE id = $3",
		int64(idle/time.Second), micros(expires), string(id))
	return affectedOne(res, err, "session")
}

// DeleteSession ends one session of a user.
func (tx *Tx) DeleteSession(ctx context.Context, user strongroom.UserID, id strongroom.SessionID) error {
	res, err := tx.exec(ctx, "DELETE FROM sessions WHERE id = $1 AND user_id = $2", string(id), string(user))
	return affectedOne(res, err, "session")
}

// DeleteSessions ends every session of a user except keep (when not empty) and
// returns the IDs it ended.
func (tx *Tx) DeleteSessions(ctx context.Context, user strongroom.UserID, keep strongroom.SessionID) ([]strongroom.SessionID, error) {
	if err := tx.mustWrite(); err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx, "DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id",
		string(user), string(keep))
	if err != nil {
		return nil, fmt.Errorf("ending sessions: %w", err)
	}
	defer rows.Close()
	var ids []strongroom.SessionID
	for rows.Next() {
		var id strongroom.SessionID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("ending sessions: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ending sessions: %w", err)
	}
	return ids, nil
}

// DeleteExpiredSessions removes sessions past their absolute lifetime or
// idle longer than their idle lifetime.
func (tx *Tx) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := tx.exec(ctx,
		"DELETE FROM sessions WHERE expires_at <= $1 OR (idle_seconds > 0 AND last_seen_at + idle_seconds * 1000000 <= $1)",
		micros(now))
	if err != nil {
		return 0, fmt.Errorf("deleting expired sessions: %w", err)
	}
	return res.RowsAffected()
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
