package service

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/oauthclient"
)

func TestKeyedLocks(t *testing.T) {
	var k keyedLocks
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		key := "a"
		if i%2 == 1 {
			key = "b"
		}
		wg.Go(func() {
			unlock := k.lock(key)
			defer unlock()
			if key == "a" {
				n := inside.Add(1)
				if n > most.Load() {
					most.Store(n)
				}
				time.Sleep(time.Millisecond) // widen the window a second holder would need
				inside.Add(-1)
			}
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders of one key at once, want 1", most.Load())
	}
	if len(k.m) != 0 {
		t.Errorf("%d locks kept after every holder left", len(k.m))
	}
}

func TestTokenSetFrom(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	exp := now.Add(time.Hour)
	old := &tokenSet{AccessToken: "old", RefreshToken: "rt-old", Scopes: []string{"granted"}}
	tests := []struct {
		name      string
		tok       oauthclient.Token
		old       *tokenSet
		requested []string
		want      *tokenSet
	}{
		{"new, scopes said", oauthclient.Token{AccessToken: "a", RefreshToken: "r", TokenType: "Bearer", ExpiresIn: time.Hour, Scopes: []string{"x"}},
			nil, []string{"x", "y"}, &tokenSet{AccessToken: "a", RefreshToken: "r", TokenType: "Bearer", Expiry: &exp, Scopes: []string{"x"}}},
		{"new, scopes not said: the requested ones", oauthclient.Token{AccessToken: "a", TokenType: "Bearer"},
			nil, []string{"x", "y"}, &tokenSet{AccessToken: "a", TokenType: "Bearer", Scopes: []string{"x", "y"}}},
		{"refresh keeps the refresh token and scopes", oauthclient.Token{AccessToken: "a2", TokenType: "Bearer", ExpiresIn: time.Hour},
			old, nil, &tokenSet{AccessToken: "a2", RefreshToken: "rt-old", TokenType: "Bearer", Expiry: &exp, Scopes: []string{"granted"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tokenSetFrom(&tt.tok, now, tt.old, tt.requested)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	soon, later := now.Add(RefreshSkew-time.Second), now.Add(RefreshSkew+time.Second)
	for _, tc := range []struct {
		ts   tokenSet
		want bool
	}{
		{tokenSet{AccessToken: "a"}, true},
		{tokenSet{AccessToken: "a", Expiry: &later}, true},
		{tokenSet{AccessToken: "a", Expiry: &soon}, false},
		{tokenSet{Expiry: &later}, false},
	} {
		if got := tc.ts.fresh(now); got != tc.want {
			t.Errorf("fresh(%+v) = %v, want %v", tc.ts, got, tc.want)
		}
	}
}

func TestStateOrg(t *testing.T) {
	const org = "01890a5d-ac96-774b-bcce-b302099a8057"
	secret := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ" // 43 base64url characters
	for state, ok := range map[string]bool{
		org + "." + secret:        true,
		org + "." + secret + "A":  false,
		org + "." + secret[:42]:   false,
		org + secret:              false,
		"not-an-id." + secret:     false,
		org + ".." + secret[:42]:  false,
		org + "." + secret + "\n": false,
		"":                        false,
		"01890A5D-AC96-774B-BCCE-B302099A8057." + secret: false,
	} {
		got, gotOK := stateOrg(state)
		if gotOK != ok || ok && string(got) != org {
			t.Errorf("stateOrg(%q) = %q, %v; want ok=%v", state, got, gotOK, ok)
		}
	}
}
