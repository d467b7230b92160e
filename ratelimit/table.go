package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// maxShards is the number of shards of a table when MaxKeys allows it. Each
// shard has its own mutex, so callers with different keys rarely wait for
// each other.
const maxShards = 64

// entry is one remembered key. Entries of a shard form a min-heap on prio:
// the root is the entry that is cheapest to forget, so it is the one dropped
// when the shard is full (see the package comment).
type entry[V any] struct {
	key  uint64 // maphash of the caller's key
	prio int64  // heap order, in nanoseconds since the table's epoch
	i    int    // index in shard.heap
	v    V
}

// shard is a bounded map from key hash to entry, with the entries also kept
// in a min-heap on prio. All methods need mu held.
type shard[V any] struct {
	mu   sync.Mutex
	m    map[uint64]*entry[V]
	heap []*entry[V]
	max  int
	_    [64]byte // keeps neighbouring shards' mutexes off one cache line
}

// table is the part Limiter and Lockout share: key hashing, shard choice,
// the memory bound and the clock.
type table[V any] struct {
	seed   maphash.Seed
	shift  uint // shard index = hash >> shift
	shards []shard[V]
	clock  func() time.Time
	epoch  time.Time
}

// newTable spreads maxKeys over up to shards shards, a power of two, so that
// the shards' capacities add up to exactly maxKeys.
func newTable[V any](maxKeys, shards int, clock func() time.Time) *table[V] {
	n, bits := 1, uint(0)
	for n*2 <= min(shards, maxKeys) {
		n, bits = n*2, bits+1
	}
	t := &table[V]{
		seed:   maphash.MakeSeed(),
		shift:  64 - bits,
		shards: make([]shard[V], n),
		clock:  clock,
		epoch:  clock(),
	}
	for i := range t.shards {
		t.shards[i].max = maxKeys / n
		if i < maxKeys%n {
			t.shards[i].max++
		}
		t.shards[i].m = make(map[uint64]*entry[V])
	}
	return t
}

// lookup hashes key with the table's secret seed and returns its shard.
func (t *table[V]) lookup(key string) (*shard[V], uint64) {
	h := maphash.String(t.seed, key)
	return &t.shards[h>>t.shift], h
}

// now is the clock's reading in nanoseconds since the table was made. With
// time.Now this uses the monotonic clock, so wall-clock steps do not matter.
func (t *table[V]) now() int64 {
	return int64(t.clock().Sub(t.epoch))
}

// len counts the remembered keys.
func (t *table[V]) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func (s *shard[V]) get(h uint64) *entry[V] {
	return s.m[h]
}

// add remembers a new key with the given priority and a zero value. When the
// shard is full it reuses the root's entry: the root is forgotten.
func (s *shard[V]) add(h uint64, prio int64) *entry[V] {
	if len(s.heap) >= s.max {
		e := s.heap[0]
		delete(s.m, e.key)
		*e = entry[V]{key: h, prio: prio}
		s.m[h] = e
		s.down(0)
		return e
	}
	e := &entry[V]{key: h, prio: prio, i: len(s.heap)}
	s.heap = append(s.heap, e)
	s.m[h] = e
	s.up(e.i)
	return e
}

// remove forgets e.
func (s *shard[V]) remove(e *entry[V]) {
	delete(s.m, e.key)
	last := len(s.heap) - 1
	i := e.i
	if i != last {
		s.heap[i] = s.heap[last]
		s.heap[i].i = i
	}
	s.heap[last] = nil
	s.heap = s.heap[:last]
	if i != last {
		s.fix(i)
	}
}

// prune forgets up to two roots that dead reports as worthless, so that
// idle keys leave the table without a background goroutine and each call
// does a bounded amount of extra work.
func (s *shard[V]) prune(now int64, dead func(*entry[V], int64) bool) {
	for range 2 {
		if len(s.heap) == 0 || !dead(s.heap[0], now) {
			return
		}
		s.remove(s.heap[0])
	}
}

// fix restores the heap order after the entry at index i changed priority.
func (s *shard[V]) fix(i int) {
	if !s.down(i) {
		s.up(i)
	}
}

func (s *shard[V]) up(i int) {
	h := s.heap
	e := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if h[p].prio <= e.prio {
			break
		}
		h[i] = h[p]
		h[i].i = i
		i = p
	}
	h[i] = e
	e.i = i
}

// down moves the entry at index i towards the leaves and reports whether it
// moved.
func (s *shard[V]) down(i int) bool {
	h := s.heap
	e := h[i]
	start := i
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && h[r].prio < h[c].prio {
			c = r
		}
		if e.prio <= h[c].prio {
			break
		}
		h[i] = h[c]
		h[i].i = i
		i = c
	}
	h[i] = e
	e.i = i
	return i != start
}
