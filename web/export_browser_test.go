package web_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
)

// gatedWriter passes an export's bytes through until the export has
// recorded progress (at least one page of records), then holds every write
// until open is closed: an export caught running, part way.
type gatedWriter struct {
	x    *service.OrgExport
	open chan struct{}
	once sync.Once
	held chan struct{} // closed when the first write is held
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	// Called on the export's own goroutine, which alone updates x.Job.
	if g.x.Job.Records > 0 {
		g.once.Do(func() { close(g.held) })
		<-g.open
	}
	return len(p), nil
}

// TestConsoleExportProgress: an export caught part way shows on the export
// page as running with a partial <progress> bar, which the page's script
// moves to completed once the export ends, without a reload; then an export
// started from the page's own form downloads (streamed) and appears in the
// list as completed.
func TestConsoleExportProgress(t *testing.T) {
	srv := consoleServer(t)
	acct := srv.Signup(t, "exa@example.com", "Export Co")
	org := strongroom.TenantID(acct.OrgID)
	const n = 1100 // more than one page (500) of records
	base := "/api/v1/orgs/" + acct.OrgID + "/collections"
	if r := srv.Do(t, testkit.Request{Method: "POST", Path: base, Token: acct.Token,
		Body: map[string]any{"name": "people", "schema": map[string]any{"type": "object"}}}); r.Status != 201 {
		t.Fatalf("collection: %d %s", r.Status, r.Body)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				r := srv.Do(t, testkit.Request{Method: "POST", Path: base + "/people/records", Token: acct.Token,
					Body: map[string]any{"data": map[string]any{"name": fmt.Sprintf("Person %04d", i), "note": strings.Repeat("x", 200)}}})
				if r.Status != 201 {
					errs <- fmt.Errorf("record %d: %d %s", i, r.Status, r.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// An export started through the service, held part way.
	admin := &strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: strongroom.UserID(acct.UserID),
		Membership: &strongroom.Membership{TenantID: org, UserID: strongroom.UserID(acct.UserID), Role: strongroom.RoleAdmin},
		Session:    &strongroom.Session{AuthTime: time.Now(), AAL: 1, Methods: []string{"password"}}}
	sctx := strongroom.WithPrincipal(context.Background(), admin)
	x, err := srv.Service.ExportOrg(sctx, org, service.ExportInput{Passphrase: "a passphrase long enough"})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedWriter{x: x, open: make(chan struct{}), held: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- x.Write(sctx, g) }()
	released := false
	t.Cleanup(func() {
		if !released {
			close(g.open)
		}
		<-done
	})
	select {
	case <-g.held:
	case err := <-done:
		t.Fatalf("the export ended before it was held: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the export never got past its first page")
	}

	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, "exa@example.com", "correct horse battery staple", "#org-id")
	b.submit(`nav a[href$="/export"]`, "#exports")
	row := `tr[data-export="` + x.Job.ID + `"]`
	if got := b.text(row + ` [data-field="label"]`); got != "Running" {
		t.Errorf("status of the held export: %q", got)
	}
	value, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(function(p){return p.value+"/"+p.max})(document.querySelector('`+row+` progress'))`))
	if err != nil {
		t.Fatal(err)
	}
	v, m, _ := strings.Cut(value, "/")
	if vi, _ := strconv.Atoi(v); vi <= 0 || vi >= n || m != strconv.Itoa(n) {
		t.Errorf("progress of the held export: %s, want part of %d", value, n)
	}
	if got := b.text(row + ` [data-field="records"]`); got != v+" of "+strconv.Itoa(n)+" records" {
		t.Errorf("records shown: %q", got)
	}
	b.shot("export-progress")

	// Released, it completes; the script moves the bar without a reload.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__strongroomSame = true`)); err != nil {
		t.Fatal(err)
	}
	close(g.open)
	released = true
	if err := <-done; err != nil {
		t.Fatalf("the held export: %v", err)
	}
	done <- nil // for the cleanup
	b.waitJS(`(function(r){return r.dataset.status === "completed" && r.querySelector("progress").value === ` + strconv.Itoa(n) + `})(document.querySelector('` + row + `'))`)
	if same, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__strongroomSame === true`)); err != nil || !same {
		t.Errorf("the page reloaded instead of updating (%v)", err)
	}
	if got := b.text(row + ` [data-field="label"]`); got != "Completed" {
		t.Errorf("status after release: %q", got)
	}
	if got := b.text("#exports-live"); !strings.Contains(got, "Completed") {
		t.Errorf("live region: %q", got)
	}

	// An export from the page's form: a real, streamed download.
	dir := t.TempDir()
	events := true
	if _, err := chromedp.Call(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: &events}); err != nil {
		t.Fatalf("allowing downloads: %v", err)
	}
	b.fill("passphrase", "another passphrase, long enough")
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector("#export-org").click(), true`)); err != nil {
		t.Fatal(err)
	}
	b.waitJS(`(function(rs){return rs.length === 2 && rs[0].dataset.status === "completed"})(document.querySelectorAll("#exports tbody tr"))`)
	if same, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__strongroomSame === true`)); err != nil || !same {
		t.Errorf("the download navigated away from the page (%v)", err)
	}
	if left, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("input[name=passphrase]").value`)); err != nil || left != "" {
		t.Errorf("the passphrase stayed in the page after the export was sent (%v)", err)
	}
	if got := b.text(`#exports tbody tr:first-child [data-field="size"]`); got == "—" || got == "0 B" {
		t.Errorf("size of the finished export: %q", got)
	}
	var file string
	testkit.WaitFor(t, 20*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "strongroom-*.zip.age"))
		if len(m) == 1 {
			file = m[0]
		}
		return file != ""
	})
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head, err := io.ReadAll(io.LimitReader(f, 22))
	if err != nil || string(head) != "age-encryption.org/v1\n" {
		t.Errorf("the download is not an age file: %q %v", head, err)
	}
	b.shot("export")
}
