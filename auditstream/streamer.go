// Package auditstream delivers the sealed audit log to outside systems — a
// SIEM's HTTPS endpoint (Webhook) and an append-only JSON Lines file
// (FileSink) — in global seq order, at least once, for as long as the server
// runs. A Streamer reads the events that the audit sequencer has sealed
// (final, with their chain hash) after each sink's cursor, hands them to the
// sink in batches, retrying with backoff until the sink takes them, and then
// stores the sink's new cursor in the database. One streamer delivers at a
// time across replicas: the holder of the lease LeaseName. docs/audit-log.md
// ("Streaming to a SIEM") describes the formats and the guarantees.
package auditstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"strongroom.dev/strongroom/store"
)

// LeaseName is the lease that makes one streamer deliver at a time across
// processes and replicas.
const LeaseName = "audit-stream"

// MaxBatch is the most events a sink receives at once. A webhook request
// lists their IDs in a header, which stays under 4 KiB.
const MaxBatch = 100

// Sink is a destination of the audit stream.
type Sink interface {
	// Name identifies the destination (never a secret): the sink's cursor is
	// stored under it, so a new destination starts from the first event.
	Name() string
	// Deliver hands over events, in seq order. It returns nil only once the
	// destination has them for good (a 2xx answer; data synced to disk); the
	// streamer retries the same events after an error, so Deliver must accept
	// events it has seen before.
	Deliver(ctx context.Context, events []Event) error
}

// Config configures a Streamer.
type Config struct {
	Store  *store.Store
	Sinks  []Sink
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
	// Rand returns a uniform number in [0, 1) for the backoff's jitter; nil:
	// math/rand/v2.
	Rand func() float64
	// Holder names this streamer in the lease (default: host, process and a
	// random suffix).
	Holder string
	// LeaseTTL is how long the lease lasts unless renewed (default 15s); it is
	// renewed every third of that, and a replica takes over that long after
	// the holder stops (at once when it shuts down cleanly).
	LeaseTTL time.Duration
	// PollInterval is how often a sink that has received everything sealed
	// looks for more (default 1s).
	PollInterval time.Duration
	// BatchSize is the most events per delivery (default and most: MaxBatch).
	BatchSize int
	// MinBackoff and MaxBackoff bound the wait between attempts to deliver
	// (defaults 1s and 5m): it doubles from MinBackoff up to MaxBackoff, each
	// wait a random point in the upper half of its step.
	MinBackoff, MaxBackoff time.Duration
	// StopGrace is how long a delivery in flight may finish after the
	// streamer stops or loses the lease (default 5s), so that events the sink
	// took are acknowledged rather than sent again by the next holder.
	StopGrace time.Duration
}

// Streamer delivers sealed audit events to its sinks while it holds the
// lease. Run starts it.
type Streamer struct {
	st         *store.Store
	sinks      []Sink
	log        *slog.Logger
	now        func() time.Time
	rand       func() float64
	holder     string
	ttl        time.Duration
	poll       time.Duration
	batch      int
	minBackoff time.Duration
	maxBackoff time.Duration
	grace      time.Duration
}

// New returns a streamer; Run starts it.
func New(cfg Config) (*Streamer, error) {
	if cfg.Store == nil || len(cfg.Sinks) == 0 {
		return nil, errors.New("auditstream: a streamer needs a store and at least one sink")
	}
	names := map[string]bool{}
	for _, sk := range cfg.Sinks {
		if sk == nil || sk.Name() == "" || names[sk.Name()] {
			return nil, errors.New("auditstream: every sink needs a name of its own")
		}
		names[sk.Name()] = true
	}
	if cfg.BatchSize > MaxBatch || cfg.BatchSize < 0 {
		return nil, fmt.Errorf("auditstream: a batch holds 1 to %d events", MaxBatch)
	}
	s := &Streamer{st: cfg.Store, sinks: cfg.Sinks, log: cfg.Logger, now: cfg.Now, rand: cfg.Rand, holder: cfg.Holder,
		ttl: cfg.LeaseTTL, poll: cfg.PollInterval, batch: cfg.BatchSize, minBackoff: cfg.MinBackoff,
		maxBackoff: cfg.MaxBackoff, grace: cfg.StopGrace}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = mrand.Float64
	}
	if s.holder == "" {
		host, _ := os.Hostname()
		var b [6]byte
		_, _ = rand.Read(b[:])
		s.holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if s.ttl <= 0 {
		s.ttl = 15 * time.Second
	}
	if s.poll <= 0 {
		s.poll = time.Second
	}
	if s.batch == 0 {
		s.batch = MaxBatch
	}
	if s.minBackoff <= 0 {
		s.minBackoff = time.Second
	}
	if s.maxBackoff <= 0 {
		s.maxBackoff = 5 * time.Minute
	}
	s.maxBackoff = max(s.maxBackoff, s.minBackoff)
	if s.grace <= 0 {
		s.grace = 5 * time.Second
	}
	return s, nil
}

// Holder is the name this streamer holds the lease under.
func (s *Streamer) Holder() string { return s.holder }

// Run tries to take the lease every third of its lifetime and, holding it,
// delivers to every sink until ctx ends or the lease is lost. On return the
// lease is released, so that another replica takes over at once.
func (s *Streamer) Run(ctx context.Context) {
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	var lastErr string
	for {
		ok, err := s.st.AcquireLease(ctx, LeaseName, s.holder, s.now(), s.ttl)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != lastErr:
			s.log.Warn("audit stream: taking the lease", "err", err)
			lastErr = err.Error()
		case err == nil:
			lastErr = ""
		}
		if ok {
			s.lead(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lead runs one goroutine per sink while it renews the lease; it stops them
// when ctx ends or the lease cannot be kept, and releases the lease.
func (s *Streamer) lead(ctx context.Context) {
	s.log.Info("audit stream: holding the lease", "holder", s.holder)
	until := s.now().Add(s.ttl)
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, sk := range s.sinks {
		wg.Go(func() { s.stream(wctx, sk) })
	}
	defer func() {
		cancel()
		wg.Wait()
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := s.st.ReleaseLease(rctx, LeaseName, s.holder); err != nil {
			s.log.Warn("audit stream: releasing the lease", "err", err)
		}
	}()
	renew := s.ttl / 3
	t := time.NewTicker(renew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.now()
		ok, err := s.st.AcquireLease(ctx, LeaseName, s.holder, now, s.ttl)
		switch {
		case err == nil && ok:
			until = now.Add(s.ttl)
		case err == nil:
			s.log.Warn("audit stream: lost the lease to another replica", "holder", s.holder)
			return
		case ctx.Err() != nil:
			return
		case !now.Add(renew).Before(until):
			// The lease would expire before the next try: stop before another
			// replica may take it.
			s.log.Warn("audit stream: cannot renew the lease; stopping", "err", err)
			return
		default:
			s.log.Warn("audit stream: renewing the lease", "err", err)
		}
	}
}

// stream delivers to one sink from its stored cursor until ctx ends.
func (s *Streamer) stream(ctx context.Context, sk Sink) {
	name := sk.Name()
	log := s.log.With("sink", name)
	var cursor int64
	for attempt := 1; ; attempt++ {
		c, err := s.st.AuditStreamCursor(ctx, name)
		if err == nil {
			cursor = c
			break
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("audit stream: reading the cursor", "err", err)
		if !sleep(ctx, backoff(attempt, s.minBackoff, s.maxBackoff, s.rand())) {
			return
		}
	}
	log.Info("audit stream: delivering", "after_seq", cursor)
	failures := 0
	for {
		page, err := s.st.SealedAuditEvents(ctx, cursor, s.batch)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			log.Warn("audit stream: reading sealed events", "err", err, "after_seq", cursor)
			if !sleep(ctx, backoff(failures, s.minBackoff, s.maxBackoff, s.rand())) {
				return
			}
			continue
		}
		failures = 0
		for _, u := range page.Unsealable {
			log.Error("audit stream: passing over an event that is not part of its tenant's sealed chain "+
				"(inserted behind the application?); run 'strongroom audit verify'", "tenant", u.Tenant, "seq", u.Seq)
		}
		if len(page.Events) > 0 {
			events := make([]Event, len(page.Events))
			for i := range page.Events {
				events[i] = NewEvent(&page.Events[i])
			}
			if !s.deliver(ctx, sk, log, events) {
				return
			}
		}
		if page.Through > cursor {
			cursor = page.Through
			s.saveCursor(ctx, log, name, cursor)
		}
		if len(page.Events)+len(page.Unsealable) < s.batch && !sleep(ctx, s.poll) {
			return
		}
	}
}

// deliver hands events to the sink until it takes them, waiting longer after
// each failure; it never gives up on them. It returns false if ctx ended
// first.
func (s *Streamer) deliver(ctx context.Context, sk Sink, log *slog.Logger, events []Event) bool {
	first, last := events[0].Seq, events[len(events)-1].Seq
	for attempt := 1; ; attempt++ {
		err := s.attempt(ctx, sk, events)
		if err == nil {
			if attempt > 1 {
				log.Info("audit stream: delivered after retrying", "attempts", attempt, "first_seq", first, "last_seq", last)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		wait := backoff(attempt, s.minBackoff, s.maxBackoff, s.rand())
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) && ra.RetryAfter() > wait {
			wait = min(ra.RetryAfter(), s.maxBackoff)
		}
		level, msg := slog.LevelWarn, "audit stream: delivery failed; retrying"
		var perm interface{ Permanent() bool }
		if errors.As(err, &perm) && perm.Permanent() {
			level, msg = slog.LevelError, "audit stream: the sink refuses the events: check its configuration "+
				"(retrying; events are never skipped)"
		}
		log.Log(ctx, level, msg, "err", err, "attempt", attempt, "retry_in", wait.Round(time.Millisecond),
			"first_seq", first, "last_seq", last, "events", len(events))
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// attempt runs one delivery. It may go on for up to StopGrace after ctx ends,
// so that a batch in flight when the streamer stops is acknowledged rather
// than sent again by the next holder.
func (s *Streamer) attempt(ctx context.Context, sk Sink, events []Event) error {
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s.grace, cancel) })
	defer stop()
	return sk.Deliver(actx, events)
}

// saveCursor stores the sink's cursor. A failure is logged and otherwise
// ignored: the cursor in memory goes on, and the stored one catches up with
// the next delivery (until then a restart delivers some events again, which
// at-least-once allows).
func (s *Streamer) saveCursor(ctx context.Context, log *slog.Logger, name string, seq int64) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.st.AdvanceAuditStreamCursor(cctx, name, seq, s.now()); err != nil {
		log.Warn("audit stream: storing the cursor", "err", err, "seq", seq)
	}
}

// backoff returns the wait before retry n (1 for the first): lo doubled n-1
// times, at most hi, and of that a point r (0 ≤ r < 1) into its upper half, so
// that sinks and replicas that failed together do not retry in step.
func backoff(n int, lo, hi time.Duration, r float64) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(r*float64(d-d/2))
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
