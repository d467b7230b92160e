package service

import "sync"

// cache is a small concurrent map with a size bound (it empties itself when
// full: the working set of sessions, members and collections is small, and an
// occasional refill is cheaper than tracking recency). A disabled cache stores
// nothing.
type cache[K comparable, V any] struct {
	enabled bool
	max     int
	mu      sync.RWMutex
	m       map[K]V
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

func (c *cache[K, V]) del(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// delFunc removes every entry that matches.
func (c *cache[K, V]) delFunc(match func(K, V) bool) {
	c.mu.Lock()
	for k, v := range c.m {
		if match(k, v) {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}
