// Package storetest is the conformance suite of the store. Run exercises every
// method of store.Tx against one engine, so that SQLite and PostgreSQL are held to
// the same behaviour: the same results, the same error codes, and the same tenant
// isolation (security invariant 1). store's own tests run it for every engine.
//
// The suite talks to the store only through its public API. Checks that need the
// database itself (row-level security, the append-only triggers) live beside the
// engine-specific tests in package store.
package storetest

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// Run runs the conformance suite. open returns a new, migrated, empty store that
// stays open until t ends; each group of subtests gets its own, and the groups run
// in parallel.
func Run(t *testing.T, open func(t testing.TB) *store.Store) {
	groups := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"Store", testStore},
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"Organizations", testOrganizations},
		{"Members", testMembers},
		{"Clients", testClients},
		{"Collections", testCollections},
		{"Records", testRecords},
		{"RecordLists", testRecordLists},
		{"Files", testFiles},
		{"Audit", testAudit},
		{"AuditStream", testAuditStream},
		{"Connections", testConnections},
		{"Challenges", testChallenges},
		{"Factors", testFactors},
		{"RecoveryCodes", testRecoveryCodes},
		{"FederatedIdentities", testFederatedIdentities},
		{"OrgSettings", testOrgSettings},
		{"APIKeys", testAPIKeys},
		{"Invitations", testInvitations},
		{"Alerts", testAlerts},
		{"TokenTenant", testTokenTenant},
		{"TenantIsolation", testTenantIsolation},
		{"UnboundScope", testUnboundScope},
		{"FailedWrite", testFailedWrite},
		{"RoundTrip", testRoundTrip},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.fn(t, open(t))
		})
	}
}

// testStore covers the store-level methods and the read-only transaction.
func testStore(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if e := s.Engine(); e != store.SQLite && e != store.Postgres {
		t.Errorf("Engine() = %q, want %q or %q", e, store.SQLite, store.Postgres)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	org := mkOrg(t, s, "Acme")

	t.Run("Tx.Tenant reports the bound tenant", func(t *testing.T) {
		for _, scope := range []store.Scope{{}, store.TenantScope(org.ID), {Tenant: org.ID, User: "u"}} {
			var got strongroom.TenantID
			mustRead(t, s, scope, func(tx *store.Tx) error { got = tx.Tenant(); return nil })
			if got != scope.Tenant {
				t.Errorf("Tenant() = %q, want %q", got, scope.Tenant)
			}
		}
	})

	t.Run("read transaction refuses writes", func(t *testing.T) {
		c := strongroom.Client{ID: strongroom.ClientID(newID()), Name: "Northwind", CreatedAt: at(1)}
		err := s.Read(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error { return tx.CreateClient(ctx, &c) })
		if err == nil {
			t.Fatal("CreateClient in a read transaction succeeded")
		}
		e := strongroom.NewAuditEvent(nil, org.ID, "test.read", "", "", strongroom.ResultSuccess)
		if err := s.Read(ctx, store.TenantScope(org.ID), func(tx *store.Tx) error { return tx.AppendAudit(ctx, &e) }); err == nil {
			t.Fatal("AppendAudit in a read transaction succeeded")
		}
		_, err = get(t, s, store.TenantScope(org.ID), func(ctx context.Context, tx *store.Tx) (*strongroom.Client, error) {
			return tx.Client(ctx, c.ID)
		})
		wantCode(t, err, strongroom.ENOTFOUND)
	})
}

// epoch is a fixed, microsecond-precise UTC instant: the store keeps microseconds
// and returns UTC, so times built from it round-trip exactly.
var epoch = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// at returns epoch plus n minutes.
func at(n int) time.Time { return epoch.Add(time.Duration(n) * time.Minute) }

// newID returns a fresh UUIDv7 string; successive calls increase.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// hash returns the SHA-256 of s, as stored for tokens and used for terms.
func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// cmpOpts treats nil and empty slices alike: the engines may return either for
// "nothing".
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

// diff reports a mismatch between want and got.
func diff(t testing.TB, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// wantCode fails unless err's strongroom error code is one of codes ("" for
// success).
func wantCode(t testing.TB, err error, codes ...string) {
	t.Helper()
	got := strongroom.ErrorCode(err)
	if !slices.Contains(codes, got) {
		t.Errorf("error code = %q, want one of %q (err: %v)", got, codes, err)
	}
}

// mustWrite runs fn in a write transaction and fails the test on error.
func mustWrite(t testing.TB, s *store.Store, scope store.Scope, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := s.Write(t.Context(), scope, fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// mustRead runs fn in a read transaction and fails the test on error.
func mustRead(t testing.TB, s *store.Store, scope store.Scope, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := s.Read(t.Context(), scope, fn); err != nil {
		t.Fatalf("read: %v", err)
	}
}

// get runs fn in a read transaction and returns its result.
func get[T any](t testing.TB, s *store.Store, scope store.Scope, fn func(ctx context.Context, tx *store.Tx) (T, error)) (T, error) {
	t.Helper()
	var v T
	err := s.Read(t.Context(), scope, func(tx *store.Tx) error {
		var err error
		v, err = fn(t.Context(), tx)
		return err
	})
	return v, err
}

// mustGet is get that fails the test on error.
func mustGet[T any](t testing.TB, s *store.Store, scope store.Scope, fn func(ctx context.Context, tx *store.Tx) (T, error)) T {
	t.Helper()
	v, err := get(t, s, scope, fn)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return v
}

// Fixtures. Each creates one thing in its own write and returns it as the store
// would return it.

func mkUser(t testing.TB, s *store.Store, email string) strongroom.User {
	t.Helper()
	u := strongroom.User{
		ID:           strongroom.UserID(newID()),
		Email:        email,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		CreatedAt:    at(0),
	}
	mustWrite(t, s, store.Scope{}, func(tx *store.Tx) error { return tx.CreateUser(t.Context(), &u) })
	return u
}

func mkOrg(t testing.TB, s *store.Store, name string) strongroom.Organization {
	t.Helper()
	o := strongroom.Organization{ID: strongroom.TenantID(newID()), Name: name, CreatedAt: at(0)}
	mustWrite(t, s, store.TenantScope(o.ID), func(tx *store.Tx) error { return tx.CreateOrganization(t.Context(), &o) })
	return o
}

func addMember(t testing.TB, s *store.Store, org strongroom.TenantID, u strongroom.User, role strongroom.Role) strongroom.Membership {
	t.Helper()
	m := strongroom.Membership{UserID: u.ID, Role: role, CreatedAt: at(1)}
	mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error { return tx.AddMember(t.Context(), &m) })
	m.Email = u.Email
	return m
}

func mkClient(t testing.TB, s *store.Store, org strongroom.TenantID, name string) strongroom.Client {
	t.Helper()
	c := strongroom.Client{ID: strongroom.ClientID(newID()), Name: name, CreatedAt: at(2)}
	mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error { return tx.CreateClient(t.Context(), &c) })
	return c
}

func mkCollection(t testing.TB, s *store.Store, org strongroom.TenantID, name string, searchable ...string) strongroom.Collection {
	t.Helper()
	c := strongroom.Collection{
		ID:         strongroom.CollectionID(newID()),
		Name:       name,
		Schema:     []byte(`{"type":"object"}`),
		Searchable: searchable,
		CreatedAt:  at(3),
	}
	mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error { return tx.CreateCollection(t.Context(), &c) })
	return c
}

func mkRecord(t testing.TB, s *store.Store, org strongroom.TenantID, coll strongroom.CollectionID, client *strongroom.ClientID, data string, terms ...store.Term) strongroom.Record {
	t.Helper()
	r := newRecord(coll, client, data)
	mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error { return tx.CreateRecord(t.Context(), &r, terms) })
	return r
}

func newRecord(coll strongroom.CollectionID, client *strongroom.ClientID, data string) strongroom.Record {
	return strongroom.Record{
		CollectionID: coll,
		ID:           strongroom.RecordID(newID()),
		ClientID:     client,
		Version:      1,
		Data:         []byte(data),
		CreatedAt:    at(4),
		UpdatedAt:    at(4),
	}
}

func ptr[T any](v T) *T { return &v }

// term returns the index entry of field = value.
func term(field, value string) store.Term {
	return store.Term{Field: field, Term: hash(field + "=" + value)}
}

// Read helpers used across files.

func readClient(t testing.TB, s *store.Store, org strongroom.TenantID, id strongroom.ClientID) (*strongroom.Client, error) {
	t.Helper()
	return get(t, s, store.TenantScope(org), func(ctx context.Context, tx *store.Tx) (*strongroom.Client, error) {
		return tx.Client(ctx, id)
	})
}

func readMember(t testing.TB, s *store.Store, org strongroom.TenantID, id strongroom.UserID) (*strongroom.Membership, error) {
	t.Helper()
	return get(t, s, store.TenantScope(org), func(ctx context.Context, tx *store.Tx) (*strongroom.Membership, error) {
		return tx.Member(ctx, id)
	})
}

func readRecord(t testing.TB, s *store.Store, org strongroom.TenantID, coll strongroom.CollectionID, id strongroom.RecordID, vis strongroom.Visibility) (*strongroom.Record, error) {
	t.Helper()
	return get(t, s, store.TenantScope(org), func(ctx context.Context, tx *store.Tx) (*strongroom.Record, error) {
		return tx.Record(ctx, coll, id, vis)
	})
}

func listRecords(t testing.TB, s *store.Store, org strongroom.TenantID, q store.RecordQuery) []strongroom.Record {
	t.Helper()
	return mustGet(t, s, store.TenantScope(org), func(ctx context.Context, tx *store.Tx) ([]strongroom.Record, error) {
		return tx.Records(ctx, q)
	})
}

func auditEvents(t testing.TB, s *store.Store, org strongroom.TenantID) []strongroom.AuditEvent {
	t.Helper()
	return mustGet(t, s, store.TenantScope(org), func(ctx context.Context, tx *store.Tx) ([]strongroom.AuditEvent, error) {
		return tx.AuditEvents(ctx, 0, 0)
	})
}

// sortedByID returns records sorted by ID, the order Records lists them in.
func sortedByID(rs ...strongroom.Record) []strongroom.Record {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b strongroom.Record) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}
