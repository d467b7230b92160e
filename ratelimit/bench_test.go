package ratelimit

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks use the real clock: reading it is part of the cost.

// BenchmarkAllowRejected is the cost of refusing a key over its limit, the
// path a credential-stuffing flood takes (DESIGN.md: < 50 µs).
func BenchmarkAllowRejected(b *testing.B) {
	l, err := New(Config{Rate: 1.0 / 60, Burst: 1})
	if err != nil {
		b.Fatal(err)
	}
	l.Allow("alice@example.com")
	for b.Loop() {
		if ok, _ := l.Allow("alice@example.com"); ok {
			b.Fatal("allowed")
		}
	}
}

// BenchmarkAllowParallel: many goroutines, many keys, mostly allowed.
func BenchmarkAllowParallel(b *testing.B) {
	keys := makeKeys(100_000)
	l, err := New(Config{Rate: 100, Burst: 10})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(7919) // each goroutine starts elsewhere
		for pb.Next() {
			l.Allow(keys[i%uint64(len(keys))])
			i++
		}
	})
}

// BenchmarkAllowFlood: every call is a key never seen, into a full table, so
// every call evicts — a flood of distinct accounts or addresses.
func BenchmarkAllowFlood(b *testing.B) {
	keys := makeKeys(1 << 20)
	l, err := New(Config{Rate: 1.0 / 60, Burst: 5, MaxKeys: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range keys[:200_000] {
		l.Allow(k)
	}
	i := 0
	for b.Loop() {
		l.Allow(keys[i&(len(keys)-1)])
		i++
	}
}

// BenchmarkLockoutCheck is the cost of refusing a delayed key.
func BenchmarkLockoutCheck(b *testing.B) {
	l, err := NewLockout(LockoutConfig{FreeFailures: 5, Base: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	for range 10 {
		l.Fail("alice@example.com")
	}
	for b.Loop() {
		if l.Check("alice@example.com") == 0 {
			b.Fatal("not delayed")
		}
	}
}

// BenchmarkLockoutFail records failures over many keys.
func BenchmarkLockoutFail(b *testing.B) {
	keys := makeKeys(100_000)
	l, err := NewLockout(LockoutConfig{FreeFailures: 5, Base: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		l.Fail(keys[i%len(keys)])
		i++
	}
}

// BenchmarkMemoryPerKey reports the heap each remembered key costs, for
// sizing MaxKeys.
func BenchmarkMemoryPerKey(b *testing.B) {
	const n = 100_000
	keys := makeKeys(n)
	for _, kind := range []string{"Limiter", "Lockout"} {
		b.Run(kind, func(b *testing.B) {
			var perKey float64
			for b.Loop() {
				before := heapInUse()
				var keep any
				if kind == "Limiter" {
					l, _ := New(Config{Rate: 1, Burst: 5, MaxKeys: n})
					for _, k := range keys {
						l.Allow(k)
					}
					keep = l
				} else {
					l, _ := NewLockout(LockoutConfig{Base: time.Second, Max: time.Minute, Forget: time.Hour, MaxKeys: n})
					for _, k := range keys {
						l.Fail(k)
					}
					keep = l
				}
				perKey = float64(heapInUse()-before) / n
				runtime.KeepAlive(keep)
			}
			b.ReportMetric(perKey, "B/key")
		})
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

func makeKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("user%d@example.com", i)
	}
	return keys
}
