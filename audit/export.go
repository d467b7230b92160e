package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
	"strongroom.dev/strongroom/store"
)

// An export is a tenant's sealed audit chain with its signed checkpoints, as
// JSON Lines, for verification away from the server (VerifyExport, `strongroom
// audit verify --file`). docs/audit-log.md, "Export format", is the reference;
// in short, each line is one JSON object whose "type" comes first:
//
//	{"type":"header","format":"strongroom-audit-export","v":1,"tenant":…,"exported_at":…,
//	 "keys":[{"key_id":…,"public_key":…}],"through_seq":…,"head":…,"events":…,"checkpoints":…,
//	 "excluded_sealed":…,"excluded_unsealed":…}
//	{"type":"event","seq":…,"time":…,"actor":{…},…,"metadata":…,"sealed":true,"hash":…,"encoded":…}
//	{"type":"checkpoint","v":1,"tenant":…,"seq":…,"head":…,"time":…,"key_id":…,"signature":…}
//
// The header comes first. Event lines follow in seq order, from the chain's
// first event through the newest checkpoint ("through_seq"); each checkpoint
// line comes right after the line of the event whose seq it names, so the
// file ends with the newest checkpoint, and every event in it is covered by a
// signature. Events after that checkpoint are left out and counted in the
// header: sealed ones (excluded_sealed: the sequencer signs them within about
// ten seconds) and not yet sealed ones (excluded_unsealed).
//
// Every line is exactly what encoding/json writes for it (compact, fields in
// the order above), and a verifier accepts nothing else. Evolution: a new
// format version gets a new "v"; fields are never renamed or reinterpreted.

// ExportFormat names the format in the header line.
const ExportFormat = "strongroom-audit-export"

// ExportVersion is the version of the format this package writes for a chain
// that was never pruned; it reads it and ExportVersionPruned.
const ExportVersion = 1

// ExportVersionPruned is the version written for a chain pruned by retention:
// version 1 with one more line, the chain's newest prune marker (a checkpoint
// line with "prune":true), right after the header. The chain starts there
// instead of at its genesis.
const ExportVersionPruned = 2

// MaxExportLine bounds a line of an export. An event's encoding is at most
// auditlog.MaxEventSize (1 MiB); its line holds it in base64 beside the decoded
// fields.
const MaxExportLine = 4 << 20

// jsonTime is how times appear in exports and the audit API: RFC 3339 in UTC
// with microseconds, the precision the store keeps.
const jsonTime = "2006-01-02T15:04:05.000000Z07:00"

// FormatTime formats t as exports and the audit API do.
func FormatTime(t time.Time) string { return t.UTC().Format(jsonTime) }

// Ref is an actor or a target of an event.
type Ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// EventJSON is an audit event as the audit API answers it and as an export's
// event lines carry it, decoded.
type EventJSON struct {
	Seq        int64           `json:"seq"`
	Time       string          `json:"time"`
	Actor      Ref             `json:"actor"`
	IP         string          `json:"ip"`
	DeviceType string          `json:"device_type"`
	Action     string          `json:"action"`
	Target     Ref             `json:"target"`
	Result     string          `json:"result"`
	Reason     string          `json:"reason"`
	RequestID  string          `json:"request_id"`
	Metadata   json.RawMessage `json:"metadata"` // null if what is stored is not JSON
	Sealed     bool            `json:"sealed"`
	Hash       string          `json:"hash,omitempty"` // the seal, hex, when sealed
}

// NewEventJSON returns the JSON form of e with its seal (nil: not sealed).
func NewEventJSON(e *strongroom.AuditEvent, seal []byte) EventJSON {
	j := EventJSON{Seq: e.Seq, Time: FormatTime(e.Time), Actor: Ref{Type: string(e.ActorType), ID: e.ActorID},
		IP: e.IP, DeviceType: e.DeviceType, Action: e.Action, Target: Ref{Type: e.TargetType, ID: e.TargetID},
		Result: string(e.Result), Reason: e.Reason, RequestID: e.RequestID}
	if json.Valid(e.Metadata) {
		j.Metadata = e.Metadata
	}
	if seal != nil {
		j.Sealed, j.Hash = true, hex.EncodeToString(seal)
	}
	return j
}

// ExportKey is a public key that verifies an export's checkpoints.
type ExportKey struct {
	KeyID     string `json:"key_id"`     // auditlog.KeyID of the key
	PublicKey string `json:"public_key"` // standard base64, as `strongroom audit public-key` prints it
}

// ExportHeader is the first line of an export.
type ExportHeader struct {
	Type       string      `json:"type"` // "header"
	Format     string      `json:"format"`
	V          int         `json:"v"`
	Tenant     string      `json:"tenant"`
	ExportedAt string      `json:"exported_at"`
	Keys       []ExportKey `json:"keys"`
	// ThroughSeq is the seq of the newest checkpoint, the last event in the
	// file (0: none), and Head the chain's head there (hex; the genesis value
	// with no events).
	ThroughSeq  int64  `json:"through_seq"`
	Head        string `json:"head"`
	Events      int64  `json:"events"`
	Checkpoints int64  `json:"checkpoints"`
	// Events after ThroughSeq, left out: sealed but not yet checkpointed, and
	// not yet sealed.
	ExcludedSealed   int64 `json:"excluded_sealed"`
	ExcludedUnsealed int64 `json:"excluded_unsealed"`
	// PrunedThrough is the seq of the prune marker on the second line
	// (version 2 only): the events through it were deleted by retention.
	PrunedThrough int64 `json:"pruned_through,omitempty"`
}

// exportEvent is an event line: the decoded event, its seal, and the bytes
// the seal covers.
type exportEvent struct {
	Type string `json:"type"` // "event"
	EventJSON
	Encoded string `json:"encoded"` // auditlog.EncodeEvent, standard base64
}

// The line prefixes by which VerifyExport tells the lines apart.
const (
	headerPrefix     = `{"type":"header",`
	eventPrefix      = `{"type":"event",`
	checkpointPrefix = `{"type":"checkpoint",`
)

// ExportPlan is an export decided on: what it will hold, as its header states.
// Writing it (Export) reads exactly that from the store, however the log grows
// meanwhile.
type ExportPlan struct {
	Header ExportHeader
	tenant strongroom.TenantID
	marker *auditlog.Checkpoint // the newest prune marker, if the chain was pruned
}

// PlanExport decides what an export of tenant's chain holds: every event
// through its newest checkpoint. keys verify the checkpoints (the keyring's
// signing key); now is the export's time.
func PlanExport(ctx context.Context, st *store.Store, tenant strongroom.TenantID, keys []ed25519.PublicKey, now time.Time) (*ExportPlan, error) {
	h := ExportHeader{Type: "header", Format: ExportFormat, V: ExportVersion, Tenant: string(tenant),
		ExportedAt: FormatTime(now), Keys: []ExportKey{}}
	for _, k := range keys {
		h.Keys = append(h.Keys, ExportKey{KeyID: auditlog.KeyID(k), PublicKey: base64.StdEncoding.EncodeToString(k)})
	}
	genesis := auditlog.Genesis(tenant)
	h.Head = hex.EncodeToString(genesis[:])
	var marker *auditlog.Checkpoint
	err := st.Read(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
		markers, err := tx.AuditPruneMarkers(ctx)
		if err != nil {
			return err
		}
		var from int64 // the chain's start: its newest prune marker
		if len(markers) > 0 {
			m := fromStored(markers[len(markers)-1])
			m.Prune = true
			marker, from = &m, m.Seq
			h.V, h.PrunedThrough = ExportVersionPruned, m.Seq
			h.ThroughSeq, h.Head = m.Seq, hex.EncodeToString(m.Head[:])
		}
		last, err := tx.LastAuditCheckpoint(ctx)
		if err != nil {
			return err
		}
		if last != nil && last.Seq > from {
			h.ThroughSeq, h.Head = last.Seq, hex.EncodeToString(last.Head)
		}
		seal, err := tx.LastAuditSeal(ctx)
		if err != nil {
			return err
		}
		// Seals and checkpoints at or below a checkpoint never change: new
		// ones extend the chain. The counts hold for the whole export.
		if h.Events, err = tx.CountAuditSeals(ctx, from, h.ThroughSeq); err != nil {
			return err
		}
		if h.Checkpoints, err = tx.CountAuditCheckpointsBetween(ctx, from, h.ThroughSeq); err != nil {
			return err
		}
		if h.ExcludedSealed, err = tx.CountAuditSeals(ctx, h.ThroughSeq, max(seal.Seq, h.ThroughSeq)); err != nil {
			return err
		}
		h.ExcludedUnsealed, err = tx.CountAuditEventsAfter(ctx, max(seal.Seq, h.ThroughSeq))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("planning the audit export: %w", err)
	}
	return &ExportPlan{Header: h, tenant: tenant, marker: marker}, nil
}

// exportPage is how many events or checkpoints one read transaction fetches.
const exportPage = 1000

// Export writes the export p describes to w, reading the chain page by page:
// memory stays constant whatever the log's size. It writes what is stored,
// without verifying it: a chain altered in the database yields an export that
// VerifyExport refuses, which is the point. An event without its seal, or a
// seal without its event, is left out (the next seal then fails to verify).
func Export(ctx context.Context, w io.Writer, st *store.Store, p *ExportPlan) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeLine(bw, p.Header); err != nil {
		return err
	}
	var after int64
	if p.marker != nil {
		// The chain starts at its prune marker; rows below it may remain
		// while a prune is under way, and are left out.
		if err := writeCheckpointLine(bw, *p.marker); err != nil {
			return err
		}
		after = p.marker.Seq
	}
	cps := &checkpointFeed{ctx: ctx, st: st, tenant: p.tenant, through: p.Header.ThroughSeq, after: after}
pages:
	for after < p.Header.ThroughSeq {
		var page []store.AuditLink
		err := st.Read(ctx, store.TenantScope(p.tenant), func(tx *store.Tx) error {
			var err error
			page, err = tx.AuditChainPage(ctx, after, exportPage)
			return err
		})
		if err != nil {
			return fmt.Errorf("reading the audit chain: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, l := range page {
			if l.Seq > p.Header.ThroughSeq {
				break pages
			}
			if err := cps.writeBefore(bw, l.Seq); err != nil {
				return err
			}
			if l.Event != nil && l.Seal != nil {
				line := exportEvent{Type: "event", EventJSON: NewEventJSON(l.Event, l.Seal),
					Encoded: base64.StdEncoding.EncodeToString(auditlog.EncodeEvent(l.Event))}
				if err := writeLine(bw, line); err != nil {
					return err
				}
			}
			if err := cps.writeBefore(bw, l.Seq+1); err != nil {
				return err
			}
			after = l.Seq
		}
	}
	if err := cps.writeBefore(bw, p.Header.ThroughSeq+1); err != nil {
		return err
	}
	return bw.Flush()
}

// checkpointFeed reads a tenant's checkpoints through a seq, a page at a time.
type checkpointFeed struct {
	ctx     context.Context
	st      *store.Store
	tenant  strongroom.TenantID
	through int64
	page    []store.AuditCheckpoint
	after   int64
	done    bool
}

// writeBefore writes the checkpoints with a seq below seq.
func (f *checkpointFeed) writeBefore(w *bufio.Writer, seq int64) error {
	for {
		if len(f.page) == 0 && !f.done {
			err := f.st.Read(f.ctx, store.TenantScope(f.tenant), func(tx *store.Tx) error {
				var err error
				f.page, err = tx.AuditCheckpoints(f.ctx, f.after, exportPage)
				return err
			})
			if err != nil {
				return fmt.Errorf("reading audit checkpoints: %w", err)
			}
			f.done = len(f.page) == 0
		}
		if len(f.page) == 0 || f.page[0].Seq >= seq {
			return nil
		}
		c := f.page[0]
		f.page, f.after = f.page[1:], c.Seq
		if c.Seq > f.through {
			f.page, f.done = nil, true
			return nil
		}
		if err := writeCheckpointLine(w, fromStored(c)); err != nil {
			return err
		}
	}
}

// writeCheckpointLine writes a checkpoint (or prune marker) line.
func writeCheckpointLine(w *bufio.Writer, c auditlog.Checkpoint) error {
	b, err := c.MarshalJSON()
	if err != nil {
		return err
	}
	if _, err := w.WriteString(checkpointPrefix); err != nil {
		return err
	}
	if _, err := w.Write(b[1:]); err != nil {
		return err
	}
	return w.WriteByte('\n')
}

// writeLine writes v as one compact JSON line.
func writeLine(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding an export line: %w", err)
	}
	if len(b) > MaxExportLine {
		return fmt.Errorf("an export line of %d bytes is over the limit of %d", len(b), MaxExportLine)
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.WriteByte('\n')
}
