package blob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/internal/testkit"
)

func stores(t *testing.T) map[string]*blob.Store {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "blobs")
	folder, err := blob.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = folder.Close() })
	s3 := testkit.NewS3Server(t)
	bucket, err := blob.Open(ctx, s3.Bucket(t, "files"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bucket.Close() })
	return map[string]*blob.Store{"folder": folder, "s3": bucket}
}

func TestRoundTripListDelete(t *testing.T) {
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			big := bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB
			for i := range 5 {
				w, err := st.NewWriter(ctx, fmt.Sprintf("t1/obj%d", i))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(big[:len(big)-i]); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			r, err := st.NewReader(ctx, "t1/obj1")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			_ = r.Close()
			if err != nil || !bytes.Equal(got, big[:len(big)-1]) {
				t.Fatalf("read back %d bytes, err %v", len(got), err)
			}
			var keys []string
			token := ""
			for {
				objs, next, err := st.List(ctx, "t1/", token, 2)
				if err != nil {
					t.Fatal(err)
				}
				if len(objs) > 2 {
					t.Fatalf("a page of 2 held %d", len(objs))
				}
				for _, o := range objs {
					keys = append(keys, o.Key)
				}
				if next == "" {
					break
				}
				token = next
			}
			if len(keys) != 5 || keys[0] != "t1/obj0" || keys[4] != "t1/obj4" {
				t.Fatalf("listed %v", keys)
			}
			if err := st.Delete(ctx, "t1/obj1"); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, "t1/obj1"); err != nil {
				t.Fatalf("deleting a missing object: %v", err)
			}
			if _, err := st.NewReader(ctx, "t1/obj1"); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("reading a deleted object: %v", err)
			}
		})
	}
}

// An abandoned writer (its context cancelled before Close) leaves no object.
func TestAbandonedWriteLeavesNothing(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			w, err := st.NewWriter(ctx, "t2/partial")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(bytes.Repeat([]byte{7}, 1<<20)); err != nil {
				t.Fatal(err)
			}
			cancel()
			if err := w.Close(); err == nil {
				t.Fatal("Close after cancel succeeded")
			}
			objs, _, err := st.List(context.Background(), "", "", 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 0 {
				t.Fatalf("an abandoned write left %v", objs)
			}
		})
	}
}

func TestBadKeysRefused(t *testing.T) {
	st := stores(t)["folder"]
	ctx := context.Background()
	for _, k := range []string{"", "/abs", "../up", "a/../../b", "a//b", "a/./b", "a\\b", "a\x00b", "a\nb"} {
		if _, err := st.NewWriter(ctx, k); err == nil {
			t.Errorf("NewWriter(%q) accepted", k)
		}
		if _, err := st.NewReader(ctx, k); err == nil || errors.Is(err, blob.ErrNotFound) {
			t.Errorf("NewReader(%q): %v", k, err)
		}
		if err := st.Delete(ctx, k); err == nil {
			t.Errorf("Delete(%q) accepted", k)
		}
	}
}

// Objects in a folder are readable by the owner only.
func TestFolderPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	st, err := blob.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := st.NewWriter(context.Background(), "t/x")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("sealed"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "t"), filepath.Join(dir, "t", "x")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", p, fi.Mode().Perm())
		}
	}
}
