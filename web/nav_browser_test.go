package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"strongroom.dev/strongroom/internal/testkit"
)

// TestConsoleNavMenu: on a wide screen the navigation is a sidebar shown
// without opening anything; on a phone it hides behind the Menu button,
// which the keyboard opens (Enter); either way the current page is marked
// aria-current="page".
func TestConsoleNavMenu(t *testing.T) {
	srv := consoleServer(t)
	srv.Signup(t, "nia@example.com", "Nia Ltd")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signIn(t, b, "nia@example.com", "correct horse battery staple", "#org-id")
	b.do(chromedp.EmulateViewport(1280, 800))
	b.submit(`nav a[href$="/members"]`, "tbody")
	// checkVisibility: the closed menu's links are laid out but not rendered
	// (content-visibility), so their size says nothing.
	visible := func(sel string) bool {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(function(e){return !!e && e.checkVisibility({visibilityProperty: true})})(document.querySelector('`+sel+`'))`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	current, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('nav.side a[aria-current="page"]')).map(function(a){return a.textContent}).join(",")`))
	if err != nil || current != "Members" {
		t.Errorf("current page marked: %q (%v)", current, err)
	}
	if !visible(`nav.side a[href$="/members"]`) {
		t.Error("at 1280 px the sidebar's links are not shown")
	}
	if visible(`details.menu > summary`) {
		t.Error("at 1280 px the Menu button shows")
	}

	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile))
	if visible(`nav.side a[href$="/members"]`) {
		t.Error("at 390 px the links show before the Menu button is opened")
	}
	if !visible(`details.menu > summary`) {
		t.Fatal("at 390 px there is no Menu button")
	}
	b.do(chromedp.Focus(`details.menu > summary`), chromedp.KeyEvent(kb.Enter))
	b.waitJS(`document.querySelector("details.menu").open`)
	if !visible(`nav.side a[href$="/members"]`) {
		t.Error("the opened menu does not show the links")
	}
	// Tab from the Menu button reaches the first link.
	b.do(chromedp.KeyEvent(kb.Tab))
	if got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.textContent`)); err != nil || got != "Overview" {
		t.Errorf("Tab after the Menu button focused %q (%v)", got, err)
	}
	b.do(chromedp.EmulateViewport(1280, 800))
	b.shot("nav-menu") // the phone picture shows the menu open
}
