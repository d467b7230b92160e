package ratelimit

import (
	"errors"
	"math"
	"time"
)

// LockoutConfig configures a Lockout. All fields but MaxKeys and Clock are
// required; see Lockout for the values the identity service uses.
type LockoutConfig struct {
	// FreeFailures is how many consecutive failures a key may have with no
	// delay (0 means every failure delays).
	FreeFailures int
	// Base is the delay after failure FreeFailures+1; each further failure
	// doubles it.
	Base time.Duration
	// Max caps the delay. It is what makes the lockout temporary: however
	// many failures, the key may try again Max after the last one.
	Max time.Duration
	// Forget is the quiet time after which a key's failures are forgotten;
	// it is measured from the last failure and must be at least Max.
	Forget time.Duration
	// MaxKeys bounds how many keys are remembered; 0 means DefaultMaxKeys.
	MaxKeys int
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// Validate reports whether c can make a Lockout.
func (c LockoutConfig) Validate() error {
	switch {
	case c.FreeFailures < 0:
		return errors.New("ratelimit: FreeFailures must not be negative")
	case c.Base <= 0:
		return errors.New("ratelimit: Base must be positive")
	case c.Max < c.Base:
		return errors.New("ratelimit: Max must be at least Base")
	case c.Forget < c.Max:
		return errors.New("ratelimit: Forget must be at least Max")
	case c.Forget > maxSpan:
		return errors.New("ratelimit: Forget must be under 70 years")
	case c.MaxKeys < 0:
		return errors.New("ratelimit: MaxKeys must not be negative")
	}
	return nil
}

// Lockout delays a key after repeated consecutive failures: the first
// FreeFailures cost nothing, the next waits Base, then 2×Base, 4×Base, … up to
// Max. Success clears the key; a quiet time of Forget after the last failure
// clears it too. It is safe for concurrent use.
//
// A delay never exceeds Max, so an attacker cannot lock a key forever; but
// whoever tries first after the delay gets the attempt, so an attacker who
// keeps failing can keep a key delayed. That is why the identity service
// keys the same attempt twice, with two Lockouts:
//
//   - by account and client network, account + "|" + Network(ip) (Network's
//     result never contains "|", so the key is unambiguous whatever the
//     account): FreeFailures 5, Base 1s, Max 15m, Forget 24h. A flood from
//     one network delays that network, not the real user on theirs.
//   - by account alone, with a higher FreeFailures and a lower Max: 100
//     (NIST SP 800-63B's bound on consecutive failures), Base 1s, Max 1m,
//     Forget 24h. This bounds attackers who spread guesses over many
//     networks. Its lower Max means that to keep the account delayed an
//     attacker needs a fresh failure every minute while each of its networks
//     gets one try per 15 minutes: at least 15 networks. Larger botnets are
//     answered by the service, not here: it can skip the account-wide check
//     for a client that proves a previous successful sign-in (a known
//     network or device cookie), and use Failures to ask for a step-up (an
//     e-mail link) or raise an alert.
//
// Unknown accounts must be keyed the same way (on the normalized e-mail), so
// that delays do not reveal which accounts exist.
//
// The order of calls matters because verifying a password takes tens of
// milliseconds: every request that arrives meanwhile would pass Check. So
// count the failure before verifying and clear it on success:
//
//	if max(acct.Check(a), pair.Check(an)) > 0 { refuse with 429 and Retry-After }
//	acct.Fail(a); pair.Fail(an)            // in advance
//	if verify(password) { acct.Succeed(a); pair.Succeed(an) }
//
// Check–Fail is not one atomic step, but the gap is a few hundred
// nanoseconds and the Limiter in front (per client network) bounds how many
// requests can fall into it.
type Lockout struct {
	t      *table[failures]
	free   uint32
	base   time.Duration
	max    time.Duration
	forget int64
}

// failures is what a Lockout remembers of a key. The delay in force is
// derived: the key is delayed until last + delay(n).
type failures struct {
	last int64  // time of the last failure, nanoseconds since the epoch
	n    uint32 // consecutive failures, saturating
}

// NewLockout makes a Lockout. It fails only if c.Validate does.
func NewLockout(c LockoutConfig) (*Lockout, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	free := uint32(math.MaxUint32)
	if uint64(c.FreeFailures) < math.MaxUint32 {
		free = uint32(c.FreeFailures)
	}
	return &Lockout{
		t:      newTable[failures](c.MaxKeys, maxShards, c.Clock),
		free:   free,
		base:   c.Base,
		max:    c.Max,
		forget: int64(c.Forget),
	}, nil
}

// Check reports how long key must wait before its next attempt; 0 means it
// may try now. It changes nothing.
func (l *Lockout) Check(key string) (retryAfter time.Duration) {
	s, h := l.t.lookup(key)
	now := l.t.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now, l.forgotten)
	e := s.get(h)
	if e == nil {
		return 0
	}
	return l.wait(e, now)
}

// Fail records a failure of key and reports how long key must now wait
// before its next attempt (0 while it has free failures left).
func (l *Lockout) Fail(key string) (retryAfter time.Duration) {
	s, h := l.t.lookup(key)
	now := l.t.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now, l.forgotten)
	e := s.get(h)
	if e == nil {
		e = s.add(h, now)
	} else if l.forgotten(e, now) {
		e.v = failures{}
	}
	if e.v.n < math.MaxUint32 {
		e.v.n++
	}
	e.v.last = now
	e.prio = l.priority(e.v)
	s.fix(e.i)
	return l.wait(e, now)
}

// Succeed forgets key's failures.
func (l *Lockout) Succeed(key string) {
	s, h := l.t.lookup(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.get(h); e != nil {
		s.remove(e)
	}
}

// Failures reports key's consecutive failures still remembered (those since
// the last success, unless Forget has passed since the last failure). The
// identity service uses it for a step-up after many failures and for
// brute-force alerts.
func (l *Lockout) Failures(key string) int {
	s, h := l.t.lookup(key)
	now := l.t.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(h)
	if e == nil || l.forgotten(e, now) {
		return 0
	}
	return int(e.v.n)
}

// Len reports how many keys the Lockout remembers: at most MaxKeys.
func (l *Lockout) Len() int { return l.t.len() }

// delay is the wait after n consecutive failures.
func (l *Lockout) delay(n uint32) time.Duration {
	if n <= l.free {
		return 0
	}
	doublings := n - l.free - 1
	if doublings >= 62 || l.base > l.max>>doublings {
		return l.max
	}
	return l.base << doublings
}

// wait is how long the key of e must still wait at now.
func (l *Lockout) wait(e *entry[failures], now int64) time.Duration {
	if l.forgotten(e, now) {
		return 0
	}
	d := l.delay(e.v.n)
	left := time.Duration(e.v.last-now) + d
	// More than d left means the clock went back; never wait more than Max.
	return max(min(left, d), 0)
}

// forgotten reports whether e's failures are older than Forget.
func (l *Lockout) forgotten(e *entry[failures], now int64) bool {
	return now-e.v.last >= l.forget
}

// priority orders a shard's entries for eviction (see the package comment):
// a key still within its free failures ranks by the time of its last
// failure, a delayed key by the time its failures will be forgotten, which
// is later than any live free key's.
//
// One order cannot be right at every moment with a fixed priority: a delayed
// key whose failures are already forgotten may rank above a free key still
// live, and so outlast it. That costs capacity, not safety — free keys are
// the ones eviction is meant to take — and the stale key goes as soon as the
// free keys older than it have.
func (l *Lockout) priority(v failures) int64 {
	if v.n <= l.free {
		return v.last
	}
	return v.last + l.forget
}
