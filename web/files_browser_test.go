package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
)

// TestConsoleRecordFiles attaches a file to a record in the browser, sees it
// listed with its sniffed type and size, checks its download link, and
// deletes it through the confirmation page; all at 360 px and desktop (the
// screenshots' checks).
func TestConsoleRecordFiles(t *testing.T) {
	srv := consoleServer(t)
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signUp(t, b, "fay@example.com", "Fay Files")
	b.submit(`nav a[href$="/collections"]`, "#no-collections")
	b.fill("name", "cases")
	b.set("#f-schema", `{"type": "object", "properties": {"title": {"type": "string"}}}`)
	b.submit(`form[action$="/collections"] button[type=submit]`, "#no-records")
	b.submit("#new-record", "#p0")
	b.fill("p0", "Broken window")
	b.submit(`form.record-form button[type=submit]`, "#record-id")
	if b.count("#no-files") != 1 {
		t.Fatal("a new record shows files")
	}
	b.shot("record-files-empty")

	path := filepath.Join(t.TempDir(), "evidence photo.txt")
	if err := os.WriteFile(path, []byte("plain text evidence\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.SetUploadFiles("#f-file", []string{path}))
	b.submit("#upload-file", "table.files")
	if got := b.text(".flash"); !strings.Contains(got, "encrypted and attached") {
		t.Errorf("flash after the upload: %q", got)
	}
	row := b.text("table.files")
	if !strings.Contains(row, "evidence photo.txt") || !strings.Contains(row, "text/plain") || !strings.Contains(row, "20 B") {
		t.Errorf("the file row shows %q", row)
	}
	href := b.attr("a.file-link", "href")
	b.shot("record-files")

	// The link downloads the file as an attachment with its content.
	tok := testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: "/api/v1/auth/password",
		Body: map[string]string{"email": "fay@example.com", "password": goodPassword}}), 200).JSON(t)["token"].(string)
	r := srv.Do(t, testkit.Request{Method: "GET", Path: href, Header: map[string]string{"Cookie": httpapi.SessionCookie + "=" + tok}})
	if r.Status != 200 || string(r.Body) != "plain text evidence\n" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %q %q", r.Status, r.Body, r.Header.Get("Content-Disposition"))
	}

	b.submit("table.files a.danger", "#confirm-delete-file")
	b.shot("file-delete")
	b.submit("#confirm-delete-file", "#no-files")
	if got := b.text(".flash"); !strings.Contains(got, "file was deleted") {
		t.Errorf("flash after deleting: %q", got)
	}
}
