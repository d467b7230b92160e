package storetest

import (
	"context"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// MFA factors and recovery codes belong to users: global, like them.

func newTOTPFactor(u strongroom.UserID, name string, created int) strongroom.MFAFactor {
	return strongroom.MFAFactor{
		ID:        newID(),
		UserID:    u,
		Kind:      strongroom.MethodTOTP,
		Name:      name,
		Secret:    []byte("sealed TOTP secret of " + name),
		CreatedAt: at(created),
	}
}

func newWebAuthnFactor(u strongroom.UserID, name string, created int) strongroom.MFAFactor {
	return strongroom.MFAFactor{
		ID:           newID(),
		UserID:       u,
		Kind:         strongroom.MethodWebAuthn,
		Name:         name,
		CredentialID: []byte("credential of " + name),
		Secret:       []byte("sealed credential of " + name),
		ConfirmedAt:  ptr(at(created)),
		CreatedAt:    at(created),
		LastUsedAt:   ptr(at(created + 1)),
	}
}

func testFactors(t *testing.T, s *store.Store) {
	ctx := t.Context()
	global := store.Scope{}
	ann, bob := mkUser(t, s, "ann@example.com"), mkUser(t, s, "bob@example.com")
	create := func(t *testing.T, fs ...*strongroom.MFAFactor) {
		t.Helper()
		mustWrite(t, s, global, func(tx *store.Tx) error {
			for _, f := range fs {
				if err := tx.CreateFactor(ctx, f); err != nil {
					return err
				}
			}
			return nil
		})
	}
	factors := func(t *testing.T, u strongroom.UserID) []strongroom.MFAFactor {
		t.Helper()
		return mustGet(t, s, global, func(ctx context.Context, tx *store.Tx) ([]strongroom.MFAFactor, error) {
			return tx.Factors(ctx, u)
		})
	}
	byCredential := func(t *testing.T, id []byte) (*strongroom.MFAFactor, error) {
		t.Helper()
		return get(t, s, global, func(ctx context.Context, tx *store.Tx) (*strongroom.MFAFactor, error) {
			return tx.FactorByCredentialID(ctx, id)
		})
	}
	useTOTP := func(u strongroom.UserID, id string, step int64, when int) boolResult {
		var r boolResult
		r.err = s.Write(ctx, global, func(tx *store.Tx) error {
			var err error
			r.ok, err = tx.UseTOTPFactor(ctx, u, id, step, at(when))
			return err
		})
		return r
	}

	totp, key := newTOTPFactor(ann.ID, "ann's phone", 1), newWebAuthnFactor(ann.ID, "ann's key", 2)
	bobTOTP, bobKey := newTOTPFactor(bob.ID, "bob's phone", 1), newWebAuthnFactor(bob.ID, "bob's key", 2)
	bobTOTP.ConfirmedAt, bobTOTP.LastStep, bobTOTP.LastUsedAt = ptr(at(1)), 42, ptr(at(2))
	create(t, &key, &totp, &bobTOTP, &bobKey)
	unchanged := func(t *testing.T) {
		t.Helper()
		diff(t, "other user's factors", []strongroom.MFAFactor{bobTOTP, bobKey}, factors(t, bob.ID))
	}

	t.Run("list, oldest first", func(t *testing.T) {
		tests := []struct {
			name string
			user strongroom.UserID
			want []strongroom.MFAFactor
		}{
			{"unconfirmed TOTP and a key", ann.ID, []strongroom.MFAFactor{totp, key}},
			{"other user", bob.ID, []strongroom.MFAFactor{bobTOTP, bobKey}},
			{"user without factors", mkUser(t, s, "none@example.com").ID, nil},
			{"unknown user", strongroom.UserID(newID()), nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { diff(t, "factors", tt.want, factors(t, tt.user)) })
		}
	})

	t.Run("by credential ID", func(t *testing.T) {
		tests := []struct {
			name string
			id   []byte
			want *strongroom.MFAFactor
			code string
		}{
			{"key", key.CredentialID, &key, ""},
			{"other user's key", bobKey.CredentialID, &bobKey, ""},
			{"unknown", []byte("unknown credential"), nil, strongroom.ENOTFOUND},
			{"empty (TOTP factors have none)", nil, nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := byCredential(t, tt.id)
				wantCode(t, err, tt.code)
				diff(t, "factor", tt.want, got)
			})
		}
	})

	t.Run("duplicate credential ID", func(t *testing.T) {
		for _, u := range []strongroom.User{ann, bob} {
			dup := newWebAuthnFactor(u.ID, "copy of ann's key", 5)
			dup.CredentialID = key.CredentialID
			wantCode(t, tryWrite(t, s, global, func(ctx context.Context, tx *store.Tx) error { return tx.CreateFactor(ctx, &dup) }),
				strongroom.ECONFLICT)
		}
		got, err := byCredential(t, key.CredentialID)
		wantCode(t, err, "")
		diff(t, "factor", &key, got)
		diff(t, "factors", []strongroom.MFAFactor{totp, key}, factors(t, ann.ID))
		unchanged(t)
	})

	t.Run("several factors without a credential ID", func(t *testing.T) {
		carl := mkUser(t, s, "carl@example.com")
		f1, f2 := newTOTPFactor(carl.ID, "carl's phone", 1), newTOTPFactor(carl.ID, "carl's tablet", 2)
		create(t, &f1, &f2)
		diff(t, "factors", []strongroom.MFAFactor{f1, f2}, factors(t, carl.ID))
	})

	t.Run("unknown user", func(t *testing.T) {
		orphan := newWebAuthnFactor(strongroom.UserID(newID()), "orphan", 1)
		if err := tryWrite(t, s, global, func(ctx context.Context, tx *store.Tx) error { return tx.CreateFactor(ctx, &orphan) }); err == nil {
			t.Fatal("CreateFactor for an unknown user succeeded")
		}
		_, err := byCredential(t, orphan.CredentialID)
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("use TOTP", func(t *testing.T) {
		dora := mkUser(t, s, "dora@example.com")
		f, doraKey := newTOTPFactor(dora.ID, "dora's phone", 1), newWebAuthnFactor(dora.ID, "dora's key", 2)
		create(t, &f, &doraKey)
		want := f
		steps := []struct {
			name string
			user strongroom.UserID
			id   string
			step int64
			ok   bool
		}{
			{"the first code confirms", dora.ID, f.ID, 100, true},
			{"the same step again (replay)", dora.ID, f.ID, 100, false},
			{"an earlier step", dora.ID, f.ID, 99, false},
			{"a later step", dora.ID, f.ID, 101, true},
			{"another user's factor", bob.ID, f.ID, 102, false},
			{"a WebAuthn factor", dora.ID, doraKey.ID, 102, false},
			{"unknown factor", dora.ID, newID(), 102, false},
			{"a much later step", dora.ID, f.ID, 200, true},
		}
		for i, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				when := 10 + i
				r := useTOTP(st.user, st.id, st.step, when)
				wantCode(t, r.err, "")
				if r.ok != st.ok {
					t.Errorf("UseTOTPFactor = %v, want %v", r.ok, st.ok)
				}
				if st.ok {
					want.LastStep, want.LastUsedAt = st.step, ptr(at(when))
					if want.ConfirmedAt == nil {
						want.ConfirmedAt = ptr(at(when)) // the first use stays the confirmation
					}
				}
				diff(t, "factors", []strongroom.MFAFactor{want, doraKey}, factors(t, dora.ID))
			})
		}
		unchanged(t)
	})

	t.Run("use TOTP concurrently", func(t *testing.T) {
		f := newTOTPFactor(ann.ID, "ann's racing phone", 3)
		create(t, &f)
		onlyOneTrue(t, concurrently(racers, func() boolResult { return useTOTP(ann.ID, f.ID, 500, 20) }))
		mustWrite(t, s, global, func(tx *store.Tx) error { return tx.DeleteFactor(ctx, ann.ID, f.ID) })
	})

	t.Run("update WebAuthn", func(t *testing.T) {
		update := func(u strongroom.UserID, id string) error {
			return tryWrite(t, s, global, func(ctx context.Context, tx *store.Tx) error {
				return tx.UpdateWebAuthnFactor(ctx, u, id, []byte("sealed credential, sign count 8"), at(30))
			})
		}
		wantCode(t, update(ann.ID, key.ID), "")
		key.Secret, key.LastUsedAt = []byte("sealed credential, sign count 8"), ptr(at(30))
		got, err := byCredential(t, key.CredentialID)
		wantCode(t, err, "")
		diff(t, "factor", &key, got)

		wantCode(t, update(ann.ID, totp.ID), strongroom.ENOTFOUND) // not a WebAuthn factor
		wantCode(t, update(ann.ID, bobKey.ID), strongroom.ENOTFOUND)
		wantCode(t, update(bob.ID, key.ID), strongroom.ENOTFOUND)
		wantCode(t, update(ann.ID, newID()), strongroom.ENOTFOUND)
		diff(t, "factors", []strongroom.MFAFactor{totp, key}, factors(t, ann.ID))
		unchanged(t)
	})

	t.Run("delete unconfirmed", func(t *testing.T) {
		mustWrite(t, s, global, func(tx *store.Tx) error { return tx.DeleteUnconfirmedFactors(ctx, ann.ID) })
		diff(t, "factors", []strongroom.MFAFactor{key}, factors(t, ann.ID))
		unchanged(t)
	})

	t.Run("delete", func(t *testing.T) {
		del := func(u strongroom.UserID, id string) error {
			return tryWrite(t, s, global, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteFactor(ctx, u, id) })
		}
		wantCode(t, del(bob.ID, key.ID), strongroom.ENOTFOUND)
		diff(t, "factors", []strongroom.MFAFactor{key}, factors(t, ann.ID))
		wantCode(t, del(ann.ID, key.ID), "")
		diff(t, "factors", []strongroom.MFAFactor(nil), factors(t, ann.ID))
		_, err := byCredential(t, key.CredentialID)
		wantCode(t, err, strongroom.ENOTFOUND)
		wantCode(t, del(ann.ID, key.ID), strongroom.ENOTFOUND)
		unchanged(t)

		// The credential can be registered again.
		again := newWebAuthnFactor(ann.ID, "ann's key, again", 40)
		again.CredentialID = key.CredentialID
		create(t, &again)
		got, err := byCredential(t, key.CredentialID)
		wantCode(t, err, "")
		diff(t, "factor", &again, got)
	})
}

func testRecoveryCodes(t *testing.T, s *store.Store) {
	ctx := t.Context()
	global := store.Scope{}
	ann, bob := mkUser(t, s, "ann@example.com"), mkUser(t, s, "bob@example.com")
	codes := func(prefix string, n int) [][]byte {
		var hs [][]byte
		for i := range n {
			hs = append(hs, hash(prefix+string(rune('a'+i))))
		}
		return hs
	}
	replace := func(t *testing.T, u strongroom.UserID, hs [][]byte) {
		t.Helper()
		mustWrite(t, s, global, func(tx *store.Tx) error { return tx.ReplaceRecoveryCodes(ctx, u, hs, at(1)) })
	}
	count := func(t *testing.T, u strongroom.UserID) int {
		t.Helper()
		return mustGet(t, s, global, func(ctx context.Context, tx *store.Tx) (int, error) { return tx.CountRecoveryCodes(ctx, u) })
	}
	use := func(u strongroom.UserID, h []byte) boolResult {
		var r boolResult
		r.err = s.Write(ctx, global, func(tx *store.Tx) error {
			var err error
			r.ok, err = tx.UseRecoveryCode(ctx, u, h)
			return err
		})
		return r
	}

	shared := hash("a code both users happen to have")
	annCodes, bobCodes := append(codes("ann-", 3), shared), append(codes("bob-", 2), shared)
	replace(t, ann.ID, annCodes)
	replace(t, bob.ID, bobCodes)

	t.Run("use once", func(t *testing.T) {
		steps := []struct {
			name       string
			user       strongroom.UserID
			code       []byte
			ok         bool
			annN, bobN int // codes left afterwards
		}{
			{"use a code", ann.ID, annCodes[0], true, 3, 3},
			{"the same code again", ann.ID, annCodes[0], false, 3, 3},
			{"another user's code", ann.ID, bobCodes[0], false, 3, 3},
			{"a wrong code", bob.ID, hash("wrong"), false, 3, 3},
			{"a code both have, used by one", ann.ID, shared, true, 2, 3},
			{"the same code, used by the other", bob.ID, shared, true, 2, 2},
			{"unknown user", strongroom.UserID(newID()), annCodes[1], false, 2, 2},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				r := use(st.user, st.code)
				wantCode(t, r.err, "")
				if r.ok != st.ok {
					t.Errorf("UseRecoveryCode = %v, want %v", r.ok, st.ok)
				}
				if n := count(t, ann.ID); n != st.annN {
					t.Errorf("first user has %d codes, want %d", n, st.annN)
				}
				if n := count(t, bob.ID); n != st.bobN {
					t.Errorf("second user has %d codes, want %d", n, st.bobN)
				}
			})
		}
	})

	t.Run("replace voids the old codes", func(t *testing.T) {
		fresh := codes("ann-new-", 10)
		replace(t, ann.ID, fresh)
		if n := count(t, ann.ID); n != 10 {
			t.Errorf("%d codes after replacing, want 10", n)
		}
		if r := use(ann.ID, annCodes[1]); r.err != nil || r.ok {
			t.Errorf("an old code after replacing: UseRecoveryCode = %v, %v; want false", r.ok, r.err)
		}
		if r := use(ann.ID, fresh[9]); r.err != nil || !r.ok {
			t.Errorf("a new code: UseRecoveryCode = %v, %v; want true", r.ok, r.err)
		}
		if n := count(t, bob.ID); n != 2 {
			t.Errorf("other user has %d codes, want 2", n)
		}
		replace(t, ann.ID, nil)
		if n := count(t, ann.ID); n != 0 {
			t.Errorf("%d codes after replacing with none", n)
		}
	})

	t.Run("use once, concurrently", func(t *testing.T) {
		carl := mkUser(t, s, "carl@example.com")
		cs := codes("carl-", 2)
		replace(t, carl.ID, cs)
		onlyOneTrue(t, concurrently(racers, func() boolResult { return use(carl.ID, cs[0]) }))
		if n := count(t, carl.ID); n != 1 {
			t.Errorf("%d codes left, want 1", n)
		}
	})
}
