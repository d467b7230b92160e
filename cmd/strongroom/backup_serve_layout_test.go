package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestBackupLayoutSetting: backup-layout is auto by default, set by its flag
// or STRONGROOM_BACKUP_LAYOUT (the flag wins), and refuses other values.
func TestBackupLayoutSetting(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want backup.Layout
		err  bool
	}{
		{name: "default", want: backup.LayoutAuto},
		{name: "flag", args: []string{"--backup-layout", "logical"}, want: backup.LayoutLogical},
		{name: "environment", env: map[string]string{"STRONGROOM_BACKUP_LAYOUT": "sqlite-file"}, want: backup.LayoutSQLiteFile},
		{name: "flag over environment", args: []string{"--backup-layout", "auto"}, env: map[string]string{"STRONGROOM_BACKUP_LAYOUT": "logical"}, want: backup.LayoutAuto},
		{name: "unknown", args: []string{"--backup-layout", "tarball"}, err: true},
		{name: "empty", args: []string{"--backup-layout", ""}, err: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), c.args, func(k string) string { return c.env[k] })
			if c.err {
				if err == nil || !strings.Contains(err.Error(), "backup-layout") {
					t.Errorf("loaded (%v), want a backup-layout error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.BackupLayout != c.want {
				t.Errorf("layout %q, want %q", cfg.BackupLayout, c.want)
			}
		})
	}
}

// TestServeBackupLayout: serve's scheduled backup is written in the
// backup-layout setting (auto: the embedded store's database file), which
// its index file names, and the backups table records with its blobs.
func TestServeBackupLayout(t *testing.T) {
	for _, c := range []struct {
		setting string
		want    backup.Layout
	}{{"auto", backup.LayoutSQLiteFile}, {"logical", backup.LayoutLogical}} {
		t.Run(c.setting, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			backups := t.TempDir()
			id, err := age.GenerateX25519Identity()
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			_, stop := serveWithLogs(t, &logs, "--data-dir", dir, "--backup-to", backups, "--backup-recipients", id.Recipient().String(),
				"--backup-every", "1h", "--backup-layout", c.setting, "--log-level", "info")
			// Logged once the backup is taken and recorded.
			testkit.WaitFor(t, 30*time.Second, func() bool { return strings.Contains(logs.String(), "backup taken") })
			stop()
			names, err := filepath.Glob(filepath.Join(backups, "strongroom-backup-*.srbk.json"))
			if err != nil || len(names) != 1 {
				t.Fatalf("index files %v (%v)", names, err)
			}
			b, err := os.ReadFile(names[0])
			if err != nil {
				t.Fatal(err)
			}
			var idx backup.Index
			if err := json.Unmarshal(b, &idx); err != nil {
				t.Fatal(err)
			}
			if idx.Layout != c.want {
				t.Errorf("index layout %q, want %q", idx.Layout, c.want)
			}
			f, err := os.Open(filepath.Join(backups, idx.Name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pr, err := backup.Decrypt(f, []age.Identity{id})
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			r, err := backup.NewReader(pr)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Header().Layout; got != c.want {
				t.Errorf("archive layout %q, want %q", got, c.want)
			}
			taken, _ := backupRecords(t, dir)
			if len(taken) != 1 || taken[0].Outcome != store.OutcomeSucceeded || taken[0].Name != idx.Name || taken[0].Layout != string(c.want) {
				t.Errorf("recorded %+v", taken)
			}
		})
	}
}

// TestBackupLayoutRefusedOnPostgres: sqlite-file is the embedded store's
// file, so serve with database set refuses it at start (before connecting:
// the database named here does not exist), and so does `strongroom backup`
// unless given --logical.
func TestBackupLayoutRefusedOnPostgres(t *testing.T) {
	const nowhere = "postgres://strongroom@127.0.0.1:1/nowhere?sslmode=disable"
	code, _, errs := runCmd(t, "serve", "--addr", "127.0.0.1:0", "--database", nowhere, "--backup-layout", "sqlite-file", "--log-level", "error")
	if code == 0 || !strings.Contains(errs, "backup-layout sqlite-file needs the embedded (SQLite) store") {
		t.Errorf("serve: exit %d: %s", code, errs)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STRONGROOM_BACKUP_LAYOUT", "sqlite-file")
	code, _, errs = runCmd(t, "backup", "--database", nowhere, "--to", t.TempDir(), "--recipient", id.Recipient().String(), "--log-level", "error")
	if code != 2 || !strings.Contains(errs, "backup-layout sqlite-file needs the embedded (SQLite) store") {
		t.Errorf("backup: exit %d: %s", code, errs)
	}
}
