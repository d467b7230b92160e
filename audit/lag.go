package audit

import (
	"sync"
	"time"
)

// Names of the sequencer's rounds, as reported to Config.Observe.
const (
	JobSeal       = "audit_seal"       // a sealing round (lease, horizon, seals)
	JobCheckpoint = "audit_checkpoint" // a checkpoint round
)

// SealLag is how far sealing is behind, as of the sequencer's last round.
type SealLag struct {
	// Holding reports whether this sequencer holds the lease. Only the holder
	// seals: the other fields are zero on the others.
	Holding bool
	// Events is how many seq numbers were handed out and are not sealed into
	// every chain yet. On PostgreSQL it is an upper bound: a transaction that
	// rolled back leaves its number unused. Events of a chain that fails to
	// seal keep everything after its last good round counted.
	Events int64
	// Age is how long the oldest of those events has waited, at least: the
	// time since the sequencer first saw its seq handed out.
	Age time.Duration
}

// maxSeen bounds the heads remembered while sealing is behind; past it the
// newest entry is moved up, which can only overstate the age.
const maxSeen = 256

// lagState is what Lag reads; it has its own lock so that a scrape never
// waits for a round.
type lagState struct {
	mu      sync.Mutex
	holding bool
	head    int64      // the highest seq seen handed out
	sealed  int64      // every seq ≤ sealed is sealed in every chain
	seen    []seenHead // heads above sealed, oldest first, with when they were first seen
}

type seenHead struct {
	seq int64
	at  time.Time
}

// Lag reports how far sealing is behind (for metrics; cheap, never waits for
// a sealing round).
func (s *Sequencer) Lag() SealLag {
	l := &s.lag
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.holding {
		return SealLag{}
	}
	out := SealLag{Holding: true, Events: max(l.head-l.sealed, 0)}
	if len(l.seen) > 0 {
		out.Age = max(s.now().Sub(l.seen[0].at), 0)
	}
	return out
}

// noteLag records the state after a round at now. Call with s.mu held.
func (s *Sequencer) noteLag(now time.Time) {
	l := &s.lag
	l.mu.Lock()
	defer l.mu.Unlock()
	if !s.holding {
		l.holding, l.head, l.sealed, l.seen = false, 0, 0, l.seen[:0]
		return
	}
	l.holding, l.head, l.sealed = true, s.horizon.Head(), s.cleanThrough
	n := len(l.seen)
	switch {
	case l.head <= l.sealed || (n > 0 && l.head <= l.seen[n-1].seq):
	case n == maxSeen:
		l.seen[n-1].seq = l.head
	default:
		l.seen = append(l.seen, seenHead{seq: l.head, at: now})
	}
	i := 0
	for i < len(l.seen) && l.seen[i].seq <= l.sealed {
		i++
	}
	l.seen = append(l.seen[:0], l.seen[i:]...)
}

// observe reports a round to Config.Observe.
func (s *Sequencer) observe(job string, d time.Duration, err error) {
	if s.observeFn != nil {
		s.observeFn(job, d, err)
	}
}
