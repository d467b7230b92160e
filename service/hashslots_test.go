package service

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestHashSchedulerPriority: with every slot taken, a waiter from a network
// that signed in lately is served before earlier waiters from unknown ones,
// and waiters of one class are served in arrival order.
func TestHashSchedulerPriority(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newHashScheduler(1)
	h.vouch("198.51.100.0/24", now)
	if !h.acquire(t.Context(), "203.0.113.0/24", now, time.Second) {
		t.Fatal("first acquire with a free slot failed")
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	start := func(name, network string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !h.acquire(t.Context(), network, now, 5*time.Second) {
				t.Errorf("%s: no slot", name)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			h.release()
		}()
		// Wait until it is queued, so arrival order is known.
		deadline := time.Now().Add(2 * time.Second)
		for {
			h.mu.Lock()
			n := len(h.queues[0]) + len(h.queues[1])
			h.mu.Unlock()
			if n == queuedBefore(name) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not queue", name)
			}
			time.Sleep(time.Millisecond)
		}
	}
	start("flood-1", "203.0.113.0/24")
	start("flood-2", "192.0.2.0/24")
	start("user", "198.51.100.0/24")
	h.release()
	wg.Wait()
	want := []string{"user", "flood-1", "flood-2"}
	if len(order) != len(want) {
		t.Fatalf("served %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("served %v, want %v", order, want)
		}
	}
	if h.free != 1 {
		t.Errorf("%d free slots after all released, want 1", h.free)
	}
}

func queuedBefore(name string) int {
	return map[string]int{"flood-1": 1, "flood-2": 2, "user": 3}[name]
}

// TestHashSchedulerTimeout: a waiter gives up after its wait or when its
// context ends, leaves the queue, and the slot count stays right.
func TestHashSchedulerTimeout(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newHashScheduler(1)
	if !h.acquire(t.Context(), "a", now, time.Second) {
		t.Fatal("acquire with a free slot failed")
	}
	if h.acquire(t.Context(), "b", now, 20*time.Millisecond) {
		t.Fatal("acquire with no free slot succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if h.acquire(ctx, "c", now, time.Second) {
		t.Fatal("acquire with a cancelled context succeeded")
	}
	h.mu.Lock()
	queued := len(h.queues[0]) + len(h.queues[1])
	h.mu.Unlock()
	if queued != 0 {
		t.Fatalf("%d waiters left in the queue after giving up", queued)
	}
	h.release()
	if !h.acquire(t.Context(), "d", now, time.Second) || h.free != 0 {
		t.Fatalf("slot not returned: free=%d", h.free)
	}
}

// TestHashSchedulerVouchExpires: a network's priority lasts goodFor, and the
// table of networks stays bounded.
func TestHashSchedulerVouchExpires(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newHashScheduler(0)
	h.maxGood = 3
	for _, n := range []string{"a", "b", "c", "d"} {
		h.vouch(n, now)
	}
	if len(h.good) > 3 {
		t.Fatalf("%d networks remembered, bound is 3", len(h.good))
	}
	h.vouch("e", now.Add(goodFor+time.Minute))
	if len(h.good) > 3 {
		t.Fatalf("%d networks remembered, bound is 3", len(h.good))
	}
	// A stale vouch does not give priority: the waiter queues as unknown.
	h.good["old"] = now
	go h.acquire(t.Context(), "old", now.Add(goodFor+time.Hour), 50*time.Millisecond)
	deadline := time.Now().Add(2 * time.Second)
	for {
		h.mu.Lock()
		n0, n1 := len(h.queues[0]), len(h.queues[1])
		h.mu.Unlock()
		if n1 == 1 && n0 == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues %d/%d, want the stale network among the unknown", n0, n1)
		}
		time.Sleep(time.Millisecond)
	}
}
