package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	sblob "strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/store"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz/FuzzReadArchive")

// plaintext decrypts and decompresses an archive.
func plaintext(t testing.TB, archive []byte, id age.Identity) []byte {
	t.Helper()
	r, err := backup.Decrypt(bytes.NewReader(archive), []age.Identity{id})
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

// seal compresses and encrypts a plaintext archive, as Write does.
func seal(t testing.TB, plain []byte, r age.Recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	aw, err := age.Encrypt(&b, r)
	if err != nil {
		t.Fatal(err)
	}
	zw, err := zstd.NewWriter(aw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const magicLen = len("STRONGROOM-BACKUP\n") + 1

// rewrite changes the frames of a plaintext archive with edit (which may
// return the payload changed) and recomputes the end checksum, as an attacker
// holding the recipient's public key could.
func rewrite(t testing.TB, plain []byte, edit func(kind byte, p []byte) []byte) []byte {
	t.Helper()
	var frames []plainFrame
	for _, f := range splitFrames(t, plain) {
		if p := edit(f.kind, f.p); p != nil { // nil: dropped
			frames = append(frames, plainFrame{f.kind, p})
		}
	}
	return joinFrames(plain[magicLen-1], frames)
}

func editJSON(t testing.TB, p []byte, change func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRefused: truncated, tampered, wrong-identity, wrong-version and
// inconsistent archives are refused with a clear error, and the target store
// stays empty, on both engines.
func TestRefused(t *testing.T) {
	src := newSourceLayout(t, "sqlite", backup.LayoutLogical)
	plain := plaintext(t, src.archive, src.id)
	other := newIdentity(t)
	n := len(src.archive)
	flip := func(at int) []byte {
		b := bytes.Clone(src.archive)
		b[at] ^= 0x01
		return b
	}
	cases := []struct {
		name    string
		archive []byte
		id      age.Identity
		want    string
	}{
		{"empty", nil, src.id, "opening the archive"},
		{"not age", []byte("hello, this is not a backup\n"), src.id, "opening the archive"},
		{"wrong identity", src.archive, other, "does not open this archive"},
		{"truncated to the header", src.archive[:200], src.id, ""},
		{"truncated in the middle", src.archive[:n/2], src.id, ""},
		{"truncated by one byte", src.archive[:n-1], src.id, ""},
		{"flipped in the age header", flip(60), src.id, ""},
		{"flipped in the middle", flip(n / 2), src.id, "tampered"},
		{"flipped in the last byte", flip(n - 1), src.id, "tampered"},
		{"appended bytes", append(bytes.Clone(src.archive), 0), src.id, ""},
		{"newer schema version", seal(t, rewrite(t, plain, func(kind byte, p []byte) []byte {
			if kind == 'H' {
				return editJSON(t, p, func(m map[string]any) { m["schema_version"] = 999 })
			}
			return p
		}), src.id.Recipient()), src.id, "schema version 999, newer than this binary"},
		{"newer format", seal(t, append(append([]byte(nil), plain[:magicLen-1]...), append([]byte{backup.Format + 1}, plain[magicLen:]...)...), src.id.Recipient()),
			src.id, fmt.Sprintf("archive format %d", backup.Format+1)},
		{"format 1 magic with a format 4 header", seal(t, append(append([]byte(nil), plain[:magicLen-1]...), append([]byte{1}, plain[magicLen:]...)...), src.id.Recipient()),
			src.id, "header says format 4"},
		{"row changed with its table checksum kept", seal(t, rewrite(t, plain, func() func(byte, []byte) []byte {
			done := false
			return func(kind byte, p []byte) []byte {
				if kind == 'R' && !done {
					done = true
					p[len(p)-1] ^= 1
				}
				return p
			}
		}()), src.id.Recipient()), src.id, "checksum"},
		{"rows dropped", seal(t, rewrite(t, plain, func(kind byte, p []byte) []byte {
			if kind == 'R' {
				return nil
			}
			return p
		}), src.id.Recipient()), src.id, "rows with checksum"},
		{"manifest disagrees", seal(t, rewrite(t, plain, func(kind byte, p []byte) []byte {
			if kind == 'M' {
				return editJSON(t, p, func(m map[string]any) { m["engine"] = "postgres" })
			}
			return p
		}), src.id.Recipient()), src.id, "manifest does not match"},
		{"unknown column type", seal(t, rewrite(t, plain, func(kind byte, p []byte) []byte {
			if kind == 'H' {
				return bytes.Replace(p, []byte(`"type":"bytes"`), []byte(`"type":"blob"`), 1)
			}
			return p
		}), src.id.Recipient()), src.id, "unknown type"},
		{"table missing from the target", seal(t, rewrite(t, plain, func(kind byte, p []byte) []byte {
			if kind == 'H' {
				return bytes.Replace(p, []byte(`"name":"users"`), []byte(`"name":"users2"`), 1)
			}
			return p
		}), src.id.Recipient()), src.id, "not in the target"},
	}
	for _, engine := range engines {
		for _, c := range cases {
			t.Run(engine+"/"+c.name, func(t *testing.T) {
				dst := openStore(t, engine)
				_, err := backup.Restore(context.Background(), dst, nil, bytes.NewReader(c.archive), []age.Identity{c.id})
				if err == nil {
					t.Fatal("restored")
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %q does not say %q", err, c.want)
				}
				requireEmpty(t, dst)
			})
		}
	}
}

// TestPassphrase: a passphrase archive opens only with its passphrase.
func TestPassphrase(t *testing.T) {
	st := openStore(t, "sqlite")
	r, err := age.NewScryptRecipient("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(10)
	var b bytes.Buffer
	if _, err := backup.Write(context.Background(), st, nil, &b, []age.Recipient{r}, created); err != nil {
		t.Fatal(err)
	}
	wrong, _ := age.NewScryptIdentity("wrong")
	if _, err := backup.Decrypt(bytes.NewReader(b.Bytes()), []age.Identity{wrong}); err == nil {
		t.Fatal("a wrong passphrase opened the archive")
	}
	right, _ := age.NewScryptIdentity("correct horse battery staple")
	dst := openStore(t, "sqlite")
	if _, err := backup.Restore(context.Background(), dst, nil, bytes.NewReader(b.Bytes()), []age.Identity{right}); err != nil {
		t.Fatal(err)
	}
}

// fuzzSeeds are plaintext archives: a real one of a small store and broken
// variants.
func fuzzSeeds(t testing.TB) map[string][]byte {
	st := openStore(t, "sqlite")
	org := strongroom.Organization{ID: "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11", Name: "seed", CreatedAt: created}
	scope := store.TenantScope(org.ID)
	write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateOrganization(ctx, &org) })
	// Two files, one with a blob (opaque bytes: backups do not open blobs)
	// and one without (listed missing).
	coll := strongroom.Collection{ID: "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d12", Name: "docs", Schema: []byte(`{}`), CreatedAt: created}
	write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateCollection(ctx, &coll) })
	rec := strongroom.Record{CollectionID: coll.ID, ID: "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d13", Version: 1, Data: []byte("x"), CreatedAt: created, UpdatedAt: created}
	write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateRecord(ctx, &rec, nil) })
	bs, err := sblob.Open(context.Background(), filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	for i, fid := range []strongroom.FileID{"0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d14", "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d15"} {
		f := strongroom.File{CollectionID: coll.ID, RecordID: rec.ID, ID: fid, Name: "f", ContentType: "text/plain", Size: 3,
			SHA256: make([]byte, 32), CreatedBy: "seed", CreatedAt: created}
		write(t, st, scope, func(ctx context.Context, tx *store.Tx) error { return tx.CreateFile(ctx, &f) })
		if i == 0 {
			w, err := bs.NewWriter(context.Background(), sblob.FileKey(string(org.ID), string(fid)))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write([]byte("sealed bytes of the seed's blob"))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	id := newIdentity(t)
	var b bytes.Buffer
	if _, err := backup.WriteLayout(context.Background(), st, bs, &b, []age.Recipient{id.Recipient()}, created, backup.LayoutLogical); err != nil {
		t.Fatal(err)
	}
	plain := plaintext(t, b.Bytes(), id)
	b.Reset()
	if _, err := backup.WriteLayout(context.Background(), st, bs, &b, []age.Recipient{id.Recipient()}, created, backup.LayoutSQLiteFile); err != nil {
		t.Fatal(err)
	}
	fileBlobs := plaintext(t, b.Bytes(), id)
	file := fileSeed(t)
	return map[string][]byte{
		"valid":            plain,
		"valid-file":       file,
		"file-no-end":      file[:len(file)-37],
		"file-short":       file[:len(file)-200],
		"valid-file-blobs": fileBlobs,
		"file-blob-data-changed": rewrite(t, fileBlobs, func(kind byte, p []byte) []byte {
			if kind == 'D' {
				p[0] ^= 1
			}
			return p
		}),
		"blob-data-changed": rewrite(t, plain, func(kind byte, p []byte) []byte {
			if kind == 'D' {
				p[0] ^= 1
			}
			return p
		}),
		"blob-end-dropped": rewrite(t, plain, func(kind byte, p []byte) []byte {
			if kind == 'G' {
				return nil
			}
			return p
		}),
		"truncated": plain[:len(plain)/2],
		"no-end":    plain[:len(plain)-37],
		"magic":     plain[:magicLen],
		"huge-frame": append(append([]byte(nil), plain[:magicLen]...),
			'H', 0xff, 0xff, 0xff, 0xff),
	}
}

// TestFuzzSeeds keeps the committed corpus in step (-update rewrites it) and
// checks that only the valid seeds read.
func TestFuzzSeeds(t *testing.T) {
	seeds := fuzzSeeds(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzReadArchive")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, b := range seeds {
		_, err := readAll(b)
		if (err == nil) != strings.HasPrefix(name, "valid") {
			t.Errorf("seed %s: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("seed %s is not committed (run with -update): %v", name, err)
		}
	}
}

// committedSeed reads the committed FuzzReadArchive seed name (a go fuzz
// corpus file holding one []byte) and fails unless it is an archive
// plaintext of the given format.
func committedSeed(t *testing.T, name string, format byte) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzReadArchive", name))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
		t.Fatalf("the seed %s is not a go fuzz file", name)
	}
	seed, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("the seed %s: %v", name, err)
	}
	if len(seed) < magicLen || seed[magicLen-1] != format {
		t.Fatalf("the seed %s is not of format %d", name, format)
	}
	return []byte(seed)
}

func readAll(b []byte) (*backup.Manifest, error) {
	r, err := backup.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if r.Header().Layout == backup.LayoutSQLiteFile {
		return r.File(io.Discard)
	}
	return r.Rows(func(*store.TableSchema, []any) error { return nil })
}

// FuzzReadArchive: the archive reader never panics, and whatever it accepts
// is an archive whose every table count and checksum matched.
func FuzzReadArchive(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := readAll(b)
		if err != nil {
			if !errors.Is(err, backup.ErrFormat) {
				t.Fatalf("an error that is not ErrFormat: %v", err)
			}
			return
		}
		if m == nil {
			t.Fatal("nil manifest without an error")
		}
	})
}
