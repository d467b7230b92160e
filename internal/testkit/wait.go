package testkit

import (
	"testing"
	"time"
)

// WaitFor polls cond until it is true, failing the test after timeout. Tests
// wait for something to happen with it, never with a bare time.Sleep.
func WaitFor(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 100*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(delay)
	}
}
