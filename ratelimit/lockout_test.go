package ratelimit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func newLockout(t testing.TB, c LockoutConfig) (*Lockout, *fakeClock) {
	t.Helper()
	clk := &fakeClock{}
	c.Clock = clk.Now
	l, err := NewLockout(c)
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

var testLockout = LockoutConfig{FreeFailures: 3, Base: time.Second, Max: 10 * time.Second, Forget: time.Hour}

func TestLockoutConfigValidate(t *testing.T) {
	ok := testLockout
	tests := []struct {
		name   string
		change func(*LockoutConfig)
		want   string // substring of the error; "" for none
	}{
		{"ok", func(*LockoutConfig) {}, ""},
		{"no free failures", func(c *LockoutConfig) { c.FreeFailures = 0 }, ""},
		{"Max equals Base", func(c *LockoutConfig) { c.Max = c.Base }, ""},
		{"Forget equals Max", func(c *LockoutConfig) { c.Forget = c.Max }, ""},
		{"negative free failures", func(c *LockoutConfig) { c.FreeFailures = -1 }, "FreeFailures"},
		{"zero Base", func(c *LockoutConfig) { c.Base = 0 }, "Base"},
		{"Max below Base", func(c *LockoutConfig) { c.Max = c.Base / 2 }, "Max"},
		{"Forget below Max", func(c *LockoutConfig) { c.Forget = c.Max - 1 }, "Forget"},
		{"Forget too long", func(c *LockoutConfig) { c.Forget = 1 << 62 }, "Forget"},
		{"negative MaxKeys", func(c *LockoutConfig) { c.MaxKeys = -1 }, "MaxKeys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v; want error mentioning %q", err, tt.want)
			}
			if _, nerr := NewLockout(c); (nerr == nil) != (err == nil) {
				t.Fatalf("NewLockout error %v disagrees with Validate %v", nerr, err)
			}
		})
	}
}

func TestLockoutDoublingAndCap(t *testing.T) {
	l, clk := newLockout(t, testLockout)
	var got []time.Duration
	for range 9 {
		wait := l.Fail("k")
		if c := l.Check("k"); c != wait {
			t.Fatalf("Check = %v right after Fail returned %v", c, wait)
		}
		got = append(got, wait)
		clk.Advance(wait) // the next attempt comes as soon as allowed
		if c := l.Check("k"); c != 0 {
			t.Fatalf("Check = %v after waiting; want 0", c)
		}
	}
	s := time.Second
	want := []time.Duration{0, 0, 0, s, 2 * s, 4 * s, 8 * s, 10 * s, 10 * s}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}
	if n := l.Failures("k"); n != 9 {
		t.Errorf("Failures = %d; want 9", n)
	}
}

func TestLockoutCheckCountsDown(t *testing.T) {
	l, clk := newLockout(t, testLockout)
	for range 5 {
		l.Fail("k")
	}
	if got := l.Check("k"); got != 2*time.Second {
		t.Fatalf("Check = %v; want 2s", got)
	}
	clk.Advance(1400 * time.Millisecond)
	if got := l.Check("k"); got != 600*time.Millisecond {
		t.Fatalf("Check = %v; want 600ms", got)
	}
	if got := l.Check("other"); got != 0 {
		t.Fatalf("Check(other) = %v; want 0", got)
	}
}

func TestLockoutFailWhileDelayed(t *testing.T) {
	// Failures that arrive while delayed (the caller did not Check, or two
	// requests raced) still count, and the delay runs from the latest one.
	l, clk := newLockout(t, testLockout)
	for range 4 {
		l.Fail("k")
	}
	clk.Advance(500 * time.Millisecond)
	if got := l.Fail("k"); got != 2*time.Second {
		t.Fatalf("Fail = %v; want 2s", got)
	}
}

func TestLockoutNoOverflow(t *testing.T) {
	l, _ := newLockout(t, LockoutConfig{Base: time.Nanosecond, Max: 1 << 60, Forget: 1 << 61})
	var last time.Duration
	for i := range 300 {
		wait := l.Fail("k")
		if wait < last || wait > 1<<60 {
			t.Fatalf("failure %d: wait %v after %v", i+1, wait, last)
		}
		last = wait
	}
	if last != 1<<60 {
		t.Fatalf("wait %v; want the cap", last)
	}
}

func TestLockoutForget(t *testing.T) {
	l, clk := newLockout(t, testLockout)
	for range 6 {
		l.Fail("k")
	}
	// Forget counts from the last failure, not the first.
	clk.Advance(30 * time.Minute)
	if got := l.Fail("k"); got != 8*time.Second {
		t.Fatalf("Fail = %v; want 8s (remembered)", got)
	}
	clk.Advance(time.Hour - 1)
	if got := l.Failures("k"); got != 7 {
		t.Fatalf("Failures = %d just before Forget; want 7", got)
	}
	clk.Advance(1)
	if got := l.Failures("k"); got != 0 {
		t.Fatalf("Failures = %d after Forget; want 0", got)
	}
	if got := l.Fail("k"); got != 0 {
		t.Fatalf("Fail = %v after Forget; want 0 (a free failure)", got)
	}
	if got := l.Failures("k"); got != 1 {
		t.Fatalf("Failures = %d; want 1", got)
	}
}

func TestLockoutSucceed(t *testing.T) {
	l, _ := newLockout(t, testLockout)
	for range 6 {
		l.Fail("k")
	}
	l.Fail("other")
	l.Succeed("k")
	l.Succeed("never seen")
	if got := l.Check("k"); got != 0 {
		t.Fatalf("Check = %v after Succeed; want 0", got)
	}
	if got := l.Failures("k"); got != 0 {
		t.Fatalf("Failures = %d after Succeed; want 0", got)
	}
	for i := range 3 {
		if got := l.Fail("k"); got != 0 {
			t.Fatalf("failure %d after Succeed waits %v; want free", i+1, got)
		}
	}
	if got := l.Failures("other"); got != 1 {
		t.Fatalf("Failures(other) = %d; Succeed(k) must not touch it", got)
	}
	checkShards(t, l.t)
}

func TestLockoutClockGoesBack(t *testing.T) {
	l, clk := newLockout(t, testLockout)
	clk.Advance(time.Hour)
	for range 8 {
		l.Fail("k")
	}
	clk.Advance(-30 * time.Minute)
	if got := l.Check("k"); got != 10*time.Second {
		t.Fatalf("Check = %v after the clock went back; want at most Max", got)
	}
}

// TestLockoutFloodDoesNotResetVictim: fresh keys, each failing once, cannot
// push a delayed key out, nor one with a few failures if the flood keys are
// newer.
func TestLockoutFloodDoesNotResetVictim(t *testing.T) {
	l, clk := newLockout(t, LockoutConfig{FreeFailures: 5, Base: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour, MaxKeys: 256})
	for range 12 {
		l.Fail("victim")
	}
	before := l.Check("victim")
	for i := range 100_000 {
		l.Fail(fmt.Sprint("flood-", i))
		if i%1000 == 0 {
			clk.Advance(time.Millisecond)
		}
	}
	if n := l.Len(); n > 256 {
		t.Fatalf("Len() = %d; want at most 256", n)
	}
	if got := l.Failures("victim"); got != 12 {
		t.Fatalf("Failures(victim) = %d after the flood; want 12", got)
	}
	if got := l.Check("victim"); got <= 0 || got > before {
		t.Fatalf("Check(victim) = %v after the flood; want still delayed (was %v)", got, before)
	}
	checkShards(t, l.t)
}

func TestLockoutEvictionOrder(t *testing.T) {
	l, clk := newLockout(t, LockoutConfig{FreeFailures: 2, Base: time.Second, Max: time.Minute, Forget: time.Hour, MaxKeys: 3})
	l.t = newTable[failures](3, 1, clk.Now) // one shard of three keys
	fail := func(key string, n int) {
		for range n {
			l.Fail(key)
		}
		clk.Advance(time.Second)
	}
	remembered := func(keys ...string) map[string]int {
		m := map[string]int{}
		for _, k := range keys {
			m[k] = l.Failures(k)
		}
		return m
	}

	fail("delayed", 3) // delayed: kept over any free key
	fail("free-old", 1)
	fail("free-new", 2)
	fail("a", 1) // evicts free-old, the oldest free key
	fail("b", 1) // evicts free-new
	fail("c", 1) // evicts a
	got := remembered("delayed", "free-old", "free-new", "a", "b", "c")
	want := map[string]int{"delayed": 3, "free-old": 0, "free-new": 0, "a": 0, "b": 1, "c": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failures remembered (-want +got):\n%s", diff)
	}

	// Among delayed keys, the one whose failures are forgotten first goes.
	fail("d1", 3) // evicts b
	fail("d2", 3) // evicts c
	fail("d3", 3) // evicts delayed, the oldest delayed key
	got = remembered("delayed", "b", "c", "d1", "d2", "d3")
	want = map[string]int{"delayed": 0, "b": 0, "c": 0, "d1": 3, "d2": 3, "d3": 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failures remembered (-want +got):\n%s", diff)
	}
}

func TestLockoutConcurrent(t *testing.T) {
	const keys, workers, perWorker = 20, 16, 100
	l, _ := newLockout(t, LockoutConfig{FreeFailures: 1000, Base: time.Second, Max: time.Minute, Forget: time.Hour, MaxKeys: 10_000})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				k := fmt.Sprint("k", (w+i)%keys)
				l.Check(k)
				l.Fail(k)
				l.Failures(k)
				l.Succeed(fmt.Sprint("s", i%keys))
			}
		})
	}
	wg.Wait()
	total := 0
	for k := range keys {
		total += l.Failures(fmt.Sprint("k", k))
	}
	if total != workers*perWorker {
		t.Fatalf("%d failures recorded; want %d", total, workers*perWorker)
	}
	checkShards(t, l.t)
}
