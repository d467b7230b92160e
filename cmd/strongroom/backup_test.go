package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestBackupCommands: the embedded default's data, backed up with `backup`
// and its keyring with `keys backup`, restores with `restore` and `keys
// restore` into PostgreSQL (the documented migration) and into a fresh
// embedded folder; the restored audit chains verify, the records read back
// through a server on the restored folder, and a drill of the backup passes.
func TestBackupCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, _, stop := startServe(t, "--data-dir", dir)
	post := func(path, token string, body any) map[string]any { return postCreated(t, url, path, token, body) }
	acct := post("/api/v1/signup", "", map[string]string{"email": "backup@example.com", "password": "correct horse battery staple", "organization": "Backup Org"})
	token, org := acct["token"].(string), acct["organization"].(map[string]any)["id"].(string)
	post("/api/v1/orgs/"+org+"/collections", token, map[string]any{"name": "notes", "schema": map[string]any{"type": "object"}})
	rec := post("/api/v1/orgs/"+org+"/collections/notes/records", token, map[string]any{"data": map[string]string{"text": "kept safe"}})
	filesPath := "/api/v1/orgs/" + org + "/collections/notes/records/" + rec["id"].(string) + "/files"
	content := strings.Repeat("file content kept safe\n", 5000)
	up, _ := http.NewRequest("POST", url+filesPath, strings.NewReader(content))
	up.Header.Set("Authorization", "Bearer "+token)
	up.Header.Set("Content-Disposition", `attachment; filename="notes.txt"`)
	upResp, err := http.DefaultClient.Do(up)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.NewDecoder(upResp.Body).Decode(&file); err != nil || upResp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %v", upResp.StatusCode, err)
	}
	upResp.Body.Close()
	stop()

	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(t.TempDir(), "backup.key")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backups, keyrings := t.TempDir(), t.TempDir()
	code, out, errs := runCmd(t, "backup", "--data-dir", dir, "--to", backups, "--recipient", id.Recipient().String(), "--log-level", "error")
	if code != 0 || !strings.Contains(out, "backup strongroom-backup-") || !strings.Contains(out, "sqlite schema") || !strings.Contains(out, "1 file blobs") {
		t.Fatalf("backup: exit %d: %s %s", code, out, errs)
	}
	code, out, errs = runCmd(t, "keys", "backup", "--data-dir", dir, "--to", keyrings, "--recipient", id.Recipient().String(), "--log-level", "error")
	if code != 0 || !strings.Contains(out, "keyring backup strongroom-keyring-") {
		t.Fatalf("keys backup: exit %d: %s %s", code, out, errs)
	}
	if code, out, _ := runCmd(t, "backup", "list", "--from", backups); code != 0 || !strings.Contains(out, "1 backups") {
		t.Fatalf("backup list: exit %d: %s", code, out)
	}
	if code, out, errs := runCmd(t, "backup", "drill", "--data-dir", dir, "--from", backups, "--identity", idFile, "--log-level", "error"); code != 0 || !strings.Contains(out, ": ok") ||
		!strings.Contains(out, "1 file blobs verified") {
		t.Fatalf("backup drill: exit %d: %s %s", code, out, errs)
	}
	taken, drills := backupRecords(t, dir)
	if len(taken) != 1 || taken[0].Outcome != store.OutcomeSucceeded || taken[0].RestoredAt != nil || taken[0].ManifestSHA256 == "" ||
		len(drills) != 1 || drills[0].Outcome != store.OutcomeSucceeded || drills[0].Backup != taken[0].Name {
		t.Fatalf("records: backups %+v, drills %+v", taken, drills)
	}
	// Refusals: no recipient; a wrong identity.
	if code, _, errs := runCmd(t, "backup", "--data-dir", dir, "--to", backups); code != 2 || !strings.Contains(errs, "no recipient") {
		t.Errorf("backup without a recipient: exit %d: %s", code, errs)
	}
	other, _ := age.GenerateX25519Identity()
	otherFile := filepath.Join(t.TempDir(), "other.key")
	_ = os.WriteFile(otherFile, []byte(other.String()+"\n"), 0o600)

	// Into PostgreSQL: the migration from the embedded default.
	db := testkit.NewPostgresDB(t)
	code, out, errs = runCmd(t, "restore", "--database", db.OwnerURL, "--from", backups, "--identity", otherFile, "--log-level", "error")
	if code != 1 || !strings.Contains(errs, "does not open this archive") {
		t.Fatalf("restore with another identity: exit %d: %s %s", code, out, errs)
	}
	pgBlobs := t.TempDir()
	code, out, errs = runCmd(t, "restore", "--database", db.OwnerURL, "--blobs", pgBlobs, "--from", backups, "--identity", idFile, "--log-level", "error")
	if code != 0 || !strings.Contains(out, "into the postgres store") || !strings.Contains(out, "1 file blobs") {
		t.Fatalf("restore into postgres: exit %d: %s %s", code, out, errs)
	}
	if code, out, errs := runCmd(t, "keys", "restore", "--database", db.OwnerURL, "--from", keyrings, "--identity", idFile, "--log-level", "error"); code != 0 {
		t.Fatalf("keys restore into postgres: exit %d: %s %s", code, out, errs)
	}
	if code, out, errs := runCmd(t, "restore", "--database", db.OwnerURL, "--blobs", pgBlobs, "--from", backups, "--identity", idFile, "--log-level", "error"); code != 1 || !strings.Contains(errs, "not empty") {
		t.Fatalf("second restore: exit %d: %s %s", code, out, errs)
	}
	// An empty database but a blob store with objects: refused, nothing written.
	db2 := testkit.NewPostgresDB(t)
	if code, out, errs := runCmd(t, "restore", "--database", db2.OwnerURL, "--blobs", pgBlobs, "--from", backups, "--identity", idFile, "--log-level", "error"); code != 1 || !strings.Contains(errs, "blob store is not empty") {
		t.Fatalf("restore into a blob store with objects: exit %d: %s %s", code, out, errs)
	}
	masterKey := "--master-key-file=" + filepath.Join(dir, "master.key")
	if code, out, errs := runCmd(t, "audit", "verify", "--database", db.AppURL, masterKey, "--audit-checkpoint-dir", filepath.Join(dir, "audit-checkpoints"), "--log-level", "error"); code != 0 || !strings.Contains(out, "; 0 problems") {
		t.Fatalf("audit verify on the restored postgres: exit %d:\n%s %s", code, out, errs)
	}

	// Into a fresh embedded folder, then serve it and read the record.
	dir2 := filepath.Join(t.TempDir(), "data2")
	if code, out, errs := runCmd(t, "restore", "--data-dir", dir2, "--from", backups, "--identity", idFile, "--log-level", "error"); code != 0 {
		t.Fatalf("restore into sqlite: exit %d: %s %s", code, out, errs)
	}
	// The restored store holds no row about its own backup, nor about the
	// drill after it; the restore recorded the backup it came from.
	if bs, ds := backupRecords(t, dir2); len(bs) != 1 || bs[0].RestoredAt == nil || bs[0].Outcome != store.OutcomeSucceeded ||
		bs[0].Name != taken[0].Name || bs[0].ManifestSHA256 != taken[0].ManifestSHA256 || bs[0].ArchiveSHA256 != taken[0].ArchiveSHA256 || len(ds) != 0 {
		t.Errorf("records of the restored store: backups %+v, drills %+v", bs, ds)
	}
	if code, out, errs := runCmd(t, "keys", "restore", "--data-dir", dir2, "--from", keyrings, "--identity", idFile, "--log-level", "error"); code != 0 {
		t.Fatalf("keys restore into sqlite: exit %d: %s %s", code, out, errs)
	}
	url2, _, stop2 := startServe(t, "--data-dir", dir2, masterKey)
	defer stop2()
	req, _ := http.NewRequest("GET", url2+"/api/v1/orgs/"+org+"/collections/notes/records/"+rec["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := new(strings.Builder)
	_, _ = io.Copy(body, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(body.String(), "kept safe") {
		t.Fatalf("record on the restored server: %d %s", resp.StatusCode, body)
	}
	// The file, from the blob the restore wrote into the data folder's blobs.
	req, _ = http.NewRequest("GET", url2+filesPath+"/"+file["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	got, _ := io.ReadAll(resp2.Body)
	if resp2.StatusCode != 200 || string(got) != content {
		t.Fatalf("file on the restored server: %d, %d bytes", resp2.StatusCode, len(got))
	}
}

// TestServeSchedulesBackups: serve with backup-to takes a backup at once (then
// every backup-every) and a keyring backup beside it in its own folder.
func TestServeSchedulesBackups(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	backups, keyrings := t.TempDir(), t.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	_, _, stop := startServe(t, "--data-dir", dir, "--backup-to", backups, "--backup-recipients", id.Recipient().String(),
		"--backup-keyring-to", keyrings, "--backup-every", "1h")
	defer stop()
	count := func(dir, suffix string) int {
		entries, _ := os.ReadDir(dir)
		n := 0
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) {
				n++
			}
		}
		return n
	}
	testkit.WaitFor(t, 30*time.Second, func() bool { return count(keyrings, ".srkr") == 1 })
	if n := count(backups, ".srbk"); n != 1 {
		t.Errorf("%d backups, want 1", n)
	}
	if n := count(backups, ".srbk.json"); n != 1 {
		t.Errorf("%d backup indexes, want 1", n)
	}
}

// backupRecords reads the backup and drill records of the embedded store in
// dir (no server running on it), newest first.
func backupRecords(t *testing.T, dir string) ([]store.BackupRecord, []store.DrillRecord) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "strongroom.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var bs []store.BackupRecord
	var ds []store.DrillRecord
	if err := st.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if bs, err = tx.Backups(ctx, 100); err != nil {
			return err
		}
		ds, err = tx.Drills(ctx, 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return bs, ds
}
