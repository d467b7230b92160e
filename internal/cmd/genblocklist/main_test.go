package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/authn/blocklist"
)

func TestReadLists(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.txt")
	// CRLF, case, fullwidth and white space variants of the same entries,
	// empty lines, a line too long to keep, and no final newline.
	text := "Password\r\n123456\r\n\r\n  password \n" + strings.Repeat("#", blocklist.MaxEntryBytes+1) + "\nｐａｓｓｗｏｒｄ\n\t\nqwerty"
	if err := os.WriteFile(plain, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("QWERTY\nzoë\nZOË\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	compressed := filepath.Join(dir, "list.txt.gz")
	if err := os.WriteFile(compressed, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	var st stats
	var entries []string
	for _, path := range []string{plain, compressed} {
		var err error
		if entries, err = readList(path, entries, &st); err != nil {
			t.Fatal(err)
		}
	}
	entries = finish(entries)
	if diff := cmp.Diff([]string{"123456", "password", "qwerty", "zoë"}, entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(stats{lines: 11, empty: 2, long: 1}, st, cmp.AllowUnexported(stats{})); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	out := filepath.Join(dir, "out.fc.gz")
	var buf bytes.Buffer
	if err := blocklist.Encode(&buf, entries); err != nil {
		t.Fatalf("Encode refused the generator's output: %v", err)
	}
	if err := writeFileAtomic(out, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Error("the written file differs from the encoded bytes")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".genblocklist-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestReadListMissing(t *testing.T) {
	if _, err := readList(filepath.Join(t.TempDir(), "none.txt"), nil, &stats{}); err == nil {
		t.Error("readList of a missing file succeeded")
	}
}
