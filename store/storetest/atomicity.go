package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// testFailedWrite checks that a write whose function fails leaves nothing
// behind (security invariant 6: no partial writes).
func testFailedWrite(t *testing.T, s *store.Store) {
	a := seedTenant(t, s, "alpha", 1)
	before := snapshot(t, s, a)
	errBoom := errors.New("boom")

	// Each case writes one of everything and then fails in its own way.
	tests := []struct {
		name  string
		fail  func(ctx context.Context, tx *store.Tx) error
		check func(t *testing.T, err error)
	}{
		{"function returns an error", func(context.Context, *store.Tx) error { return errBoom }, func(t *testing.T, err error) {
			if !errors.Is(err, errBoom) {
				t.Errorf("Write returned %v, want the function's error", err)
			}
		}},
		{"function returns a store error", func(context.Context, *store.Tx) error {
			return strongroom.Errorf(strongroom.EVALIDATION, "bad")
		}, func(t *testing.T, err error) { wantCode(t, err, strongroom.EVALIDATION) }},
		{"a statement fails", func(ctx context.Context, tx *store.Tx) error {
			return tx.CreateClient(ctx, &strongroom.Client{ID: strongroom.ClientID(newID()), Name: a.Client.Name, CreatedAt: at(0)})
		}, func(t *testing.T, err error) { wantCode(t, err, strongroom.ECONFLICT) }},
		{"function panics", func(context.Context, *store.Tx) error { panic("boom") }, func(t *testing.T, err error) {
			if err == nil {
				t.Error("Write of a panicking function returned no error")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			u := strongroom.User{ID: strongroom.UserID(newID()), Email: newID() + "@example.com", PasswordHash: "x", CreatedAt: at(0)}
			c := strongroom.Client{ID: strongroom.ClientID(newID()), Name: "client " + newID(), CreatedAt: at(0)}
			coll := strongroom.Collection{ID: strongroom.CollectionID(newID()), Name: "coll " + newID(), Schema: []byte(`{}`), CreatedAt: at(0)}
			r1 := newRecord(coll.ID, &c.ID, `{"n":1}`)
			r2 := newRecord(a.Collection.ID, nil, `{"n":2}`)
			tm := term("kind", "failed "+newID())
			e := strongroom.NewAuditEvent(nil, a.Org.ID, "record.create", "record", string(r2.ID), strongroom.ResultSuccess)
			changedOpen := a.Open
			changedOpen.Version, changedOpen.Data = 2, []byte(`{"changed":true}`)

			err := s.Write(ctx, store.TenantScope(a.Org.ID), func(tx *store.Tx) error {
				steps := []error{
					tx.CreateUser(ctx, &u),
					tx.AddMember(ctx, &strongroom.Membership{UserID: u.ID, Role: strongroom.RoleViewer, CreatedAt: at(0)}),
					tx.CreateClient(ctx, &c),
					tx.CreateCollection(ctx, &coll),
					tx.CreateRecord(ctx, &r1, []store.Term{tm}),
					tx.CreateRecord(ctx, &r2, []store.Term{tm}),
					tx.UpdateRecord(ctx, &changedOpen, nil),
					tx.SetMemberRole(ctx, a.Editor.ID, strongroom.RoleAdmin),
					tx.SetClientAssignments(ctx, a.Editor.ID, []strongroom.ClientID{c.ID}),
					tx.RenameClient(ctx, a.Spare.ID, "renamed "+newID()),
					tx.AppendAudit(ctx, &e),
				}
				for i, err := range steps {
					if err != nil {
						return fmt.Errorf("step %d failed early: %w", i, err)
					}
				}
				return tt.fail(ctx, tx)
			})
			tt.check(t, err)

			diff(t, "tenant A", before, snapshot(t, s, a))
			_, err = get(t, s, store.Scope{}, func(ctx context.Context, tx *store.Tx) (*strongroom.User, error) {
				return tx.UserByID(ctx, u.ID)
			})
			wantCode(t, err, strongroom.ENOTFOUND)
			_, err = readRecord(t, s, a.Org.ID, coll.ID, r1.ID, visAll)
			wantCode(t, err, strongroom.ENOTFOUND)
		})
	}

	// The store still takes writes afterwards.
	c := mkClient(t, s, a.Org.ID, "after the failures")
	if _, err := readClient(t, s, a.Org.ID, c.ID); err != nil {
		t.Errorf("client written after the failed writes: %v", err)
	}
}

// hostile are strings that break naive quoting, escaping or encoding: SQL
// metacharacters, quotes, backslashes, placeholders and non-ASCII text (all
// NUL-free; PostgreSQL text cannot hold NUL).
var hostile = []string{
	`'; DROP TABLE records; --`,
	`Robert'); DELETE FROM audit_events; --`,
	`"double" "quotes"`,
	`back\slash \\ \' \n`,
	"Zoë 北京 🙂",
	`%_ LIKE * wildcards ?`,
	`$1 $2 placeholders :name @p1`,
	"tab\tnew line\ncarriage\r",
	"e\u0301 combining, \u200b zero width, \u202e right-to-left",
	`</script><script>alert(1)</script>`,
}

// testRoundTrip checks that hostile strings are stored and returned verbatim, in
// names, in record data, in terms and in audit events.
func testRoundTrip(t *testing.T, s *store.Store) {
	for i, h := range hostile {
		t.Run(fmt.Sprintf("%d", i), func(t *testing.T) {
			ctx := t.Context()
			org := strongroom.Organization{ID: strongroom.TenantID(newID()), Name: h, CreatedAt: at(0)}
			mustWrite(t, s, store.TenantScope(org.ID), func(tx *store.Tx) error { return tx.CreateOrganization(ctx, &org) })
			scope := store.TenantScope(org.ID)
			u := mkUser(t, s, fmt.Sprintf("user%d+%s@example.com", i, h))
			member := addMember(t, s, org.ID, u, strongroom.RoleAdmin)
			c := mkClient(t, s, org.ID, h)
			coll := strongroom.Collection{
				ID:         strongroom.CollectionID(newID()),
				Name:       h,
				Schema:     []byte(`{"description":` + jsonString(t, h) + `}`),
				Searchable: []string{h, "plain"},
				CreatedAt:  at(0),
			}
			mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.CreateCollection(ctx, &coll) })
			tm := store.Term{Field: h, Term: []byte(h)}
			jsonRec := mkRecord(t, s, org.ID, coll.ID, &c.ID, `{"v":`+jsonString(t, h)+`}`, tm)
			rawRec := mkRecord(t, s, org.ID, coll.ID, nil, h)
			e := strongroom.AuditEvent{
				TenantID: org.ID, Time: at(1), ActorType: strongroom.PrincipalUser, ActorID: h, IP: h, DeviceType: h,
				Action: h, TargetType: h, TargetID: h, Result: strongroom.ResultDenied, Reason: h, RequestID: h,
				Metadata: json.RawMessage(`{"v":` + jsonString(t, h) + `}`),
			}
			mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.AppendAudit(ctx, &e) })

			gotOrg := mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) (*strongroom.Organization, error) { return tx.Organization(ctx) })
			diff(t, "organization", &org, gotOrg)
			gotUser := mustGet(t, s, store.Scope{}, func(ctx context.Context, tx *store.Tx) (*strongroom.User, error) {
				return tx.UserByEmail(ctx, u.Email)
			})
			diff(t, "user", &u, gotUser)
			gotMember, err := readMember(t, s, org.ID, u.ID)
			wantCode(t, err, "")
			diff(t, "member", &member, gotMember)
			gotClient, err := readClient(t, s, org.ID, c.ID)
			wantCode(t, err, "")
			diff(t, "client", &c, gotClient)
			gotColl := mustGet(t, s, scope, func(ctx context.Context, tx *store.Tx) (*strongroom.Collection, error) {
				return tx.CollectionByName(ctx, h)
			})
			diff(t, "collection", &coll, gotColl)
			for _, want := range []strongroom.Record{jsonRec, rawRec} {
				got, err := readRecord(t, s, org.ID, coll.ID, want.ID, visAll)
				wantCode(t, err, "")
				diff(t, "record", &want, got)
			}
			byTerm := listRecords(t, s, org.ID, store.RecordQuery{Collection: coll.ID, Visibility: visAll, Terms: []store.Term{tm}})
			diff(t, "records by term", []strongroom.Record{jsonRec}, byTerm)
			diff(t, "audit events", []strongroom.AuditEvent{e}, auditEvents(t, s, org.ID))

			// Renaming to the hostile string of the next case works too.
			next := hostile[(i+1)%len(hostile)]
			mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.RenameClient(ctx, c.ID, next) })
			gotClient, _ = readClient(t, s, org.ID, c.ID)
			if gotClient == nil || gotClient.Name != next {
				t.Errorf("renamed client = %+v, want name %q", gotClient, next)
			}
		})
	}
}

func jsonString(t testing.TB, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("encoding %q: %v", s, err)
	}
	return string(b)
}
