package strongroom_test

import (
	"testing"
	"time"

	"strongroom.dev/strongroom"
)

func TestConnectionState(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Second)
	for _, tc := range []struct {
		name string
		c    strongroom.Connection
		want strongroom.ConnectionStatus
	}{
		{"fresh", strongroom.Connection{Status: strongroom.ConnectionActive, ExpiresAt: &future}, strongroom.ConnectionActive},
		{"no expiry", strongroom.Connection{Status: strongroom.ConnectionActive}, strongroom.ConnectionActive},
		{"expired, refreshable", strongroom.Connection{Status: strongroom.ConnectionActive, ExpiresAt: &past, Refreshable: true}, strongroom.ConnectionActive},
		{"expired for good", strongroom.Connection{Status: strongroom.ConnectionActive, ExpiresAt: &now}, strongroom.ConnectionExpired},
		{"failed", strongroom.Connection{Status: strongroom.ConnectionFailed, ExpiresAt: &past}, strongroom.ConnectionFailed},
	} {
		if got := tc.c.State(now); got != tc.want {
			t.Errorf("%s: State = %q, want %q", tc.name, got, tc.want)
		}
	}
}
