package certs

import (
	"testing"
	"time"
)

func TestHSTSValue(t *testing.T) {
	for _, c := range []struct {
		h    HSTS
		want string
	}{
		{DefaultHSTS, "max-age=63072000; includeSubDomains"},
		{HSTS{MaxAge: 365 * 24 * time.Hour, IncludeSubDomains: true, Preload: true}, "max-age=31536000; includeSubDomains; preload"},
		{HSTS{MaxAge: time.Hour}, "max-age=3600"},
		{HSTS{}, "max-age=0"},
	} {
		if err := c.h.Validate(); err != nil {
			t.Errorf("%+v: %v", c.h, err)
		}
		if got := c.h.Value(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.h, got, c.want)
		}
	}
	for _, bad := range []HSTS{
		{MaxAge: -time.Second},
		{MaxAge: MaxHSTSAge + time.Second},
		{MaxAge: 1500 * time.Millisecond},
		{MaxAge: 2 * 365 * 24 * time.Hour, Preload: true},
		{MaxAge: 300 * 24 * time.Hour, IncludeSubDomains: true, Preload: true},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
