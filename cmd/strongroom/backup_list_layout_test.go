package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"

	"strongroom.dev/strongroom/internal/testkit"
)

// TestBackupListLayout: `strongroom backup` names the layout it wrote, and
// `backup list` shows each backup's layout and file blobs from its index
// ("-" for an index that does not name one, as older ones do not).
func TestBackupListLayout(t *testing.T) {
	dir := t.TempDir()
	st := testkit.OpenSQLiteStoreIn(t, dir)
	st.Close()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	to := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{{nil, "sqlite-file layout"}, {[]string{"--logical"}, "logical layout"}} {
		args := append([]string{"backup", "--data-dir", dir, "--to", to, "--recipient", id.Recipient().String(), "--log-level", "error"}, c.args...)
		if code, out, errs := runCmd(t, args...); code != 0 || !strings.Contains(out, c.want) {
			t.Fatalf("%v: exit %d: %s %s", c.args, code, out, errs)
		}
	}
	// An index from before the layout was named.
	const old = "strongroom-backup-20200101T000000.000000Z.srbk"
	if err := os.WriteFile(filepath.Join(to, old), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, old+".json"), []byte(`{"name":"`+old+`","format":3,"engine":"sqlite","blobs":4,"blob_bytes":900,"blobs_missing":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCmd(t, "backup", "list", "--from", to)
	if code != 0 {
		t.Fatalf("backup list: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^` + regexp.QuoteMeta(old) + `  \S+  sqlite   -           schema 0  0 rows  4 file blobs \(900 bytes, 1 missing\)  1 bytes$`),
		regexp.MustCompile(`^strongroom-backup-\S+  \S+  sqlite   sqlite-file schema \d+  \d+ rows  0 file blobs \(0 bytes\)  \d+ bytes$`),
		regexp.MustCompile(`^strongroom-backup-\S+  \S+  sqlite   logical     schema \d+  \d+ rows  0 file blobs \(0 bytes\)  \d+ bytes$`),
		regexp.MustCompile(`^3 backups$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("backup list:\n%s", out)
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d: %q, want %s", i, lines[i], re)
		}
	}
}
