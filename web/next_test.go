package web

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever the "next" parameter holds, the answer is a path of
// this site (or the fallback), never another origin.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/account", "/orgs/x?y=1#z", "//evil.example", "/\\evil.example", "https://evil.example",
		"javascript:alert(1)", "/%2F%2Fevil.example", "/\t/evil.example", "", " /account", "/a\r\nLocation: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next, "/fallback")
		if got == "/fallback" {
			return
		}
		if got != next {
			t.Fatalf("safeNext(%q) = %q: changed but not the fallback", next, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n\t") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		// A browser resolving it against our origin stays on our origin.
		base, _ := url.Parse("https://strongroom.example/")
		u, err := base.Parse(got)
		if err != nil || u.Host != "strongroom.example" || u.Scheme != "https" {
			t.Fatalf("safeNext(%q) = %q resolves to %v (%v)", next, got, u, err)
		}
	})
}
