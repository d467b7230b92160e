package storetest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

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
	// An operator without a password (made by an invitation or OIDC) who once
	// had one.
	carol := strongroom.User{
		ID:                strongroom.UserID(newID()),
		Email:             "carol@example.com",
		EmailVerifiedAt:   &verified,
		CreatedAt:         at(2),
		Operator:          true,
		PasswordChangedAt: ptr(at(3)),
	}
	mustWrite(t, s, store.Scope{}, func(tx *store.Tx) error {
		for _, u := range []*strongroom.User{&ann, &bob, &carol} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
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
			{"operator without a password, by e-mail", byEmail(carol.Email), &carol, ""},
			{"operator without a password, by ID", byID(carol.ID), &carol, ""},
			{"unknown e-mail", byEmail("dave@example.com"), nil, strongroom.ENOTFOUND},
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

	// The subtests below each change a user of their own and check that the
	// others are untouched.
	write := func(fn func(ctx context.Context, tx *store.Tx) error) error {
		return s.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return fn(ctx, tx) })
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		for _, u := range []strongroom.User{ann, carol} {
			got, err := get(t, s, store.Scope{}, byID(u.ID))
			wantCode(t, err, "")
			diff(t, "other user", &u, got)
		}
	}

	t.Run("change password", func(t *testing.T) {
		u := mkUser(t, s, "change-password@example.com")
		const newHash = "$argon2id$v=19$m=65536,t=3,p=4$Y2hhbmdlZA$Y2hhbmdlZA"
		for i, when := range []time.Time{at(30), at(40)} {
			wantCode(t, write(func(ctx context.Context, tx *store.Tx) error {
				return tx.ChangePassword(ctx, u.ID, newHash+strconv.Itoa(i), when)
			}), "")
			want := u
			want.PasswordHash, want.PasswordChangedAt = newHash+strconv.Itoa(i), ptr(when)
			got, err := get(t, s, store.Scope{}, byID(u.ID))
			wantCode(t, err, "")
			diff(t, "user", &want, got)
		}
		unchanged(t)
		wantCode(t, write(func(ctx context.Context, tx *store.Tx) error {
			return tx.ChangePassword(ctx, strongroom.UserID(newID()), newHash, at(50))
		}), strongroom.ENOTFOUND)
	})

	t.Run("set e-mail verified only once", func(t *testing.T) {
		u := mkUser(t, s, "verify@example.com")
		for _, when := range []time.Time{at(30), at(40)} {
			wantCode(t, write(func(ctx context.Context, tx *store.Tx) error {
				return tx.SetEmailVerified(ctx, u.ID, when)
			}), "")
			want := u
			want.EmailVerifiedAt = ptr(at(30)) // the first proof stands
			got, err := get(t, s, store.Scope{}, byID(u.ID))
			wantCode(t, err, "")
			diff(t, "user", &want, got)
		}
		// A user verified at creation keeps that time.
		wantCode(t, write(func(ctx context.Context, tx *store.Tx) error {
			return tx.SetEmailVerified(ctx, ann.ID, at(50))
		}), "")
		unchanged(t)
	})

	t.Run("set operator", func(t *testing.T) {
		u := mkUser(t, s, "operator@example.com")
		for _, op := range []bool{true, true, false, false} {
			wantCode(t, write(func(ctx context.Context, tx *store.Tx) error {
				return tx.SetOperator(ctx, u.ID, op)
			}), "")
			want := u
			want.Operator = op
			got, err := get(t, s, store.Scope{}, byID(u.ID))
			wantCode(t, err, "")
			diff(t, "user", &want, got)
		}
		unchanged(t)
		wantCode(t, write(func(ctx context.Context, tx *store.Tx) error {
			return tx.SetOperator(ctx, strongroom.UserID(newID()), true)
		}), strongroom.ENOTFOUND)
	})
}

func testSessions(t *testing.T, s *store.Store) {
	ctx := t.Context()
	ann := mkUser(t, s, "ann@example.com")
	bob := mkUser(t, s, "bob@example.com")
	newSession := func(u strongroom.User, token string) strongroom.Session {
		return strongroom.Session{
			ID:          strongroom.SessionID(newID()),
			UserID:      u.ID,
			TokenHash:   hash(token),
			CreatedAt:   at(0),
			ExpiresAt:   at(60 * 24),
			LastSeenAt:  at(5),
			IP:          "203.0.113.7",
			DeviceType:  "desktop",
			UserAgent:   "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
			OS:          "Linux",
			Browser:     "Firefox",
			AAL:         2,
			Methods:     []string{strongroom.MethodPassword, strongroom.MethodTOTP},
			AuthTime:    at(3),
			IdleTimeout: 7 * 24 * time.Hour,
		}
	}
	create := func(t *testing.T, ss ...*strongroom.Session) {
		t.Helper()
		mustWrite(t, s, store.Scope{}, func(tx *store.Tx) error {
			for _, x := range ss {
				if err := tx.CreateSession(ctx, x); err != nil {
					return err
				}
			}
			return nil
		})
	}
	s1, s2, s3 := newSession(ann, "token-1"), newSession(ann, "token-2"), newSession(bob, "token-3")
	s1.Cookie = true
	s2.LastSeenAt = at(7)
	// An e-mailed code alone reaches AAL1 only.
	s3.IP, s3.DeviceType, s3.OS, s3.Browser = "2001:db8::1", "mobile", "Android", "Chrome"
	s3.AAL, s3.Methods, s3.IdleTimeout = 1, []string{strongroom.MethodEmail}, 48*time.Hour
	create(t, &s1, &s2, &s3)
	byHash := func(h []byte) (*strongroom.Session, error) {
		return get(t, s, store.Scope{}, func(ctx context.Context, tx *store.Tx) (*strongroom.Session, error) {
			return tx.SessionByTokenHash(ctx, h)
		})
	}
	list := func(t *testing.T, u strongroom.UserID) []strongroom.Session {
		t.Helper()
		return mustGet(t, s, store.Scope{}, func(ctx context.Context, tx *store.Tx) ([]strongroom.Session, error) {
			return tx.Sessions(ctx, u)
		})
	}
	write := func(fn func(ctx context.Context, tx *store.Tx) error) error {
		return s.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return fn(ctx, tx) })
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

	t.Run("list", func(t *testing.T) {
		// Most recently seen first; ties in ID order.
		carol := mkUser(t, s, "carol@example.com")
		c1, c2, c3, c4 := newSession(carol, "carol-1"), newSession(carol, "carol-2"), newSession(carol, "carol-3"), newSession(carol, "carol-4")
		c1.LastSeenAt, c2.LastSeenAt, c3.LastSeenAt, c4.LastSeenAt = at(5), at(9), at(7), at(7)
		create(t, &c4, &c1, &c3, &c2) // not in the listed order
		tests := []struct {
			name string
			user strongroom.UserID
			want []strongroom.Session
		}{
			{"four sessions", carol.ID, []strongroom.Session{c2, c3, c4, c1}},
			{"two sessions", ann.ID, []strongroom.Session{s2, s1}},
			{"one session", bob.ID, []strongroom.Session{s3}},
			{"user without sessions", mkUser(t, s, "no-sessions@example.com").ID, nil},
			{"unknown user", strongroom.UserID(newID()), nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { diff(t, "sessions", tt.want, list(t, tt.user)) })
		}
	})

	t.Run("touch", func(t *testing.T) {
		dan := mkUser(t, s, "dan@example.com")
		d1, d2 := newSession(dan, "dan-1"), newSession(dan, "dan-2")
		create(t, &d1, &d2)
		wantCode(t, write(func(ctx context.Context, tx *store.Tx) error {
			return tx.TouchSession(ctx, d1.ID, at(20), "198.51.100.9")
		}), "")
		d1.LastSeenAt, d1.IP = at(20), "198.51.100.9"
		got, err := byHash(d1.TokenHash)
		wantCode(t, err, "")
		diff(t, "touched session", &d1, got)
		diff(t, "sessions", []strongroom.Session{d1, d2}, list(t, dan.ID))
		diff(t, "other user's sessions", []strongroom.Session{s2, s1}, list(t, ann.ID))
	})

	t.Run("upgrade", func(t *testing.T) {
		erin := mkUser(t, s, "erin@example.com")
		e1, e2 := newSession(erin, "erin-1"), newSession(erin, "erin-2")
		e1.AAL, e1.Methods = 1, []string{strongroom.MethodPassword}
		create(t, &e1, &e2)
		upgrade := func(x strongroom.Session) error {
			return write(func(ctx context.Context, tx *store.Tx) error { return tx.UpgradeSession(ctx, &x) })
		}

		up := e1
		up.TokenHash, up.AAL, up.AuthTime = hash("erin-1-upgraded"), 2, at(12)
		up.Methods = []string{strongroom.MethodPassword, strongroom.MethodWebAuthn}
		// Only the token, assurance level, methods and authentication time
		// change; the rest of what is passed is ignored.
		ignored := up
		ignored.ExpiresAt, ignored.IP, ignored.IdleTimeout, ignored.Cookie = at(99999), "192.0.2.1", time.Hour, true
		wantCode(t, upgrade(ignored), "")
		got, err := byHash(up.TokenHash)
		wantCode(t, err, "")
		diff(t, "upgraded session", &up, got)
		_, err = byHash(e1.TokenHash)
		wantCode(t, err, strongroom.ENOTFOUND)
		got, err = byHash(e2.TokenHash)
		wantCode(t, err, "")
		diff(t, "other session", &e2, got)

		// Another user's session, or an unknown one, cannot be upgraded.
		stolen := s3
		stolen.UserID, stolen.TokenHash, stolen.AAL = erin.ID, hash("stolen"), 2
		wantCode(t, upgrade(stolen), strongroom.ENOTFOUND)
		got, err = byHash(s3.TokenHash)
		wantCode(t, err, "")
		diff(t, "other user's session", &s3, got)
		_, err = byHash(stolen.TokenHash)
		wantCode(t, err, strongroom.ENOTFOUND)
		unknown := up
		unknown.ID, unknown.TokenHash = strongroom.SessionID(newID()), hash("unknown")
		wantCode(t, upgrade(unknown), strongroom.ENOTFOUND)
	})

	t.Run("delete all but one", func(t *testing.T) {
		fay, gus := mkUser(t, s, "fay@example.com"), mkUser(t, s, "gus@example.com")
		f1, f2, f3, g1 := newSession(fay, "fay-1"), newSession(fay, "fay-2"), newSession(fay, "fay-3"), newSession(gus, "gus-1")
		create(t, &f1, &f2, &f3, &g1)
		deleteSessions := func(t *testing.T, u strongroom.UserID, keep strongroom.SessionID) []strongroom.SessionID {
			t.Helper()
			var ended []strongroom.SessionID
			mustWrite(t, s, store.Scope{}, func(tx *store.Tx) error {
				var err error
				ended, err = tx.DeleteSessions(ctx, u, keep)
				return err
			})
			slices.Sort(ended)
			return ended
		}
		steps := []struct {
			name      string
			user      strongroom.UserID
			keep      strongroom.SessionID
			wantEnded []strongroom.SessionID // in ID order
			wantLeft  []strongroom.Session
		}{
			{"keep the current one", fay.ID, f2.ID, []strongroom.SessionID{f1.ID, f3.ID}, []strongroom.Session{f2}},
			{"keep it again", fay.ID, f2.ID, nil, []strongroom.Session{f2}},
			{"keep another user's session", fay.ID, g1.ID, []strongroom.SessionID{f2.ID}, nil},
			{"nothing left", fay.ID, "", nil, nil},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				diff(t, "ended sessions", st.wantEnded, deleteSessions(t, st.user, st.keep))
				diff(t, "remaining sessions", st.wantLeft, list(t, fay.ID))
				diff(t, "other user's sessions", []strongroom.Session{g1}, list(t, gus.ID))
				diff(t, "first user's sessions", []strongroom.Session{s2, s1}, list(t, ann.ID))
			})
		}
		// keep empty ends every session.
		diff(t, "ended sessions", []strongroom.SessionID{g1.ID}, deleteSessions(t, gus.ID, ""))
		diff(t, "remaining sessions", []strongroom.Session(nil), list(t, gus.ID))
	})

	t.Run("delete expired", func(t *testing.T) {
		hal := mkUser(t, s, "hal@example.com")
		// Every other session of this store expires at(60*24).
		h1, h2, h3 := newSession(hal, "hal-1"), newSession(hal, "hal-2"), newSession(hal, "hal-3")
		h1.ExpiresAt, h2.ExpiresAt, h3.ExpiresAt = at(50), at(100), at(101)
		// h4 lives long but was last seen at(5) with a 30-minute idle lifetime.
		h4 := newSession(hal, "hal-4")
		h4.ExpiresAt, h4.LastSeenAt, h4.IdleTimeout = at(1000), at(5), 30*time.Minute
		create(t, &h1, &h2, &h3, &h4)
		deleteExpired := func(now time.Time) int64 {
			var n int64
			mustWrite(t, s, store.Scope{}, func(tx *store.Tx) error {
				var err error
				n, err = tx.DeleteExpiredSessions(ctx, now)
				return err
			})
			return n
		}
		if n := deleteExpired(at(34)); n != 0 {
			t.Errorf("DeleteExpiredSessions before any expiry removed %d sessions", n)
		}
		if n := deleteExpired(at(49)); n != 1 {
			t.Errorf("DeleteExpiredSessions(at(49)) removed %d sessions, want 1 (idle since at(5) for 30 minutes)", n)
		}
		if n := deleteExpired(at(100)); n != 2 {
			t.Errorf("DeleteExpiredSessions(at(100)) removed %d sessions, want 2 (expired, and expiring at that instant)", n)
		}
		diff(t, "remaining sessions", []strongroom.Session{h3}, list(t, hal.ID))
		diff(t, "other user's sessions", []strongroom.Session{s2, s1}, list(t, ann.ID))
		if n := deleteExpired(at(100)); n != 0 {
			t.Errorf("second DeleteExpiredSessions removed %d sessions", n)
		}
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
