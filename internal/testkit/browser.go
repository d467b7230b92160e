package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables that the browser helpers read.
const (
	// RequireBrowserEnv set to "1" turns a missing browser into a test
	// failure instead of a skip. CI sets it.
	RequireBrowserEnv = "STRONGROOM_REQUIRE_BROWSER"

	// ChromiumEnv names the browser to run: a path, or a name to look up on
	// PATH. Without it the helpers look for the names in chromiumNames.
	ChromiumEnv = "STRONGROOM_CHROMIUM"
)

const (
	// BrowserTimeout bounds how long one test may use its browser: the
	// context that NewBrowser returns ends after it.
	BrowserTimeout = 2 * time.Minute

	// browserStartTimeout bounds the start of Chromium.
	browserStartTimeout = 30 * time.Second

	// browserCloseTimeout bounds the graceful close of Chromium at cleanup;
	// after it the process is killed.
	browserCloseTimeout = 10 * time.Second
)

// chromiumNames are the names looked up on PATH, in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome"}

// launcherScripts maps shell launchers to the browser binary they start.
// Debian's /usr/bin/chromium sources /etc/chromium.d, which adds flags of its
// own (extensions, GPU rasterization, ...); running the binary directly keeps
// the flags to exactly those of browserFlags.
var launcherScripts = map[string]string{
	"/usr/bin/chromium": "/usr/lib/chromium/chromium",
}

// browserFlags returns the allocator options that start Chromium. These are
// the only flags it gets, apart from the two chromedp itself needs
// (--remote-debugging-pipe and the first page, about:blank).
func browserFlags(userDataDir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(userDataDir),
	}
}

// NewBrowser starts a headless Chromium for the test, with a fresh profile in
// a temporary directory, and returns a chromedp context for one tab of it.
// Pass the context to chromedp.Run and chromedp.Do; make more tabs with
// chromedp.NewContext(ctx). The context ends after BrowserTimeout, and the
// browser closes when the test ends.
//
// Without a browser the test is skipped, or fails when
// STRONGROOM_REQUIRE_BROWSER=1. `make browser-deps` installs one.
func NewBrowser(t testing.TB) context.Context {
	t.Helper()

	path, err := findChromium()
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	if path == "" {
		SkipOrFail(t, RequireBrowserEnv,
			"testkit: no browser found: looked for %s on PATH and in $%s; `make browser-deps` installs Chromium",
			strings.Join(chromiumNames, ", "), ChromiumEnv)
	}

	// The profile directory's cleanup is registered first, so it runs after
	// the browser has exited.
	profile := t.TempDir()
	output := new(lockedBuffer)
	opts := append(browserFlags(profile),
		chromedp.ExecPath(path),
		chromedp.CombinedOutput(output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		closeCtx, cancel := context.WithTimeout(browserCtx, browserCloseTimeout)
		defer cancel()
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("testkit: closing the browser: %v", err)
		}
		cancelBrowser()
		cancelAlloc() // waits until the process has exited
		if t.Failed() {
			t.Logf("testkit: browser output:\n%s", output)
		}
	})

	// The first action starts the browser and binds its life to browserCtx,
	// so start it here, before the per-test timeout applies. On failure the
	// cleanup above logs what the browser printed.
	watchdog := time.AfterFunc(browserStartTimeout, cancelBrowser)
	err = chromedp.Do(browserCtx)
	if !watchdog.Stop() {
		t.Fatalf("testkit: %s did not start within %v", path, browserStartTimeout)
	}
	if err != nil {
		t.Fatalf("testkit: starting %s: %v", path, err)
	}

	ctx, cancel := context.WithTimeout(browserCtx, BrowserTimeout)
	t.Cleanup(cancel)
	return ctx
}

// Screenshot saves a PNG of the whole page of the tab in ctx to path, for
// looking at a page while writing or debugging a test.
func Screenshot(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
	if err != nil {
		t.Fatalf("testkit: taking a screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("testkit: saving the screenshot: %v", err)
	}
	t.Logf("testkit: screenshot saved to %s", path)
}

// findChromium returns the path of the browser to run, or "" when there is
// none. It fails only when $STRONGROOM_CHROMIUM names a browser that is not
// there: a setting that is wrong should not pass as a skipped test.
func findChromium() (string, error) {
	if name := os.Getenv(ChromiumEnv); name != "" {
		path, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %w", ChromiumEnv, name, err)
		}
		return path, nil
	}
	for _, name := range chromiumNames {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if resolved, err := filepath.EvalSymlinks(path); err == nil {
			if binary, ok := launcherScripts[resolved]; ok {
				if _, err := exec.LookPath(binary); err == nil {
					return binary, nil
				}
			}
		}
		return path, nil
	}
	return "", nil
}

// lockedBuffer collects the browser's output, which chromedp writes from its
// own goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
