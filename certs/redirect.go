package certs

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// RedirectHandler answers plain-HTTP requests with a redirect to the same
// host, path and query over HTTPS on httpsPort ("443" or "" leaves the port
// out of the URL): 301 Moved Permanently for GET and HEAD, 308 Permanent
// Redirect for other methods (which keeps the method and body).
//
// With allowedHosts, a request whose Host (port ignored, case-insensitive) is
// not one of them is refused with 400, so that arbitrary Host headers cannot
// make the server redirect elsewhere. Without it, any syntactically valid
// host name or IP address is redirected to; anything else is refused.
//
// httpsPort must be a port number; RedirectHandler panics otherwise, since
// configuration is validated before handlers are built.
func RedirectHandler(httpsPort string, allowedHosts ...string) http.Handler {
	portSuffix := ""
	if httpsPort != "" && httpsPort != "443" {
		n, err := strconv.Atoi(httpsPort)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != httpsPort {
			panic(fmt.Sprintf("certs.RedirectHandler: HTTPS port %q is not a port number", httpsPort))
		}
		portSuffix = ":" + httpsPort
	}
	var allowed map[string]bool
	if len(allowedHosts) > 0 {
		allowed = make(map[string]bool, len(allowedHosts))
		for _, h := range allowedHosts {
			allowed[strings.TrimSuffix(strings.ToLower(h), ".")] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := redirectHost(r.Host)
		if !ok || (allowed != nil && !allowed[strings.Trim(host, "[]")]) {
			http.Error(w, "Unknown host; use HTTPS with this server's name.", http.StatusBadRequest)
			return
		}
		code := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusMovedPermanently
		}
		http.Redirect(w, r, "https://"+host+portSuffix+r.URL.RequestURI(), code)
	})
}

// redirectHost returns the host of a Host header without its port, lower-cased
// and without a final dot, bracketed if it is an IPv6 address; ok is false if
// it is neither a DNS name nor an IP address.
func redirectHost(hostport string) (host string, ok bool) {
	host = hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", false
		}
		if a.Is6() {
			return "[" + a.String() + "]", true
		}
		return a.String(), true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || len(host) > 253 {
		return "", false
	}
	for _, label := range strings.Split(host, ".") {
		if !validLabel(label) {
			return "", false
		}
	}
	return host, true
}
