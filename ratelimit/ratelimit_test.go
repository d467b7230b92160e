package ratelimit

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand; it is safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

var clockStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func (c *fakeClock) Now() time.Time          { return clockStart.Add(time.Duration(c.ns.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newLimiter(t testing.TB, c Config) (*Limiter, *fakeClock) {
	t.Helper()
	clk := &fakeClock{}
	c.Clock = clk.Now
	l, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

// allow calls l.Allow and fails the test unless the answer is as expected.
func allow(t *testing.T, l *Limiter, key string, wantOK bool, wantWait time.Duration) {
	t.Helper()
	ok, wait := l.Allow(key)
	if ok != wantOK || wait != wantWait {
		t.Fatalf("Allow(%q) = %v, %v; want %v, %v", key, ok, wait, wantOK, wantWait)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string // substring of the error; "" for none
	}{
		{"ok", Config{Rate: 1, Burst: 1}, ""},
		{"fractional rate", Config{Rate: 1.0 / 3600, Burst: 10, MaxKeys: 5}, ""},
		{"zero rate", Config{Burst: 1}, "Rate"},
		{"negative rate", Config{Rate: -1, Burst: 1}, "Rate"},
		{"NaN rate", Config{Rate: math.NaN(), Burst: 1}, "Rate"},
		{"infinite rate", Config{Rate: math.Inf(1), Burst: 1}, "Rate"},
		{"rate over 1e9", Config{Rate: 2e9, Burst: 1}, "Rate"},
		{"zero burst", Config{Rate: 1}, "Burst"},
		{"window too long", Config{Rate: 1e-9, Burst: 1000}, "Burst/Rate"},
		{"negative MaxKeys", Config{Rate: 1, Burst: 1, MaxKeys: -1}, "MaxKeys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v; want error mentioning %q", err, tt.want)
			}
			if _, nerr := New(tt.c); (nerr == nil) != (err == nil) {
				t.Fatalf("New error %v disagrees with Validate %v", nerr, err)
			}
		})
	}
}

func TestAllowBurstThenRefuse(t *testing.T) {
	l, _ := newLimiter(t, Config{Rate: 1, Burst: 3})
	for range 3 {
		allow(t, l, "a", true, 0)
	}
	allow(t, l, "a", false, time.Second)
	allow(t, l, "a", false, time.Second) // a refusal costs nothing
	// Other keys have their own buckets.
	allow(t, l, "b", true, 0)
}

func TestAllowRefillTiming(t *testing.T) {
	// 4 per second: one token every 250 ms, burst 2.
	l, clk := newLimiter(t, Config{Rate: 4, Burst: 2})
	allow(t, l, "k", true, 0)
	allow(t, l, "k", true, 0)
	allow(t, l, "k", false, 250*time.Millisecond)

	clk.Advance(100 * time.Millisecond)
	allow(t, l, "k", false, 150*time.Millisecond) // retryAfter counts down

	clk.Advance(150*time.Millisecond - 1)
	allow(t, l, "k", false, 1) // exact to the nanosecond
	clk.Advance(1)
	allow(t, l, "k", true, 0)
	allow(t, l, "k", false, 250*time.Millisecond)

	// A long quiet time refills to Burst, not beyond.
	clk.Advance(time.Hour)
	allow(t, l, "k", true, 0)
	allow(t, l, "k", true, 0)
	allow(t, l, "k", false, 250*time.Millisecond)
}

func TestAllowRetryAfterIsAccurate(t *testing.T) {
	// Whatever the rate, waiting exactly retryAfter is enough and waiting
	// 1 ns less is not.
	for _, rate := range []float64{1.0 / 60, 0.5, 3, 7, 1000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			l, clk := newLimiter(t, Config{Rate: rate, Burst: 5})
			for round := range 20 {
				ok, wait := l.Allow("k")
				for ok {
					ok, wait = l.Allow("k")
				}
				if wait <= 0 || wait > time.Duration(l.interval) {
					t.Fatalf("round %d: retryAfter %v outside (0, %v]", round, wait, time.Duration(l.interval))
				}
				clk.Advance(wait - 1)
				if ok, _ := l.Allow("k"); ok {
					t.Fatalf("round %d: allowed 1ns before retryAfter", round)
				}
				clk.Advance(1)
				if ok, _ := l.Allow("k"); !ok {
					t.Fatalf("round %d: refused after retryAfter", round)
				}
				clk.Advance(time.Duration(round) * 37 * time.Millisecond)
			}
		})
	}
}

func TestAllowLongRunRate(t *testing.T) {
	// Over ten simulated minutes, calls every 10 ms get Burst + Rate×600.
	l, clk := newLimiter(t, Config{Rate: 2.5, Burst: 4})
	got := 0
	for range 60_000 {
		if ok, _ := l.Allow("k"); ok {
			got++
		}
		clk.Advance(10 * time.Millisecond)
	}
	if want := 4 + 2.5*600; float64(got) < want-1 || float64(got) > want {
		t.Fatalf("allowed %d in 10 minutes; want about %v", got, want)
	}
}

func TestAllowClockGoesBack(t *testing.T) {
	l, clk := newLimiter(t, Config{Rate: 1, Burst: 2})
	clk.Advance(time.Hour)
	allow(t, l, "k", true, 0)
	allow(t, l, "k", true, 0)
	clk.Advance(-30 * time.Minute)
	// Never asked to wait longer than one interval.
	allow(t, l, "k", false, time.Second)
}

func TestShards(t *testing.T) {
	for _, tt := range []struct{ maxKeys, want int }{{1, 1}, {2, 2}, {3, 2}, {63, 32}, {64, 64}, {1e6, 64}} {
		if got := len(newTable[struct{}](tt.maxKeys, maxShards, time.Now).shards); got != tt.want {
			t.Errorf("MaxKeys %d: %d shards; want %d", tt.maxKeys, got, tt.want)
		}
	}
}

func TestMaxKeysBound(t *testing.T) {
	for _, maxKeys := range []int{1, 5, 63, 64, 100, 1000} {
		t.Run(fmt.Sprint(maxKeys), func(t *testing.T) {
			l, clk := newLimiter(t, Config{Rate: 1, Burst: 10, MaxKeys: maxKeys})
			total := 0
			for i := range l.t.shards {
				total += l.t.shards[i].max
			}
			if total != maxKeys {
				t.Fatalf("shard capacities add up to %d; want %d", total, maxKeys)
			}
			for i := range 50_000 {
				l.Allow(fmt.Sprint("key-", i))
				if i%997 == 0 {
					clk.Advance(time.Millisecond)
				}
			}
			if n := l.Len(); n > maxKeys || n < maxKeys*9/10 {
				t.Fatalf("Len() = %d after 50,000 keys; want at most %d and close to it", n, maxKeys)
			}
			checkShards(t, l.t)
		})
	}
}

// checkShards checks a table's internal invariants: each shard within its
// bound, its map and heap agree, and the heap is ordered.
func checkShards[V any](t *testing.T, tb *table[V]) {
	t.Helper()
	for si := range tb.shards {
		s := &tb.shards[si]
		s.mu.Lock()
		if len(s.m) != len(s.heap) || len(s.heap) > s.max {
			t.Errorf("shard %d: %d map entries, %d heap entries, max %d", si, len(s.m), len(s.heap), s.max)
		}
		for i, e := range s.heap {
			if e.i != i || s.m[e.key] != e {
				t.Errorf("shard %d: entry at %d has index %d or is not in the map", si, i, e.i)
			}
			if i > 0 && s.heap[(i-1)/2].prio > e.prio {
				t.Errorf("shard %d: heap order broken at %d", si, i)
			}
		}
		s.mu.Unlock()
	}
}

func TestIdleKeysAreForgotten(t *testing.T) {
	l, clk := newLimiter(t, Config{Rate: 10, Burst: 1, MaxKeys: 1000})
	for i := range 500 {
		l.Allow(fmt.Sprint("idle-", i))
	}
	// Every bucket refills within 100 ms; each later call forgets up to two
	// full buckets of its shard, so traffic on other keys clears them.
	for i := range 5000 {
		clk.Advance(time.Second)
		l.Allow(fmt.Sprint("later-", i))
	}
	if n := l.Len(); n > 64 {
		t.Fatalf("Len() = %d; full buckets should have been forgotten", n)
	}
	checkShards(t, l.t)
}

// TestFloodDoesNotResetVictim: an attacker flooding the limiter with fresh
// keys cannot make it forget a key that is over its limit.
func TestFloodDoesNotResetVictim(t *testing.T) {
	l, clk := newLimiter(t, Config{Rate: 1.0 / 60, Burst: 5, MaxKeys: 256})
	for range 5 {
		allow(t, l, "victim", true, 0)
	}
	allow(t, l, "victim", false, time.Minute)
	for i := range 100_000 {
		l.Allow(fmt.Sprint("flood-", i))
		if i%1000 == 0 {
			clk.Advance(time.Millisecond)
		}
	}
	if ok, wait := l.Allow("victim"); ok || wait <= 0 {
		t.Fatalf("after the flood Allow(victim) = %v, %v; want still refused", ok, wait)
	}
	checkShards(t, l.t)
}

// TestEvictsLeastIndebted: when a shard is full, the key that owes the
// fewest tokens goes.
func TestEvictsLeastIndebted(t *testing.T) {
	l, clk := newLimiter(t, Config{Rate: 1, Burst: 10, MaxKeys: 3})
	l.t = newTable[struct{}](3, 1, clk.Now) // one shard of three keys
	use := func(key string, n int) {
		for range n {
			l.Allow(key)
		}
	}
	use("deep", 9)
	use("shallow", 1)
	use("middle", 5)
	use("new", 1) // evicts "shallow"
	if got := tokensLeft(l, "deep"); got != 1 {
		t.Errorf("deep has %d tokens left; want 1 (remembered)", got)
	}
	if got := tokensLeft(l, "middle"); got != 5 {
		t.Errorf("middle has %d tokens left; want 5 (remembered)", got)
	}
	if got := tokensLeft(l, "shallow"); got != 10 {
		t.Errorf("shallow has %d tokens left; want 10 (forgotten)", got)
	}
}

// tokensLeft drains key's bucket and reports how many requests it allowed.
func tokensLeft(l *Limiter, key string) int {
	n := 0
	for {
		if ok, _ := l.Allow(key); !ok {
			return n
		}
		n++
	}
}

// TestAllowConcurrent: with the clock stopped, concurrent callers together
// get exactly Burst tokens per key.
func TestAllowConcurrent(t *testing.T) {
	const keys, burst, workers = 50, 20, 16
	l, _ := newLimiter(t, Config{Rate: 1, Burst: burst, MaxKeys: 10_000})
	var allowed [keys]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range 200 {
				k := (w*7 + i) % keys
				if ok, _ := l.Allow(fmt.Sprint("k", k)); ok {
					allowed[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if got := allowed[k].Load(); got != burst {
			t.Errorf("key %d: %d allowed; want %d", k, got, burst)
		}
	}
	checkShards(t, l.t)
}
