package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// DefaultOutboxCapacity is how many messages an Outbox keeps by default.
const DefaultOutboxCapacity = 200

// OutboxConfig configures an Outbox. The zero value is ready to use.
type OutboxConfig struct {
	// Capacity is how many messages are kept; when full, the oldest is
	// dropped. Zero or less means DefaultOutboxCapacity.
	Capacity int
	// Now returns the time stamped on each message; nil means time.Now.
	Now func() time.Time
	// Rand is the source of message ids; nil means crypto/rand.
	Rand io.Reader
}

// An OutboxMessage is a message placed in the Outbox.
type OutboxMessage struct {
	// ID identifies the message in the outbox: 32 random hex digits.
	ID string
	// Time is when the message was placed in the outbox.
	Time time.Time
	Message
}

// Outbox is the development outbox: a Sender that keeps the last messages in
// memory, for the console to show, instead of delivering them. It is what the
// embedded default uses when no SMTP server is configured, and it is never
// used together with one. Its contents include the bodies, with their codes
// and links, so only the console's development view may show them. It is safe
// for concurrent use.
type Outbox struct {
	log  *slog.Logger
	now  func() time.Time
	rand io.Reader

	mu   sync.Mutex
	ring []OutboxMessage // ring[next-1] is the newest, once full ring[next] the oldest
	next int
	full bool
}

var _ Sender = (*Outbox)(nil)

// NewOutbox returns an empty outbox. log receives one Info line per message
// (outbox id, kind, subject, recipient domain; never the body); nil discards
// it.
func NewOutbox(cfg OutboxConfig, log *slog.Logger) *Outbox {
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultOutboxCapacity
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{
		log:  log,
		now:  cfg.Now,
		rand: cfg.Rand,
		ring: make([]OutboxMessage, cfg.Capacity),
	}
}

// Send places m in the outbox, dropping the oldest message if it is full. It
// refuses what the SMTP sender refuses (errors wrapping ErrInvalidMessage), so
// development shows the errors production would.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("placing %s e-mail in the outbox: %w", m.Kind, err)
	}
	var b [16]byte
	if _, err := io.ReadFull(o.rand, b[:]); err != nil {
		return fmt.Errorf("placing %s e-mail in the outbox: making an id: %w", m.Kind, err)
	}
	om := OutboxMessage{ID: hex.EncodeToString(b[:]), Time: o.now(), Message: m}

	o.mu.Lock()
	o.ring[o.next] = om
	o.next++
	if o.next == len(o.ring) {
		o.next, o.full = 0, true
	}
	o.mu.Unlock()

	o.log.InfoContext(ctx, "e-mail placed in the development outbox",
		"outbox_id", om.ID,
		"kind", m.Kind,
		"subject", m.Subject,
		"recipient_domain", domainOf(m.To))
	return nil
}

// List returns up to limit messages, newest first; limit zero or less means
// all of them.
func (o *Outbox) List(limit int) []OutboxMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.lenLocked()
	if limit <= 0 || limit > n {
		limit = n
	}
	out := make([]OutboxMessage, 0, limit)
	for i := range limit {
		out = append(out, o.ring[o.indexLocked(i)])
	}
	return out
}

// Get returns the message with the given id, if the outbox still has it.
func (o *Outbox) Get(id string) (OutboxMessage, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.lenLocked() {
		if m := o.ring[o.indexLocked(i)]; m.ID == id {
			return m, true
		}
	}
	return OutboxMessage{}, false
}

// lenLocked returns how many messages the outbox holds.
func (o *Outbox) lenLocked() int {
	if o.full {
		return len(o.ring)
	}
	return o.next
}

// indexLocked returns the ring index of the i-th newest message (0 is the
// newest).
func (o *Outbox) indexLocked(i int) int {
	return (o.next - 1 - i + len(o.ring)) % len(o.ring)
}
