package service

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/ratelimit"
)

// Limits are the rate limits and lockout of authentication and the API
// (IAM-13). Zero fields take the defaults in DefaultLimits.
type Limits struct {
	// AuthPerIP limits authentication attempts (sign-in, codes, MFA, reset) per
	// client address: a sustained rate per second and a burst.
	AuthPerIPRate  float64
	AuthPerIPBurst int
	// Account lockout: after LockoutFree failures for one account from one
	// network (/24 or /64), each further failure doubles the wait from
	// LockoutBase up to LockoutMax. Account-wide (any network), the threshold
	// is AccountLockoutFree with a short cap AccountLockoutMax, so an attacker's
	// failures from elsewhere slow a real user only briefly and never lock them
	// out for good.
	LockoutFree        int
	LockoutBase        time.Duration
	LockoutMax         time.Duration
	AccountLockoutFree int
	AccountLockoutMax  time.Duration
	// EmailPerAddress limits codes, links and resets sent to one address.
	EmailPerAddressRate  float64
	EmailPerAddressBurst int
	// APIRate limits requests per session or API key.
	APIRate  float64
	APIBurst int
}

// DefaultLimits are the limits used for unset fields.
var DefaultLimits = Limits{
	AuthPerIPRate: 1, AuthPerIPBurst: 10,
	LockoutFree: 5, LockoutBase: time.Second, LockoutMax: 15 * time.Minute,
	AccountLockoutFree: 100, AccountLockoutMax: time.Minute,
	EmailPerAddressRate: 1.0 / 60, EmailPerAddressBurst: 5,
	APIRate: 200, APIBurst: 400,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	seti := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setd := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.AuthPerIPRate, d.AuthPerIPRate)
	seti(&l.AuthPerIPBurst, d.AuthPerIPBurst)
	seti(&l.LockoutFree, d.LockoutFree)
	setd(&l.LockoutBase, d.LockoutBase)
	setd(&l.LockoutMax, d.LockoutMax)
	seti(&l.AccountLockoutFree, d.AccountLockoutFree)
	setd(&l.AccountLockoutMax, d.AccountLockoutMax)
	set(&l.EmailPerAddressRate, d.EmailPerAddressRate)
	seti(&l.EmailPerAddressBurst, d.EmailPerAddressBurst)
	set(&l.APIRate, d.APIRate)
	seti(&l.APIBurst, d.APIBurst)
	return l
}

// guards hold the in-memory limiter state. Each replica enforces the limits on
// the traffic it sees (documented in docs/identity.md).
type guards struct {
	authIP   *ratelimit.Limiter
	netLock  *ratelimit.Lockout
	acctLock *ratelimit.Lockout
	email    *ratelimit.Limiter
	api      *ratelimit.Limiter
	hashing  inflight
	obs      Observer // counts refusals
}

// inflight is a set of keys with work in progress.
type inflight struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (f *inflight) acquire(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, busy := f.m[key]; busy {
		return false
	}
	if f.m == nil {
		f.m = make(map[string]struct{})
	}
	f.m[key] = struct{}{}
	return true
}

func (f *inflight) release(key string) {
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
}

func newGuards(l Limits, clock func() time.Time) (*guards, error) {
	l = l.withDefaults()
	const maxKeys = 100_000
	var g guards
	var err error
	if g.authIP, err = ratelimit.New(ratelimit.Config{Rate: l.AuthPerIPRate, Burst: l.AuthPerIPBurst, MaxKeys: maxKeys, Clock: clock}); err != nil {
		return nil, fmt.Errorf("auth rate limit: %w", err)
	}
	if g.netLock, err = ratelimit.NewLockout(ratelimit.LockoutConfig{FreeFailures: l.LockoutFree, Base: l.LockoutBase,
		Max: l.LockoutMax, Forget: 24 * time.Hour, MaxKeys: maxKeys, Clock: clock}); err != nil {
		return nil, fmt.Errorf("lockout: %w", err)
	}
	if g.acctLock, err = ratelimit.NewLockout(ratelimit.LockoutConfig{FreeFailures: l.AccountLockoutFree, Base: l.LockoutBase,
		Max: l.AccountLockoutMax, Forget: 24 * time.Hour, MaxKeys: maxKeys, Clock: clock}); err != nil {
		return nil, fmt.Errorf("account lockout: %w", err)
	}
	if g.email, err = ratelimit.New(ratelimit.Config{Rate: l.EmailPerAddressRate, Burst: l.EmailPerAddressBurst, MaxKeys: maxKeys, Clock: clock}); err != nil {
		return nil, fmt.Errorf("e-mail rate limit: %w", err)
	}
	if g.api, err = ratelimit.New(ratelimit.Config{Rate: l.APIRate, Burst: l.APIBurst, MaxKeys: maxKeys, Clock: clock}); err != nil {
		return nil, fmt.Errorf("API rate limit: %w", err)
	}
	return &g, nil
}

const errTooMany = "too many attempts: wait before trying again"

// admitAuth is the cheap first check of every authentication attempt, before
// any hashing or database work: the client address's rate, then the lockout of
// the account (by normalized e-mail, whether or not it exists, so the answer
// does not tell) from this network and overall.
func (g *guards) admitAuth(ip, account string) error {
	if ok, wait := g.authIP.Allow(ipKey(ip)); !ok {
		g.obs.RateLimited("auth_ip")
		return strongroom.RateLimited(wait, "%s", errTooMany)
	}
	if account == "" {
		return nil
	}
	wait := max(g.netLock.Check(lockKey(account, ip)), g.acctLock.Check(account))
	if wait > 0 {
		g.obs.RateLimited("lockout")
		return strongroom.RateLimited(wait, "%s", errTooMany)
	}
	return nil
}

// failed records a failed attempt for account from ip and reports whether it
// started (or lengthened) a lockout.
func (g *guards) failed(ip, account string) time.Duration {
	if account == "" {
		return 0
	}
	return max(g.netLock.Fail(lockKey(account, ip)), g.acctLock.Fail(account))
}

func (g *guards) succeeded(ip, account string) {
	g.netLock.Succeed(lockKey(account, ip))
	g.acctLock.Succeed(account)
}

// signedIn records a completed sign-in: its network goes first in the
// password-hashing queue for a while (hashScheduler).
func (s *Service) signedIn(ip string) { s.hashes.vouch(ratelimit.Network(ip), s.now()) }

func lockKey(account, ip string) string { return account + "|" + ratelimit.Network(ip) }

// ipKey is the per-address rate-limit key: the address for IPv4, its /64 for
// IPv6 (one subscriber holds a whole /64).
func ipKey(ip string) string {
	if strings.Contains(ip, ":") {
		return ratelimit.Network(ip)
	}
	return ip
}

// withHashSlot bounds concurrent password hashing (one slot per core):
// argon2id takes 19 MiB and tens of milliseconds each, so a flood of sign-ins
// that passed the rate limits must queue (briefly) rather than exhaust memory
// and CPU. A request that waits longer than hashWait is answered 503 with
// Retry-After. Each client address (IPv6: /64) has at most one hash in flight
// or queued: a second one is refused at once (429), so a few flooding
// addresses hold at most one place each in the queue; and networks that
// signed in successfully lately are served first (hashScheduler).
const hashWait = 3 * time.Second

func (s *Service) withHashSlot(ctx context.Context, fn func()) error {
	key := ipKey(strongroom.PrincipalFrom(ctx).IP)
	if !s.guards.hashing.acquire(key) {
		s.obs.RateLimited("hash_inflight")
		return strongroom.RateLimited(time.Second, "%s", errTooMany)
	}
	defer s.guards.hashing.release(key)
	network := ratelimit.Network(strongroom.PrincipalFrom(ctx).IP)
	if !s.hashes.acquire(ctx, network, s.now(), hashWait) {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.obs.RateLimited("hash_queue")
		return retryLater(time.Second, "the server is busy checking passwords: try again in a moment")
	}
	defer s.hashes.release()
	fn()
	return nil
}

func retryLater(d time.Duration, msg string) error {
	e := strongroom.Errorf(strongroom.EUNAVAILABLE, "%s", msg)
	e.RetryAfter = d
	return e
}

// verifyPassword checks a password against a stored hash ("" for none: the
// same work, always false) in a hashing slot.
func (s *Service) verifyPassword(ctx context.Context, hash, password string) (ok bool, err error) {
	err = s.withHashSlot(ctx, func() { ok = s.hasher.Verify(hash, password) == nil })
	return ok && hash != "", err
}

// hashPassword hashes a new password in a hashing slot.
func (s *Service) hashPassword(ctx context.Context, password string) (hash string, err error) {
	if serr := s.withHashSlot(ctx, func() { hash, err = s.hasher.Hash(password) }); serr != nil {
		return "", serr
	}
	return hash, err
}
