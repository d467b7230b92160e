package storetest

import (
	"context"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// Users and sessions are global: they are reached in a transaction bound to no
// tenant.

func testUsers(t *testing.T, s *store.Store) {
	ctx := t.Context()
	verified := at(5)
	ann := strongroom.User{
		ID:              strongroom.UserID(newID()),
		Email:           "ann@example.com",
		PasswordHash:    "$argon2id$v=19$m=65536,t=3,p=4$YW5uc2FsdA$YW5uaGFzaA",
		EmailVerifiedAt: &verified,
		CreatedAt:       at(0),
	}
	bob := strongroom.User{
		ID:           strongroom.UserID(newID()),
		Email:        "bob@example.com",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$Ym9ic2FsdA$Ym9iaGFzaA",
		CreatedAt:    at(1),
	}
	mustWrite(t, s, store.Scope{}, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, &ann); err != nil {
			return err
		}
		return tx.CreateUser(ctx, &bob)
	})

	byEmail := func(email string) func(context.Context, *store.Tx) (*strongroom.User, error) {
		return func(ctx context.Context, tx *store.Tx) (*strongroom.User, error) { return tx.UserByEmail(ctx, email) }
	}
	byID := func(id strongroom.UserID) func(context.Context, *store.Tx) (*strongroom.User, error) {
		return func(ctx context.Context, tx *store.Tx) (*strongroom.User, error) { return tx.UserByID(ctx, id) }
	}

	t.Run("lookups", func(t *testing.T) {
		tests := []struct {
			name   string
			lookup func(context.Context, *store.Tx) (*strongroom.User, error)
			want   *strongroom.User
			code   string
		}{
			{"by e-mail, verified", byEmail(ann.Email), &ann, ""},
			{"by e-mail, unverified", byEmail(bob.Email), &bob, ""},
			{"by ID", byID(ann.ID), &ann, ""},
			{"by ID, other user", byID(bob.ID), &bob, ""},
			{"unknown e-mail", byEmail("carol@example.com"), nil, strongroom.ENOTFOUND},
			{"e-mail in another case (the store does not normalize)", byEmail("ANN@example.com"), nil, strongroom.ENOTFOUND},
			{"unknown ID", byID(strongroom.UserID(newID())), nil, strongroom.ENOTFOUND},
			{"empty e-mail", byEmail(""), nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := get(t, s, store.Scope{}, tt.lookup)
				wantCode(t, err, tt.code)
				diff(t, "user", tt.want, got)
			})
		}
	})

	t.Run("duplicate e-mail", func(t *testing.T) {
		dup := strongroom.User{ID: strongroom.UserID(newID()), Email: ann.Email, PasswordHash: "x", CreatedAt: at(9)}
		err := s.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.CreateUser(ctx, &dup) })
		wantCode(t, err, strongroom.ECONFLICT)
		got, err := get(t, s, store.Scope{}, byEmail(ann.Email))
		wantCode(t, err, "")
		diff(t, "user after duplicate", &ann, got)
		_, err = get(t, s, store.Scope{}, byID(dup.ID))
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("duplicate ID", func(t *testing.T) {
		dup := strongroom.User{ID: bob.ID, Email: "other@example.com", PasswordHash: "x", CreatedAt: at(9)}
		err := s.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.CreateUser(ctx, &dup) })
		if err == nil {
			t.Fatal("CreateUser with a taken ID succeeded")
		}
		got, _ := get(t, s, store.Scope{}, byID(bob.ID))
		diff(t, "user after duplicate ID", &bob, got)
	})

	t.Run("set password hash", func(t *testing.T) {
		const newHash = "$argon2id$v=19$m=131072,t=4,p=4$bmV3c2FsdA$bmV3aGFzaA"
		mustWrite(t, s, store.Scope{}, func(tx *store.Tx) error { return tx.SetPasswordHash(ctx, bob.ID, newHash) })
		got, err := get(t, s, store.Scope{}, byID(bob.ID))
		wantCode(t, err, "")
		want := bob
		want.PasswordHash = newHash
		diff(t, "user", &want, got)
		// The other user is untouched.
		got, _ = get(t, s, store.Scope{}, byID(ann.ID))
		diff(t, "other user", &ann, got)

		err = s.Write(ctx, store.Scope{}, func(tx *store.Tx) error {
			return tx.SetPasswordHash(ctx, strongroom.UserID(newID()), newHash)
		})
		wantCode(t, err, strongroom.ENOTFOUND)
	})
}

func testSessions(t *testing.T, s *store.Store) {
	ctx := t.Context()
	ann := mkUser(t, s, "ann@example.com")
	bob := mkUser(t, s, "bob@example.com")
	newSession := func(u strongroom.User, token string) strongroom.Session {
		return strongroom.Session{
			ID:         strongroom.SessionID(newID()),
			UserID:     u.ID,
			TokenHash:  hash(token),
			CreatedAt:  at(0),
			ExpiresAt:  at(60 * 24),
			LastSeenAt: at(5),
			IP:         "203.0.113.7",
			DeviceType: "desktop",
			UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
		}
	}
	s1, s2, s3 := newSession(ann, "token-1"), newSession(ann, "token-2"), newSession(bob, "token-3")
	s3.IP, s3.DeviceType = "2001:db8::1", "mobile"
	mustWrite(t, s, store.Scope{}, func(tx *store.Tx) error {
		for _, ss := range []*strongroom.Session{&s1, &s2, &s3} {
			if err := tx.CreateSession(ctx, ss); err != nil {
				return err
			}
		}
		return nil
	})
	byHash := func(h []byte) (*strongroom.Session, error) {
		return get(t, s, store.Scope{}, func(ctx context.Context, tx *store.Tx) (*strongroom.Session, error) {
			return tx.SessionByTokenHash(ctx, h)
		})
	}

	t.Run("by token hash", func(t *testing.T) {
		tests := []struct {
			name string
			hash []byte
			want *strongroom.Session
			code string
		}{
			{"first", hash("token-1"), &s1, ""},
			{"second", hash("token-2"), &s2, ""},
			{"other user", hash("token-3"), &s3, ""},
			{"unknown", hash("token-4"), nil, strongroom.ENOTFOUND},
			{"prefix of a hash", hash("token-1")[:16], nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := byHash(tt.hash)
				wantCode(t, err, tt.code)
				diff(t, "session", tt.want, got)
			})
		}
	})

	t.Run("duplicate token hash", func(t *testing.T) {
		dup := newSession(bob, "token-1")
		err := s.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.CreateSession(ctx, &dup) })
		if err == nil {
			t.Fatal("CreateSession with a taken token hash succeeded")
		}
		got, _ := byHash(hash("token-1"))
		diff(t, "session", &s1, got)
	})

	t.Run("unknown user", func(t *testing.T) {
		orphan := newSession(strongroom.User{ID: strongroom.UserID(newID())}, "token-orphan")
		err := s.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.CreateSession(ctx, &orphan) })
		if err == nil {
			t.Fatal("CreateSession for an unknown user succeeded")
		}
		_, err = byHash(orphan.TokenHash)
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("delete", func(t *testing.T) {
		del := func(u strongroom.UserID, id strongroom.SessionID) error {
			return s.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.DeleteSession(ctx, u, id) })
		}
		// Another user cannot end the session.
		wantCode(t, del(bob.ID, s1.ID), strongroom.ENOTFOUND)
		if _, err := byHash(s1.TokenHash); err != nil {
			t.Fatalf("session gone after another user's delete: %v", err)
		}
		wantCode(t, del(ann.ID, s1.ID), "")
		_, err := byHash(s1.TokenHash)
		wantCode(t, err, strongroom.ENOTFOUND)
		// Only that session ended.
		for _, other := range []strongroom.Session{s2, s3} {
			got, err := byHash(other.TokenHash)
			wantCode(t, err, "")
			diff(t, "remaining session", &other, got)
		}
		wantCode(t, del(ann.ID, s1.ID), strongroom.ENOTFOUND)
		wantCode(t, del(ann.ID, strongroom.SessionID(newID())), strongroom.ENOTFOUND)
	})
}
