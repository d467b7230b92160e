package storetest

import (
	"context"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

func newConnection(provider string, expires bool) strongroom.Connection {
	c := strongroom.Connection{
		ID:          strongroom.ConnectionID(newID()),
		Provider:    provider,
		Status:      strongroom.ConnectionActive,
		Scopes:      []string{"read", "write"},
		ConnectedBy: strongroom.UserID(newID()),
		Refreshable: expires,
		Tokens:      []byte("sealed tokens " + provider),
		KeyID:       1,
		Version:     1,
		CreatedAt:   at(5),
		UpdatedAt:   at(5),
	}
	if expires {
		c.ExpiresAt = ptr(at(65))
	}
	return c
}

func newOAuthState(name string, expires int) store.OAuthState {
	return store.OAuthState{StateHash: hash(name), UserID: strongroom.UserID(newID()), Provider: "github",
		Verifier: []byte("sealed verifier " + name), CreatedAt: at(0), ExpiresAt: at(expires)}
}

// testConnections covers connections and pending authorization requests,
// including their isolation between tenants and from unbound transactions.
func testConnections(t *testing.T, s *store.Store) {
	ctx := t.Context()
	org, other := mkOrg(t, s, "Acme"), mkOrg(t, s, "Globex")
	scope, otherScope := store.TenantScope(org.ID), store.TenantScope(other.ID)
	read := func(t *testing.T, sc store.Scope, id strongroom.ConnectionID) (*strongroom.Connection, error) {
		t.Helper()
		return get(t, s, sc, func(ctx context.Context, tx *store.Tx) (*strongroom.Connection, error) { return tx.Connection(ctx, id) })
	}
	list := func(t *testing.T, sc store.Scope) []strongroom.Connection {
		t.Helper()
		return mustGet(t, s, sc, func(ctx context.Context, tx *store.Tx) ([]strongroom.Connection, error) { return tx.Connections(ctx) })
	}
	update := func(t *testing.T, sc store.Scope, c *strongroom.Connection) bool {
		t.Helper()
		var ok bool
		mustWrite(t, s, sc, func(tx *store.Tx) error {
			var err error
			ok, err = tx.UpdateConnection(ctx, c)
			return err
		})
		return ok
	}

	github, slack := newConnection("github", true), newConnection("slack", false)
	for _, c := range []*strongroom.Connection{&github, &slack} {
		mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.CreateConnection(ctx, c) })
	}

	t.Run("round trip", func(t *testing.T) {
		for _, want := range []strongroom.Connection{github, slack} {
			got, err := read(t, scope, want.ID)
			wantCode(t, err, "")
			want.TenantID = org.ID
			diff(t, "connection", &want, got)
		}
	})

	t.Run("list has no tokens, in creation order", func(t *testing.T) {
		var ids []strongroom.ConnectionID
		for _, c := range list(t, scope) {
			ids = append(ids, c.ID)
			if c.Tokens != nil {
				t.Errorf("Connections returned the tokens of %s", c.ID)
			}
		}
		diff(t, "connection IDs", []strongroom.ConnectionID{github.ID, slack.ID}, ids)
	})

	t.Run("duplicate ID", func(t *testing.T) {
		dup := newConnection("dup", false)
		dup.ID = github.ID
		wantCode(t, s.Write(ctx, scope, func(tx *store.Tx) error { return tx.CreateConnection(ctx, &dup) }), strongroom.ECONFLICT)
	})

	t.Run("update compares the version", func(t *testing.T) {
		next := github
		next.Tokens, next.KeyID, next.Version, next.UpdatedAt = []byte("resealed"), 2, 2, at(30)
		next.ExpiresAt, next.Refreshable, next.Scopes, next.Status = nil, false, []string{"read"}, strongroom.ConnectionFailed
		if !update(t, scope, &next) {
			t.Fatal("UpdateConnection at the current version changed nothing")
		}
		got, _ := read(t, scope, github.ID)
		next.TenantID = org.ID
		diff(t, "updated connection", &next, got)
		stale := next
		stale.Tokens = []byte("stale")
		if update(t, scope, &stale) { // still version 2: the stored one is 2, not 1
			t.Error("UpdateConnection at a stale version changed the row")
		}
		if got, _ := read(t, scope, github.ID); string(got.Tokens) != "resealed" {
			t.Errorf("tokens after a stale update: %q", got.Tokens)
		}
	})

	t.Run("another tenant sees and changes nothing", func(t *testing.T) {
		_, err := read(t, otherScope, slack.ID)
		wantCode(t, err, strongroom.ENOTFOUND)
		if got := list(t, otherScope); len(got) != 0 {
			t.Errorf("the other tenant lists %d connections", len(got))
		}
		moved := slack
		moved.Version = 2
		if update(t, otherScope, &moved) {
			t.Error("the other tenant updated a connection")
		}
		wantCode(t, s.Write(ctx, otherScope, func(tx *store.Tx) error { return tx.DeleteConnection(ctx, slack.ID) }), strongroom.ENOTFOUND)
		if _, err := read(t, scope, slack.ID); err != nil {
			t.Errorf("the connection after the other tenant's attempts: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.DeleteConnection(ctx, slack.ID) })
		_, err := read(t, scope, slack.ID)
		wantCode(t, err, strongroom.ENOTFOUND)
		wantCode(t, s.Write(ctx, scope, func(tx *store.Tx) error { return tx.DeleteConnection(ctx, slack.ID) }), strongroom.ENOTFOUND)
	})

	t.Run("oauth states are taken once, by their tenant only", func(t *testing.T) {
		st := newOAuthState("one", 10)
		mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.CreateOAuthState(ctx, &st) })
		take := func(sc store.Scope) (*store.OAuthState, error) {
			var got *store.OAuthState
			err := s.Write(ctx, sc, func(tx *store.Tx) error {
				var err error
				got, err = tx.TakeOAuthState(ctx, st.StateHash)
				return err
			})
			return got, err
		}
		_, err := take(otherScope)
		wantCode(t, err, strongroom.ENOTFOUND)
		err = s.Read(ctx, scope, func(tx *store.Tx) error { _, err := tx.TakeOAuthState(ctx, st.StateHash); return err })
		if err == nil {
			t.Error("TakeOAuthState in a read transaction succeeded")
		}
		got, err := take(scope)
		wantCode(t, err, "")
		diff(t, "oauth state", &st, got)
		_, err = take(scope)
		wantCode(t, err, strongroom.ENOTFOUND)
	})

	t.Run("expired oauth states are deleted", func(t *testing.T) {
		for _, st := range []store.OAuthState{newOAuthState("old", 5), newOAuthState("edge", 10), newOAuthState("live", 11)} {
			mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.CreateOAuthState(ctx, &st) })
		}
		otherState := newOAuthState("other's old", 5)
		mustWrite(t, s, otherScope, func(tx *store.Tx) error { return tx.CreateOAuthState(ctx, &otherState) })
		var n int64
		mustWrite(t, s, scope, func(tx *store.Tx) error {
			var err error
			n, err = tx.DeleteExpiredOAuthStates(ctx, at(10))
			return err
		})
		if n != 2 {
			t.Errorf("deleted %d expired states, want 2 (expiry at or before now, this tenant only)", n)
		}
		for name, code := range map[string]string{"old": strongroom.ENOTFOUND, "edge": strongroom.ENOTFOUND, "live": ""} {
			err := s.Write(ctx, scope, func(tx *store.Tx) error { _, err := tx.TakeOAuthState(ctx, hash(name)); return err })
			wantCode(t, err, code)
		}
		err := s.Write(ctx, otherScope, func(tx *store.Tx) error { _, err := tx.TakeOAuthState(ctx, hash("other's old")); return err })
		wantCode(t, err, "")
	})

	t.Run("unbound transactions are refused", func(t *testing.T) {
		c := newConnection("unbound", false)
		st := newOAuthState("unbound", 10)
		for name, fn := range map[string]func(tx *store.Tx) error{
			"CreateConnection":         func(tx *store.Tx) error { return tx.CreateConnection(ctx, &c) },
			"Connection":               func(tx *store.Tx) error { _, err := tx.Connection(ctx, github.ID); return err },
			"Connections":              func(tx *store.Tx) error { _, err := tx.Connections(ctx); return err },
			"UpdateConnection":         func(tx *store.Tx) error { _, err := tx.UpdateConnection(ctx, &c); return err },
			"DeleteConnection":         func(tx *store.Tx) error { return tx.DeleteConnection(ctx, github.ID) },
			"CreateOAuthState":         func(tx *store.Tx) error { return tx.CreateOAuthState(ctx, &st) },
			"TakeOAuthState":           func(tx *store.Tx) error { _, err := tx.TakeOAuthState(ctx, st.StateHash); return err },
			"DeleteExpiredOAuthStates": func(tx *store.Tx) error { _, err := tx.DeleteExpiredOAuthStates(ctx, at(100)); return err },
		} {
			if err := s.Write(ctx, store.Scope{}, fn); err == nil {
				t.Errorf("%s in an unbound transaction succeeded", name)
			}
		}
		if _, err := read(t, scope, github.ID); err != nil {
			t.Errorf("the connection after unbound attempts: %v", err)
		}
	})
}
