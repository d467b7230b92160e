package service

import (
	"context"
	"sync"
	"time"
)

// hashScheduler hands out the password-hashing slots. Waiters from networks
// that signed in successfully lately go first, so that during a flood from a
// few addresses (each holding at most one place in the queue) the users who
// usually sign in from their networks are not queued behind the flood. Within
// a class, waiters are served in arrival order.
type hashScheduler struct {
	mu      sync.Mutex
	free    int
	queues  [2][]chan struct{} // [0] known-good networks, [1] everyone else
	good    map[string]time.Time
	maxGood int
}

// goodFor is how long a successful sign-in vouches for its network.
const goodFor = 24 * time.Hour

func newHashScheduler(slots int) *hashScheduler {
	return &hashScheduler{free: slots, good: make(map[string]time.Time), maxGood: 100_000}
}

// vouch records a successful sign-in from network at now.
func (h *hashScheduler) vouch(network string, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.good) >= h.maxGood {
		for k, t := range h.good { // drop stale entries, else start over
			if now.Sub(t) > goodFor {
				delete(h.good, k)
			}
		}
		if len(h.good) >= h.maxGood {
			clear(h.good)
		}
	}
	h.good[network] = now
}

// acquire waits for a slot until ctx ends or wait passes; it reports whether
// it got one.
func (h *hashScheduler) acquire(ctx context.Context, network string, now time.Time, wait time.Duration) bool {
	h.mu.Lock()
	if h.free > 0 {
		h.free--
		h.mu.Unlock()
		return true
	}
	class := 1
	if t, ok := h.good[network]; ok && now.Sub(t) <= goodFor {
		class = 0
	}
	ch := make(chan struct{}, 1)
	h.queues[class] = append(h.queues[class], ch)
	h.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ch:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, c := range h.queues[class] {
		if c == ch {
			h.queues[class] = append(h.queues[class][:i], h.queues[class][i+1:]...)
			return false
		}
	}
	// The slot was handed over just as we gave up: pass it on.
	h.releaseLocked()
	return false
}

// release returns a slot, handing it to the next waiter if there is one.
func (h *hashScheduler) release() {
	h.mu.Lock()
	h.releaseLocked()
	h.mu.Unlock()
}

func (h *hashScheduler) releaseLocked() {
	for class := range h.queues {
		if q := h.queues[class]; len(q) > 0 {
			h.queues[class] = q[1:]
			q[0] <- struct{}{}
			return
		}
	}
	h.free++
}
