package auditlog

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"iter"
	"slices"

	"strongroom.dev/strongroom"
)

// HashSize is the size of a seal, a head and a genesis value.
const HashSize = sha256.Size

const (
	genesisLabel = "strongroom/auditlog/genesis/v1\x00"
	eventLabel   = "strongroom/auditlog/event/v1\x00"
)

// Genesis returns the value that precedes a tenant's first event.
func Genesis(tenant strongroom.TenantID) [HashSize]byte {
	b := make([]byte, 0, len(genesisLabel)+len(tenant))
	b = append(append(b, genesisLabel...), tenant...)
	return sha256.Sum256(b)
}

// Hash returns the seal of e chained after prev: SHA-256 of the event label,
// prev and the canonical encoding of e.
func Hash(prev [HashSize]byte, e *strongroom.AuditEvent) [HashSize]byte {
	var c Chainer
	return c.hash(prev, e)
}

// HashEncoded is Hash of an event given in its canonical encoding (as exported),
// for verifiers that keep the bytes rather than decode and re-encode them.
func HashEncoded(prev [HashSize]byte, encoded []byte) [HashSize]byte {
	b := make([]byte, 0, len(eventLabel)+HashSize+len(encoded))
	b = append(append(append(b, eventLabel...), prev[:]...), encoded...)
	return sha256.Sum256(b)
}

// Chainer computes seals without allocating: it reuses one buffer. The zero
// value is ready; a Chainer is not safe for concurrent use.
type Chainer struct{ buf []byte }

func (c *Chainer) hash(prev [HashSize]byte, e *strongroom.AuditEvent) [HashSize]byte {
	b := append(append(c.buf[:0], eventLabel...), prev[:]...)
	b = AppendEvent(b, e)
	c.buf = b
	return sha256.Sum256(b)
}

// Head is the state of a tenant's chain after its event Seq: the seal of that
// event. Seq 0 with the genesis value is the state before the first event.
type Head struct {
	Tenant strongroom.TenantID
	Seq    int64
	Hash   [HashSize]byte
}

// Start returns the head of a chain before its first event.
func Start(tenant strongroom.TenantID) Head {
	return Head{Tenant: tenant, Hash: Genesis(tenant)}
}

// Next returns the head after e, which must be of the head's tenant and come
// after it.
func (c *Chainer) Next(h Head, e *strongroom.AuditEvent) (Head, error) {
	if e.TenantID != h.Tenant {
		return h, &Problem{Tenant: h.Tenant, Seq: e.Seq, Kind: ProblemOrder,
			Detail: fmt.Sprintf("event of tenant %q in the chain of %q", e.TenantID, h.Tenant)}
	}
	if e.Seq <= h.Seq {
		return h, &Problem{Tenant: h.Tenant, Seq: e.Seq, Kind: ProblemOrder,
			Detail: fmt.Sprintf("seq %d does not come after %d", e.Seq, h.Seq)}
	}
	return Head{Tenant: h.Tenant, Seq: e.Seq, Hash: c.hash(h.Hash, e)}, nil
}

// ProblemKind classifies what verification found.
type ProblemKind string

// The problems verification reports.
const (
	ProblemSeal       ProblemKind = "seal mismatch"      // an event does not match its stored seal
	ProblemMissing    ProblemKind = "missing event"      // a seal without its event
	ProblemUnsealed   ProblemKind = "unsealed gap"       // an event without a seal where one must be
	ProblemCheckpoint ProblemKind = "checkpoint"         // a checkpoint that the chain contradicts
	ProblemOrder      ProblemKind = "order"              // links out of order or of another tenant
	ProblemSignature  ProblemKind = "checkpoint invalid" // a checkpoint that is not validly signed
	ProblemRead       ProblemKind = "read"               // the chain or a checkpoint could not be read
)

// Problem is one thing verification found wrong. It is an error.
type Problem struct {
	Tenant strongroom.TenantID
	Seq    int64 // the first seq concerned (0: the chain as a whole)
	Kind   ProblemKind
	Detail string
}

func (p *Problem) Error() string {
	if p.Seq == 0 {
		return fmt.Sprintf("tenant %s: %s: %s", p.Tenant, p.Kind, p.Detail)
	}
	return fmt.Sprintf("tenant %s, seq %d: %s: %s", p.Tenant, p.Seq, p.Kind, p.Detail)
}

// Link is one position of a stored chain, as read back: the event stored at
// Seq and the seal stored for it. Either may be missing.
type Link struct {
	Seq   int64
	Event *strongroom.AuditEvent // nil: no event at Seq
	Seal  []byte                 // nil: not sealed
}

// Expect is a head that the chain must have at a seq: a checkpoint whose
// signature has already been checked. Source says where it came from, for
// reports.
type Expect struct {
	Seq    int64
	Head   [HashSize]byte
	Source string
}

// MaxProblems bounds the problems a Verifier records per chain; it still counts
// the rest.
const MaxProblems = 100

// Verifier checks one stored chain, link by link in seq order: it recomputes
// every seal from the start head, compares each with the stored one, and
// compares the chain with the expected heads of checkpoints. After a seal
// mismatch it continues from the stored seal, so that each altered event is
// reported once rather than every event after it.
type Verifier struct {
	c       Chainer
	head    Head // recomputed (or resynchronized) through the last event or seal
	sealed  Head // the head at the last sealed link
	expects []Expect
	next    int // index of the next expected head to check

	pending []int64 // unsealed events after the last seal (first MaxProblems)
	npend   int64

	// Counts of what was seen.
	Events, Sealed int64
	Problems       []*Problem
	Dropped        int // problems beyond MaxProblems
}

// NewVerifier returns a Verifier of the chain from start, which must check the
// expected heads (in any order).
func NewVerifier(start Head, expects []Expect) *Verifier {
	es := append([]Expect(nil), expects...)
	sortExpects(es)
	return &Verifier{head: start, sealed: start, expects: es}
}

func sortExpects(es []Expect) {
	slices.SortStableFunc(es, func(a, b Expect) int { return cmp.Compare(a.Seq, b.Seq) })
}

func (v *Verifier) report(seq int64, kind ProblemKind, format string, args ...any) {
	if len(v.Problems) >= MaxProblems {
		v.Dropped++
		return
	}
	v.Problems = append(v.Problems, &Problem{Tenant: v.head.Tenant, Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

func short(h []byte) string { return hex.EncodeToString(h[:min(len(h), 8)]) }

// expectsBefore checks the expected heads at seqs below seq, which name no link.
func (v *Verifier) expectsBefore(seq int64) {
	for v.next < len(v.expects) && v.expects[v.next].Seq < seq {
		x := v.expects[v.next]
		v.report(x.Seq, ProblemCheckpoint, "%s covers seq %d, but the chain has no event or seal there: it was removed", x.Source, x.Seq)
		v.next++
	}
}

// Add checks the next link. Links must come in ascending seq order.
func (v *Verifier) Add(l Link) {
	if l.Seq <= v.head.Seq {
		v.report(l.Seq, ProblemOrder, "link at seq %d after seq %d", l.Seq, v.head.Seq)
		return
	}
	v.expectsBefore(l.Seq)
	prev := v.head
	switch {
	case l.Event == nil && l.Seal == nil:
		v.report(l.Seq, ProblemRead, "empty link")
		return
	case l.Event == nil:
		v.Sealed++
		for _, s := range v.pending {
			v.report(s, ProblemUnsealed, "this event has no seal, but seq %d after it is sealed", l.Seq)
		}
		v.pending, v.npend = v.pending[:0], 0
		v.report(l.Seq, ProblemMissing, "a seal is stored but the event is gone: it was deleted")
		v.resync(l)
	default:
		v.Events++
		if l.Event.Seq != l.Seq || l.Event.TenantID != v.head.Tenant {
			v.report(l.Seq, ProblemOrder, "event of tenant %q at seq %d read as seq %d of %q", l.Event.TenantID, l.Event.Seq, l.Seq, v.head.Tenant)
			if l.Seal != nil {
				v.Sealed++
				v.resync(l)
			}
			return
		}
		all := Head{Tenant: prev.Tenant, Seq: l.Seq, Hash: v.c.hash(prev.Hash, l.Event)}
		if l.Seal == nil {
			v.head = all
			if len(v.pending) < MaxProblems {
				v.pending = append(v.pending, l.Seq)
			}
			v.npend++
			break
		}
		v.Sealed++
		v.head = all
		if v.npend > 0 {
			v.settlePending(l, all)
		}
		if subtle.ConstantTimeCompare(l.Seal, v.head.Hash[:]) != 1 {
			v.report(l.Seq, ProblemSeal, "the stored seal %s… differs from the recomputed %s…: this event was changed, "+
				"or an event between seq %d and %d was removed, inserted or reordered", short(l.Seal), short(v.head.Hash[:]), prev.Seq, l.Seq)
			v.checkExpects(l.Seq)
			v.resync(l)
			return
		}
		v.sealed = v.head
	}
	v.checkExpects(l.Seq)
}

// resync continues the chain from a stored seal after a reported problem.
func (v *Verifier) resync(l Link) {
	v.head.Seq = l.Seq
	if len(l.Seal) == HashSize {
		copy(v.head.Hash[:], l.Seal)
	}
	v.sealed = v.head
}

// settlePending reports the unsealed events before the sealed link l, whose
// recomputed head over every event is all. If l's seal chains from the last
// seal without them, they were inserted and the chain goes on without them;
// if it chains over them, their own seals were removed.
func (v *Verifier) settlePending(l Link, all Head) {
	skip := v.c.hash(v.sealed.Hash, l.Event)
	detail := "this event has no seal, but seq %d after it is sealed"
	switch {
	case subtle.ConstantTimeCompare(l.Seal, skip[:]) == 1:
		detail = "this event is not part of the sealed chain (seq %d after it seals without it): it was inserted"
		v.head.Hash = skip
	case subtle.ConstantTimeCompare(l.Seal, all.Hash[:]) == 1:
		detail = "this event is part of the chain (seq %d after it seals over it), but its seal was removed"
	}
	for _, s := range v.pending {
		v.report(s, ProblemUnsealed, detail, l.Seq)
	}
	v.pending, v.npend = v.pending[:0], 0
}

func (v *Verifier) checkExpects(seq int64) {
	for v.next < len(v.expects) && v.expects[v.next].Seq == seq {
		x := v.expects[v.next]
		v.next++
		if v.npend > 0 {
			for _, s := range v.pending {
				v.report(s, ProblemUnsealed, "%s covers this event, but it has no seal: its seal was removed", x.Source)
			}
			v.pending, v.npend = v.pending[:0], 0
		}
		if subtle.ConstantTimeCompare(x.Head[:], v.head.Hash[:]) != 1 {
			v.report(seq, ProblemCheckpoint, "%s signed head %s… at this seq, but the chain recomputes to %s…: "+
				"events up to here were changed or the chain replaced", x.Source, short(x.Head[:]), short(v.head.Hash[:]))
		}
	}
}

// Result is what a Verifier found once the chain ended.
type Result struct {
	// Head is the head at the last sealed link: what a new checkpoint may sign.
	Head             Head
	Events, Sealed   int64
	Unsealed         int64 // events after the last seal: not yet covered
	FirstUnsealedSeq int64 // 0: none
	Problems         []*Problem
	Dropped          int
}

// Finish ends the chain: expected heads beyond it are reported as truncation.
func (v *Verifier) Finish() Result {
	for v.next < len(v.expects) {
		x := v.expects[v.next]
		v.next++
		if x.Seq <= v.head.Seq {
			v.report(x.Seq, ProblemCheckpoint, "%s covers seq %d, but the chain has no event or seal there: it was removed", x.Source, x.Seq)
			continue
		}
		v.report(x.Seq, ProblemCheckpoint, "%s covers seq %d, but the chain ends at seq %d: events were removed from its end", x.Source, x.Seq, v.head.Seq)
	}
	r := Result{Head: v.sealed, Events: v.Events, Sealed: v.Sealed, Unsealed: v.npend,
		Problems: v.Problems, Dropped: v.Dropped}
	if len(v.pending) > 0 {
		r.FirstUnsealedSeq = v.pending[0]
	}
	return r
}

// Verify recomputes a chain from start over links and returns its sealed head,
// or the first problem (a *Problem naming the tenant and seq). Unsealed events
// at the end of the chain are not a problem; they are not covered yet.
func Verify(start Head, links iter.Seq2[Link, error]) (Head, error) {
	v := NewVerifier(start, nil)
	for l, err := range links {
		if err != nil {
			return v.sealed, &Problem{Tenant: start.Tenant, Seq: v.head.Seq + 1, Kind: ProblemRead, Detail: err.Error()}
		}
		v.Add(l)
		if len(v.Problems) > 0 {
			return v.sealed, v.Problems[0]
		}
	}
	r := v.Finish()
	if len(r.Problems) > 0 {
		return r.Head, r.Problems[0]
	}
	return r.Head, nil
}
