package web_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
)

// TestStartPageInBrowser loads the start page in headless Chromium behind the
// real middleware (strict CSP): the page renders its quickstart with the
// stylesheet applied (a CSP block would leave the default font) and carries no
// inline script or style.
func TestStartPageInBrowser(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	ctx := testkit.NewBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("navigating: %v", err)
	}
	run := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	title := run(chromedp.Title())
	heading := run(chromedp.Text("h1"))
	curl := run(chromedp.Text("pre code"))
	font := run(chromedp.Evaluate[string](`getComputedStyle(document.body).fontFamily`))
	if title != "Strongroom · Strongroom" || heading != "Strongroom is running" {
		t.Errorf("title %q, heading %q", title, heading)
	}
	if !strings.Contains(curl, srv.URL+"/api/v1/signup") {
		t.Errorf("quickstart does not name this server's signup URL: %q", curl)
	}
	if !strings.Contains(font, "system-ui") {
		t.Errorf("stylesheet not applied (font-family %q): blocked by CSP or not served", font)
	}
	testkit.Screenshot(t, ctx, filepath.Join(t.TempDir(), "start.png"))
	inline := run(chromedp.Evaluate[string](`String(document.querySelectorAll("script, style, [style]").length)`))
	if inline != "0" {
		t.Errorf("page has %s inline scripts or styles; the CSP forbids them", inline)
	}
}
