// Package useragent classifies a User-Agent header for sign-in records
// (IAM-10), session lists and login-anomaly alerts: the kind of device, the
// operating system, the browser and its major version. It is a small hand-written rule
// table, not a user-agent database: it knows the browsers and platforms
// people sign in with, and reports "" for the rest rather than guess.
//
// A User-Agent is a claim by the client, not evidence: anyone can send any
// string. Use the result to describe a session to its owner and to notice
// change, never to decide access.
//
// Known limits, each on purpose:
//
//   - Safari on iPadOS 13 and later asks for desktop sites and sends the
//     same User-Agent as Safari on macOS, so it is reported as macOS,
//     desktop. Only client-side signals (touch points) tell them apart; we do
//     not guess.
//   - Browsers that present themselves exactly as Chrome (Brave, and others
//     in their default mode) are reported as Chrome. Chromium-based browsers
//     that add their own token and are not in the table (Vivaldi, Yandex, UC)
//     report Browser "" rather than a wrong name.
//   - Android browsers that do not say "Mobile" are tablets, as Chrome and
//     Samsung Internet mark phones that way. Android in a non-browser client
//     (Dalvik, an app) is reported as mobile.
//   - Bots and API clients get only a DeviceType: the browser or platform a
//     crawler claims to be is not the point.
//   - Chrome's reduced User-Agent freezes the OS version (Windows 10,
//     macOS 10.15.7, Android 10), which is one reason Info carries no OS
//     version.
package useragent

import "strings"

// MaxLength is how much of a User-Agent Parse reads; the rest is ignored, so
// the work per call is bounded however large the header.
const MaxLength = 1024

// Device types, the values of Info.DeviceType. They match the categories
// stored with sign-in records.
const (
	Mobile    = "mobile"
	Tablet    = "tablet"
	Desktop   = "desktop"
	Bot       = "bot"
	APIClient = "api-client"
	Unknown   = "unknown"
)

// Info is what Parse finds in a User-Agent. Every field is one of a fixed set
// of values (or digits, for BrowserVersion), never text copied from the
// header, so it is safe to log and to show.
type Info struct {
	// DeviceType is Mobile, Tablet, Desktop, Bot, APIClient or Unknown.
	DeviceType string
	// OS is "Windows", "macOS", "iOS", "iPadOS", "Android", "Linux",
	// "ChromeOS" or "".
	OS string
	// Browser is "Chrome", "Edge", "Firefox", "Safari", "Opera",
	// "Samsung Internet" or "".
	Browser string
	// BrowserVersion is the browser's major version in decimal digits, or "".
	BrowserVersion string
}

// String describes the Info for people, like "Chrome 131 on macOS (desktop)",
// "Android (mobile)" or "api-client".
func (i Info) String() string {
	var b strings.Builder
	if i.Browser != "" {
		b.WriteString(i.Browser)
		if i.BrowserVersion != "" {
			b.WriteString(" ")
			b.WriteString(i.BrowserVersion)
		}
	}
	if i.OS != "" {
		if b.Len() > 0 {
			b.WriteString(" on ")
		}
		b.WriteString(i.OS)
	}
	device := i.DeviceType
	if device == "" {
		device = Unknown
	}
	if b.Len() == 0 {
		return device
	}
	b.WriteString(" (")
	b.WriteString(device)
	b.WriteString(")")
	return b.String()
}

// Parse classifies a User-Agent header. It reads at most MaxLength bytes,
// accepts any bytes (invalid UTF-8 included) and never panics.
func Parse(ua string) Info {
	if len(ua) > MaxLength {
		ua = ua[:MaxLength]
	}
	l := lowerASCII(ua)
	switch {
	case strings.TrimSpace(l) == "":
		return Info{DeviceType: Unknown}
	case isBot(l):
		return Info{DeviceType: Bot}
	case hasAnyToken(l, apiClientTokens):
		return Info{DeviceType: APIClient}
	}
	info := Info{OS: osOf(l)}
	info.Browser, info.BrowserVersion = browserOf(l, info.OS)
	browserLike := info.Browser != "" || strings.Contains(l, "mozilla/") || hasToken(l, "opera/")
	info.DeviceType = deviceOf(l, info.OS, browserLike)
	if info.DeviceType == APIClient {
		return Info{DeviceType: APIClient}
	}
	return info
}

// deviceOf decides the device type of a client that is not a bot or a known
// API client.
func deviceOf(l, os string, browserLike bool) string {
	switch {
	case strings.Contains(l, "ipad") || strings.Contains(l, "tablet") && !strings.Contains(l, "tablet pc"):
		// "Tablet PC" is a Windows 7 feature flag, not a tablet.
		return Tablet
	case strings.Contains(l, "mobile") || strings.Contains(l, "iphone") || strings.Contains(l, "ipod") ||
		strings.Contains(l, "opera mini") || strings.Contains(l, "windows phone"):
		return Mobile
	case os == "Android" && browserLike:
		return Tablet // phones' browsers say "Mobile"
	case os == "Android":
		return Mobile
	case browserLike:
		return Desktop
	case strings.Contains(l, "/"):
		// product/version without a browser: a program of some kind.
		return APIClient
	case os != "":
		return Desktop
	}
	return Unknown
}

// osOf finds the operating system. Order matters: iOS and iPadOS say "like
// Mac OS X", Android and ChromeOS say "Linux".
func osOf(l string) string {
	switch {
	case hasToken(l, "cros "):
		return "ChromeOS"
	case strings.Contains(l, "iphone") || strings.Contains(l, "ipod"):
		return "iOS"
	case strings.Contains(l, "ipad"):
		return "iPadOS"
	case strings.Contains(l, "android"):
		return "Android"
	case strings.Contains(l, "windows"):
		return "Windows"
	case strings.Contains(l, "macintosh") || strings.Contains(l, "mac os x"):
		return "macOS"
	case strings.Contains(l, "linux") || strings.Contains(l, "ubuntu") || strings.Contains(l, "fedora"):
		return "Linux"
	}
	return ""
}

// browserRule names the browser whose token appears in a User-Agent, and
// the token whose version is the browser's version ("" for token itself).
type browserRule struct {
	token   string
	browser string
	version string
}

// browserRules are tried in order; the first whose token is present wins.
// Chromium-based browsers carry "Chrome/" and most browsers carry
// "Safari/", so the specific tokens come first. A rule with browser ""
// stops the search: a browser we do not name.
var browserRules = []browserRule{
	{"edg/", "Edge", ""},    // Edge (Chromium) on Windows, macOS, Linux
	{"edga/", "Edge", ""},   // Edge on Android
	{"edgios/", "Edge", ""}, // Edge on iOS
	{"edge/", "Edge", ""},   // Edge (EdgeHTML), until 2020
	{"opr/", "Opera", ""},   // Opera (Chromium)
	{"opios/", "Opera", ""}, // Opera on iOS
	{"opera mini/", "Opera", ""},
	{"opera/", "Opera", "version/"}, // Opera (Presto): "Opera/9.80 … Version/12.16"
	{"samsungbrowser/", "Samsung Internet", ""},
	{"vivaldi/", "", ""},
	{"yabrowser/", "", ""},
	{"ucbrowser/", "", ""},
	{"firefox/", "Firefox", ""},
	{"fxios/", "Firefox", ""}, // Firefox on iOS
	{"crios/", "Chrome", ""},  // Chrome on iOS
	{"chrome/", "Chrome", ""},
}

// browserOf finds the browser and its major version.
func browserOf(l, os string) (browser, version string) {
	for _, r := range browserRules {
		i := indexToken(l, r.token)
		if i < 0 {
			continue
		}
		if r.browser == "" {
			return "", ""
		}
		v := l[i+len(r.token):]
		if r.version != "" {
			if j := indexToken(l, r.version); j >= 0 {
				v = l[j+len(r.version):]
			}
		}
		return r.browser, majorVersion(v)
	}
	// Safari names its version in "Version/"; WebKit in apps (no
	// "Version/") and old Android browsers (not Apple) are not Safari.
	if os == "macOS" || os == "iOS" || os == "iPadOS" {
		if j := indexToken(l, "version/"); j >= 0 && hasToken(l, "safari/") {
			return "Safari", majorVersion(l[j+len("version/"):])
		}
	}
	return "", ""
}

// majorVersion returns the leading decimal digits of s: at least one and at
// most five, else "".
func majorVersion(s string) string {
	n := 0
	for n < len(s) && n <= 5 && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	if n == 0 || n > 5 {
		return ""
	}
	return s[:n]
}

// apiClientTokens are HTTP libraries and tools that programs send requests
// with. okhttp is also what many Android apps use; such an app is a client
// of our API rather than a browser, so it counts.
var apiClientTokens = []string{
	"curl/", "wget/", "go-http-client/", "python-requests/", "python-urllib/",
	"python-httpx/", "aiohttp/", "okhttp/", "postmanruntime/", "insomnia/",
	"httpie/", "axios/", "node-fetch", "undici", "node", "apache-httpclient/",
	"java-http-client/", "java/", "libwww-perl/", "guzzlehttp/", "dart/",
	"powershell/", "windowspowershell/",
}

// botWords mark crawlers and link-preview fetchers beyond the generic "…bot"
// rule of isBot.
var botWords = []string{
	"spider", "crawl", "slurp", "facebookexternalhit", "mediapartners-google",
	"google-inspectiontool", "bingpreview",
}

// isBot reports whether l names a crawler: a known name, or a word ending in
// "bot" ("Googlebot/2.1", "bingbot", "AdsBot-Google", "+http://…/bot.html").
// "Cubot" is a phone maker, and "bots"/"bottle" are not names.
func isBot(l string) bool {
	for _, w := range botWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	for off := 0; ; {
		i := strings.Index(l[off:], "bot")
		if i < 0 {
			return false
		}
		i += off
		end := i + len("bot")
		if (end == len(l) || !isLetter(l[end])) && !strings.HasSuffix(l[:i], "cu") {
			return true
		}
		off = end
	}
}

// hasAnyToken reports whether l contains one of the tokens, each starting a
// word (see indexToken). A token without a trailing "/" must also end a word,
// so that "node" does not match "nodes".
func hasAnyToken(l string, tokens []string) bool {
	for _, t := range tokens {
		for off := 0; ; {
			i := indexToken(l[off:], t)
			if i < 0 {
				break
			}
			end := off + i + len(t)
			if strings.HasSuffix(t, "/") || end == len(l) || !isWordByte(l[end]) {
				return true
			}
			off = end
		}
	}
	return false
}

func hasToken(l, token string) bool { return indexToken(l, token) >= 0 }

// indexToken finds token in l where it starts a word — at the start or after
// a byte that is not a letter or digit — so that "edge/" is not found in
// "knowledge/" nor "chrome/" in "headlesschrome/". It returns -1 if absent.
func indexToken(l, token string) int {
	for off := 0; ; {
		i := strings.Index(l[off:], token)
		if i < 0 {
			return -1
		}
		i += off
		if i == 0 || !isWordByte(l[i-1]) {
			return i
		}
		off = i + 1
	}
}

func isLetter(c byte) bool   { return 'a' <= c && c <= 'z' }
func isWordByte(c byte) bool { return isLetter(c) || '0' <= c && c <= '9' }

// lowerASCII lowercases A–Z and leaves every other byte as it is, so that
// offsets and invalid UTF-8 are unchanged and no non-ASCII letter can fold
// into an ASCII token (as the Kelvin sign folds to "k" under Unicode rules).
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}
