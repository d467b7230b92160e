package httpapi_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/retention"
	"strongroom.dev/strongroom/store"
)

// openArchive decrypts an export with identity and returns its files.
func openArchive(t *testing.T, body []byte, id age.Identity) map[string][]byte {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(body), id)
	if err != nil {
		t.Fatalf("decrypting the export: %v", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decrypting the export: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(plain), int64(len(plain)))
	if err != nil {
		t.Fatalf("opening the archive: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

// jsonLines decodes a JSON Lines file.
func jsonLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, v)
	}
	return out
}

// TestOrgExportRoundTrip: an Admin's export decrypts (to a recipient and to a
// passphrase) into the organization's collections, records (decrypted,
// restricted ones marked), members, clients, settings and audit log; its
// progress is recorded; it is audited.
func TestOrgExportRoundTrip(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			f := newFixture(t, st)
			client := f.newClient(t)
			want := map[string]map[string]any{}
			for i := range 1203 { // more than two pages
				data := map[string]any{"email": "p" + strings.Repeat("x", i%7) + "@example.com", "n": float64(i)}
				body := map[string]any{"data": data}
				if i%100 == 0 {
					body["client_id"] = client
				}
				want[f.create(t, "/collections/contacts/records", body)["id"].(string)] = data
			}
			d := f.create(t, "/dsr", map[string]any{"kind": "restrict", "identifiers": []map[string]any{{"field": "email", "value": "p@example.com"}}})
			testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "POST", f.org("/dsr/"+d["id"].(string)+"/execute"), nil), http.StatusOK)
			tok, _ := f.sessionOf(t, f.admin)

			// To a recipient.
			r := testkit.MustStatus(t, call(t, f.srv, tok, "POST", f.org("/export"),
				map[string]string{"recipient": fixtureExportKey.Recipient().String()}), http.StatusOK)
			if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" || r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, r.Header.Get("Cache-Control"))
			}
			if bytes.Contains(r.Body, []byte("@example.com")) {
				t.Error("the export carries plaintext")
			}
			files := openArchive(t, r.Body, fixtureExportKey)
			var names []string
			for n := range files {
				names = append(names, n)
			}
			slices.Sort(names)
			wantNames := []string{"audit.jsonl", "clients.jsonl", "collections.jsonl", "files.jsonl", "manifest.json", "members.jsonl",
				"organization.json", "records/contacts.jsonl", "settings.json"}
			if diff := cmp.Diff(wantNames, names); diff != "" {
				t.Fatalf("archive files (-want +got):\n%s", diff)
			}
			got := map[string]map[string]any{}
			restricted := 0
			for _, rec := range jsonLines(t, files["records/contacts.jsonl"]) {
				got[rec["id"].(string)] = rec["data"].(map[string]any)
				if rec["restricted"] == true {
					restricted++
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("exported records (-want +got):\n%s", diff)
			}
			if restricted != 172 { // i%7 == 0 among 0..1202
				t.Errorf("%d records marked restricted, want 172", restricted)
			}
			var man map[string]any
			if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
				t.Fatal(err)
			}
			if man["format"] != "strongroom-tenant-export" || man["tenant"] != f.admin.OrgID ||
				man["files"].(map[string]any)["records/contacts.jsonl"] != 1203.0 {
				t.Errorf("manifest %s", files["manifest.json"])
			}
			members := jsonLines(t, files["members.jsonl"])
			if len(members) != 3 {
				t.Errorf("%d members exported, want 3", len(members))
			}
			if cl := jsonLines(t, files["clients.jsonl"]); len(cl) != 1 || cl[0]["id"] != client {
				t.Errorf("clients exported: %v", cl)
			}
			audit := jsonLines(t, files["audit.jsonl"])
			if len(audit) == 0 || audit[0]["type"] != "header" || audit[0]["tenant"] != f.admin.OrgID {
				t.Errorf("audit.jsonl does not start with the audit export's header: %v", audit)
			}

			// Its progress.
			id := r.Header.Get("X-Export-Id")
			if r.Header.Get("Location") != f.org("/exports/"+id) {
				t.Errorf("Location %q", r.Header.Get("Location"))
			}
			job := testkit.MustStatus(t, call(t, f.srv, f.admin.Token, "GET", f.org("/exports/"+id), nil), http.StatusOK).JSON(t)
			if job["status"] != "completed" || job["records"] != 1203.0 || job["records_total"] != 1203.0 ||
				job["bytes"] != float64(len(r.Body)) || job["collections"] != 1.0 || job["finished_at"] == nil {
				t.Errorf("export job %v (archive %d bytes)", job, len(r.Body))
			}
			dsrEvent(t, st, f.admin.OrgID, "org.export", id)

			// To a passphrase.
			const pass = "correct horse battery staple export"
			r = testkit.MustStatus(t, call(t, f.srv, tok, "POST", f.org("/export"), map[string]string{"passphrase": pass}), http.StatusOK)
			sid, err := age.NewScryptIdentity(pass)
			if err != nil {
				t.Fatal(err)
			}
			if files := openArchive(t, r.Body, sid); len(jsonLines(t, files["records/contacts.jsonl"])) != 1203 {
				t.Error("the passphrase export lacks records")
			}
			if _, err := age.Decrypt(bytes.NewReader(r.Body), fixtureExportKey); err == nil {
				t.Error("a passphrase export opened with another identity")
			}

			// Refusals: nothing exported, nothing recorded.
			head := auditHead(t, st, f.admin.OrgID)
			other, _ := age.GenerateX25519Identity()
			for _, tc := range []struct {
				name   string
				body   any
				status int
			}{
				{"neither", map[string]string{}, 422},
				{"both", map[string]string{"passphrase": pass, "recipient": other.Recipient().String()}, 422},
				{"short passphrase", map[string]string{"passphrase": "hunter2"}, 422},
				{"long passphrase", map[string]string{"passphrase": strings.Repeat("p", 1025)}, 422},
				{"bad recipient", map[string]string{"recipient": "age1notakey"}, 422},
				{"ssh recipient", map[string]string{"recipient": "ssh-ed25519 AAAA"}, 422},
				{"unknown member", `{"recipient":"x","compress":false}`, 400},
				{"malformed", `{"recipient":`, 400},
				{"oversized", `{"passphrase":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := call(t, f.srv, tok, "POST", f.org("/export"), tc.body)
					mustProblem(t, r, tc.status)
				})
			}
			for _, acct := range []testkit.Account{f.viewer, f.editor} {
				mustProblem(t, call(t, f.srv, acct.Token, "POST", f.org("/export"), map[string]string{"passphrase": pass}), http.StatusForbidden)
				mustProblem(t, call(t, f.srv, acct.Token, "GET", f.org("/exports/"+id), nil), http.StatusForbidden)
			}
			mustProblem(t, call(t, f.srv, f.outsider.Token, "GET", f.org("/exports/"+id), nil), http.StatusNotFound)
			mustProblem(t, call(t, f.srv, f.outsider.Token, "GET", "/api/v1/orgs/"+f.outsider.OrgID+"/exports/"+id, nil), http.StatusNotFound)
			mustProblem(t, call(t, f.srv, f.admin.Token, "GET", f.org("/exports/not-an-id"), nil), http.StatusNotFound)
			for _, e := range auditSince(t, st, f.admin.OrgID, head) {
				if e.Action == "org.export" && e.Result == strongroom.ResultSuccess {
					t.Errorf("a refused export was audited as one: %+v", e)
				}
			}
		})
	}
}

// TestTermination: an Admin terminates the organization; at the next request
// members and API keys lose access, the Admin can still export and cancel;
// cancelling restores access; after the return window the purge job deletes
// every row, destroys the keys and issues a deletion certificate that
// verifies with the audit signing key and is fetched by its token.
func TestTermination(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			e := newRetentionEnv(t, st)
			other := e.srv.Signup(t, "viewer@retention.example", "Viewer's own")
			testkit.MustStatus(t, e.call(t, "POST", "/members", map[string]string{"email": other.Email, "role": "viewer"}), http.StatusCreated)
			key := testkit.MustStatus(t, e.call(t, "POST", "/api-keys", map[string]string{"name": "etl", "role": "admin"}),
				http.StatusCreated).JSON(t)["secret"].(string)
			e.collection(t, "people", nil)
			for i := range 25 {
				e.record(t, "people", map[string]any{"email": "p@x.example", "n": i})
			}
			records := e.org("/collections/people/records")
			// Another organization's data, which the purge must not touch.
			otherOrg := "/api/v1/orgs/" + other.OrgID
			testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "POST", Path: otherOrg + "/collections", Token: other.Token,
				Body: map[string]any{"name": "kept", "schema": json.RawMessage(`{"type":"object"}`)}}), http.StatusCreated)
			kept := testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "POST", Path: otherOrg + "/collections/kept/records", Token: other.Token,
				Body: map[string]any{"data": map[string]any{"n": 1}}}), http.StatusCreated).JSON(t)["id"].(string)
			as := func(token, method, path string, body any) testkit.Response {
				return e.srv.Do(t, testkit.Request{Method: method, Path: path, Token: token, Body: body})
			}
			reachable := func(want bool) {
				t.Helper()
				for name, tok := range map[string]string{"viewer": other.Token, "API key": key} {
					r := as(tok, "GET", records, nil)
					if (r.Status == http.StatusOK) != want {
						t.Errorf("%s lists records: %d, want reachable=%v", name, r.Status, want)
					}
				}
			}
			reachable(true)

			if s := testkit.MustStatus(t, e.call(t, "GET", "/termination", nil), http.StatusOK).JSON(t); s["status"] != "none" {
				t.Errorf("termination status before: %v", s)
			}
			mustProblem(t, e.call(t, "DELETE", "/termination", nil), http.StatusNotFound)
			// The name must be confirmed; bad bodies are refused.
			mustProblem(t, e.call(t, "POST", "/termination", map[string]string{"confirm": "retention"}), http.StatusUnprocessableEntity)
			mustProblem(t, e.call(t, "POST", "/termination", map[string]string{}), http.StatusUnprocessableEntity)
			mustProblem(t, e.call(t, "POST", "/termination", `{"confirm":"Retention","window":"0s"}`), http.StatusBadRequest)
			mustProblem(t, e.call(t, "POST", "/termination", `{"confirm":`), http.StatusBadRequest)
			mustProblem(t, e.call(t, "POST", "/termination", `{"confirm":"`+strings.Repeat("R", 2<<20)+`"}`), http.StatusRequestEntityTooLarge)
			mustProblem(t, as(other.Token, "POST", e.org("/termination"), map[string]string{"confirm": "Retention"}), http.StatusForbidden)
			reachable(true)
			r := testkit.MustStatus(t, e.call(t, "POST", "/termination", map[string]string{"confirm": "Retention"}), http.StatusAccepted)
			first := r.JSON(t)
			if first["status"] != "terminated" || !strings.HasPrefix(first["certificate_token"].(string), "srd_") {
				t.Fatalf("termination %s", r.Body)
			}
			mustProblem(t, e.call(t, "POST", "/termination", map[string]string{"confirm": "Retention"}), http.StatusConflict)

			// Access ends at once, for everyone but the Admin's export and the termination.
			mustProblem(t, as(other.Token, "GET", records, nil), http.StatusNotFound)
			mustProblem(t, as(other.Token, "GET", e.org(""), nil), http.StatusNotFound)
			mustProblem(t, as(key, "GET", records, nil), http.StatusUnauthorized)
			mustProblem(t, e.call(t, "GET", "/collections/people/records", nil), http.StatusNotFound)
			mustProblem(t, e.call(t, "POST", "/collections/people/records", map[string]any{"data": map[string]any{}}), http.StatusNotFound)
			mustProblem(t, e.call(t, "GET", "/members", nil), http.StatusNotFound)
			s := testkit.MustStatus(t, e.call(t, "GET", "/termination", nil), http.StatusOK).JSON(t)
			if s["status"] != "terminated" || s["certificate_token"] != nil {
				t.Errorf("termination status %v", s)
			}
			id, _ := age.GenerateX25519Identity()
			x := testkit.MustStatus(t, e.call(t, "POST", "/export", map[string]string{"recipient": id.Recipient().String()}), http.StatusOK)
			if n := len(jsonLines(t, openArchive(t, x.Body, id)["records/people.jsonl"])); n != 25 {
				t.Errorf("export in the window holds %d records, want 25", n)
			}

			// Cancelling restores access.
			testkit.MustStatus(t, e.call(t, "DELETE", "/termination", nil), http.StatusNoContent)
			reachable(true)
			mustProblem(t, e.call(t, "DELETE", "/termination", nil), http.StatusNotFound)

			// Terminated again; the window ends; the purge job runs.
			second := testkit.MustStatus(t, e.call(t, "POST", "/termination", map[string]string{"confirm": "Retention"}), http.StatusAccepted).JSON(t)
			reachable(false)
			rep, err := e.srv.Service.PurgeTerminated(t.Context(), "replica-a", time.Minute)
			if err != nil || len(rep.Purged) != 0 {
				t.Fatalf("purge inside the window: %+v, %v", rep, err)
			}
			e.at(t, t0.Add(31*24*time.Hour))
			// Another replica holding the lease: this one does not run.
			if ok, err := st.AcquireLease(t.Context(), "termination-purger", "replica-b", e.clock.now(), time.Minute); err != nil || !ok {
				t.Fatal(err)
			}
			if rep, err := e.srv.Service.PurgeTerminated(t.Context(), "replica-a", time.Minute); err != nil || rep.Ran {
				t.Fatalf("purge while another holds the lease: %+v, %v", rep, err)
			}
			if err := st.ReleaseLease(t.Context(), "termination-purger", "replica-b"); err != nil {
				t.Fatal(err)
			}
			var shredded []strongroom.TenantID // what serve's keyring-backup rewrite would be told
			e.srv.Service.OnShred(func(_ context.Context, tenant strongroom.TenantID) error {
				shredded = append(shredded, tenant)
				return nil
			})
			rep, err = e.srv.Service.PurgeTerminated(t.Context(), "replica-a", time.Minute)
			if err != nil || len(rep.Purged) != 1 || rep.Purged[0] != strongroom.TenantID(e.admin.OrgID) {
				t.Fatalf("purge after the window: %+v, %v", rep, err)
			}
			if want := []strongroom.TenantID{strongroom.TenantID(e.admin.OrgID)}; !slices.Equal(shredded, want) {
				t.Errorf("after the purge, the shred hook was told %v, want %v", shredded, want)
			}

			// Everything is gone; only the audit log is kept.
			var counts map[string]int64
			if err := st.Read(t.Context(), store.TenantScope(strongroom.TenantID(e.admin.OrgID)), func(tx *store.Tx) error {
				var err error
				counts, err = tx.TenantRowCounts(t.Context())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for table, n := range counts {
				if n != 0 && !slices.Contains(store.RetainedTables, table) {
					t.Errorf("%d rows left in %s", n, table)
				}
			}
			if counts["audit_events"] == 0 {
				t.Error("the audit log was not kept")
			}
			keys, err := st.TenantKeys(t.Context(), strongroom.TenantID(e.admin.OrgID))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if k.Kind != store.KeyShredded || len(k.Wrapped) != 0 {
					t.Errorf("a key is left after the purge: %s v%d", k.Kind, k.Version)
				}
			}
			if _, err := e.srv.Keyring.Keys(t.Context(), strongroom.TenantID(e.admin.OrgID)); err == nil {
				t.Error("the keyring still hands out the organization's keys")
			}
			// The Admin's account belonged to the purged organization only: it is
			// gone with it, and its session with it. The viewer, also a member
			// of their own organization, keeps theirs.
			mustProblem(t, e.call(t, "GET", "", nil), http.StatusUnauthorized)
			mustProblem(t, e.srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/password",
				Body: map[string]string{"email": e.admin.Email, "password": "correct horse battery staple"}}), http.StatusUnauthorized)
			// The other organization is untouched (its member signs in again: the clock moved).
			r = testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/password",
				Body: map[string]string{"email": other.Email, "password": "correct horse battery staple"}}), http.StatusOK)
			otherTok := r.JSON(t)["token"].(string)
			testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: otherOrg + "/collections/kept/records/" + kept, Token: otherTok}), http.StatusOK)

			// The certificate: by token, verified with the audit signing key.
			mustProblem(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/deletion-certificates/" + first["certificate_token"].(string)}), http.StatusNotFound)
			mustProblem(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/deletion-certificates/srd_nope"}), http.StatusNotFound)
			cr := testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: "/api/v1/deletion-certificates/" + second["certificate_token"].(string)}), http.StatusOK)
			signer, err := e.srv.Keyring.ExistingSigningKey(t.Context())
			if err != nil || signer == nil {
				t.Fatalf("signing key: %v", err)
			}
			cert, err := retention.VerifyCertificate(cr.Body, signer.PublicKey())
			if err != nil {
				t.Fatalf("certificate does not verify: %v: %s", err, cr.Body)
			}
			for table, want := range map[string]int64{"records": 25, "collections": 1, "memberships": 2, "api_keys": 1, "organizations": 1, store.DeletedAccounts: 1} {
				if cert.Deleted[table] != want {
					t.Errorf("certificate: %d %s deleted, want %d", cert.Deleted[table], table, want)
				}
			}
			if cert.Tenant != e.admin.OrgID || cert.Organization != "Retention" || len(cert.KeysDestroyed) == 0 || cert.Retained["audit_events"] == 0 {
				t.Errorf("certificate %+v", cert)
			}
			tampered := bytes.Replace(cr.Body, []byte(`"records":25`), []byte(`"records":24`), 1)
			if _, err := retention.VerifyCertificate(tampered, signer.PublicKey()); err == nil {
				t.Error("a tampered certificate verified")
			}
			// A second run finds nothing to do.
			if rep, err := e.srv.Service.PurgeTerminated(t.Context(), "replica-a", time.Minute); err != nil || len(rep.Purged) != 0 {
				t.Errorf("second purge: %+v, %v", rep, err)
			}
			// The platform log keeps the evidence.
			var actions []string
			for _, ev := range auditSince(t, st, string(strongroom.PlatformTenant), 0) {
				if ev.TargetID == e.admin.OrgID {
					actions = append(actions, ev.Action)
				}
			}
			for _, want := range []string{"org.keys_destroyed", "org.purge", "deletion_certificate.read"} {
				if !slices.Contains(actions, want) {
					t.Errorf("platform log lacks %s: %v", want, actions)
				}
			}
		})
	}
}
