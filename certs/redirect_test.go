package certs

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRedirectHandler(t *testing.T) {
	for _, tc := range []struct {
		name         string
		port         string
		allowed      []string
		method, host string
		target       string // request target (path and query)
		wantCode     int
		wantLocation string
	}{
		{name: "GET keeps path and query", port: "443", method: "GET", host: "strongroom.test", target: "/a/b?x=1&y=%20z", wantCode: 301, wantLocation: "https://strongroom.test/a/b?x=1&y=%20z"},
		{name: "empty port means 443", port: "", method: "GET", host: "strongroom.test", target: "/", wantCode: 301, wantLocation: "https://strongroom.test/"},
		{name: "HEAD", port: "443", method: "HEAD", host: "strongroom.test", target: "/x", wantCode: 301, wantLocation: "https://strongroom.test/x"},
		{name: "POST keeps its method with 308", port: "443", method: "POST", host: "strongroom.test", target: "/api/v1/login", wantCode: 308, wantLocation: "https://strongroom.test/api/v1/login"},
		{name: "PUT", port: "443", method: "PUT", host: "strongroom.test", target: "/r", wantCode: 308, wantLocation: "https://strongroom.test/r"},
		{name: "DELETE", port: "443", method: "DELETE", host: "strongroom.test", target: "/r", wantCode: 308, wantLocation: "https://strongroom.test/r"},
		{name: "other HTTPS port", port: "8443", method: "GET", host: "strongroom.test:8080", target: "/p?q", wantCode: 301, wantLocation: "https://strongroom.test:8443/p?q"},
		{name: "host case and final dot", port: "443", method: "GET", host: "StrongRoom.TEST.", target: "/", wantCode: 301, wantLocation: "https://strongroom.test/"},
		{name: "IPv4", port: "8443", method: "GET", host: "127.0.0.1:8080", target: "/", wantCode: 301, wantLocation: "https://127.0.0.1:8443/"},
		{name: "IPv6", port: "443", method: "GET", host: "[::1]:80", target: "/", wantCode: 301, wantLocation: "https://[::1]/"},
		{name: "escaped path kept", port: "443", method: "GET", host: "strongroom.test", target: "/a%2Fb/%C3%A9", wantCode: 301, wantLocation: "https://strongroom.test/a%2Fb/%C3%A9"},
		{name: "double slash path stays a path", port: "443", method: "GET", host: "strongroom.test", target: "//evil.example/x", wantCode: 301, wantLocation: "https://strongroom.test//evil.example/x"},

		// Allow-list.
		{name: "allowed host", port: "443", allowed: []string{"strongroom.test", "www.strongroom.test"}, method: "GET", host: "www.strongroom.test:80", target: "/", wantCode: 301, wantLocation: "https://www.strongroom.test/"},
		{name: "allowed host, other case", port: "443", allowed: []string{"Strongroom.Test."}, method: "GET", host: "STRONGROOM.test", target: "/", wantCode: 301, wantLocation: "https://strongroom.test/"},
		{name: "host not allowed", port: "443", allowed: []string{"strongroom.test"}, method: "GET", host: "evil.example", target: "/", wantCode: 400},
		{name: "allowed name as a prefix", port: "443", allowed: []string{"strongroom.test"}, method: "GET", host: "strongroom.test.evil.example", target: "/", wantCode: 400},
		{name: "allowed name as a suffix", port: "443", allowed: []string{"strongroom.test"}, method: "GET", host: "evilstrongroom.test", target: "/", wantCode: 400},
		{name: "IP not allowed", port: "443", allowed: []string{"strongroom.test"}, method: "GET", host: "127.0.0.1", target: "/", wantCode: 400},
		{name: "POST to a host not allowed", port: "443", allowed: []string{"strongroom.test"}, method: "POST", host: "evil.example", target: "/", wantCode: 400},

		// Hostile Host headers are refused even without an allow-list.
		{name: "userinfo trick", port: "443", method: "GET", host: "strongroom.test@evil.example", target: "/", wantCode: 400},
		{name: "path in host", port: "443", method: "GET", host: "evil.example/x", target: "/", wantCode: 400},
		{name: "backslash", port: "443", method: "GET", host: `evil.example\strongroom.test`, target: "/", wantCode: 400},
		{name: "query in host", port: "443", method: "GET", host: "evil.example?.strongroom.test", target: "/", wantCode: 400},
		{name: "fragment in host", port: "443", method: "GET", host: "evil.example#.strongroom.test", target: "/", wantCode: 400},
		{name: "percent-encoded host", port: "443", method: "GET", host: "evil%2eexample", target: "/", wantCode: 400},
		{name: "space", port: "443", method: "GET", host: "evil example", target: "/", wantCode: 400},
		{name: "CRLF", port: "443", method: "GET", host: "evil.example\r\nX: y", target: "/", wantCode: 400},
		{name: "empty host", port: "443", method: "GET", host: "", target: "/", wantCode: 400},
		{name: "IPv6 zone", port: "443", method: "GET", host: "[fe80::1%25eth0]", target: "/", wantCode: 400},
		{name: "non-ASCII", port: "443", method: "GET", host: "évil.example", target: "/", wantCode: 400},
		{name: "label too long", port: "443", method: "GET", host: strings.Repeat("a", 64) + ".example", target: "/", wantCode: 400},
		{name: "hyphen at label start", port: "443", method: "GET", host: "-evil.example", target: "/", wantCode: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://placeholder"+tc.target, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			RedirectHandler(tc.port, tc.allowed...).ServeHTTP(w, r)
			if w.Code != tc.wantCode {
				t.Fatalf("status %d, want %d (body %q)", w.Code, tc.wantCode, w.Body)
			}
			loc := w.Header().Get("Location")
			if loc != tc.wantLocation {
				t.Fatalf("Location %q, want %q", loc, tc.wantLocation)
			}
			if loc != "" {
				u, err := url.Parse(loc)
				if err != nil || u.Scheme != "https" || u.User != nil || u.Fragment != "" {
					t.Errorf("Location %q does not parse as a plain https URL", loc)
				}
			}
			if w.Code == 400 && strings.Contains(w.Body.String(), "evil") {
				t.Errorf("the refusal echoes the Host header: %q", w.Body)
			}
		})
	}
}

func TestRedirectHandlerBadPort(t *testing.T) {
	for _, port := range []string{"https", "0", "65536", "-1", "08443", " 443", "443/x"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RedirectHandler(%q) did not panic", port)
				}
			}()
			RedirectHandler(port)
		}()
	}
}

// TestRedirectHandlerWire sends raw requests to a real server, so that the Host
// header and request target reach the handler as net/http parses them.
func TestRedirectHandlerWire(t *testing.T) {
	srv := httptest.NewServer(RedirectHandler("443", "strongroom.test"))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, request string
		wantStatus    string
		wantLocation  string
	}{
		{"allowed", "GET /x?y=1 HTTP/1.1\r\nHost: strongroom.test\r\n\r\n", "301", "https://strongroom.test/x?y=1"},
		{"other host", "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", "400", ""},
		{"absolute-form naming another host", "GET http://evil.example/x HTTP/1.1\r\nHost: strongroom.test\r\n\r\n", "400", ""},
		{"absolute-form naming the host", "GET http://strongroom.test/x HTTP/1.1\r\nHost: strongroom.test\r\n\r\n", "301", "https://strongroom.test/x"},
		{"no Host in HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", "400", ""},
		{"two Host headers", "GET / HTTP/1.1\r\nHost: strongroom.test\r\nHost: evil.example\r\n\r\n", "400", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(tc.request)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if !strings.HasPrefix(resp.Status, tc.wantStatus) {
				t.Errorf("status %q, want %s", resp.Status, tc.wantStatus)
			}
			if got := resp.Header.Get("Location"); got != tc.wantLocation {
				t.Errorf("Location %q, want %q", got, tc.wantLocation)
			}
		})
	}
}
