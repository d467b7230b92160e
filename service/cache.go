package service

import "sync"

// cache is a small concurrent map with a size bound (it empties itself when
// full: the working set of sessions, members and collections is small, and an
// occasional refill is cheaper than tracking recency). A disabled cache stores
// nothing.
//
// A value loaded from the store must not outlive an invalidation that ran
// while it was loaded (a session ended, a key revoked, a member removed
// during the read, or during the write that records a session's activity):
// callers read generation before they look the value up and store it with
// putAt, which refuses once anything was invalidated since.
type cache[K comparable, V any] struct {
	enabled bool
	max     int
	mu      sync.RWMutex
	m       map[K]V
	gen     uint64 // invalidations (del, delFunc) so far
}

func newCache[K comparable, V any](enabled bool, max int) *cache[K, V] {
	return &cache[K, V]{enabled: enabled, max: max, m: make(map[K]V)}
}

func (c *cache[K, V]) get(k K) (V, bool) {
	if !c.enabled {
		var zero V
		return zero, false
	}
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *cache[K, V]) put(k K, v V) {
	if !c.enabled {
		return
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
	c.mu.Unlock()
}

// generation returns the count of invalidations so far, for putAt.
func (c *cache[K, V]) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// putAt stores v unless the cache was invalidated after generation gen; then
// it drops k instead, so that the next lookup reads the store.
func (c *cache[K, V]) putAt(k K, v V, gen uint64) {
	if !c.enabled {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		delete(c.m, k)
		return
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
}

func (c *cache[K, V]) del(k K) {
	c.mu.Lock()
	c.gen++
	delete(c.m, k)
	c.mu.Unlock()
}

// delFunc removes every entry that matches.
func (c *cache[K, V]) delFunc(match func(K, V) bool) {
	c.mu.Lock()
	c.gen++
	for k, v := range c.m {
		if match(k, v) {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}
