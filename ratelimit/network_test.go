package ratelimit

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNetwork(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.77", "203.0.113.0/24"},
		{"203.0.113.0", "203.0.113.0/24"},
		{"0.0.0.0", "0.0.0.0/24"},
		{"255.255.255.255", "255.255.255.0/24"},
		{"127.0.0.1", "127.0.0.0/24"},
		{" 198.51.100.9\t", "198.51.100.0/24"},
		{"198.51.100.9:443", "198.51.100.0/24"},
		{"::ffff:198.51.100.9", "198.51.100.0/24"},
		{"[::ffff:198.51.100.9]:8080", "198.51.100.0/24"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2::FFFF", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::1]:443", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"::1", "::/64"},
		{"::", "::/64"},
		// Malformed input.
		{"", Invalid},
		{" ", Invalid},
		{"localhost", Invalid},
		{"203.0.113", Invalid},
		{"203.0.113.256", Invalid},
		{"203.000.113.1", Invalid},
		{"203.0.113.1/24", Invalid},
		{"203.0.113.1:", Invalid},
		{"203.0.113.1:99999", Invalid},
		{"[203.0.113.1]", Invalid},
		{"2001:db8::1::2", Invalid},
		{"1.2.3.4, 5.6.7.8", Invalid},
		{"\xff\xfe", Invalid},
		{strings.Repeat("1", 1000), Invalid},
		{"invalid", Invalid},
	}
	for _, tt := range tests {
		if got := Network(tt.in); got != tt.want {
			t.Errorf("Network(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNetwork(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzNetwork.
	f.Add("192.0.2.1")
	f.Add("[2001:db8::1]:443")
	f.Fuzz(func(t *testing.T, in string) {
		got := Network(in)
		if got == Invalid {
			return
		}
		p, err := netip.ParsePrefix(got)
		if err != nil {
			t.Fatalf("Network(%q) = %q, not a prefix: %v", in, got, err)
		}
		if p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("Network(%q) = %q, not a plain masked prefix", in, got)
		}
		if p.Addr().Is4() && p.Bits() != 24 || p.Addr().Is6() && p.Bits() != 64 {
			t.Fatalf("Network(%q) = %q: want /24 for IPv4, /64 for IPv6", in, got)
		}
		// Every address in the network maps to the network.
		if again := Network(p.Addr().String()); again != got {
			t.Fatalf("Network(%q) = %q but Network(%q) = %q", in, got, p.Addr(), again)
		}
	})
}
