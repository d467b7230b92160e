package testkit

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

const testPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Strongroom browser check</title></head>
<body>
<h1 id="greeting">Hello from the vault</h1>
<p>A page served by httptest for the browser harness.</p>
</body>
</html>
`

func TestBrowser(t *testing.T) {
	ctx := NewBrowser(t)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, testPage)
	}))
	t.Cleanup(srv.Close)

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("navigating to %s: %v", srv.URL, err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatalf("reading the title: %v", err)
	}
	if want := "Strongroom browser check"; title != want {
		t.Errorf("title = %q, want %q", title, want)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("greeting")))
	if err != nil {
		t.Fatalf("reading #greeting: %v", err)
	}
	if want := "Hello from the vault"; text != want {
		t.Errorf("#greeting text = %q, want %q", text, want)
	}

	path := filepath.Join(t.TempDir(), "page.png")
	Screenshot(t, ctx, path)
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(png) == 0 {
		t.Fatal("screenshot is empty")
	}
	if signature := []byte("\x89PNG\r\n\x1a\n"); !bytes.HasPrefix(png, signature) {
		n := min(len(png), len(signature))
		t.Errorf("screenshot is %d bytes starting %q, want a PNG (starting %q)", len(png), png[:n], signature)
	}
}
