package storetest

import (
	"context"
	"slices"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// API keys and invitations are tenant-owned: reached only in a transaction
// bound to their organization, except that TokenTenant names the organization
// of a presented token before any is bound.

func newAPIKey(by strongroom.UserID, name string, created int) strongroom.APIKey {
	id := newID()
	return strongroom.APIKey{
		ID:         strongroom.APIKeyID(id),
		Name:       name,
		Prefix:     "sr_" + id,
		SecretHash: hash("API key " + id),
		Role:       strongroom.RoleEditor,
		CreatedBy:  by,
		CreatedAt:  at(created),
	}
}

func newInvitation(by strongroom.UserID, email string, created int) strongroom.Invitation {
	id := newID()
	return strongroom.Invitation{
		ID:        strongroom.InvitationID(id),
		Email:     email,
		Role:      strongroom.RoleViewer,
		TokenHash: hash("invitation " + id),
		InvitedBy: by,
		CreatedAt: at(created),
		ExpiresAt: at(created + 7*24*60),
	}
}

func mkAPIKeys(t testing.TB, s *store.Store, org strongroom.TenantID, ks ...*strongroom.APIKey) {
	t.Helper()
	mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error {
		for _, k := range ks {
			if err := tx.CreateAPIKey(t.Context(), k); err != nil {
				return err
			}
		}
		return nil
	})
}

func mkInvitations(t testing.TB, s *store.Store, org strongroom.TenantID, invs ...*strongroom.Invitation) {
	t.Helper()
	mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error {
		for _, inv := range invs {
			if err := tx.CreateInvitation(t.Context(), inv); err != nil {
				return err
			}
		}
		return nil
	})
}

func testAPIKeys(t *testing.T, s *store.Store) {
	a, b := mkOrg(t, s, "Acme"), mkOrg(t, s, "Globex")
	inA, inB := store.TenantScope(a.ID), store.TenantScope(b.ID)
	admin := mkUser(t, s, "admin@example.com")
	client, bClient := mkClient(t, s, a.ID, "Northwind"), mkClient(t, s, b.ID, "Initech")
	byID := func(t *testing.T, sc store.Scope, id strongroom.APIKeyID) (*strongroom.APIKey, error) {
		t.Helper()
		return get(t, s, sc, func(ctx context.Context, tx *store.Tx) (*strongroom.APIKey, error) { return tx.APIKey(ctx, id) })
	}
	bySecret := func(t *testing.T, sc store.Scope, h []byte) (*strongroom.APIKey, error) {
		t.Helper()
		return get(t, s, sc, func(ctx context.Context, tx *store.Tx) (*strongroom.APIKey, error) {
			return tx.APIKeyBySecretHash(ctx, h)
		})
	}
	list := func(t *testing.T, sc store.Scope) []strongroom.APIKey {
		t.Helper()
		return mustGet(t, s, sc, func(ctx context.Context, tx *store.Tx) ([]strongroom.APIKey, error) { return tx.APIKeys(ctx) })
	}
	revoke := func(t *testing.T, sc store.Scope, id strongroom.APIKeyID, when int) error {
		return tryWrite(t, s, sc, func(ctx context.Context, tx *store.Tx) error { return tx.RevokeAPIKey(ctx, id, at(when)) })
	}
	rotate := func(t *testing.T, sc store.Scope, id, to strongroom.APIKeyID, until int) error {
		return tryWrite(t, s, sc, func(ctx context.Context, tx *store.Tx) error { return tx.RotateAPIKey(ctx, id, to, at(until)) })
	}

	deploy := newAPIKey(admin.ID, "deploy", 1) // no client, no expiry
	reporting := newAPIKey(admin.ID, "reporting", 2)
	reporting.Role, reporting.ClientID = strongroom.RoleViewer, &client.ID
	reporting.ExpiresAt, reporting.LastUsedAt = ptr(at(1000)), ptr(at(3))
	ci := newAPIKey(admin.ID, "ci", 2) // same time as reporting, later ID
	ci.Role = strongroom.RoleAdmin
	globex := newAPIKey(admin.ID, "globex", 1)
	mkAPIKeys(t, s, a.ID, &deploy, &reporting, &ci)
	mkAPIKeys(t, s, b.ID, &globex)

	t.Run("round trip", func(t *testing.T) {
		tests := []struct {
			name string
			get  func(t *testing.T) (*strongroom.APIKey, error)
			want *strongroom.APIKey
			code string
		}{
			{"by ID", func(t *testing.T) (*strongroom.APIKey, error) { return byID(t, inA, deploy.ID) }, &deploy, ""},
			{"by ID, every field", func(t *testing.T) (*strongroom.APIKey, error) { return byID(t, inA, reporting.ID) }, &reporting, ""},
			{"by secret hash", func(t *testing.T) (*strongroom.APIKey, error) { return bySecret(t, inA, deploy.SecretHash) }, &deploy, ""},
			{"by secret hash, every field", func(t *testing.T) (*strongroom.APIKey, error) { return bySecret(t, inA, reporting.SecretHash) }, &reporting, ""},
			{"unknown ID", func(t *testing.T) (*strongroom.APIKey, error) { return byID(t, inA, strongroom.APIKeyID(newID())) }, nil, strongroom.ENOTFOUND},
			{"unknown secret", func(t *testing.T) (*strongroom.APIKey, error) { return bySecret(t, inA, hash("unknown")) }, nil, strongroom.ENOTFOUND},
			{"prefix of a secret hash", func(t *testing.T) (*strongroom.APIKey, error) { return bySecret(t, inA, deploy.SecretHash[:16]) }, nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.get(t)
				wantCode(t, err, tt.code)
				diff(t, "API key", tt.want, got)
			})
		}
	})

	t.Run("list, newest first", func(t *testing.T) {
		diff(t, "A's keys", []strongroom.APIKey{ci, reporting, deploy}, list(t, inA))
		diff(t, "B's keys", []strongroom.APIKey{globex}, list(t, inB))
	})

	t.Run("client must be the organization's", func(t *testing.T) {
		for name, c := range map[string]strongroom.ClientID{"another organization's client": bClient.ID, "unknown client": strongroom.ClientID(newID())} {
			t.Run(name, func(t *testing.T) {
				k := newAPIKey(admin.ID, name, 4)
				k.ClientID = &c
				wantCode(t, tryWrite(t, s, inA, func(ctx context.Context, tx *store.Tx) error { return tx.CreateAPIKey(ctx, &k) }),
					strongroom.ENOTFOUND)
				_, err := byID(t, inA, k.ID)
				wantCode(t, err, strongroom.ENOTFOUND)
			})
		}
	})

	t.Run("touch", func(t *testing.T) {
		mustWrite(t, s, inA, func(tx *store.Tx) error { return tx.TouchAPIKey(t.Context(), deploy.ID, at(20)) })
		deploy.LastUsedAt = ptr(at(20))
		diff(t, "A's keys", []strongroom.APIKey{ci, reporting, deploy}, list(t, inA))
		diff(t, "B's keys", []strongroom.APIKey{globex}, list(t, inB))
	})

	t.Run("revoke once", func(t *testing.T) {
		k := newAPIKey(admin.ID, "revoked", 5)
		mkAPIKeys(t, s, a.ID, &k)
		wantCode(t, revoke(t, inA, k.ID, 30), "")
		wantCode(t, revoke(t, inA, k.ID, 31), strongroom.ENOTFOUND)
		k.RevokedAt = ptr(at(30)) // the first revocation stands
		got, err := byID(t, inA, k.ID)
		wantCode(t, err, "")
		diff(t, "API key", &k, got)
		wantCode(t, revoke(t, inA, strongroom.APIKeyID(newID()), 30), strongroom.ENOTFOUND)
	})

	t.Run("revoke once, concurrently", func(t *testing.T) {
		k := newAPIKey(admin.ID, "raced", 5)
		mkAPIKeys(t, s, a.ID, &k)
		onlyOneSucceeds(t, concurrently(racers, func() error { return revoke(t, inA, k.ID, 30) }), strongroom.ENOTFOUND)
	})

	t.Run("rotate", func(t *testing.T) {
		tests := []struct {
			name           string
			expires        *int
			until, wantExp int
		}{
			{"no expiry: expires at the overlap's end", nil, 100, 100},
			{"a later expiry is shortened", ptr(500), 100, 100},
			{"an earlier expiry is kept", ptr(50), 100, 50},
			{"expiring at the overlap's end", ptr(100), 100, 100},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				old, next := newAPIKey(admin.ID, "old", 6), newAPIKey(admin.ID, "new", 7)
				if tt.expires != nil {
					old.ExpiresAt = ptr(at(*tt.expires))
				}
				mkAPIKeys(t, s, a.ID, &old, &next)
				wantCode(t, rotate(t, inA, old.ID, next.ID, tt.until), "")
				want := old
				want.RotatedTo, want.ExpiresAt = &next.ID, ptr(at(tt.wantExp))
				got, err := byID(t, inA, old.ID)
				wantCode(t, err, "")
				diff(t, "rotated key", &want, got)
				got, err = byID(t, inA, next.ID)
				wantCode(t, err, "")
				diff(t, "replacement", &next, got)

				// A rotated key cannot be rotated again, not even to a
				// shorter overlap.
				wantCode(t, rotate(t, inA, old.ID, deploy.ID, tt.until-10), strongroom.ENOTFOUND)
				got, err = byID(t, inA, old.ID)
				wantCode(t, err, "")
				diff(t, "rotated key", &want, got)
			})
		}

		revoked := newAPIKey(admin.ID, "revoked before rotation", 6)
		revoked.RevokedAt = ptr(at(7))
		mkAPIKeys(t, s, a.ID, &revoked)
		wantCode(t, rotate(t, inA, revoked.ID, deploy.ID, 100), strongroom.ENOTFOUND)
		got, err := byID(t, inA, revoked.ID)
		wantCode(t, err, "")
		diff(t, "revoked key", &revoked, got)
		wantCode(t, rotate(t, inA, strongroom.APIKeyID(newID()), deploy.ID, 100), strongroom.ENOTFOUND)
	})

	t.Run("another organization's keys", func(t *testing.T) {
		open := newAPIKey(admin.ID, "open", 8) // neither revoked nor rotated
		mkAPIKeys(t, s, a.ID, &open)
		beforeA := list(t, inA)
		reads := []readCase{
			{"APIKey", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.APIKey(ctx, open.ID) }},
			{"APIKeyBySecretHash", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.APIKeyBySecretHash(ctx, open.SecretHash)
			}},
			{"APIKeys are B's", "", []strongroom.APIKey{globex}, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.APIKeys(ctx) }},
		}
		for _, tt := range reads {
			t.Run(tt.name, func(t *testing.T) {
				got, err := get(t, s, inB, tt.run)
				wantCode(t, err, tt.code)
				if tt.code == "" {
					diff(t, "result", tt.want, got)
				}
			})
		}
		writes := []struct {
			name  string
			codes []string // "" allows success (with no effect on A)
			run   func(ctx context.Context, tx *store.Tx) error
		}{
			{"RevokeAPIKey", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.RevokeAPIKey(ctx, open.ID, at(40))
			}},
			{"RotateAPIKey", []string{strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.RotateAPIKey(ctx, open.ID, globex.ID, at(40))
			}},
			{"TouchAPIKey", []string{"", strongroom.ENOTFOUND}, func(ctx context.Context, tx *store.Tx) error {
				return tx.TouchAPIKey(ctx, open.ID, at(40))
			}},
		}
		for _, tt := range writes {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, tryWrite(t, s, inB, tt.run), tt.codes...)
				diff(t, "A's keys", beforeA, list(t, inA))
				diff(t, "B's keys", []strongroom.APIKey{globex}, list(t, inB))
			})
		}
	})

	t.Run("same ID in two organizations", func(t *testing.T) {
		beforeA := list(t, inA)
		twin := newAPIKey(admin.ID, "twin", 9)
		twin.ID = deploy.ID
		mkAPIKeys(t, s, b.ID, &twin)
		got, err := byID(t, inB, deploy.ID)
		wantCode(t, err, "")
		diff(t, "B's key", &twin, got)
		got, err = byID(t, inA, deploy.ID)
		wantCode(t, err, "")
		diff(t, "A's key", &deploy, got)
		wantCode(t, revoke(t, inB, deploy.ID, 50), "")
		diff(t, "A's keys", beforeA, list(t, inA))
	})

	t.Run("deleting a client deletes the keys limited to it", func(t *testing.T) {
		// Rather than leaving them limited to nothing, or to everything.
		doomed := mkClient(t, s, a.ID, "Doomed")
		limited := newAPIKey(admin.ID, "limited", 10)
		limited.ClientID = &doomed.ID
		mkAPIKeys(t, s, a.ID, &limited)
		before := slices.DeleteFunc(list(t, inA), func(k strongroom.APIKey) bool { return k.ID == limited.ID })
		mustWrite(t, s, inA, func(tx *store.Tx) error { return tx.DeleteClient(t.Context(), doomed.ID) })
		_, err := byID(t, inA, limited.ID)
		wantCode(t, err, strongroom.ENOTFOUND)
		_, err = bySecret(t, inA, limited.SecretHash)
		wantCode(t, err, strongroom.ENOTFOUND)
		diff(t, "other keys", before, list(t, inA))
	})
}

func testInvitations(t *testing.T, s *store.Store) {
	a, b := mkOrg(t, s, "Acme"), mkOrg(t, s, "Globex")
	inA, inB := store.TenantScope(a.ID), store.TenantScope(b.ID)
	admin, joiner, other := mkUser(t, s, "admin@example.com"), mkUser(t, s, "joiner@example.com"), mkUser(t, s, "other@example.com")
	client := mkClient(t, s, a.ID, "Northwind")
	byID := func(t *testing.T, sc store.Scope, id strongroom.InvitationID) (*strongroom.Invitation, error) {
		t.Helper()
		return get(t, s, sc, func(ctx context.Context, tx *store.Tx) (*strongroom.Invitation, error) { return tx.Invitation(ctx, id) })
	}
	byToken := func(t *testing.T, sc store.Scope, h []byte) (*strongroom.Invitation, error) {
		t.Helper()
		return get(t, s, sc, func(ctx context.Context, tx *store.Tx) (*strongroom.Invitation, error) {
			return tx.InvitationByTokenHash(ctx, h)
		})
	}
	list := func(t *testing.T, sc store.Scope) []strongroom.Invitation {
		t.Helper()
		return mustGet(t, s, sc, func(ctx context.Context, tx *store.Tx) ([]strongroom.Invitation, error) { return tx.Invitations(ctx) })
	}
	accept := func(t *testing.T, sc store.Scope, id strongroom.InvitationID, u strongroom.UserID, when int) error {
		return tryWrite(t, s, sc, func(ctx context.Context, tx *store.Tx) error { return tx.AcceptInvitation(ctx, id, u, at(when)) })
	}
	revoke := func(t *testing.T, sc store.Scope, id strongroom.InvitationID, when int) error {
		return tryWrite(t, s, sc, func(ctx context.Context, tx *store.Tx) error { return tx.RevokeInvitation(ctx, id, at(when)) })
	}

	editor := newInvitation(admin.ID, "editor@example.com", 1)
	editor.Role, editor.Clients = strongroom.RoleEditor, []strongroom.ClientID{client.ID}
	viewer := newInvitation(admin.ID, "viewer@example.com", 2)
	// Rows as a restore would write them: every field round-trips.
	accepted := newInvitation(admin.ID, joiner.Email, 0)
	accepted.AcceptedAt, accepted.AcceptedBy = ptr(at(5)), &joiner.ID
	withdrawn := newInvitation(admin.ID, "withdrawn@example.com", 3)
	withdrawn.RevokedAt = ptr(at(4))
	globex := newInvitation(admin.ID, "globex@example.com", 1)
	mkInvitations(t, s, a.ID, &editor, &viewer, &accepted, &withdrawn)
	mkInvitations(t, s, b.ID, &globex)

	t.Run("round trip", func(t *testing.T) {
		tests := []struct {
			name string
			get  func(t *testing.T) (*strongroom.Invitation, error)
			want *strongroom.Invitation
			code string
		}{
			{"with clients", func(t *testing.T) (*strongroom.Invitation, error) { return byID(t, inA, editor.ID) }, &editor, ""},
			{"without clients", func(t *testing.T) (*strongroom.Invitation, error) { return byID(t, inA, viewer.ID) }, &viewer, ""},
			{"accepted", func(t *testing.T) (*strongroom.Invitation, error) { return byID(t, inA, accepted.ID) }, &accepted, ""},
			{"revoked", func(t *testing.T) (*strongroom.Invitation, error) { return byID(t, inA, withdrawn.ID) }, &withdrawn, ""},
			{"by token hash", func(t *testing.T) (*strongroom.Invitation, error) { return byToken(t, inA, editor.TokenHash) }, &editor, ""},
			{"unknown ID", func(t *testing.T) (*strongroom.Invitation, error) {
				return byID(t, inA, strongroom.InvitationID(newID()))
			}, nil, strongroom.ENOTFOUND},
			{"unknown token", func(t *testing.T) (*strongroom.Invitation, error) { return byToken(t, inA, hash("unknown")) }, nil, strongroom.ENOTFOUND},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.get(t)
				wantCode(t, err, tt.code)
				diff(t, "invitation", tt.want, got)
			})
		}
	})

	t.Run("list, newest first", func(t *testing.T) {
		diff(t, "A's invitations", []strongroom.Invitation{withdrawn, viewer, editor, accepted}, list(t, inA))
		diff(t, "B's invitations", []strongroom.Invitation{globex}, list(t, inB))
	})

	t.Run("another organization's invitations", func(t *testing.T) {
		beforeA := list(t, inA)
		reads := []readCase{
			{"Invitation", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) { return tx.Invitation(ctx, editor.ID) }},
			{"InvitationByTokenHash", strongroom.ENOTFOUND, nil, func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.InvitationByTokenHash(ctx, editor.TokenHash)
			}},
			{"Invitations are B's", "", []strongroom.Invitation{globex}, func(ctx context.Context, tx *store.Tx) (any, error) {
				return tx.Invitations(ctx)
			}},
		}
		for _, tt := range reads {
			t.Run(tt.name, func(t *testing.T) {
				got, err := get(t, s, inB, tt.run)
				wantCode(t, err, tt.code)
				if tt.code == "" {
					diff(t, "result", tt.want, got)
				}
			})
		}
		for name, try := range map[string]func() error{
			"AcceptInvitation": func() error { return accept(t, inB, editor.ID, joiner.ID, 40) },
			"RevokeInvitation": func() error { return revoke(t, inB, editor.ID, 40) },
		} {
			t.Run(name, func(t *testing.T) {
				wantCode(t, try(), strongroom.ENOTFOUND)
				diff(t, "A's invitations", beforeA, list(t, inA))
				diff(t, "B's invitations", []strongroom.Invitation{globex}, list(t, inB))
			})
		}
	})

	t.Run("accept once", func(t *testing.T) {
		wantCode(t, accept(t, inA, viewer.ID, joiner.ID, 10), "")
		want := viewer
		want.AcceptedAt, want.AcceptedBy = ptr(at(10)), &joiner.ID
		for _, again := range []strongroom.UserID{joiner.ID, other.ID} {
			wantCode(t, accept(t, inA, viewer.ID, again, 11), strongroom.ENOTFOUND)
		}
		wantCode(t, revoke(t, inA, viewer.ID, 12), strongroom.ENOTFOUND) // too late
		got, err := byToken(t, inA, viewer.TokenHash)
		wantCode(t, err, "")
		diff(t, "invitation", &want, got)
		got, err = byID(t, inA, editor.ID)
		wantCode(t, err, "")
		diff(t, "other invitation", &editor, got)
	})

	t.Run("accept once, concurrently", func(t *testing.T) {
		inv := newInvitation(admin.ID, "raced@example.com", 6)
		mkInvitations(t, s, a.ID, &inv)
		onlyOneSucceeds(t, concurrently(racers, func() error { return accept(t, inA, inv.ID, joiner.ID, 20) }), strongroom.ENOTFOUND)
	})

	t.Run("revoke once", func(t *testing.T) {
		inv := newInvitation(admin.ID, "revoke@example.com", 7)
		mkInvitations(t, s, a.ID, &inv)
		wantCode(t, revoke(t, inA, inv.ID, 30), "")
		wantCode(t, revoke(t, inA, inv.ID, 31), strongroom.ENOTFOUND)
		wantCode(t, accept(t, inA, inv.ID, joiner.ID, 32), strongroom.ENOTFOUND)
		inv.RevokedAt = ptr(at(30))
		got, err := byID(t, inA, inv.ID)
		wantCode(t, err, "")
		diff(t, "invitation", &inv, got)
		wantCode(t, accept(t, inA, withdrawn.ID, joiner.ID, 32), strongroom.ENOTFOUND)
		wantCode(t, revoke(t, inA, accepted.ID, 32), strongroom.ENOTFOUND)
		wantCode(t, revoke(t, inA, strongroom.InvitationID(newID()), 32), strongroom.ENOTFOUND)
		wantCode(t, accept(t, inA, strongroom.InvitationID(newID()), joiner.ID, 32), strongroom.ENOTFOUND)
	})
}

// testTokenTenant checks that an API key or invitation token names its
// organization before any is bound, and nothing else.
func testTokenTenant(t *testing.T, s *store.Store) {
	a, b := mkOrg(t, s, "Acme"), mkOrg(t, s, "Globex")
	admin := mkUser(t, s, "admin@example.com")
	keyA, keyB := newAPIKey(admin.ID, "a", 1), newAPIKey(admin.ID, "b", 1)
	invA, invB := newInvitation(admin.ID, "a@example.com", 1), newInvitation(admin.ID, "b@example.com", 1)
	mkAPIKeys(t, s, a.ID, &keyA)
	mkAPIKeys(t, s, b.ID, &keyB)
	mkInvitations(t, s, a.ID, &invA)
	mkInvitations(t, s, b.ID, &invB)

	tests := []struct {
		name string
		kind string
		hash []byte
		want strongroom.TenantID
		code string
	}{
		{"A's API key", "api_key", keyA.SecretHash, a.ID, ""},
		{"B's API key", "api_key", keyB.SecretHash, b.ID, ""},
		{"A's invitation", "invitation", invA.TokenHash, a.ID, ""},
		{"B's invitation", "invitation", invB.TokenHash, b.ID, ""},
		{"an API key's hash as an invitation", "invitation", keyA.SecretHash, "", strongroom.ENOTFOUND},
		{"an invitation's hash as an API key", "api_key", invA.TokenHash, "", strongroom.ENOTFOUND},
		{"unknown API key", "api_key", hash("unknown"), "", strongroom.ENOTFOUND},
		{"unknown invitation", "invitation", hash("unknown"), "", strongroom.ENOTFOUND},
		{"prefix of a hash", "api_key", keyA.SecretHash[:16], "", strongroom.ENOTFOUND},
		{"no hash", "api_key", nil, "", strongroom.ENOTFOUND},
		// A caller's mistake, the same on both engines.
		{"unknown kind", "session", keyA.SecretHash, "", strongroom.EINTERNAL},
		{"kind in another case", "API_KEY", keyA.SecretHash, "", strongroom.EINTERNAL},
	}
	scopes := []struct {
		name  string
		scope store.Scope
	}{
		{"unbound", store.Scope{}},
		{"user only", store.Scope{User: admin.ID}},
		{"bound to the other organization", store.TenantScope(b.ID)},
	}
	for _, sc := range scopes {
		for _, tt := range tests {
			t.Run(sc.name+"/"+tt.name, func(t *testing.T) {
				got, err := get(t, s, sc.scope, func(ctx context.Context, tx *store.Tx) (strongroom.TenantID, error) {
					return tx.TokenTenant(ctx, tt.kind, tt.hash)
				})
				wantCode(t, err, tt.code)
				if got != tt.want {
					t.Errorf("TokenTenant = %q, want %q", got, tt.want)
				}
			})
		}
	}
}
