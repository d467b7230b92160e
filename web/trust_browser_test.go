package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// TestConsoleTrustPage: /trust in a real browser shows every claim of
// /trust.json with its source, under the CSP (no inline script or style),
// fits a phone, and prints without the navigation.
func TestConsoleTrustPage(t *testing.T) {
	ctx := context.Background()
	loc := testkit.OpenBackupLocation(t)
	id, _ := age.GenerateX25519Identity()
	idx, err := loc.Put(ctx, testkit.OpenSQLiteStore(t), nil, []age.Recipient{id.Recipient()}, time.Now().Add(-5*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	st := testkit.OpenSQLiteStore(t)
	if err := backup.RecordBackup(ctx, st, loc, idx.CreatedAt, idx.CreatedAt.Add(time.Minute), idx, nil); err != nil {
		t.Fatal(err)
	}
	drillAt := time.Now().Add(-4 * time.Hour)
	if err := backup.RecordDrill(ctx, st, loc, drillAt, &backup.DrillResult{Backup: idx.Name,
		StartedAt: drillAt, Duration: 2 * time.Second, Tables: 22, Chains: 3, OK: true}, nil); err != nil {
		t.Fatal(err)
	}
	srv := testkit.NewServerWithConfig(t, st, testkit.ServerConfig{Service: func(_ string, cfg *service.Config) {
		cfg.BackupLocation = loc.String()
		cfg.TrustPage = service.TrustPageConfig{TLSMode: service.TLSModeFiles, MasterKeySource: "key file"}
	}})
	acct := srv.Signup(t, "ada@example.com", "Ada Inc")
	if _, err := srv.Keyring.Rotate(ctx, strongroom.TenantID(acct.OrgID)); err != nil { // a data key to state the age of
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := st.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		for i, name := range []string{"Postmark Mail Ltd", "Backblaze B2"} {
			if err := tx.CreateSubprocessor(ctx, &strongroom.Subprocessor{ID: []string{"0194c2f0-0000-7000-8000-000000000001", "0194c2f0-0000-7000-8000-000000000002"}[i],
				Name: name, Purpose: []string{"Transactional e-mail", "Encrypted backup storage"}[i], Location: []string{"EU (Ireland)", "EU (Netherlands)"}[i],
				Certifications: []string{"ISO 27001"}, DataCategories: []string{"e-mail addresses"},
				EffectiveAt: now.Add(time.Duration(i*45*24)*time.Hour - 24*time.Hour), CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	page, err := srv.Service.TrustPage(ctx)
	if err != nil {
		t.Fatal(err)
	}

	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	b.open("/trust")
	if got := b.text("h1"); got != "Trust and security" {
		t.Errorf("heading %q", got)
	}
	for _, c := range page.Claims {
		got := b.text(`[data-claim="` + c.ID + `"] .trust-answer`)
		if got != c.Answer {
			t.Errorf("claim %s shows %q, trust.json says %q", c.ID, got, c.Answer)
		}
		if src := b.text(`[data-claim="` + c.ID + `"] .trust-source`); src != "Source: "+c.Source {
			t.Errorf("claim %s source %q", c.ID, src)
		}
	}
	if got := b.text(`[data-claim="subprocessors.upcoming"] .trust-answer`); !strings.Contains(got, "add Backblaze B2 on") {
		t.Errorf("upcoming subprocessors %q", got)
	}
	b.shot("trust")
	// Printed (print media emulated), the header and footer are gone and
	// every claim remains visible.
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	if got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
		`[".top",".foot"].map(function(s){return getComputedStyle(document.querySelector(s)).display}).join(",")+";"+
		Array.from(document.querySelectorAll("[data-claim]")).filter(function(e){return e.getBoundingClientRect().height>0}).length`)); err != nil ||
		got != fmt.Sprintf("none,none;%d", len(page.Claims)) {
		t.Errorf("printed: header,footer display and visible claims = %q (%v), want none,none;%d", got, err, len(page.Claims))
	}
	if dir := os.Getenv("STRONGROOM_SCREENSHOTS"); dir != "" {
		testkit.Screenshot(t, b.ctx, filepath.Join(dir, "trust-print.png"))
	}
}
