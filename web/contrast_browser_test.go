package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom/internal/testkit"
)

// contrastJS measures, for every visible element with text of its own, the
// contrast of its colour against the background it is drawn on (the
// ancestors' background colours composited over the page's) by the WCAG 2
// formula (colours as rgb() or color(srgb), what color-mix gives), and returns the number of elements measured and those below AA
// (4.5:1, or 3:1 for large text: 24 px, or 18.66 px bold). Disabled controls
// are exempt (WCAG 1.4.3). A colour it cannot parse, or text drawn over a
// background image, is reported rather than skipped: the check must not pass
// by not looking.
const contrastJS = `(function(){
function parse(c){var k=1,m=/^rgba?\(([^)]*)\)$/.exec(c);if(!m){m=/^color\(srgb ([^)]*)\)$/.exec(c);k=255;}if(!m)return null;
 var p=m[1].split(/[\s,\/]+/).filter(Boolean).map(parseFloat);if(p.length<3||p.some(isNaN))return null;
 return {r:p[0]*k,g:p[1]*k,b:p[2]*k,a:p.length>3?p[3]:1};}
function over(f,b){return {r:f.r*f.a+b.r*(1-f.a),g:f.g*f.a+b.g*(1-f.a),b:f.b*f.a+b.b*(1-f.a),a:1};}
function lum(c){var v=[c.r,c.g,c.b].map(function(x){x/=255;return x<=0.04045?x/12.92:Math.pow((x+0.055)/1.055,2.4)});
 return 0.2126*v[0]+0.7152*v[1]+0.0722*v[2];}
function background(el){var layers=[];
 for(var e=el;e;e=e.parentElement){var s=getComputedStyle(e);if(s.backgroundImage!=="none")return "image";
  var c=parse(s.backgroundColor);if(!c)return "unparsed "+s.backgroundColor;if(c.a>0){layers.push(c);if(c.a>=1)break;}}
 var base={r:255,g:255,b:255,a:1};for(var i=layers.length-1;i>=0;i--)base=over(layers[i],base);return base;}
var measured=0,bad=[];
document.querySelectorAll("body *").forEach(function(el){
 var own=Array.from(el.childNodes).some(function(n){return n.nodeType===3&&n.textContent.trim()!==""});
 if(!own||el.closest(":disabled")||!el.checkVisibility({visibilityProperty:true,opacityProperty:true}))return;
 var r=el.getBoundingClientRect();if(r.width===0||r.height===0)return;
 var s=getComputedStyle(el),bg=background(el),fg=parse(s.color),what=el.tagName.toLowerCase()+(el.className?"."+String(el.className).split(" ").join("."):"")+" "+JSON.stringify(el.textContent.trim().slice(0,30));
 if(typeof bg==="string"||!fg){bad.push(what+": "+(fg?bg:"unparsed "+s.color));return;}
 var c=over(fg,bg),l1=lum(c),l2=lum(bg),ratio=(Math.max(l1,l2)+0.05)/(Math.min(l1,l2)+0.05);
 var size=parseFloat(s.fontSize),large=size>=24||(size>=18.66&&parseInt(s.fontWeight,10)>=700);
 measured++;if(ratio<(large?3:4.5))bad.push(what+": "+ratio.toFixed(2)+":1 ("+s.color+" on "+JSON.stringify(bg)+")");});
return JSON.stringify({measured:measured,bad:bad.slice(0,20)});})()`

type contrastResult struct {
	Measured int      `json:"measured"`
	Bad      []string `json:"bad"`
}

func (b *tab) measureContrast(page string) contrastResult {
	b.t.Helper()
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](contrastJS))
	if err != nil {
		b.t.Fatalf("%s: measuring contrast: %v", page, err)
	}
	var res contrastResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		b.t.Fatalf("%s: %v: %s", page, err, out)
	}
	return res
}

// checkContrast fails the test for any text on the current page below WCAG
// AA contrast, and when it measured nothing.
func (b *tab) checkContrast(page string) {
	b.t.Helper()
	res := b.measureContrast(page)
	if res.Measured < 5 {
		b.t.Errorf("%s: only %d text elements measured: the check looked at nothing", page, res.Measured)
	}
	for _, m := range res.Bad {
		b.t.Errorf("%s: contrast below WCAG AA: %s", page, m)
	}
}

// colourScheme emulates prefers-color-scheme (light or dark).
func colourScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// TestConsoleContrast: every page of the sidebar, the sign-in page and its
// error, in the light and the dark colour scheme, has text at WCAG AA
// contrast or better.
func TestConsoleContrast(t *testing.T) {
	srv := consoleServer(t)
	srv.Signup(t, "cora@example.com", "Cora Ltd")
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	b.do(chromedp.EmulateViewport(1280, 800))
	for _, scheme := range []string{"light", "dark"} {
		b.do(colourScheme(scheme))
		if got, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`matchMedia("(prefers-color-scheme: `+scheme+`)").matches`)); err != nil || !got {
			t.Fatalf("the %s scheme is not emulated (%v)", scheme, err)
		}
		b.open("/signin")
		b.waitJS(`document.readyState === "complete"`)
		b.checkContrast(scheme + " /signin")
		signIn(t, b, "cora@example.com", "not the password", "#form-error")
		b.checkContrast(scheme + " failed sign-in")
		signIn(t, b, "cora@example.com", "correct horse battery staple", "#org-id")
		links, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
			`Array.from(document.querySelectorAll("nav.side a[href]")).map(function(a){return a.getAttribute("href")}).join(" ")`))
		if err != nil {
			t.Fatal(err)
		}
		paths := strings.Fields(links)
		if len(paths) < 8 {
			t.Fatalf("the sidebar has %d links: %q", len(paths), links)
		}
		for _, p := range paths {
			b.open(p)
			b.waitJS(`document.readyState === "complete"`)
			b.checkContrast(scheme + " " + p)
		}
		b.submit(`form[action="/signout"] button[type=submit]`, `form[action="/signin"]`)
	}
	// The measure finds grey on white (2.8:1) and passes large grey text
	// (3:1 suffices for it): it can fail, and it knows large text.
	b.open("/signin")
	b.waitJS(`document.readyState === "complete"`)
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(function(){
		var p=document.createElement("p");p.id="faint";p.textContent="faint words";p.style.color="#999";p.style.background="#fff";
		var h=document.createElement("p");h.textContent="large words";h.style.color="#888";h.style.background="#fff";h.style.fontSize="32px";
		document.querySelector("main").append(p,h);return true})()`)); err != nil {
		t.Fatal(err)
	}
	res := b.measureContrast("planted")
	if len(res.Bad) != 1 || !strings.Contains(res.Bad[0], "faint words") {
		t.Errorf("planted low-contrast text: reported %q", res.Bad)
	}
}
