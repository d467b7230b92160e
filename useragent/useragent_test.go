package useragent

import (
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// Shorthands for the expected Info.
func desktop(os, browser, version string) Info { return Info{Desktop, os, browser, version} }
func mobile(os, browser, version string) Info  { return Info{Mobile, os, browser, version} }
func tablet(os, browser, version string) Info  { return Info{Tablet, os, browser, version} }

var (
	bot       = Info{DeviceType: Bot}
	apiClient = Info{DeviceType: APIClient}
	unknown   = Info{DeviceType: Unknown}
)

// parseTests are User-Agent strings as the browsers and tools send them
// (late 2024 versions unless the name says otherwise).
var parseTests = []struct {
	name string
	ua   string
	want Info
}{
	// Chrome.
	{"Chrome Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		desktop("Windows", "Chrome", "131")},
	{"Chrome macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		desktop("macOS", "Chrome", "131")},
	{"Chrome Linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		desktop("Linux", "Chrome", "131")},
	{"Chrome ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		desktop("ChromeOS", "Chrome", "131")},
	{"Chrome Android phone", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		mobile("Android", "Chrome", "131")},
	{"Chrome Android tablet", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		tablet("Android", "Chrome", "131")},
	{"Chrome iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
		mobile("iOS", "Chrome", "131")},
	{"Chrome iPad", "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
		tablet("iPadOS", "Chrome", "131")},
	{"Android WebView", "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.81 Mobile Safari/537.36",
		mobile("Android", "Chrome", "131")},
	{"Cubot phone is not a bot", "Mozilla/5.0 (Linux; Android 11; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		mobile("Android", "Chrome", "131")},
	{"HeadlessChrome is not Chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.85 Safari/537.36",
		desktop("Linux", "", "")},

	// Edge.
	{"Edge Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		desktop("Windows", "Edge", "131")},
	{"Edge macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		desktop("macOS", "Edge", "131")},
	{"Edge Android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
		mobile("Android", "Edge", "131")},
	{"Edge iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15",
		mobile("iOS", "Edge", "131")},
	{"Edge EdgeHTML 2019", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
		desktop("Windows", "Edge", "18")},

	// Firefox.
	{"Firefox Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
		desktop("Windows", "Firefox", "133")},
	{"Firefox macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
		desktop("macOS", "Firefox", "133")},
	{"Firefox Linux", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		desktop("Linux", "Firefox", "133")},
	{"Firefox Ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		desktop("Linux", "Firefox", "133")},
	{"Firefox Android phone", "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
		mobile("Android", "Firefox", "133")},
	{"Firefox Android tablet", "Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0",
		tablet("Android", "Firefox", "133")},
	{"Firefox iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
		mobile("iOS", "Firefox", "133")},

	// Safari.
	{"Safari macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		desktop("macOS", "Safari", "18")},
	{"Safari iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		mobile("iOS", "Safari", "18")},
	{"Safari iPod touch 2019", "Mozilla/5.0 (iPod touch; CPU iPhone OS 12_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
		mobile("iOS", "Safari", "12")},
	// iPadOS 13+ Safari sends the macOS User-Agent: reported as what it says.
	{"Safari iPadOS 18 (desktop-class)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		desktop("macOS", "Safari", "18")},
	{"Safari iPadOS mobile site", "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		tablet("iPadOS", "Safari", "18")},
	{"iOS in-app browser is not Safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/489.0.0.38.109;FBBV/665236736;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.7;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
		mobile("iOS", "", "")},
	{"old Android browser is not Safari", "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; GT-I9100 Build/IML74K) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
		mobile("Android", "", "")},

	// Opera, Samsung Internet, others.
	{"Opera Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
		desktop("Windows", "Opera", "115")},
	{"Opera Android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0",
		mobile("Android", "Opera", "86")},
	{"Opera Presto 2013", "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
		desktop("Windows", "Opera", "12")},
	{"Opera Mini", "Opera/9.80 (J2ME/MIDP; Opera Mini/5.1.21214/28.2725; U; en) Presto/2.8.119 Version/11.10",
		mobile("", "Opera", "5")},
	{"Samsung Internet phone", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
		mobile("Android", "Samsung Internet", "27")},
	{"Samsung Internet tablet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Safari/537.36",
		tablet("Android", "Samsung Internet", "27")},
	{"Vivaldi is not named", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Vivaldi/7.0.3495.18",
		desktop("Windows", "", "")},
	{"Internet Explorer 11, Tablet PC flag", "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; SLCC2; .NET CLR 2.0.50727; Tablet PC 2.0; rv:11.0) like Gecko",
		desktop("Windows", "", "")},
	{"Windows Phone", "Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; Touch; NOKIA; Lumia 920)",
		mobile("Windows", "", "")},

	// Bots.
	{"Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", bot},
	{"Googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", bot},
	{"bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", bot},
	{"Baiduspider", "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", bot},
	{"AdsBot", "AdsBot-Google (+http://www.google.com/adsbot.html)", bot},
	{"Slackbot", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", bot},
	{"Facebook preview", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", bot},
	{"Yahoo Slurp", "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", bot},
	{"generic crawler", "ExampleCrawler/1.0 (+https://example.com/crawler)", bot},

	// API clients.
	{"curl", "curl/8.5.0", apiClient},
	{"Go", "Go-http-client/1.1", apiClient},
	{"Go HTTP/2", "Go-http-client/2.0", apiClient},
	{"python-requests", "python-requests/2.32.3", apiClient},
	{"okhttp", "okhttp/4.12.0", apiClient},
	{"app on okhttp", "ExampleApp/3.1 (Android 14) okhttp/4.12.0", apiClient},
	{"Postman", "PostmanRuntime/7.42.0", apiClient},
	{"axios", "axios/1.7.7", apiClient},
	{"node-fetch 2", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", apiClient},
	{"node-fetch 3", "node-fetch", apiClient},
	{"Node fetch", "node", apiClient},
	{"wget", "Wget/1.21.4", apiClient},
	{"PowerShell", "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.6", apiClient},
	{"Windows PowerShell", "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.22621.4391", apiClient},
	{"unknown program", "strongroom-cli/1.0", apiClient},
	{"unknown program on Windows", "ExampleSync/2.4 (Windows NT 10.0; Win64; x64)", apiClient},
	{"Dalvik", "Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230901.001)", mobile("Android", "", "")},

	// Not user agents.
	{"empty", "", unknown},
	{"blank", " \t ", unknown},
	{"dash", "-", unknown},
	{"invalid UTF-8", "\xff\xfe\x80", unknown},
	{"word that contains edge/", "Knowledge/1.0", apiClient},
	{"word that contains node", "nodes", unknown},
	{"platform alone", "Macintosh", desktop("macOS", "", "")},
	{"overlong version", "Mozilla/5.0 (Windows NT 10.0) Chrome/1234567.0", desktop("Windows", "Chrome", "")},
	{"no version", "Mozilla/5.0 (Windows NT 10.0) Firefox/", desktop("Windows", "Firefox", "")},
}

func TestParse(t *testing.T) {
	if len(parseTests) < 30 {
		t.Fatalf("only %d cases", len(parseTests))
	}
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Parse(tt.ua)); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.ua, diff)
			}
		})
	}
}

func TestParseTruncates(t *testing.T) {
	head := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
	pad := strings.Repeat("x", MaxLength-len(head))
	// The browser token just inside the limit counts; just outside, it does not.
	in := head + pad[:len(pad)-len(" Firefox/133")] + " Firefox/133"
	if len(in) != MaxLength {
		t.Fatalf("len(in) = %d", len(in))
	}
	if got := Parse(in); got != desktop("Windows", "Firefox", "133") {
		t.Errorf("token ending at byte %d: got %+v", len(in), got)
	}
	out := head + pad + " Firefox/133.0"
	if got := Parse(out); got != desktop("Windows", "", "") {
		t.Errorf("token after byte %d: got %+v", MaxLength, got)
	}
	// A huge header costs no more than its first MaxLength bytes.
	huge := strings.Repeat("Mozilla/5.0 (Windows NT 10.0) ", 1<<16)
	if got, want := Parse(huge), Parse(huge[:MaxLength]); got != want {
		t.Errorf("Parse(huge) = %+v; want %+v", got, want)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		Parse(huge)
	}
	runtime.ReadMemStats(&after)
	if perCall := (after.TotalAlloc - before.TotalAlloc) / 10; perCall > 3*MaxLength {
		t.Errorf("Parse of a %d-byte header allocates %d bytes", len(huge), perCall)
	}
}

func TestParseCaseInsensitive(t *testing.T) {
	for _, tt := range parseTests {
		if got, want := Parse(strings.ToUpper(tt.ua)), Parse(tt.ua); got != want {
			t.Errorf("Parse(upper(%q)) = %+v; want %+v", tt.name, got, want)
		}
	}
}

func TestInfoString(t *testing.T) {
	tests := []struct {
		in   Info
		want string
	}{
		{desktop("macOS", "Chrome", "131"), "Chrome 131 on macOS (desktop)"},
		{mobile("iOS", "Safari", ""), "Safari on iOS (mobile)"},
		{desktop("", "Firefox", "133"), "Firefox 133 (desktop)"},
		{mobile("Android", "", ""), "Android (mobile)"},
		{apiClient, "api-client"},
		{bot, "bot"},
		{unknown, "unknown"},
		{Info{}, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v.String() = %q; want %q", tt.in, got, tt.want)
		}
	}
}

var (
	deviceTypes = map[string]bool{Mobile: true, Tablet: true, Desktop: true, Bot: true, APIClient: true, Unknown: true}
	oses        = map[string]bool{"Windows": true, "macOS": true, "iOS": true, "iPadOS": true, "Android": true, "Linux": true, "ChromeOS": true, "": true}
	browsers    = map[string]bool{"Chrome": true, "Edge": true, "Firefox": true, "Safari": true, "Opera": true, "Samsung Internet": true, "": true}
)

func FuzzParse(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzParse.
	for _, tt := range parseTests {
		f.Add(tt.ua)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		got := Parse(ua)
		if !deviceTypes[got.DeviceType] || !oses[got.OS] || !browsers[got.Browser] {
			t.Fatalf("Parse(%q) = %+v: a value outside the documented sets", ua, got)
		}
		if v := got.BrowserVersion; len(v) > 5 || strings.Trim(v, "0123456789") != "" || v != "" && got.Browser == "" {
			t.Fatalf("Parse(%q): bad BrowserVersion %q", ua, v)
		}
		if (got.DeviceType == Bot || got.DeviceType == APIClient || got.DeviceType == Unknown) && (got.OS != "" || got.Browser != "") {
			t.Fatalf("Parse(%q) = %+v: a bot, API client or unknown with a platform", ua, got)
		}
		if s := got.String(); !utf8.ValidString(s) || s == "" {
			t.Fatalf("Parse(%q).String() = %q", ua, s)
		}
		if len(ua) > MaxLength {
			if short := Parse(ua[:MaxLength]); short != got {
				t.Fatalf("Parse reads past MaxLength: %+v vs %+v", got, short)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		for _, tt := range parseTests[:10] {
			Parse(tt.ua)
		}
	}
}
