package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
)

// TestBackupLayoutFlag: `strongroom backup` writes the embedded store's
// database file by default and its rows with --logical.
func TestBackupLayoutFlag(t *testing.T) {
	dir := t.TempDir()
	st := testkit.OpenSQLiteStoreIn(t, dir)
	st.Close()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want backup.Layout
	}{{nil, backup.LayoutSQLiteFile}, {[]string{"--logical"}, backup.LayoutLogical}} {
		to := t.TempDir()
		args := append([]string{"backup", "--data-dir", dir, "--to", to, "--recipient", id.Recipient().String(), "--log-level", "error"}, c.args...)
		if code, out, errs := runCmd(t, args...); code != 0 || !strings.Contains(out, "backup strongroom-backup-") {
			t.Fatalf("%v: exit %d: %s %s", c.args, code, out, errs)
		}
		names, err := filepath.Glob(filepath.Join(to, "strongroom-backup-*.srbk"))
		if err != nil || len(names) != 1 {
			t.Fatalf("%v: archives %v, %v", c.args, names, err)
		}
		f, err := os.Open(names[0])
		if err != nil {
			t.Fatal(err)
		}
		pr, err := backup.Decrypt(f, []age.Identity{id})
		if err != nil {
			t.Fatal(err)
		}
		r, err := backup.NewReader(pr)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Header().Layout; got != c.want {
			t.Errorf("%v: layout %q, want %q", c.args, got, c.want)
		}
		pr.Close()
		f.Close()
	}
}
