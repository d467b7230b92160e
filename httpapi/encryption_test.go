package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// encFixture is an organization with a collection whose email field is
// searchable, on an engine whose raw database the test can reach.
type encFixture struct {
	srv   *testkit.Server
	st    *store.Store
	raw   *sql.DB // the database behind the store's back (owner / file)
	dir   string  // SQLite: the data folder
	admin testkit.Account
}

func (f *encFixture) org(suffix string) string { return "/api/v1/orgs/" + f.admin.OrgID + suffix }

func newEncFixture(t *testing.T, engine string) *encFixture {
	t.Helper()
	f := &encFixture{}
	f.st, f.raw, f.dir = testkit.OpenRaw(t, engine)
	f.srv = testkit.NewServer(t, f.st, httpapi.Options{})
	f.admin = f.srv.Signup(t, "owner@enc.example", "Encrypted Org")
	f.createCollection(t, f.admin)
	return f
}

func (f *encFixture) createCollection(t *testing.T, a testkit.Account) {
	t.Helper()
	testkit.MustStatus(t, call(t, f.srv, a.Token, "POST", "/api/v1/orgs/"+a.OrgID+"/collections", map[string]any{
		"name":       "people",
		"schema":     map[string]any{"type": "object"},
		"searchable": []string{"email", "tier"},
	}), http.StatusCreated)
}

func (f *encFixture) create(t *testing.T, a testkit.Account, data map[string]any) string {
	t.Helper()
	r := testkit.MustStatus(t, call(t, f.srv, a.Token, "POST", "/api/v1/orgs/"+a.OrgID+"/collections/people/records",
		map[string]any{"data": data}), http.StatusCreated)
	return r.JSON(t)["id"].(string)
}

// TestNoPlaintextAtRest writes records with unique markers in searchable and
// other fields, updates and patches them, then finds none of the markers in any
// file of the data folder (SQLite: database, WAL, keyring) or in any stored
// record, term or audit row (PostgreSQL, read as the owner).
func TestNoPlaintextAtRest(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			f := newEncFixture(t, engine)
			var markers []string
			mark := func(kind string) string {
				b := make([]byte, 6)
				_, _ = rand.Read(b)
				m := fmt.Sprintf("zq%s%x", kind, b)
				markers = append(markers, m)
				return m
			}
			var ids []string
			for i := 0; i < 20; i++ {
				ids = append(ids, f.create(t, f.admin, map[string]any{
					"email": mark("mail") + "@secret.example", "tier": mark("tier"),
					"note": mark("note") + " Zoë 北京", "nested": map[string]any{"ssn": mark("ssn")},
				}))
			}
			testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "PUT", f.org("/collections/people/records/"+ids[0]),
				map[string]any{"data": map[string]any{"email": mark("put") + "@secret.example", "note": mark("putnote")}}), http.StatusOK)
			testkit.MustStatus(t, f.srv.Do(t, testkit.Request{Method: "PATCH", Path: f.org("/collections/people/records/" + ids[1]),
				Token: f.admin.Token, Body: map[string]any{"note": mark("patch")}}), http.StatusOK)
			// The data reads back, and the searchable fields still filter.
			got := testkit.MustStatus(t, f.srv.Do(t, testkit.Request{Method: "GET", Token: f.admin.Token,
				Path: f.org("/collections/people/records?filter=" + strings.ReplaceAll(fmt.Sprintf(`email==%q`, markers[4]+"@secret.example"), "\"", "%22"))}), http.StatusOK)
			if items := got.JSON(t)["items"].([]any); len(items) != 1 {
				t.Fatalf("filter on an encrypted searchable field found %d records, want 1", len(items))
			}

			haystack := testkit.AtRest(t, f.raw, f.dir,
				"SELECT encode(data, 'escape') FROM records",
				"SELECT encode(term, 'escape') FROM record_terms",
				"SELECT action || target_id || metadata || reason FROM audit_events",
				"SELECT encode(wrapped, 'escape') FROM strongroom_keyring.tenant_keys")
			if len(haystack) == 0 {
				t.Fatal("nothing scanned")
			}
			for _, m := range markers {
				if bytes.Contains(haystack, []byte(m)) {
					t.Errorf("plaintext %q found at rest", m)
				}
			}
		})
	}
}

// TestCiphertextSwaps moves sealed payloads between rows and tenants behind the
// store's back: the moved ciphertext must not open (an error, never another
// record's data or empty data).
func TestCiphertextSwaps(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			f := newEncFixture(t, engine)
			other := f.srv.Signup(t, "other@enc.example", "Other Org")
			f.createCollection(t, other)
			a1 := f.create(t, f.admin, map[string]any{"email": "a1@x.example"})
			a2 := f.create(t, f.admin, map[string]any{"email": "a2@x.example"})
			b1 := f.create(t, other, map[string]any{"email": "b1@x.example"})
			copyData := func(from, to string) {
				t.Helper()
				if _, err := f.raw.Exec("UPDATE records SET data = (SELECT data FROM records WHERE id = $1) WHERE id = $2", from, to); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range []struct{ name, from, to string }{
				{"cross-row", a2, a1},
				{"cross-tenant", b1, a2},
			} {
				t.Run(tc.name, func(t *testing.T) {
					copyData(tc.from, tc.to)
					r := call(t, f.srv, f.admin.Token, "GET", f.org("/collections/people/records/"+tc.to), nil)
					if r.Status != http.StatusInternalServerError {
						t.Fatalf("status %d, want 500: %s", r.Status, r.Body)
					}
					if bytes.Contains(r.Body, []byte("@x.example")) {
						t.Fatalf("a moved ciphertext revealed data: %s", r.Body)
					}
				})
			}
		})
	}
}

// TestKeyRotation: after a tenant-key rotation and a reseal, and after a
// master-key rotation, every record reads back; records end up under the new
// key version.
func TestKeyRotation(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := strongroom.WithPrincipal(context.Background(), &strongroom.Principal{Kind: strongroom.PrincipalSystem})
			st := e.Open(t)
			m1 := make([]byte, 32)
			_, _ = rand.Read(m1)
			kek1, _ := keyring.NewLocalKEK(m1)
			srv := testkit.NewServerWithKeyring(t, st, keyring.New(kek1, nil, st, keyring.Options{}), httpapi.Options{})
			f := &encFixture{srv: srv, st: st}
			f.admin = srv.Signup(t, "rot@enc.example", "Rotating Org")
			f.createCollection(t, f.admin)
			want := map[string]string{}
			for i := 0; i < 23; i++ {
				email := fmt.Sprintf("r%d@rot.example", i)
				want[f.create(t, f.admin, map[string]any{"email": email})] = email
			}
			org := strongroom.TenantID(f.admin.OrgID)
			v, err := srv.Service.RotateTenantKey(ctx, org)
			if err != nil || v != 2 {
				t.Fatalf("RotateTenantKey = %d, %v", v, err)
			}
			want[f.create(t, f.admin, map[string]any{"email": "after@rot.example"})] = "after@rot.example"
			var last struct{ Done, Left int64 }
			n, err := srv.Service.Reseal(ctx, org, 7, func(p service.ResealProgress) { last.Done, last.Left = p.Done, p.Left })
			if err != nil {
				t.Fatal(err)
			}
			if n != 23 || last.Left != 0 {
				t.Fatalf("resealed %d (left %d), want 23 and 0", n, last.Left)
			}
			readAll := func(s *testkit.Server) {
				t.Helper()
				for id, email := range want {
					r := testkit.MustStatus(t, call(t, s, f.admin.Token, "GET", f.org("/collections/people/records/"+id), nil), http.StatusOK)
					var rec struct {
						Data map[string]string `json:"data"`
					}
					if err := json.Unmarshal(r.Body, &rec); err != nil || rec.Data["email"] != email {
						t.Fatalf("record %s: %s", id, r.Body)
					}
				}
			}
			readAll(srv)
			err = st.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
				left, err := tx.CountRecordsSealedBefore(ctx, 2)
				if err == nil && left != 0 {
					err = fmt.Errorf("%d records still under version 1", left)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			// Master-key rotation without touching data.
			m2 := make([]byte, 32)
			_, _ = rand.Read(m2)
			kek2, _ := keyring.NewLocalKEK(m2)
			if _, err := keyring.New(kek2, []keyring.KEK{kek1}, st, keyring.Options{}).RewrapAll(ctx); err != nil {
				t.Fatal(err)
			}
			readAll(testkit.NewServerWithKeyring(t, st, keyring.New(kek2, nil, st, keyring.Options{}), httpapi.Options{}))
		})
	}
}

// TestShredding: destroying an organization's keys makes its records
// unreadable in the live store and in a backup taken before, while another
// organization's data in the same backup stays readable.
func TestShredding(t *testing.T) {
	ctx := context.Background()
	f := newEncFixture(t, "sqlite")
	other := f.srv.Signup(t, "keep@enc.example", "Kept Org")
	f.createCollection(t, other)
	doomed := f.create(t, f.admin, map[string]any{"email": "doomed@x.example"})
	kept := f.create(t, other, map[string]any{"email": "kept@x.example"})
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := f.raw.Exec("VACUUM INTO $1", backup); err != nil {
		t.Fatal(err)
	}
	gone, err := f.srv.Keyring.Destroy(ctx, strongroom.TenantID(f.admin.OrgID))
	if err != nil || len(gone) != 2 {
		t.Fatalf("Destroy = %d keys, %v; want data and index key", len(gone), err)
	}
	if r := call(t, f.srv, f.admin.Token, "GET", f.org("/collections/people/records/"+doomed), nil); r.Status != http.StatusNotFound {
		t.Fatalf("live store after shredding: %d %s, want 404", r.Status, r.Body)
	}
	// The backup, opened against the live keyring, no longer opens the
	// organization's records; the other organization's still do.
	bst, err := store.Open(ctx, store.Config{Path: backup, KeyringPath: filepath.Join(f.dir, "keyring.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bst.Close() })
	bsrv := testkit.NewServerWithKeyring(t, bst, f.srv.Keyring, httpapi.Options{})
	if r := call(t, bsrv, f.admin.Token, "GET", f.org("/collections/people/records/"+doomed), nil); r.Status != http.StatusNotFound || bytes.Contains(r.Body, []byte("doomed@")) {
		t.Fatalf("backup after shredding: %d %s, want 404 and no data", r.Status, r.Body)
	}
	r := testkit.MustStatus(t, call(t, bsrv, other.Token, "GET", "/api/v1/orgs/"+other.OrgID+"/collections/people/records/"+kept, nil), http.StatusOK)
	if !bytes.Contains(r.Body, []byte("kept@x.example")) {
		t.Fatalf("the other organization's data in the backup: %s", r.Body)
	}
}
