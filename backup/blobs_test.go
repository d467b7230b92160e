package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// fileFixture is a store with files uploaded through the service, in two
// organizations.
type fileFixture struct {
	engine string
	st     *store.Store
	kek    keyring.KEK
	keys   *keyring.Keyring
	blobs  *blob.Store
	orgs   []fileOrg
	id     *age.X25519Identity
	// layout is what backup writes (LayoutAuto: the engine's default).
	layout backup.Layout
}

type fileOrg struct {
	org   strongroom.TenantID
	admin context.Context
	rec   strongroom.RecordID
	files map[strongroom.FileID][]byte // content by file
}

// newKEK returns a local master key (the same one opens a restored keyring).
func newKEK(t testing.TB) keyring.KEK {
	t.Helper()
	m := make([]byte, 32)
	_, _ = rand.Read(m)
	kek, err := keyring.NewLocalKEK(m)
	if err != nil {
		t.Fatal(err)
	}
	return kek
}

// adminContext is a context carrying the organization's Admin, recently
// signed in.
func adminContext(acct testkit.Account) context.Context {
	org := strongroom.TenantID(acct.OrgID)
	return strongroom.WithPrincipal(context.Background(), &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: strongroom.UserID(acct.UserID),
		Membership: &strongroom.Membership{TenantID: org, UserID: strongroom.UserID(acct.UserID), Role: strongroom.RoleAdmin},
		Session:    &strongroom.Session{AuthTime: time.Now(), AAL: 1, Methods: []string{"password"}}})
}

// newFileFixture uploads, in each of two organizations, an empty file, a
// small one, one of several envelope segments and one larger than a blob
// data frame, into blobs.
func newFileFixture(t *testing.T, engine string, blobs *blob.Store) *fileFixture {
	t.Helper()
	f := &fileFixture{engine: engine, st: openStore(t, engine), kek: newKEK(t), blobs: blobs, id: newIdentity(t)}
	f.keys = keyring.New(f.kek, nil, f.st, keyring.Options{})
	srv := testkit.NewServerWithConfig(t, f.st, testkit.ServerConfig{Keyring: f.keys,
		Service: func(_ string, cfg *service.Config) { cfg.Files.Blobs = blobs }})
	sizes := []int{0, 10, 200 << 10, 1<<20 + 12345}
	for o := range 2 {
		acct := srv.Signup(t, fmt.Sprintf("files%d@backup.example", o), fmt.Sprintf("Files org %d", o))
		fo := fileOrg{org: strongroom.TenantID(acct.OrgID), admin: adminContext(acct), files: map[strongroom.FileID][]byte{}}
		if _, err := srv.Service.CreateCollection(fo.admin, fo.org, service.CollectionInput{Name: "docs", Schema: []byte(`{"type":"object"}`)}); err != nil {
			t.Fatal(err)
		}
		r, err := srv.Service.CreateRecord(fo.admin, fo.org, "docs", service.RecordInput{Data: []byte(`{"title":"contract"}`)})
		if err != nil {
			t.Fatal(err)
		}
		fo.rec = r.ID
		for i, n := range sizes {
			content := make([]byte, n)
			_, _ = rand.Read(content)
			copy(content, fmt.Sprintf("PLAINTEXT-MARKER org %d file %d ", o, i))
			if n < 40 {
				content = []byte("PLAINTEXT-MARKER")[:min(n, 16)]
			}
			file, err := srv.Service.UploadFile(fo.admin, fo.org, "docs", fo.rec, fmt.Sprintf("file-%d.bin", i), bytes.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			fo.files[file.ID] = content
		}
		f.orgs = append(f.orgs, fo)
	}
	return f
}

// backup writes a data backup of the fixture.
func (f *fileFixture) backup(t *testing.T) ([]byte, *backup.Manifest) {
	t.Helper()
	var b bytes.Buffer
	m, err := backup.WriteLayout(context.Background(), f.st, f.blobs, &b, []age.Recipient{f.id.Recipient()}, created, f.layout)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), m
}

// keyringTo copies the fixture's keyring into dst (as 'keys restore' does).
func (f *fileFixture) keyringTo(t *testing.T, dst *store.Store) {
	t.Helper()
	ctx := context.Background()
	loc, err := backup.OpenKeyringLocation(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	idx, err := loc.PutKeyring(ctx, f.st, []age.Recipient{f.id.Recipient()}, created)
	if err != nil {
		t.Fatal(err)
	}
	r, err := loc.Open(ctx, idx.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := backup.RestoreKeyring(ctx, dst, r, []age.Identity{f.id}); err != nil {
		t.Fatal(err)
	}
}

// serviceOn starts the service on a restored store and blob store with the
// fixture's master key.
func (f *fileFixture) serviceOn(t *testing.T, st *store.Store, blobs *blob.Store) *service.Service {
	t.Helper()
	srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{Keyring: keyring.New(f.kek, nil, st, keyring.Options{}),
		Service: func(_ string, cfg *service.Config) { cfg.Files.Blobs = blobs }})
	return srv.Service
}

func folderBlobs(t *testing.T) *blob.Store {
	t.Helper()
	bs, err := blob.Open(context.Background(), filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	return bs
}

func s3Blobs(t *testing.T, s3 *testkit.S3Server, bucket string) *blob.Store {
	t.Helper()
	bs, err := blob.Open(context.Background(), s3.Bucket(t, bucket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	return bs
}

func blobKeys(t *testing.T, bs *blob.Store) []string {
	t.Helper()
	var keys []string
	token := ""
	for {
		objs, next, err := bs.List(context.Background(), "", token, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		if next == "" {
			return keys
		}
		token = next
	}
}

func readFile(svc *service.Service, fo fileOrg, id strongroom.FileID) ([]byte, error) {
	_, rc, err := svc.OpenFile(fo.admin, fo.org, "docs", fo.rec, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// TestBlobsRoundTrip: a backup of either layout holds every file's sealed
// blob (never the plaintext); it restores into each engine and into a folder
// or an S3-compatible bucket, and every file downloads byte-identical through
// the service; the blob store must be empty. The sqlite-file layout (the
// default for SQLite) restores into SQLite by putting the file in place and
// into PostgreSQL through the logical loader, with the blobs in both.
func TestBlobsRoundTrip(t *testing.T) {
	s3 := testkit.NewS3Server(t)
	sources := []struct {
		engine string
		layout backup.Layout
	}{{"sqlite", backup.LayoutSQLiteFile}, {"sqlite", backup.LayoutLogical}, {"postgres", backup.LayoutLogical}}
	for _, source := range sources {
		from := source.engine
		for _, to := range engines {
			t.Run(from+"-"+string(source.layout)+"-to-"+to, func(t *testing.T) {
				ctx := context.Background()
				var src *blob.Store
				if from == "postgres" {
					src = s3Blobs(t, s3, "src-"+from+"-"+to)
				} else {
					src = folderBlobs(t)
				}
				f := newFileFixture(t, from, src)
				f.layout = source.layout
				archive, m := f.backup(t)
				if m.Layout != source.layout {
					t.Fatalf("the archive's layout is %q, want %q", m.Layout, source.layout)
				}
				if m.Format != backup.Format || m.Blobs == nil || m.Blobs.Count != 8 || len(m.Blobs.Missing) != 0 {
					t.Fatalf("manifest blobs: format %d, %+v", m.Format, m.Blobs)
				}
				var want int64
				for _, k := range blobKeys(t, src) {
					r, err := src.NewReader(ctx, k)
					if err != nil {
						t.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, r)
					r.Close()
					want += n
				}
				if m.Blobs.Bytes != want {
					t.Errorf("manifest says %d blob bytes, the store holds %d", m.Blobs.Bytes, want)
				}
				if bytes.Contains(plaintext(t, archive, f.id), []byte("PLAINTEXT-MARKER")) {
					t.Fatal("the archive holds file content in the clear")
				}

				dst := openStore(t, to)
				var dstBlobs *blob.Store
				if to == "sqlite" {
					dstBlobs = s3Blobs(t, s3, "dst-"+from+"-"+strings.ReplaceAll(string(source.layout), "-", "")+"-"+to)
				} else {
					dstBlobs = folderBlobs(t)
				}
				got, err := backup.Restore(ctx, dst, dstBlobs, bytes.NewReader(archive), []age.Identity{f.id})
				if err != nil {
					t.Fatal(err)
				}
				if got.Blobs == nil || got.Blobs.Count != m.Blobs.Count || got.Blobs.Checksum != m.Blobs.Checksum {
					t.Fatalf("restored manifest blobs %+v, want %+v", got.Blobs, m.Blobs)
				}
				if a, b := blobKeys(t, src), blobKeys(t, dstBlobs); !slices.Equal(a, b) {
					t.Fatalf("restored blob keys %v, want %v", b, a)
				}
				f.keyringTo(t, dst)
				svc := f.serviceOn(t, dst, dstBlobs)
				for _, fo := range f.orgs {
					for id, content := range fo.files {
						b, err := readFile(svc, fo, id)
						if err != nil {
							t.Fatalf("download of restored file %s: %v", id, err)
						}
						if !bytes.Equal(b, content) {
							t.Fatalf("restored file %s: %d bytes differ from the %d uploaded", id, len(b), len(content))
						}
					}
				}

				// A second restore of the same archive into an empty database
				// but the now full blob store is refused, nothing written.
				dst2 := openStore(t, to)
				before := blobKeys(t, dstBlobs)
				_, err = backup.Restore(ctx, dst2, dstBlobs, bytes.NewReader(archive), []age.Identity{f.id})
				if !errors.Is(err, backup.ErrBlobsNotEmpty) {
					t.Fatalf("restore into a blob store with objects: %v, want ErrBlobsNotEmpty", err)
				}
				requireEmpty(t, dst2)
				if after := blobKeys(t, dstBlobs); !slices.Equal(before, after) {
					t.Fatal("the refused restore changed the blob store")
				}
			})
		}
	}
}

// TestBlobMissingAtCopy: a blob gone from the store when the backup copies
// it (its file deleted after the snapshot) is listed missing in the
// manifest; the restore and the drill report it, and every other file
// restores.
func TestBlobMissingAtCopy(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			f := newFileFixture(t, engine, folderBlobs(t))
			var gone strongroom.FileID
			for id := range f.orgs[1].files {
				gone = id
				break
			}
			goneKey := blob.FileKey(string(f.orgs[1].org), string(gone))
			if err := f.blobs.Delete(ctx, goneKey); err != nil {
				t.Fatal(err)
			}
			loc := testkit.OpenBackupLocation(t)
			idx, err := loc.Put(ctx, f.st, f.blobs, []age.Recipient{f.id.Recipient()}, created)
			if err != nil {
				t.Fatal(err)
			}
			if idx.Blobs != 7 || idx.BlobsMissing != 1 {
				t.Fatalf("index: %d blobs, %d missing", idx.Blobs, idx.BlobsMissing)
			}
			dst, dstBlobs := openStore(t, engine), folderBlobs(t)
			r, err := loc.Open(ctx, idx.Name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := backup.Restore(ctx, dst, dstBlobs, r, []age.Identity{f.id})
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Blobs.Missing, []string{goneKey}) || m.Blobs.Count != 7 {
				t.Fatalf("restored manifest: %+v, want %s missing", m.Blobs, goneKey)
			}
			f.keyringTo(t, dst)
			svc := f.serviceOn(t, dst, dstBlobs)
			for _, fo := range f.orgs {
				for id, content := range fo.files {
					b, err := readFile(svc, fo, id)
					if id == gone {
						if err == nil {
							t.Error("the missing file downloaded")
						}
						continue
					}
					if err != nil || !bytes.Equal(b, content) {
						t.Errorf("file %s: %v", id, err)
					}
				}
			}
			res, err := backup.Drill(ctx, backup.DrillConfig{Location: loc, Identities: []age.Identity{f.id}, PublicKey: signingKey(t, f.keys),
				ScratchDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK || !res.BlobsInArchive || res.Blobs != 7 || res.BlobsMissing != 1 {
				t.Fatalf("drill: %+v", res)
			}
		})
	}
}

func signingKey(t *testing.T, kr *keyring.Keyring) []byte {
	t.Helper()
	k, err := kr.SigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey()
}

// frames splits a plaintext archive into its frames (the end frame left
// out).
type frame struct {
	kind    byte
	payload []byte
}

func frames(plain []byte) []frame {
	var out []frame
	p := plain[magicLen:]
	for len(p) >= 5 {
		kind, n := p[0], binary.BigEndian.Uint32(p[1:5])
		if kind == 'Z' {
			break
		}
		out = append(out, frame{kind, p[5 : 5+n]})
		p = p[5+n:]
	}
	return out
}

// TestBlobSectionRefused: an archive whose blob section was tampered with,
// cut short or made inconsistent is refused, leaving neither rows nor blobs
// behind (the blobs written before the problem was found are deleted), on
// both engines and both kinds of blob store.
func TestBlobSectionRefused(t *testing.T) {
	s3 := testkit.NewS3Server(t)
	for _, layout := range []backup.Layout{backup.LayoutLogical, backup.LayoutSQLiteFile} {
		t.Run(string(layout), func(t *testing.T) { testBlobSectionRefused(t, s3, layout) })
	}
}

func testBlobSectionRefused(t *testing.T, s3 *testkit.S3Server, layout backup.Layout) {
	f := newFileFixture(t, "sqlite", folderBlobs(t))
	f.layout = layout
	archive, m := f.backup(t)
	if m.Layout != layout {
		t.Fatalf("the archive's layout is %q, want %q", m.Layout, layout)
	}
	plain := plaintext(t, archive, f.id)
	fs := frames(plain)
	lastD, lastG, firstF := -1, -1, -1 // frame indexes
	for i, fr := range fs {
		switch fr.kind {
		case 'D':
			lastD = i
		case 'G':
			lastG = i
		case 'F':
			if firstF < 0 {
				firstF = i
			}
		}
	}
	if firstF < 0 || lastD < 0 || lastG < 0 {
		t.Fatal("the archive has no blob section")
	}
	count := func(kind byte) int {
		n := 0
		for _, fr := range fs {
			if fr.kind == kind {
				n++
			}
		}
		return n
	}
	nD, nG := count('D'), count('G')
	// edit applies change to the n-th (1-based) frame of a kind.
	edit := func(kind byte, n int, change func([]byte) []byte) []byte {
		seen := 0
		return rewrite(t, plain, func(k byte, p []byte) []byte {
			if k == kind {
				seen++
				if seen == n {
					return change(p)
				}
			}
			return p
		})
	}
	cut := 0
	for _, fr := range fs[:lastD] {
		cut += 5 + len(fr.payload)
	}
	cases := []struct {
		name  string
		plain []byte
		want  string
	}{
		{"last blob's data changed", edit('D', nD, func(p []byte) []byte { p[len(p)/2] ^= 1; return p }), "SHA-256"},
		{"last blob's data dropped", edit('D', nD, func([]byte) []byte { return nil }), "bytes with SHA-256"},
		{"last blob's end claims other bytes", edit('G', nG, func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { m["bytes"] = 1 })
		}), "the archive says"},
		{"last blob dropped whole", rewrite(t, plain, func() func(byte, []byte) []byte {
			seenF := 0
			nF := count('F')
			in := false
			return func(k byte, p []byte) []byte {
				if k == 'F' {
					seenF++
					in = seenF == nF
				}
				if in && (k == 'F' || k == 'D' || k == 'G') {
					return nil
				}
				return p
			}
		}()), "manifest does not match"},
		{"manifest count changed", edit('M', 1, func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { m["blobs"].(map[string]any)["count"] = 9 })
		}), "blob section"},
		{"manifest lists a present blob missing", edit('M', 1, func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) {
				m["blobs"].(map[string]any)["missing"] = []string{blob.FileKey(string(f.orgs[0].org), firstKey(f.orgs[0]))}
			})
		}), "listed missing"},
		{"manifest without a blob summary", edit('M', 1, func(p []byte) []byte {
			return editJSON(t, p, func(m map[string]any) { delete(m, "blobs") })
		}), "no blob section summary"},
		// The sqlite-file reader sees the start's key differ from the end's
		// before it knows the file rows; the logical one finds no row first.
		{"blob start for a file not in the archive", edit('F', 1, func([]byte) []byte {
			return []byte(`{"key":"` + string(f.orgs[0].org) + `/00000000-0000-7000-8000-000000000000"}`)
		}), map[backup.Layout]string{backup.LayoutLogical: "belongs to no file row", backup.LayoutSQLiteFile: "the archive says"}[layout]},
		{"blob of a file not in the archive, the section consistent", renamedBlob(t, plain), "belongs to no file row"},
		{"truncated inside the last blob", plain[:magicLen+cut+100], "truncated"},
	}
	for _, engine := range engines {
		for i, c := range cases {
			t.Run(engine+"/"+c.name, func(t *testing.T) {
				dst := openStore(t, engine)
				bs := folderBlobs(t)
				if i%2 == 1 {
					bs = s3Blobs(t, s3, "refused-"+strings.ReplaceAll(string(layout), "-", "")+"-"+engine+"-"+strconv.Itoa(i))
				}
				_, err := backup.Restore(context.Background(), dst, bs, bytes.NewReader(seal(t, c.plain, f.id.Recipient())), []age.Identity{f.id})
				if err == nil {
					t.Fatal("restored")
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %q does not say %q", err, c.want)
				}
				requireEmpty(t, dst)
				if keys := blobKeys(t, bs); len(keys) != 0 {
					t.Errorf("the refused restore left %d blobs: %v", len(keys), keys)
				}
			})
		}
	}
	// The encrypted archive cut short in its blob section.
	for _, engine := range engines {
		t.Run(engine+"/archive truncated", func(t *testing.T) {
			dst, bs := openStore(t, engine), folderBlobs(t)
			_, err := backup.Restore(context.Background(), dst, bs, bytes.NewReader(archive[:len(archive)*3/4]), []age.Identity{f.id})
			if err == nil {
				t.Fatal("restored")
			}
			requireEmpty(t, dst)
			if keys := blobKeys(t, bs); len(keys) != 0 {
				t.Errorf("the refused restore left %d blobs", len(keys))
			}
		})
	}
}

// renamedBlob gives the first blob of a plaintext archive the key of a file
// that is not in it (same organization, so the order holds) in its start and
// end frames, and fixes the manifest's section checksum: only the check of
// the blobs against the file rows can find it.
func renamedBlob(t *testing.T, plain []byte) []byte {
	t.Helper()
	var oldKey, newKey []byte
	out := rewrite(t, plain, func(k byte, p []byte) []byte {
		switch {
		case k == 'F' && oldKey == nil:
			var s struct {
				Key string `json:"key"`
			}
			if err := json.Unmarshal(p, &s); err != nil {
				t.Fatal(err)
			}
			org, _, _ := strings.Cut(s.Key, "/")
			oldKey, newKey = []byte(s.Key), []byte(org+"/00000000-0000-7000-8000-000000000000")
			return bytes.Replace(p, oldKey, newKey, 1)
		case k == 'G' && oldKey != nil:
			return bytes.Replace(p, oldKey, newKey, 1)
		}
		return p
	})
	h := sha256.New()
	for _, fr := range frames(out) {
		if fr.kind != 'G' {
			continue
		}
		var e struct {
			Key    string `json:"key"`
			Bytes  int64  `json:"bytes"`
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal(fr.payload, &e); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00%s\n", e.Key, e.Bytes, e.SHA256)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return rewrite(t, out, func(k byte, p []byte) []byte {
		if k == 'M' {
			return editJSON(t, p, func(m map[string]any) { m["blobs"].(map[string]any)["checksum"] = sum })
		}
		return p
	})
}

func firstKey(fo fileOrg) string {
	var ids []string
	for id := range fo.files {
		ids = append(ids, string(id))
	}
	slices.Sort(ids)
	return ids[0]
}

// TestFormat1Restores: an archive of format 1 (no blob section) still
// restores, its manifest saying that it holds no blobs, and writes no blob:
// the committed seed written by the format 1 writer (schema version 7, which
// only a fresh SQLite store takes; a PostgreSQL test database is migrated
// already), and on both engines a format 1 archive of the current schema
// (one written now, without files, with its format set back to 1).
func TestFormat1RestoresWithoutBlobs(t *testing.T) {
	seed := committedSeed(t, "valid-format1", 1)
	current := asFormat1(t, newSourceLayout(t, "sqlite", backup.LayoutLogical))
	restore := func(t *testing.T, dst *store.Store, plain []byte) {
		bs := folderBlobs(t)
		m, err := backup.RestorePlain(context.Background(), dst, bs, bytes.NewReader(plain))
		if err != nil {
			t.Fatal(err)
		}
		if m.Format != 1 || m.Blobs != nil || m.Rows() == 0 {
			t.Fatalf("format %d, blobs %+v, %d rows", m.Format, m.Blobs, m.Rows())
		}
		if keys := blobKeys(t, bs); len(keys) != 0 {
			t.Fatalf("a format 1 restore wrote blobs: %v", keys)
		}
	}
	t.Run("seed", func(t *testing.T) {
		dst, err := store.Open(context.Background(), store.Config{Path: t.TempDir() + "/strongroom.db"})
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		restore(t, dst, seed)
	})
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { restore(t, openStore(t, engine), current) })
	}
}

// TestFormat2Restores: an archive of format 2 (the logical layout with the
// blob section, no layout in its header), as the format 2 writer wrote it
// (the committed seed: two files, one blob, one listed missing), restores
// into both engines with its blob; changed, it is refused.
func TestFormat2Restores(t *testing.T) {
	seed := committedSeed(t, "valid-format2", 2)
	key := blob.FileKey("0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11", "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d14")
	// The seed was written at schema version 16. Its rows load into a store
	// at that version (a PostgreSQL database already migrated past it is
	// refused: TestOlderSchema), which the restore then migrates on.
	const seedSchema = 16
	openAt := func(t *testing.T, engine string) *store.Store {
		t.Helper()
		if engine == "sqlite" {
			return openSQLiteAt(t, seedSchema)
		}
		db := testkit.NewPostgresDBAt(t, seedSchema)
		st, err := store.Open(context.Background(), store.Config{URL: db.OwnerURL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dst, bs := openAt(t, engine), folderBlobs(t)
			m, err := backup.RestorePlain(ctx, dst, bs, bytes.NewReader(seed))
			if err != nil {
				t.Fatal(err)
			}
			if m.Format != 2 || m.Layout != "" || m.Blobs == nil || m.Blobs.Count != 1 || len(m.Blobs.Missing) != 1 {
				t.Fatalf("manifest: format %d, layout %q, blobs %+v", m.Format, m.Layout, m.Blobs)
			}
			if keys := blobKeys(t, bs); !slices.Equal(keys, []string{key}) {
				t.Fatalf("restored blobs %v, want [%s]", keys, key)
			}
			r, err := bs.NewReader(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || string(got) != "sealed bytes of the seed's blob" {
				t.Fatalf("restored blob %q, %v", got, err)
			}
			sum, err := backup.Summarize(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			// Migrations after the seed's version replaced tables (0018 moved
			// both subscriber tables into subscriptions): compare the tables
			// both have, and that those are all but the replaced ones.
			if m.SchemaVersion != seedSchema {
				t.Fatalf("the seed's schema version is %d, not %d", m.SchemaVersion, seedSchema)
			}
			replaced := map[string]bool{"status_subscribers": true, "subprocessor_subscribers": true, "subscriptions": true}
			common := func(x *backup.Manifest, other *backup.Manifest) *backup.Manifest {
				y := *x
				y.Tables = nil
				for _, tt := range x.Tables {
					if slices.ContainsFunc(other.Tables, func(o backup.TableSummary) bool { return o.Name == tt.Name }) {
						y.Tables = append(y.Tables, tt)
					} else if !replaced[tt.Name] {
						t.Errorf("table %s is in one store only", tt.Name)
					}
				}
				return &y
			}
			if err := backup.SameData(common(m, sum), common(sum, m)); err != nil {
				t.Fatal(err)
			}

			changed := rewrite(t, seed, func(kind byte, p []byte) []byte {
				if kind == 'D' {
					p[0] ^= 1
				}
				return p
			})
			dst2, bs2 := openAt(t, engine), folderBlobs(t)
			if _, err := backup.RestorePlain(ctx, dst2, bs2, bytes.NewReader(changed)); !errors.Is(err, backup.ErrFormat) {
				t.Fatalf("a changed format 2 blob restored: %v", err)
			}
			requireEmpty(t, dst2)
			if keys := blobKeys(t, bs2); len(keys) != 0 {
				t.Fatalf("the refused restore left blobs: %v", keys)
			}
		})
	}
}

// TestFormat3Reads: archives of format 3, whose blob data frames are in the
// end's hash (format 4 leaves them to each blob's SHA-256), as the format 3
// writer wrote them (the committed seeds of both layouts: two files, one
// blob, one listed missing), still read with their blob and still restore;
// with a byte of the blob changed, or the end's hash recomputed without the
// blob's data frames as format 4 would, they are refused.
func TestFormat3Reads(t *testing.T) {
	key := blob.FileKey("0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11", "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d14")
	for _, name := range []string{"valid-format3", "valid-format3-file"} {
		t.Run(name, func(t *testing.T) {
			seed := committedSeed(t, name, 3)
			m, err := readAll(seed)
			if err != nil {
				t.Fatal(err)
			}
			if m.Format != 3 || m.Blobs == nil || m.Blobs.Count != 1 || len(m.Blobs.Missing) != 1 {
				t.Fatalf("manifest: format %d, blobs %+v", m.Format, m.Blobs)
			}
			changed := rewrite(t, seed, func(kind byte, p []byte) []byte {
				if kind == 'D' {
					p[0] ^= 1
				}
				return p
			})
			if _, err := readAll(changed); err == nil || !strings.Contains(err.Error(), "SHA-256") {
				t.Errorf("a changed blob: %v", err)
			}
			// The seed with its end's hash over everything but the row,
			// file and blob data frames: a format 3 reader must not take it.
			asFormat4End := append([]byte(nil), seed...)
			asFormat4End[magicLen-1] = 4
			asFormat4End = rewrite(t, asFormat4End, func(_ byte, p []byte) []byte { return p })
			asFormat4End[magicLen-1] = 3
			if _, err := readAll(asFormat4End); err == nil || !strings.Contains(err.Error(), "checksum") {
				t.Errorf("a format 3 archive without its blob data in the end's hash: %v", err)
			}
		})
	}
	// The logical seed restores its blob (schema version 16, which a fresh
	// SQLite store takes; TestFormat2Restores restores at that version on both engines).
	ctx := context.Background()
	dst, bs := openSQLiteAt(t, 16), folderBlobs(t)
	if _, err := backup.RestorePlain(ctx, dst, bs, bytes.NewReader(committedSeed(t, "valid-format3", 3))); err != nil {
		t.Fatal(err)
	}
	if keys := blobKeys(t, bs); !slices.Equal(keys, []string{key}) {
		t.Fatalf("restored blobs %v, want [%s]", keys, key)
	}
}

// TestShreddedTenantFilesUnreadable (LIF-04): a backup taken before an
// organization's keys were destroyed restores its file blobs, but with the
// keyring as it is after the shredding none of them opens, while the other
// organization's files download intact.
func TestShreddedTenantFilesUnreadable(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			f := newFileFixture(t, engine, folderBlobs(t))
			archive, _ := f.backup(t)
			if _, err := f.keys.Destroy(ctx, f.orgs[0].org); err != nil {
				t.Fatal(err)
			}
			dst, dstBlobs := openStore(t, engine), folderBlobs(t)
			if _, err := backup.Restore(ctx, dst, dstBlobs, bytes.NewReader(archive), []age.Identity{f.id}); err != nil {
				t.Fatal(err)
			}
			if n := len(blobKeys(t, dstBlobs)); n != 8 {
				t.Fatalf("%d blobs restored, want 8", n)
			}
			f.keyringTo(t, dst) // the keyring after the shredding
			svc := f.serviceOn(t, dst, dstBlobs)
			for id := range f.orgs[0].files {
				if b, err := readFile(svc, f.orgs[0], id); err == nil {
					t.Errorf("a shredded organization's file opened: %d bytes", len(b))
				}
			}
			for id, content := range f.orgs[1].files {
				if b, err := readFile(svc, f.orgs[1], id); err != nil || !bytes.Equal(b, content) {
					t.Errorf("the other organization's file %s: %v", id, err)
				}
			}
			// And no blob holds a plaintext marker.
			for _, k := range blobKeys(t, dstBlobs) {
				r, err := dstBlobs.NewReader(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(r)
				r.Close()
				if bytes.Contains(b, []byte("PLAINTEXT-MARKER")) {
					t.Fatalf("blob %s holds plaintext", k)
				}
			}
		})
	}
}
