// Package ratelimit protects sign-in and the API from floods and guessing
// (IAM-13: per-IP and per-account limits, lockout with backoff, 429 +
// Retry-After). It has two tools, both in memory and per process:
//
//   - Limiter, keyed token buckets (GCRA: one timestamp per key), to bound how
//     often a key — a client network, an API key — may do something at all;
//   - Lockout, exponential backoff after consecutive failures of a key — an
//     account, an account from one network — cleared by a success.
//
// Network turns a client address into the /24 or /64 it belongs to, for keys.
//
// # Cost
//
// Both tools refill lazily: there is no goroutine and nothing to close. A call
// hashes the key (hash/maphash with a per-instance random seed, in time
// linear in the key's length: bound keys that come from input), locks one of
// up to 64 shards and does a map look-up, plus a heap update of O(log n) when
// it changes a key. Refusing a key that is over its limit changes nothing and
// costs well under a microsecond, which keeps a credential-stuffing flood
// cheap to refuse (DESIGN.md asks for < 50 µs).
//
// # Memory and eviction
//
// MaxKeys bounds the number of keys remembered, exactly, across the shards;
// each shard holds its share. Keys are remembered by their 64-bit hash, not
// their text, so a key costs the same few dozen bytes however long the
// caller's string is. Two different keys could share a hash and so a bucket;
// with 100,000 keys the chance of any such pair is about 3 in 10^10, and
// because the seed is random and secret an attacker cannot aim a collision at
// a chosen key. A collision makes the two keys stricter, never looser.
//
// When a shard is full and a new key arrives, one remembered key must be
// forgotten, and forgetting a key resets it. The choice is made so that an
// attacker cannot cheaply reset a victim's counters by flooding the table
// with fresh keys:
//
//   - Keys that carry no information any more (a full bucket; failures older
//     than Forget) are dropped lazily, up to two per call, so the table
//     empties when traffic calms down, without a goroutine.
//   - The Limiter forgets the key that owes the fewest tokens (its bucket is
//     the closest to full). Forgetting a key gives back what it owes, early.
//     A fresh key owes one token, so a flood of fresh keys only evicts keys
//     that owe less than one — each of which, forgotten, gains less than one
//     interval. To reset a victim that owes t tokens, an attacker must first
//     drive every other key of the victim's shard more than t tokens into
//     debt: about MaxKeys×t allowed requests, since the shard of a key
//     cannot be predicted.
//   - The Lockout forgets, first, keys that have not yet used up their free
//     failures, oldest failure first — they are cheap to lose, since each
//     costs an attacker one failure to recreate — and only then keys that
//     have a delay, the one whose failures will be forgotten soonest first.
//     To reset a victim that is being delayed, an attacker must fill the
//     victim's shard with delayed keys of its own: about
//     MaxKeys×(FreeFailures+1) failures.
//
// The trade-off: a least-recently-used policy would let a flood of one-request
// keys reset everyone; refusing new keys when full would let the same flood
// deny service to everyone new. Eviction by value does neither, at the price
// that, when an attacker pays the cost above, the keys with the most at stake
// go last rather than never. Size MaxKeys for the flood you expect: a key
// costs about 70 bytes of heap in a Limiter and 85 in a Lockout
// (BenchmarkMemoryPerKey), so 100,000 keys, the default, cost under 10 MB.
//
// The state is per process. Behind a load balancer with n replicas a client
// may get up to n times the configured allowance unless the balancer keeps
// clients on one replica.
package ratelimit

import (
	"errors"
	"math"
	"time"
)

// DefaultMaxKeys is the memory bound used when a config leaves MaxKeys zero.
const DefaultMaxKeys = 100_000

// maxSpan bounds configured durations so that time arithmetic in nanoseconds
// cannot overflow (about 73 years).
const maxSpan = time.Duration(1 << 61)

// Config configures a Limiter. Rate and Burst are required.
type Config struct {
	// Rate is how many requests per second a key regains, on average; a
	// fraction is fine (1.0/60 is one a minute). The interval 1/Rate is
	// rounded to a nanosecond.
	Rate float64
	// Burst is how many requests a key that has been quiet may make at once.
	Burst int
	// MaxKeys bounds how many keys are remembered; 0 means DefaultMaxKeys.
	MaxKeys int
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// Validate reports whether c can make a Limiter.
func (c Config) Validate() error {
	switch {
	case math.IsNaN(c.Rate) || c.Rate <= 0 || math.IsInf(c.Rate, 0):
		return errors.New("ratelimit: Rate must be a positive number of requests per second")
	case c.Rate > 1e9:
		return errors.New("ratelimit: Rate must be at most 1e9 per second")
	case c.Burst < 1:
		return errors.New("ratelimit: Burst must be at least 1")
	case float64(time.Second)/c.Rate*float64(c.Burst) > float64(maxSpan):
		return errors.New("ratelimit: Burst/Rate must be under 70 years")
	case c.MaxKeys < 0:
		return errors.New("ratelimit: MaxKeys must not be negative")
	}
	return nil
}

// Limiter is a set of token buckets, one per key, created on first use. It is
// safe for concurrent use.
//
// It implements the generic cell rate algorithm: per key it stores only the
// theoretical arrival time (TAT), the moment at which the key's bucket will be
// full again. A request at time now is allowed when, after adding one
// interval to max(TAT, now), the TAT is at most Burst intervals ahead of now.
// A refused request changes nothing.
type Limiter struct {
	t        *table[struct{}]
	interval int64 // nanoseconds per token, 1/Rate
	tau      int64 // Burst × interval: how far ahead of now TAT may be
}

// New makes a Limiter. It fails only if c.Validate does.
func New(c Config) (*Limiter, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	interval := max(int64(math.Round(float64(time.Second)/c.Rate)), 1)
	return &Limiter{
		t:        newTable[struct{}](c.MaxKeys, maxShards, c.Clock),
		interval: interval,
		tau:      interval * int64(c.Burst),
	}, nil
}

// Allow takes a token from key's bucket. It reports whether there was one and,
// if not, how long until there will be: retryAfter is exact to the
// nanosecond (round it up to whole seconds for a Retry-After header). It is 0
// when ok is true.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	s, h := l.t.lookup(key)
	now := l.t.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now, bucketFull)
	e := s.get(h)
	tat := now
	if e != nil && e.prio > now {
		// A TAT more than tau ahead means the clock went back; treat the
		// bucket as empty rather than refuse for longer than one interval.
		tat = min(e.prio, now+l.tau)
	}
	next := tat + l.interval
	if wait := next - now - l.tau; wait > 0 {
		return false, time.Duration(wait)
	}
	if e == nil {
		s.add(h, next)
	} else {
		e.prio = next
		s.fix(e.i)
	}
	return true, 0
}

// Len reports how many keys the Limiter remembers: at most MaxKeys.
func (l *Limiter) Len() int { return l.t.len() }

// bucketFull reports whether a Limiter entry may be forgotten at no cost: its
// bucket has refilled, which is the same as never having been seen.
func bucketFull(e *entry[struct{}], now int64) bool { return e.prio <= now }
