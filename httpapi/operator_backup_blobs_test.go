package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestOperatorBackupLayoutAndBlobs: the operators' backup and drill lists
// carry each backup's layout and file blobs and what each drill verified of
// the blobs.
func TestOperatorBackupLayoutAndBlobs(t *testing.T) {
	ctx := context.Background()
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	when := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	if err := srv.Store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.RecordBackup(ctx, &store.BackupRecord{Location: "/backups", Name: "strongroom-backup-1.srbk", StartedAt: when,
			FinishedAt: when.Add(time.Minute), Outcome: store.OutcomeSucceeded, Engine: "sqlite", SchemaVersion: 19, ArchiveSHA256: strings.Repeat("a", 64),
			Layout: "sqlite-file", Blobs: 31, BlobBytes: 4096, BlobsMissing: 2}); err != nil {
			return err
		}
		return tx.RecordDrill(ctx, &store.DrillRecord{ID: "strongroom-drill-1", Location: "/backups", Backup: "strongroom-backup-1.srbk",
			StartedAt: when.Add(time.Hour), Outcome: store.OutcomeSucceeded, Blobs: 29, BlobBytes: 4000, BlobsMissing: 2})
	}); err != nil {
		t.Fatal(err)
	}
	token := operatorToken(t, srv, "olga@ops.example")
	type blobs struct {
		Layout       string `json:"layout"`
		Blobs        int64  `json:"blobs"`
		BlobBytes    int64  `json:"blob_bytes"`
		BlobsMissing int64  `json:"blobs_missing"`
	}
	for path, want := range map[string]blobs{
		"/api/v1/operator/backups": {Layout: "sqlite-file", Blobs: 31, BlobBytes: 4096, BlobsMissing: 2},
		"/api/v1/operator/drills":  {Blobs: 29, BlobBytes: 4000, BlobsMissing: 2},
	} {
		r := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: path, Token: token}), http.StatusOK)
		var got struct{ Items []blobs }
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]blobs{want}, got.Items); d != "" {
			t.Errorf("%s (-want +got):\n%s", path, d)
		}
	}
}

// operatorToken makes email an operator signed in with a second factor and
// returns the session's token.
func operatorToken(t *testing.T, srv *testkit.Server, email string) string {
	t.Helper()
	acct := srv.Signup(t, email, "Ops "+email)
	if err := srv.Service.SetOperator(t.Context(), email, true); err != nil {
		t.Fatal(err)
	}
	v := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/me/mfa/totp", Token: acct.Token, Body: map[string]string{}}),
		http.StatusCreated).JSON(t)
	factor, secret := v["id"].(string), v["secret"].(string)
	code, err := otptotp.GenerateCodeCustom(secret, time.Now(), otptotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	g := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/me/mfa/totp/" + factor + "/confirm", Token: acct.Token,
		Body: map[string]string{"code": code}}), http.StatusOK).JSON(t)
	tok, _ := g["token"].(string)
	if tok == "" {
		t.Fatalf("no session after the TOTP enrolment: %v", g)
	}
	return tok
}
