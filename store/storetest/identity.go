package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// Authentication challenges, MFA factors, recovery codes and federated
// identities are global, like users; organization settings are tenant-owned.
// MFA factors and recovery codes are in mfa.go, API keys and invitations in
// apikeys.go.

// tryWrite runs fn in a write transaction and returns its error.
func tryWrite(t testing.TB, s *store.Store, scope store.Scope, fn func(ctx context.Context, tx *store.Tx) error) error {
	t.Helper()
	return s.Write(t.Context(), scope, func(tx *store.Tx) error { return fn(t.Context(), tx) })
}

// concurrently calls fn n times at once and returns the results in no
// particular order.
func concurrently[T any](n int, fn func() T) []T {
	results := make([]T, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return results
}

// racers is how many goroutines try to use something single-use at once.
const racers = 8

// onlyOneSucceeds fails unless exactly one of errs is nil and the others carry
// code.
func onlyOneSucceeds(t testing.TB, errs []error, code string) {
	t.Helper()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantCode(t, err, code)
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent uses succeeded, want 1", won, len(errs))
	}
}

// onlyOneTrue fails unless exactly one of the results is true, without error.
func onlyOneTrue(t testing.TB, results []boolResult) {
	t.Helper()
	won := 0
	for _, r := range results {
		wantCode(t, r.err, "")
		if r.ok {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent uses succeeded, want 1", won, len(results))
	}
}

type boolResult struct {
	ok  bool
	err error
}

func newChallenge(purpose, email string, user *strongroom.UserID, created int) strongroom.AuthChallenge {
	id := newID()
	return strongroom.AuthChallenge{
		ID:        id,
		Purpose:   purpose,
		UserID:    user,
		Email:     email,
		TokenHash: hash("challenge " + id),
		CreatedAt: at(created),
		ExpiresAt: at(created + 10),
	}
}

func testChallenges(t *testing.T, s *store.Store) {
	ctx := t.Context()
	global := store.Scope{}
	ann := mkUser(t, s, "ann@example.com")
	create := func(t *testing.T, cs ...*strongroom.AuthChallenge) {
		t.Helper()
		mustWrite(t, s, global, func(tx *store.Tx) error {
			for _, c := range cs {
				if err := tx.CreateChallenge(ctx, c); err != nil {
					return err
				}
			}
			return nil
		})
	}
	byToken := func(t *testing.T, purpose string, h []byte) (*strongroom.AuthChallenge, error) {
		t.Helper()
		return get(t, s, global, func(ctx context.Context, tx *store.Tx) (*strongroom.AuthChallenge, error) {
			return tx.ChallengeByToken(ctx, purpose, h)
		})
	}
	latest := func(t *testing.T, purpose, email string) (*strongroom.AuthChallenge, error) {
		t.Helper()
		return get(t, s, global, func(ctx context.Context, tx *store.Tx) (*strongroom.AuthChallenge, error) {
			return tx.LatestChallenge(ctx, purpose, email)
		})
	}
	count := func(t *testing.T, purpose, email string, since int) int {
		t.Helper()
		return mustGet(t, s, global, func(ctx context.Context, tx *store.Tx) (int, error) {
			return tx.CountChallenges(ctx, purpose, email, at(since))
		})
	}
	attempt := func(id string) (int, error) {
		var n int
		err := s.Write(ctx, global, func(tx *store.Tx) error {
			var err error
			n, err = tx.CountChallengeAttempt(ctx, id)
			return err
		})
		return n, err
	}
	deleteOne := func(id string) error {
		return s.Write(ctx, global, func(tx *store.Tx) error { return tx.DeleteChallenge(ctx, id) })
	}

	mfa := newChallenge("mfa", ann.Email, &ann.ID, 0)
	mfa.Data = []byte("sealed ceremony state")
	code := newChallenge("email_code", "new@example.com", nil, 1)
	code.CodeHash, code.Attempts = hash("123456"), 2
	create(t, &mfa, &code)

	t.Run("by token", func(t *testing.T) {
		tests := []struct {
			name    string
			purpose string
			hash    []byte
			want    *strongroom.AuthChallenge
			code    string
		}{
			{"with user and data", "mfa", mfa.TokenHash, &mfa, ""},
			{"without user, with code", "email_code", code.TokenHash, &code, ""},
			{"of another purpose", "email_code", mfa.TokenHash, nil, strongroom.ENOTFOUND},
			{"unknown token", "mfa", hash("unknown"), nil, strongroom.ENOTFOUND},
			{"a code's hash as the token", "email_code", code.CodeHash, nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := byToken(t, tt.purpose, tt.hash)
				wantCode(t, err, tt.code)
				diff(t, "challenge", tt.want, got)
			})
		}
	})

	t.Run("refused", func(t *testing.T) {
		dup := newChallenge("mfa", ann.Email, &ann.ID, 5)
		dup.TokenHash = mfa.TokenHash
		orphan := newChallenge("mfa", "orphan@example.com", ptr(strongroom.UserID(newID())), 5)
		tests := []struct {
			name string
			c    strongroom.AuthChallenge
		}{
			{"duplicate token hash", dup},
			{"unknown user", orphan},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tryWrite(t, s, global, func(ctx context.Context, tx *store.Tx) error { return tx.CreateChallenge(ctx, &tt.c) })
				if err == nil {
					t.Fatal("CreateChallenge succeeded")
				}
				if n := count(t, tt.c.Purpose, tt.c.Email, 5); n != 0 {
					t.Errorf("%d challenges stored", n)
				}
				got, err := byToken(t, mfa.Purpose, mfa.TokenHash)
				wantCode(t, err, "")
				diff(t, "challenge", &mfa, got)
			})
		}
	})

	t.Run("count attempts", func(t *testing.T) {
		c := newChallenge("email_code", "attempts@example.com", nil, 0)
		create(t, &c)
		for want := 1; want <= 3; want++ {
			n, err := attempt(c.ID)
			wantCode(t, err, "")
			if n != want {
				t.Errorf("CountChallengeAttempt = %d, want %d", n, want)
			}
		}
		c.Attempts = 3
		got, err := byToken(t, c.Purpose, c.TokenHash)
		wantCode(t, err, "")
		diff(t, "challenge", &c, got)
		got, err = byToken(t, code.Purpose, code.TokenHash)
		wantCode(t, err, "")
		diff(t, "other challenge", &code, got)
		_, err = attempt(newID())
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("count attempts concurrently", func(t *testing.T) {
		// No attempt is lost: each caller sees its own count.
		c := newChallenge("email_code", "racing@example.com", nil, 0)
		create(t, &c)
		type result struct {
			n   int
			err error
		}
		var counts []int
		for _, r := range concurrently(racers, func() result { n, err := attempt(c.ID); return result{n, err} }) {
			wantCode(t, r.err, "")
			counts = append(counts, r.n)
		}
		slices.Sort(counts)
		var want []int
		for i := 1; i <= racers; i++ {
			want = append(want, i)
		}
		diff(t, "counts returned", want, counts)
		got, err := byToken(t, c.Purpose, c.TokenHash)
		wantCode(t, err, "")
		if got != nil && got.Attempts != racers {
			t.Errorf("Attempts = %d, want %d", got.Attempts, racers)
		}
	})

	// Challenges of one address and purpose, for latest, count and delete.
	const email = "latest@example.com"
	l1, l3, l2 := newChallenge("email_code", email, nil, 1), newChallenge("email_code", email, nil, 3), newChallenge("email_code", email, nil, 2)
	l3b := newChallenge("email_code", email, nil, 3) // same time as l3, later ID
	reset := newChallenge("password_reset", email, nil, 9)
	elsewhere := newChallenge("email_code", "elsewhere@example.com", nil, 9)
	create(t, &l1, &l3b, &l3, &l2, &reset, &elsewhere)

	t.Run("latest", func(t *testing.T) {
		tests := []struct {
			name           string
			purpose, email string
			want           *strongroom.AuthChallenge
			code           string
		}{
			{"newest, ties by ID", "email_code", email, &l3b, ""},
			{"of another purpose", "password_reset", email, &reset, ""},
			{"of another address", "email_code", elsewhere.Email, &elsewhere, ""},
			{"unknown address", "email_code", "nobody@example.com", nil, strongroom.ENOTFOUND},
			{"unknown purpose", "oidc", email, nil, strongroom.ENOTFOUND},
			{"address in another case", "email_code", "LATEST@example.com", nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := latest(t, tt.purpose, tt.email)
				wantCode(t, err, tt.code)
				diff(t, "challenge", tt.want, got)
			})
		}
	})

	t.Run("count since", func(t *testing.T) {
		tests := []struct {
			name           string
			purpose, email string
			since, want    int
		}{
			{"all", "email_code", email, 0, 4},
			{"since is inclusive", "email_code", email, 2, 3},
			{"the newest two", "email_code", email, 3, 2},
			{"none since", "email_code", email, 4, 0},
			{"another purpose", "password_reset", email, 0, 1},
			{"another address", "email_code", elsewhere.Email, 0, 1},
			{"unknown address", "email_code", "nobody@example.com", 0, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := count(t, tt.purpose, tt.email, tt.since); got != tt.want {
					t.Errorf("CountChallenges = %d, want %d", got, tt.want)
				}
			})
		}
	})

	t.Run("delete by purpose and address", func(t *testing.T) {
		mustWrite(t, s, global, func(tx *store.Tx) error { return tx.DeleteChallenges(ctx, "email_code", email) })
		for _, c := range []strongroom.AuthChallenge{l1, l2, l3, l3b} {
			_, err := byToken(t, c.Purpose, c.TokenHash)
			wantCode(t, err, strongroom.ENOTFOUND)
		}
		if n := count(t, "email_code", email, 0); n != 0 {
			t.Errorf("%d challenges left", n)
		}
		for _, c := range []strongroom.AuthChallenge{reset, elsewhere, mfa, code} {
			got, err := byToken(t, c.Purpose, c.TokenHash)
			wantCode(t, err, "")
			diff(t, "other challenge", &c, got)
		}
		// Nothing left to delete is not an error.
		mustWrite(t, s, global, func(tx *store.Tx) error { return tx.DeleteChallenges(ctx, "email_code", email) })
	})

	t.Run("delete once", func(t *testing.T) {
		c := newChallenge("mfa", ann.Email, &ann.ID, 0)
		create(t, &c)
		wantCode(t, deleteOne(c.ID), "")
		_, err := byToken(t, c.Purpose, c.TokenHash)
		wantCode(t, err, strongroom.ENOTFOUND)
		wantCode(t, deleteOne(c.ID), strongroom.ENOTFOUND)
		wantCode(t, deleteOne(newID()), strongroom.ENOTFOUND)
		got, err := byToken(t, mfa.Purpose, mfa.TokenHash)
		wantCode(t, err, "")
		diff(t, "other challenge", &mfa, got)
	})

	t.Run("delete once, concurrently", func(t *testing.T) {
		c := newChallenge("mfa", ann.Email, &ann.ID, 0)
		create(t, &c)
		onlyOneSucceeds(t, concurrently(racers, func() error { return deleteOne(c.ID) }), strongroom.ENOTFOUND)
	})

	t.Run("delete expired", func(t *testing.T) {
		deleteExpired := func(now int) int64 {
			var n int64
			mustWrite(t, s, global, func(tx *store.Tx) error {
				var err error
				n, err = tx.DeleteExpiredChallenges(ctx, at(now))
				return err
			})
			return n
		}
		deleteExpired(999) // everything above expires much earlier
		x1, x2, x3 := newChallenge("mfa", "x@example.com", nil, 990), newChallenge("mfa", "x@example.com", nil, 990), newChallenge("mfa", "x@example.com", nil, 990)
		x1.ExpiresAt, x2.ExpiresAt, x3.ExpiresAt = at(1000), at(1001), at(1002)
		create(t, &x1, &x2, &x3)
		if n := deleteExpired(999); n != 0 {
			t.Errorf("DeleteExpiredChallenges before any expiry removed %d", n)
		}
		if n := deleteExpired(1001); n != 2 {
			t.Errorf("DeleteExpiredChallenges(at(1001)) removed %d, want 2 (expired, and expiring at that instant)", n)
		}
		got, err := latest(t, "mfa", "x@example.com")
		wantCode(t, err, "")
		diff(t, "remaining challenge", &x3, got)
		if n := count(t, "mfa", "x@example.com", 0); n != 1 {
			t.Errorf("%d challenges left, want 1", n)
		}
	})
}

func testFederatedIdentities(t *testing.T, s *store.Store) {
	global := store.Scope{}
	const google, okta, subject = "https://accounts.google.com", "https://acme.okta.com", "110169484474386276334"
	ann, bob := mkUser(t, s, "ann@example.com"), mkUser(t, s, "bob@example.com")
	link := func(iss, sub string, u strongroom.User, email string) strongroom.FederatedIdentity {
		return strongroom.FederatedIdentity{Issuer: iss, Subject: sub, UserID: u.ID, Email: email, CreatedAt: at(1), LastUsedAt: at(2)}
	}
	create := func(f *strongroom.FederatedIdentity) error {
		return tryWrite(t, s, global, func(ctx context.Context, tx *store.Tx) error { return tx.CreateFederatedIdentity(ctx, f) })
	}
	lookup := func(t *testing.T, iss, sub string) (*strongroom.FederatedIdentity, error) {
		t.Helper()
		return get(t, s, global, func(ctx context.Context, tx *store.Tx) (*strongroom.FederatedIdentity, error) {
			return tx.FederatedIdentity(ctx, iss, sub)
		})
	}

	annGoogle := link(google, subject, ann, ann.Email)
	annOkta := link(okta, "00u1ann", ann, "ann@acme.example") // a user may link several
	bobOkta := link(okta, subject, bob, bob.Email)            // the same subject at another issuer is someone else
	for _, f := range []*strongroom.FederatedIdentity{&annGoogle, &annOkta, &bobOkta} {
		wantCode(t, create(f), "")
	}

	t.Run("lookup", func(t *testing.T) {
		tests := []struct {
			name     string
			iss, sub string
			want     *strongroom.FederatedIdentity
			code     string
		}{
			{"linked", google, subject, &annGoogle, ""},
			{"second link of the same user", okta, "00u1ann", &annOkta, ""},
			{"same subject, another issuer", okta, subject, &bobOkta, ""},
			{"subject of another issuer", google, "00u1ann", nil, strongroom.ENOTFOUND},
			{"issuer compared exactly", google + "/", subject, nil, strongroom.ENOTFOUND},
			{"unknown issuer", "https://login.example", subject, nil, strongroom.ENOTFOUND},
			{"empty subject", google, "", nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := lookup(t, tt.iss, tt.sub)
				wantCode(t, err, tt.code)
				diff(t, "federated identity", tt.want, got)
			})
		}
	})

	t.Run("duplicate", func(t *testing.T) {
		for _, u := range []strongroom.User{ann, bob} {
			dup := link(google, subject, u, "someone@example.com")
			wantCode(t, create(&dup), strongroom.ECONFLICT)
		}
		got, err := lookup(t, google, subject)
		wantCode(t, err, "")
		diff(t, "federated identity", &annGoogle, got)
	})

	t.Run("unknown user", func(t *testing.T) {
		orphan := link(google, "orphan", strongroom.User{ID: strongroom.UserID(newID())}, "orphan@example.com")
		if err := create(&orphan); err == nil {
			t.Fatal("CreateFederatedIdentity for an unknown user succeeded")
		}
		_, err := lookup(t, google, "orphan")
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("touch", func(t *testing.T) {
		touch := func(iss, sub string) error {
			return tryWrite(t, s, global, func(ctx context.Context, tx *store.Tx) error {
				return tx.TouchFederatedIdentity(ctx, iss, sub, at(30))
			})
		}
		wantCode(t, touch(google, subject), "")
		want := annGoogle
		want.LastUsedAt = at(30)
		for _, w := range []strongroom.FederatedIdentity{want, annOkta, bobOkta} {
			got, err := lookup(t, w.Issuer, w.Subject)
			wantCode(t, err, "")
			diff(t, "federated identity", &w, got)
		}
		wantCode(t, touch(google, "00u1ann"), strongroom.ENOTFOUND)
		wantCode(t, touch("https://login.example", subject), strongroom.ENOTFOUND)
	})
}

func testOrgSettings(t *testing.T, s *store.Store) {
	a, b := mkOrg(t, s, "Acme"), mkOrg(t, s, "Globex")
	settings := func(t *testing.T, org strongroom.TenantID) *strongroom.OrgSettings {
		t.Helper()
		return mustGet(t, s, store.TenantScope(org), func(ctx context.Context, tx *store.Tx) (*strongroom.OrgSettings, error) {
			return tx.OrgSettings(ctx)
		})
	}
	set := func(t *testing.T, org strongroom.TenantID, v strongroom.OrgSettings, when int) {
		t.Helper()
		mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error { return tx.SetOrgSettings(t.Context(), &v, at(when)) })
	}
	strict := strongroom.OrgSettings{
		MFARequired:           true,
		EmailVerifyEachSignIn: true,
		SignInMethods:         []string{strongroom.MethodPassword, strongroom.MethodPasskey},
		AllowedEmailDomains:   []string{"acme.example", "acme.test"},
		SessionIdleMinutes:    15,
		SessionAbsoluteHours:  12,
	}
	oidcOnly := strongroom.OrgSettings{SignInMethods: []string{strongroom.MethodOIDC}}

	// Each step sets the settings of one organization (nil: none) and checks
	// both.
	steps := []struct {
		name         string
		org          strongroom.TenantID
		set          *strongroom.OrgSettings
		wantA, wantB strongroom.OrgSettings
	}{
		{"default is the zero value", "", nil, strongroom.OrgSettings{}, strongroom.OrgSettings{}},
		{"set", a.ID, &strict, strict, strongroom.OrgSettings{}},
		{"set again, the same", a.ID, &strict, strict, strongroom.OrgSettings{}},
		{"replace, not merge", a.ID, &oidcOnly, oidcOnly, strongroom.OrgSettings{}},
		{"the other organization's own", b.ID, &strict, oidcOnly, strict},
		{"back to the defaults", a.ID, &strongroom.OrgSettings{}, strongroom.OrgSettings{}, strict},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.set != nil {
				set(t, st.org, *st.set, 10+i)
			}
			diff(t, "settings of A", &st.wantA, settings(t, a.ID))
			diff(t, "settings of B", &st.wantB, settings(t, b.ID))
		})
	}
}
