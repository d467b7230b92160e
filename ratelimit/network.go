package ratelimit

import (
	"net/netip"
	"strings"
)

// Invalid is what Network returns for input that is not an IP address.
const Invalid = "invalid"

// maxAddrInput bounds the input Network parses; the longest address with a
// port and a reasonable zone is far shorter.
const maxAddrInput = 128

// Network returns the network a client address belongs to, as a key for a
// Limiter or Lockout: the /24 of an IPv4 address ("203.0.113.0/24") and the
// /64 of an IPv6 address ("2001:db8:1:2::/64") — a /64 is what one IPv6
// subscriber usually gets, so keying on the full address would give an
// attacker 2^64 keys. IPv4-mapped IPv6 addresses count as IPv4. It accepts an
// address with a port as well ("192.0.2.1:443", "[2001:db8::1]:443", as in
// http.Request.RemoteAddr), and ignores an IPv6 zone and surrounding spaces.
//
// Anything else yields Invalid. All malformed input shares that one key on
// purpose: if each malformed string were its own key, a client able to choose
// its apparent address (a forwarded-for header from an untrusted proxy) could
// make a fresh key per request and escape its network's delay.
func Network(ip string) string {
	if len(ip) > maxAddrInput {
		return Invalid
	}
	ip = strings.TrimSpace(ip)
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		ap, err := netip.ParseAddrPort(ip)
		if err != nil {
			return Invalid
		}
		addr = ap.Addr()
	}
	addr = addr.Unmap().WithZone("")
	bits := 64
	if addr.Is4() {
		bits = 24
	}
	p, err := addr.Prefix(bits)
	if err != nil || !p.IsValid() {
		return Invalid
	}
	return p.String()
}
