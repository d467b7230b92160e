package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// fileEnv is a server with one organization, a collection and a record.
type fileEnv struct {
	srv    *testkit.Server
	admin  testkit.Account
	org    string // /api/v1/orgs/ID
	record string // the record's path
}

func newFileEnv(t *testing.T, st *store.Store, cfg func(*service.Config)) *fileEnv {
	t.Helper()
	srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{Service: func(_ string, c *service.Config) {
		if cfg != nil {
			cfg(c)
		}
	}})
	admin := srv.Signup(t, "files@example.com", "Files Org")
	e := &fileEnv{srv: srv, admin: admin, org: "/api/v1/orgs/" + admin.OrgID}
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: e.org + "/collections", Token: admin.Token,
		Body: map[string]any{"name": "cases", "schema": map[string]any{"type": "object"}}}), http.StatusCreated)
	e.record = e.newRecord(t)
	return e
}

func (e *fileEnv) newRecord(t *testing.T) string {
	t.Helper()
	r := testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "POST", Path: e.org + "/collections/cases/records",
		Token: e.admin.Token, Body: map[string]any{"data": map[string]any{"n": 1}}}), http.StatusCreated).JSON(t)
	return e.org + "/collections/cases/records/" + r["id"].(string)
}

func (e *fileEnv) upload(t *testing.T, record, name string, data []byte) testkit.Response {
	t.Helper()
	return e.srv.Do(t, testkit.Request{Method: "POST", Path: record + "/files", Token: e.admin.Token, Body: data,
		ContentType: "application/octet-stream",
		Header:      map[string]string{"Content-Disposition": mime.FormatMediaType("attachment", map[string]string{"filename": name})}})
}

func (e *fileEnv) mustUpload(t *testing.T, record, name string, data []byte) map[string]any {
	t.Helper()
	return testkit.MustStatus(t, e.upload(t, record, name, data), http.StatusCreated).JSON(t)
}

// download fetches a file without failing on a cut-off body: it returns
// the status, headers, what arrived and the error reading the body.
func (e *fileEnv) download(t *testing.T, record, id string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+record+"/files/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.admin.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func (e *fileEnv) blobKey(id string) string { return e.admin.OrgID + "/" + id }

func readBlob(t *testing.T, bs *blob.Store, key string) []byte {
	t.Helper()
	r, err := bs.NewReader(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeBlob(t *testing.T, bs *blob.Store, key string, b []byte) {
	t.Helper()
	w, err := bs.NewWriter(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func blobKeys(t *testing.T, bs *blob.Store) []string {
	t.Helper()
	objs, _, err := bs.List(context.Background(), "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestFileRoundTrip: small and multi-MiB files come back byte for byte with
// safe download headers; the blob holds no plaintext; list, delete and the
// audit events work; HTML is never served as HTML.
func TestFileRoundTrip(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := newFileEnv(t, eng.Open(t), nil)
			big := randomBytes(3<<20+12345, 1) // several segments and a partial last one
			for _, tc := range []struct {
				name, wantType string
				data           []byte
			}{
				{"notes.txt", "text/plain; charset=utf-8", []byte("meeting notes: the secret word is swordfish\n")},
				{"big.bin", "application/octet-stream", big},
				{"empty.txt", "application/octet-stream", nil},
				{"page.html", "application/octet-stream", []byte("<html><script>alert(1)</script></html>")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					f := e.mustUpload(t, e.record, tc.name, tc.data)
					sum := sha256.Sum256(tc.data)
					if f["name"] != tc.name || f["size"].(float64) != float64(len(tc.data)) || f["sha256"] != hex.EncodeToString(sum[:]) {
						t.Fatalf("metadata %v", f)
					}
					id := f["id"].(string)
					resp, got, err := e.download(t, e.record, id)
					if err != nil || resp.StatusCode != http.StatusOK {
						t.Fatalf("download: %d, %v", resp.StatusCode, err)
					}
					if !bytes.Equal(got, tc.data) {
						t.Fatalf("downloaded %d bytes, differ from the %d uploaded", len(got), len(tc.data))
					}
					h := resp.Header
					if ct := h.Get("Content-Type"); ct != tc.wantType {
						t.Errorf("Content-Type %q, want %q", ct, tc.wantType)
					}
					if _, p, err := mime.ParseMediaType(h.Get("Content-Disposition")); err != nil || p["filename"] != tc.name ||
						!strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
						t.Errorf("Content-Disposition %q", h.Get("Content-Disposition"))
					}
					if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") ||
						h.Get("Cache-Control") != "no-store" {
						t.Errorf("download headers %v", h)
					}
					sealed := readBlob(t, e.srv.Blobs, e.blobKey(id))
					if len(tc.data) > 16 && bytes.Contains(sealed, tc.data[:16]) {
						t.Error("the blob holds plaintext")
					}
				})
			}
			list := testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: e.record + "/files", Token: e.admin.Token}), http.StatusOK).JSON(t)
			items := list["items"].([]any)
			if len(items) != 4 {
				t.Fatalf("listed %d files", len(items))
			}
			id := items[0].(map[string]any)["id"].(string)
			testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "DELETE", Path: e.record + "/files/" + id, Token: e.admin.Token}), http.StatusNoContent)
			testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: e.record + "/files/" + id, Token: e.admin.Token}), http.StatusNotFound)
			for _, k := range blobKeys(t, e.srv.Blobs) {
				if strings.HasSuffix(k, id) {
					t.Errorf("the deleted file's blob %s remains", k)
				}
			}
			actions := auditActions(t, e.srv.Store, strongroom.TenantID(e.admin.OrgID))
			for _, a := range []string{"file.create", "file.read", "file.list", "file.delete"} {
				if actions[a] == 0 {
					t.Errorf("no %s audit event (have %v)", a, actions)
				}
			}
		})
	}
}

func auditActions(t *testing.T, st *store.Store, org strongroom.TenantID) map[string]int {
	t.Helper()
	out := map[string]int{}
	if err := st.Read(context.Background(), store.TenantScope(org), func(tx *store.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), 0, 10000)
		for _, ev := range evs {
			out[ev.Action]++
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFileBlobTampering: a blob with a changed byte, cut short, or moved
// from another file, record or organization does not open: a small file
// answers 500 before any byte; a large one is cut off before its end.
func TestFileBlobTampering(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			e := newFileEnv(t, st, nil)
			small := []byte("the quarterly numbers")
			big := randomBytes(1<<20, 2)
			other := e.newRecord(t)
			otherOrg := e.srv.Signup(t, "other@example.com", "Other Org")
			refused := func(t *testing.T, record, id string, size int) {
				t.Helper()
				resp, got, err := e.download(t, record, id)
				if resp.StatusCode == http.StatusOK && err == nil && len(got) == size {
					t.Fatalf("a tampered blob was served in full")
				}
				if resp.StatusCode == http.StatusOK && len(got) >= size {
					t.Fatalf("served %d of %d bytes", len(got), size)
				}
			}
			t.Run("changed byte", func(t *testing.T) {
				for _, data := range [][]byte{small, big} {
					id := e.mustUpload(t, e.record, "x.bin", data)["id"].(string)
					b := readBlob(t, e.srv.Blobs, e.blobKey(id))
					b[len(b)-20] ^= 1 // in the last segment
					writeBlob(t, e.srv.Blobs, e.blobKey(id), b)
					refused(t, e.record, id, len(data))
				}
			})
			t.Run("truncated", func(t *testing.T) {
				for _, data := range [][]byte{small, big} {
					id := e.mustUpload(t, e.record, "x.bin", data)["id"].(string)
					b := readBlob(t, e.srv.Blobs, e.blobKey(id))
					// Cut at the boundary after the first full segment (big),
					// or inside the only one (small).
					cut := min(len(b)-5, 37+64<<10+16)
					writeBlob(t, e.srv.Blobs, e.blobKey(id), b[:cut])
					refused(t, e.record, id, len(data))
				}
			})
			t.Run("moved from another file of the record", func(t *testing.T) {
				a := e.mustUpload(t, e.record, "a.txt", small)["id"].(string)
				b := e.mustUpload(t, e.record, "b.txt", small)["id"].(string)
				writeBlob(t, e.srv.Blobs, e.blobKey(b), readBlob(t, e.srv.Blobs, e.blobKey(a)))
				refused(t, e.record, b, len(small))
			})
			t.Run("moved from another record", func(t *testing.T) {
				a := e.mustUpload(t, other, "a.txt", small)["id"].(string)
				b := e.mustUpload(t, e.record, "b.txt", small)["id"].(string)
				writeBlob(t, e.srv.Blobs, e.blobKey(b), readBlob(t, e.srv.Blobs, e.blobKey(a)))
				refused(t, e.record, b, len(small))
			})
			t.Run("moved from another organization", func(t *testing.T) {
				oe := &fileEnv{srv: e.srv, admin: otherOrg, org: "/api/v1/orgs/" + otherOrg.OrgID}
				testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "POST", Path: oe.org + "/collections", Token: otherOrg.Token,
					Body: map[string]any{"name": "cases", "schema": map[string]any{"type": "object"}}}), http.StatusCreated)
				orec := oe.newRecord(t)
				a := oe.mustUpload(t, orec, "a.txt", small)["id"].(string)
				b := e.mustUpload(t, e.record, "b.txt", small)["id"].(string)
				writeBlob(t, e.srv.Blobs, e.blobKey(b), readBlob(t, e.srv.Blobs, oe.blobKey(a)))
				refused(t, e.record, b, len(small))
			})
			t.Run("missing", func(t *testing.T) {
				id := e.mustUpload(t, e.record, "gone.txt", small)["id"].(string)
				if err := e.srv.Blobs.Delete(context.Background(), e.blobKey(id)); err != nil {
					t.Fatal(err)
				}
				refused(t, e.record, id, len(small))
			})
		})
	}
}

// TestFileUploadRefusals: an oversized upload is 413 and leaves no row and
// no blob; a nameless, multipart or unnameable upload gets a clear problem;
// a file of an unknown record, or of a record of a client the member is not
// assigned to, is not found; the quota is enforced.
func TestFileUploadRefusals(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := newFileEnv(t, eng.Open(t), func(c *service.Config) {
				c.Files.MaxBytes = 200 << 10
				c.Files.OrgQuotaBytes = 300 << 10
			})
			nothingWritten := func(t *testing.T) {
				t.Helper()
				if keys := blobKeys(t, e.srv.Blobs); len(keys) != 0 {
					t.Errorf("blobs left behind: %v", keys)
				}
				list := testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "GET", Path: e.record + "/files", Token: e.admin.Token}), http.StatusOK).JSON(t)
				if n := len(list["items"].([]any)); n != 0 {
					t.Errorf("%d file rows left behind", n)
				}
			}
			t.Run("oversized with Content-Length", func(t *testing.T) {
				mustProblem(t, e.upload(t, e.record, "big.bin", make([]byte, 200<<10+1)), http.StatusRequestEntityTooLarge)
				nothingWritten(t)
			})
			t.Run("oversized, chunked", func(t *testing.T) {
				req, err := http.NewRequest("POST", e.srv.URL+e.record+"/files", io.MultiReader(bytes.NewReader(make([]byte, 150<<10)), bytes.NewReader(make([]byte, 150<<10))))
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = -1
				req.Header.Set("Authorization", "Bearer "+e.admin.Token)
				req.Header.Set("Content-Disposition", `attachment; filename="big.bin"`)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mustProblem(t, testkit.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, http.StatusRequestEntityTooLarge)
				nothingWritten(t)
			})
			t.Run("no name", func(t *testing.T) {
				r := e.srv.Do(t, testkit.Request{Method: "POST", Path: e.record + "/files", Token: e.admin.Token, Body: []byte("x"),
					ContentType: "application/octet-stream"})
				p := mustProblem(t, r, http.StatusUnprocessableEntity)
				if len(p.Errors) != 1 || p.Errors[0].Path != "/Content-Disposition" {
					t.Errorf("errors %v", p.Errors)
				}
				for _, cd := range []string{"attachment", "attachment; filename=", `attachment; filename="a`, "attachment; filename*=bogus"} {
					r := e.srv.Do(t, testkit.Request{Method: "POST", Path: e.record + "/files", Token: e.admin.Token, Body: []byte("x"),
						ContentType: "application/octet-stream", Header: map[string]string{"Content-Disposition": cd}})
					mustProblem(t, r, http.StatusUnprocessableEntity)
				}
				for _, name := range []string{"..", "/", " . ", "\x00\x01", "\u202e"} {
					mustProblem(t, e.upload(t, e.record, name, []byte("x")), http.StatusUnprocessableEntity)
				}
				nothingWritten(t)
			})
			t.Run("multipart", func(t *testing.T) {
				r := e.srv.Do(t, testkit.Request{Method: "POST", Path: e.record + "/files", Token: e.admin.Token, Body: "--b\r\n\r\nx\r\n--b--",
					ContentType: "multipart/form-data; boundary=b", Header: map[string]string{"Content-Disposition": `attachment; filename="a"`}})
				mustProblem(t, r, http.StatusUnsupportedMediaType)
				nothingWritten(t)
			})
			t.Run("unknown record", func(t *testing.T) {
				for _, rec := range []string{"00000000-0000-7000-8000-000000000009", "not-an-id", "..%2F..%2Fx"} {
					mustProblem(t, e.upload(t, e.org+"/collections/cases/records/"+rec, "a.txt", []byte("x")), http.StatusNotFound)
				}
				nothingWritten(t)
			})
			t.Run("quota", func(t *testing.T) {
				e.mustUpload(t, e.record, "a.bin", make([]byte, 180<<10))
				mustProblem(t, e.upload(t, e.record, "b.bin", make([]byte, 180<<10)), http.StatusRequestEntityTooLarge)
				if keys := blobKeys(t, e.srv.Blobs); len(keys) != 1 {
					t.Errorf("blobs after a refusal by quota: %v", keys)
				}
			})
		})
	}
}

// TestFileNames: hostile names are kept only as safe names.
func TestFileNames(t *testing.T) {
	e := newFileEnv(t, testkit.OpenSQLiteStore(t), nil)
	long := strings.Repeat("é", 300) + ".pdf"
	for _, tc := range []struct{ in, want string }{
		{"../../etc/passwd", "passwd"},
		{`..\..\windows\win.ini`, "win.ini"},
		{"/abs/path/report.pdf", "report.pdf"},
		{"a\x00b\x1fc\x7f.txt", "abc.txt"},
		{"evil\u202egnp.exe", "evilgnp.exe"},
		{"line\r\nbreak.txt", "linebreak.txt"},
		{`what?<>:"|*.txt`, "what_______.txt"},
		{"  .hidden.  ", "hidden"},
		{"Cafe\u0301 menu.txt", "Café menu.txt"},
		{"日本語の報告書.pdf", "日本語の報告書.pdf"},
		{"tab\there.txt", "tab here.txt"},
	} {
		f := e.mustUpload(t, e.record, tc.in, []byte("x"))
		if f["name"] != tc.want {
			t.Errorf("%q kept as %q, want %q", tc.in, f["name"], tc.want)
		}
	}
	f := e.mustUpload(t, e.record, long, []byte("x"))
	name := f["name"].(string)
	if len(name) > service.MaxFileNameBytes || !strings.HasSuffix(name, "é.pdf") {
		t.Errorf("a %d-byte name kept as %d bytes: %q", len(long), len(name), name)
	}
	resp, _, err := e.download(t, e.record, f["id"].(string))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatal(err)
	}
	if _, p, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err != nil || p["filename"] != name {
		t.Errorf("Content-Disposition %q does not carry the name", resp.Header.Get("Content-Disposition"))
	}
}

// TestFileAccess: Viewers read but do not write, a member limited to a
// client does not reach another client's record's files, a restricted
// record's files are hidden, and deleting a record deletes its files (the
// sweeper then removes the blobs).
func TestFileAccess(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := newFileEnv(t, eng.Open(t), nil)
			srv := e.srv
			client := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: e.org + "/clients", Token: e.admin.Token,
				Body: map[string]string{"name": "Contoso"}}), http.StatusCreated).JSON(t)["id"].(string)
			other := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: e.org + "/clients", Token: e.admin.Token,
				Body: map[string]string{"name": "Fabrikam"}}), http.StatusCreated).JSON(t)["id"].(string)
			ofOther := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: e.org + "/collections/cases/records",
				Token: e.admin.Token, Body: map[string]any{"data": map[string]any{}, "client_id": other}}), http.StatusCreated).JSON(t)["id"].(string)
			otherRec := e.org + "/collections/cases/records/" + ofOther
			fid := e.mustUpload(t, otherRec, "contract.pdf", []byte("%PDF-1.4 contract"))["id"].(string)
			editor := addMember(t, srv, e.admin, "editor@files.example", "editor")
			testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "PUT", Path: e.org + "/members/" + editor.UserID + "/clients",
				Token: e.admin.Token, Body: map[string]any{"client_ids": []string{client}}}), http.StatusOK)
			for _, req := range []testkit.Request{
				{Method: "GET", Path: otherRec + "/files"},
				{Method: "GET", Path: otherRec + "/files/" + fid},
				{Method: "DELETE", Path: otherRec + "/files/" + fid},
				{Method: "POST", Path: otherRec + "/files", Body: []byte("x"), ContentType: "application/octet-stream",
					Header: map[string]string{"Content-Disposition": `attachment; filename="x"`}},
			} {
				req.Token = editor.Token
				mustProblem(t, srv.Do(t, req), http.StatusNotFound)
			}
			viewer := addMember(t, srv, e.admin, "viewer@files.example", "viewer")
			testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: otherRec + "/files/" + fid, Token: viewer.Token}), http.StatusOK)
			mustProblem(t, srv.Do(t, testkit.Request{Method: "DELETE", Path: otherRec + "/files/" + fid, Token: viewer.Token}), http.StatusForbidden)

			// Deleting the record deletes its files; the sweeper removes the blob.
			testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "DELETE", Path: otherRec, Token: e.admin.Token}), http.StatusNoContent)
			mustProblem(t, srv.Do(t, testkit.Request{Method: "GET", Path: otherRec + "/files/" + fid, Token: e.admin.Token}), http.StatusNotFound)
			keep := e.mustUpload(t, e.record, "keep.txt", []byte("kept"))["id"].(string)
			rep, err := srv.Service.SweepOrphanBlobs(context.Background(), service.BlobSweepOptions{Holder: "test", Grace: time.Nanosecond, BatchSize: 1})
			if err != nil || !rep.Ran || rep.Deleted != 1 {
				t.Fatalf("sweep: %+v, %v", rep, err)
			}
			if keys := blobKeys(t, srv.Blobs); len(keys) != 1 || keys[0] != e.blobKey(keep) {
				t.Errorf("blobs after the sweep: %v", keys)
			}
		})
	}
}

// addMember signs an account up and adds it to admin's organization.
func addMember(t *testing.T, srv *testkit.Server, admin testkit.Account, email, role string) testkit.Account {
	t.Helper()
	acct := srv.Signup(t, email, "Own "+email)
	testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + admin.OrgID + "/members", Token: admin.Token,
		Body: map[string]string{"email": email, "role": role}}), http.StatusCreated)
	acct.OrgID = admin.OrgID
	return acct
}

// TestFilesOnS3: the same round trip, refusal and sweep against an
// S3-compatible bucket.
func TestFilesOnS3(t *testing.T) {
	s3 := testkit.NewS3Server(t)
	bs, err := blob.Open(context.Background(), s3.Bucket(t, "files"))
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	e := newFileEnv(t, testkit.OpenSQLiteStore(t), func(c *service.Config) { c.Files.Blobs = bs; c.Files.MaxBytes = 4 << 20 })
	data := randomBytes(2<<20+7, 3)
	id := e.mustUpload(t, e.record, "scan.bin", data)["id"].(string)
	resp, got, err := e.download(t, e.record, id)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("download from S3: %d, %v, %d bytes", resp.StatusCode, err, len(got))
	}
	if keys := s3.Objects(t, "files"); len(keys) != 1 || keys[0] != e.blobKey(id) {
		t.Fatalf("bucket holds %v", keys)
	}
	mustProblem(t, e.upload(t, e.record, "huge.bin", make([]byte, 4<<20+1)), http.StatusRequestEntityTooLarge)
	if keys := s3.Objects(t, "files"); len(keys) != 1 {
		t.Fatalf("a refused upload left %v", keys)
	}
	testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "DELETE", Path: e.record, Token: e.admin.Token}), http.StatusNoContent)
	if _, err := e.srv.Service.SweepOrphanBlobs(context.Background(), service.BlobSweepOptions{Holder: "t", Grace: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	if keys := s3.Objects(t, "files"); len(keys) != 0 {
		t.Fatalf("after the record's deletion and a sweep the bucket holds %v", keys)
	}
}

// TestFilesInOrgExport: the organization export lists every file in
// files.jsonl and carries its content, decrypted, as files/<id>.
func TestFilesInOrgExport(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := newFileEnv(t, eng.Open(t), nil)
			want := map[string][]byte{}
			for i, data := range [][]byte{[]byte("small one"), randomBytes(1<<20+3, 4), nil} {
				f := e.mustUpload(t, e.record, "f"+string(rune('a'+i))+".bin", data)
				want[f["id"].(string)] = data
			}
			r := testkit.MustStatus(t, e.srv.Do(t, testkit.Request{Method: "POST", Path: e.org + "/export", Token: e.admin.Token,
				Body: map[string]string{"recipient": fixtureExportKey.Recipient().String()}}), http.StatusOK)
			files := openArchive(t, r.Body, fixtureExportKey)
			lines := jsonLines(t, files["files.jsonl"])
			if len(lines) != len(want) {
				t.Fatalf("files.jsonl has %d lines, want %d", len(lines), len(want))
			}
			for _, l := range lines {
				id := l["id"].(string)
				sum := sha256.Sum256(want[id])
				if l["path"] != "files/"+id || l["sha256"] != hex.EncodeToString(sum[:]) || l["size"] != float64(len(want[id])) {
					t.Errorf("files.jsonl line %v", l)
				}
				if !bytes.Equal(files["files/"+id], want[id]) {
					t.Errorf("files/%s: %d bytes, want %d", id, len(files["files/"+id]), len(want[id]))
				}
			}
		})
	}
}

// TestFilesLifecycle: a data-subject export lists a record's files; a
// data-subject deletion, the retention sweep and the termination purge
// delete file rows with their records; the orphan sweeper then removes
// every blob (and the purge's shredded keys already made them unreadable).
func TestFilesLifecycle(t *testing.T) {
	for _, eng := range testkit.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			e := newRetentionEnv(t, st)
			org := strongroom.TenantID(e.admin.OrgID)
			e.collection(t, "people", map[string]any{"days": 10, "from": "created"})
			fe := &fileEnv{srv: e.srv, admin: e.admin, org: e.org("")}
			upload := func(t *testing.T, rec string) string {
				t.Helper()
				fe.admin.Token = e.admin.Token // e.at signs in again
				return fe.mustUpload(t, e.org("/collections/people/records/"+rec), "id-card.png", []byte("\x89PNG\r\n\x1a\n...."))["id"].(string)
			}
			fileRows := func(t *testing.T) int64 {
				t.Helper()
				var n int64
				if err := st.Read(t.Context(), store.TenantScope(org), func(tx *store.Tx) error {
					counts, err := tx.TenantRowCounts(t.Context())
					n = counts["record_files"]
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return n
			}
			a := e.record(t, "people", map[string]any{"email": "ann@x.example"})
			b := e.record(t, "people", map[string]any{"email": "bob@x.example"})
			c := e.record(t, "people", map[string]any{"email": "cid@x.example"})
			fa := upload(t, a)
			upload(t, b)
			upload(t, c)

			dsr := func(kind, email string) map[string]any {
				d := testkit.MustStatus(t, e.call(t, "POST", "/dsr", map[string]any{"kind": kind,
					"identifiers": []map[string]any{{"field": "email", "value": email}}}), http.StatusCreated).JSON(t)
				return testkit.MustStatus(t, e.call(t, "POST", "/dsr/"+d["id"].(string)+"/execute", nil), http.StatusOK).JSON(t)
			}
			x := dsr("export", "ann@x.example")
			recs := x["records"].([]any)
			if len(recs) != 1 {
				t.Fatalf("export: %v", x)
			}
			files := recs[0].(map[string]any)["files"].([]any)
			if len(files) != 1 || files[0].(map[string]any)["id"] != fa || files[0].(map[string]any)["content_type"] != "image/png" {
				t.Errorf("exported files %v", files)
			}
			dsr("delete", "bob@x.example")
			if n := fileRows(t); n != 2 {
				t.Errorf("%d file rows after a data-subject deletion, want 2", n)
			}

			e.at(t, t0.Add(11*24*time.Hour))
			if rep, err := e.srv.Service.SweepRetention(t.Context(), service.SweepOptions{Holder: "r"}); err != nil || rep.Deleted != 2 { // ann and cid (bob went by the data-subject deletion)
				t.Fatalf("retention sweep: %+v, %v", rep, err)
			}
			if n := fileRows(t); n != 0 {
				t.Errorf("%d file rows after the retention sweep, want 0", n)
			}
			d := e.record(t, "people", map[string]any{"email": "dee@x.example"})
			upload(t, d)
			if n := fileRows(t); n != 1 {
				t.Fatalf("%d file rows, want 1", n)
			}

			testkit.MustStatus(t, e.call(t, "POST", "/termination", map[string]string{"confirm": "Retention"}), http.StatusAccepted)
			// The blob store's clock is the real one: sweep after it.
			e.clock.set(time.Now().Add(time.Hour))
			if _, err := e.srv.Service.PurgeTerminated(t.Context(), "replica-a", time.Minute); err != nil {
				t.Fatal(err)
			}
			if n := fileRows(t); n != 0 {
				t.Errorf("%d file rows after the termination purge, want 0", n)
			}
			if len(blobKeys(t, e.srv.Blobs)) != 4 {
				t.Fatalf("blobs before the sweep: %v", blobKeys(t, e.srv.Blobs))
			}
			rep, err := e.srv.Service.SweepOrphanBlobs(t.Context(), service.BlobSweepOptions{Holder: "s", Grace: time.Nanosecond})
			if err != nil || rep.Deleted != 4 {
				t.Fatalf("blob sweep: %+v, %v", rep, err)
			}
			if keys := blobKeys(t, e.srv.Blobs); len(keys) != 0 {
				t.Errorf("blobs left after the purge and a sweep: %v", keys)
			}
		})
	}
}
