package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
)

// ExportSummary is what VerifyExport established about an export.
type ExportSummary struct {
	Tenant      strongroom.TenantID
	ExportedAt  time.Time
	KeyID       string // of the public key every checkpoint verified with
	Lines       int
	Events      int64
	Checkpoints int64
	ThroughSeq  int64                   // the last event's seq, covered by the last checkpoint
	Head        [auditlog.HashSize]byte // the chain's head there
	// FirstTime and LastTime are the first and last event's times; SignedAt
	// is when the last checkpoint was signed. Zero without events.
	FirstTime, LastTime, SignedAt time.Time
	// What the header says was left out (events after the last checkpoint).
	ExcludedSealed, ExcludedUnsealed int64
	// PrunedThrough is the seq of the chain's prune marker, where the export
	// starts (0: at the genesis).
	PrunedThrough int64
}

// ExportError is the first thing found wrong with an export, and where.
type ExportError struct {
	Line  int   // the line, counted from 1
	AtEnd bool  // found at the end of the file, after Line
	Seq   int64 // the seq of the event or checkpoint concerned; 0: none
	Msg   string
}

func (e *ExportError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.AtEnd {
		where = fmt.Sprintf("end of file, after line %d", e.Line)
	}
	if e.Seq != 0 {
		where += fmt.Sprintf(" (seq %d)", e.Seq)
	}
	return where + ": " + e.Msg
}

// VerifyExport reads an export (Export) and checks all of it against pub, the
// Ed25519 key that signs checkpoints (a copy kept apart from the server, as
// `strongroom audit public-key` prints it): that every line is exactly what
// the exporter writes, the header first; that the events are the tenant's, in
// seq order, and that each line's decoded fields are its canonical encoding;
// that recomputing the chain from the tenant's genesis gives every event's
// seal; that every checkpoint follows its event, is signed by pub and names
// the recomputed head; that the file ends with the checkpoint of its last
// event, so every event is covered by a signature; and that it holds what its
// header announces. It reads one line at a time, in constant memory.
//
// The error is an *ExportError naming the first line that fails; nothing
// else is tolerated, not even an unknown line type.
func VerifyExport(r io.Reader, pub ed25519.PublicKey) (ExportSummary, error) {
	if len(pub) != ed25519.PublicKeySize {
		return ExportSummary{}, errors.New("audit: verifying an export needs an Ed25519 public key")
	}
	v := &exportVerifier{pub: pub, keyID: auditlog.KeyID(pub)}
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		line, complete, err := readExportLine(br, buf[:0])
		buf = line
		if errors.Is(err, io.EOF) && len(line) == 0 {
			break
		}
		v.n++
		switch {
		case errors.Is(err, errLineTooLong):
			return v.sum, v.fail(0, "the line is longer than %d bytes", MaxExportLine)
		case err != nil && !errors.Is(err, io.EOF):
			return v.sum, v.fail(0, "reading: %v", err)
		case !complete:
			return v.sum, v.fail(0, "the line has no newline at its end: the file was cut off")
		}
		if err := v.line(line); err != nil {
			return v.sum, err
		}
	}
	return v.finish()
}

var errLineTooLong = errors.New("line too long")

// readExportLine reads one line into buf, without its newline. complete is
// false for a last line without a newline.
func readExportLine(br *bufio.Reader, buf []byte) (line []byte, complete bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxExportLine+1 {
			return buf, false, errLineTooLong
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf[:len(buf)-1], true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return buf, false, err
		}
	}
}

type exportVerifier struct {
	pub    ed25519.PublicKey
	keyID  string
	n      int // lines read
	h      ExportHeader
	tenant strongroom.TenantID
	head   [auditlog.HashSize]byte // the chain recomputed through seq
	seq    int64                   // the last event line's seq
	cpSeq  int64                   // the last checkpoint line's seq
	sum    ExportSummary
}

func (v *exportVerifier) fail(seq int64, format string, args ...any) error {
	return &ExportError{Line: v.n, Seq: seq, Msg: fmt.Sprintf(format, args...)}
}

func (v *exportVerifier) line(b []byte) error {
	switch {
	case len(b) == 0:
		return v.fail(0, "the line is empty")
	case !utf8.Valid(b):
		return v.fail(0, "the line is not valid UTF-8")
	case v.n == 1 && !bytes.HasPrefix(b, []byte(headerPrefix)):
		return v.fail(0, "an export begins with its header line, not %s", describeLine(b))
	case bytes.HasPrefix(b, []byte(headerPrefix)):
		if v.n != 1 {
			return v.fail(0, "a second header line: exports were concatenated or lines reordered")
		}
		return v.header(b)
	case bytes.HasPrefix(b, []byte(eventPrefix)):
		return v.event(b)
	case bytes.HasPrefix(b, []byte(checkpointPrefix)):
		return v.checkpoint(b)
	}
	return v.fail(0, "%s", describeLine(b))
}

// describeLine says what a line that is not a known line is.
func describeLine(b []byte) string {
	var probe struct {
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return "a line that is not a JSON object"
	}
	var typ string
	if json.Unmarshal(probe.Type, &typ) != nil {
		return `a JSON object without a "type"`
	}
	if a, ok := map[string]string{"header": "a header", "event": "an event", "checkpoint": "a checkpoint"}[typ]; ok {
		return a + ` line not in the exporter's form (its "type" must come first)`
	}
	if len(typ) > 40 {
		typ = typ[:40] + "…"
	}
	return fmt.Sprintf("a line of unknown type %q", typ)
}

// canonical decodes a line and requires it to be exactly what encoding/json
// writes for the result: no unknown, repeated, misspelled or reordered field,
// no other spacing or escaping.
func (v *exportVerifier) canonical(b []byte, what string, into any) error {
	if err := json.Unmarshal(b, into); err != nil {
		return v.fail(0, "the %s line is not valid: %v", what, err)
	}
	again, err := json.Marshal(into)
	if err != nil || !bytes.Equal(again, b) {
		return v.fail(0, "the %s line is not in the exporter's exact form "+
			"(an unknown, repeated, misspelled or reordered field, other spacing or escaping)", what)
	}
	return nil
}

func (v *exportVerifier) header(b []byte) error {
	h := &v.h
	if err := v.canonical(b, "header", h); err != nil {
		return err
	}
	switch {
	case h.Format != ExportFormat:
		return v.fail(0, "not a Strongroom audit export: format %q", h.Format)
	case h.V != ExportVersion && h.V != ExportVersionPruned:
		return v.fail(0, "export format version %d; this verifier reads versions %d and %d", h.V, ExportVersion, ExportVersionPruned)
	case (h.V == ExportVersionPruned) != (h.PrunedThrough > 0):
		return v.fail(0, "pruned_through %d in an export of version %d", h.PrunedThrough, h.V)
	case h.Tenant == "" || len(h.Tenant) > 1024:
		return v.fail(0, "the header names no tenant")
	case h.ThroughSeq < 0 || h.Events < 0 || h.Checkpoints < 0 || h.ExcludedSealed < 0 || h.ExcludedUnsealed < 0:
		return v.fail(0, "the header has a negative count")
	}
	at, err := time.Parse(jsonTime, h.ExportedAt)
	if err != nil || FormatTime(at) != h.ExportedAt {
		return v.fail(0, "exported_at is not a time in the exporter's form")
	}
	head, err := hex.DecodeString(h.Head)
	if err != nil || len(head) != auditlog.HashSize || hex.EncodeToString(head) != h.Head {
		return v.fail(0, "head is not a %d-byte hash in lower-case hex", auditlog.HashSize)
	}
	var listed []string
	found := false
	for i, k := range h.Keys {
		pk, err := base64.StdEncoding.Strict().DecodeString(k.PublicKey)
		if err != nil || len(pk) != ed25519.PublicKeySize {
			return v.fail(0, "key %d of the header is not an Ed25519 public key in base64", i+1)
		}
		if auditlog.KeyID(pk) != k.KeyID {
			return v.fail(0, "key %d of the header: key id %q does not name its public key", i+1, k.KeyID)
		}
		listed = append(listed, k.KeyID)
		found = found || bytes.Equal(pk, v.pub)
	}
	switch {
	case len(h.Keys) == 0 && h.Checkpoints > 0:
		return v.fail(0, "the header lists no signing key for its %d checkpoints", h.Checkpoints)
	case len(h.Keys) > 0 && !found:
		return v.fail(0, "the export's checkpoints are signed with %s, not with the given public key %s",
			strings.Join(listed, ", "), v.keyID)
	}
	v.tenant = strongroom.TenantID(h.Tenant)
	v.head = auditlog.Genesis(v.tenant)
	v.sum = ExportSummary{Tenant: v.tenant, ExportedAt: at, KeyID: v.keyID,
		ExcludedSealed: h.ExcludedSealed, ExcludedUnsealed: h.ExcludedUnsealed}
	return nil
}

func (v *exportVerifier) event(b []byte) error {
	var l exportEvent
	if err := v.canonical(b, "event", &l); err != nil {
		return err
	}
	enc, err := base64.StdEncoding.Strict().DecodeString(l.Encoded)
	if err != nil {
		return v.fail(l.Seq, "encoded is not standard base64")
	}
	e, _, err := auditlog.DecodeEvent(enc)
	if err != nil {
		return v.fail(l.Seq, "encoded is not an event's canonical encoding: %v", err)
	}
	seal, err := hex.DecodeString(l.Hash)
	switch {
	case v.h.PrunedThrough > 0 && v.sum.PrunedThrough == 0:
		return v.fail(e.Seq, "the header says the chain was pruned through seq %d, but line 2 is not its prune marker", v.h.PrunedThrough)
	case e.TenantID != v.tenant:
		return v.fail(e.Seq, "the event belongs to tenant %q, not to the export's %q", e.TenantID, v.tenant)
	case e.Seq <= v.seq:
		return v.fail(e.Seq, "seq %d does not come after seq %d: lines were reordered, repeated or inserted", e.Seq, v.seq)
	case e.Seq > v.h.ThroughSeq:
		return v.fail(e.Seq, "the header says the export runs through seq %d", v.h.ThroughSeq)
	case !l.Sealed || l.Hash == "":
		return v.fail(e.Seq, "the event is not sealed: exports hold sealed events only")
	case err != nil || len(seal) != auditlog.HashSize || hex.EncodeToString(seal) != l.Hash:
		return v.fail(e.Seq, "hash is not a %d-byte seal in lower-case hex", auditlog.HashSize)
	}
	if field := differingField(NewEventJSON(&e, seal), l.EventJSON); field != "" {
		return v.fail(e.Seq, "the decoded field %q differs from the event's encoding: the line was edited", field)
	}
	h := auditlog.HashEncoded(v.head, enc)
	if subtle.ConstantTimeCompare(h[:], seal) != 1 {
		return v.fail(e.Seq, "seal mismatch: the line's hash %s… is not the recomputed %s…: this event was changed, "+
			"or an event before it was removed, inserted or reordered", l.Hash[:16], hex.EncodeToString(h[:8]))
	}
	v.head, v.seq = h, e.Seq
	v.sum.Events++
	if v.sum.Events == 1 {
		v.sum.FirstTime = e.Time
	}
	v.sum.LastTime = e.Time
	return nil
}

// differingField names the first field in which got differs from want.
func differingField(want, got EventJSON) string {
	fields := []struct {
		name string
		same bool
	}{
		{"seq", want.Seq == got.Seq}, {"time", want.Time == got.Time}, {"actor", want.Actor == got.Actor},
		{"ip", want.IP == got.IP}, {"device_type", want.DeviceType == got.DeviceType},
		{"action", want.Action == got.Action}, {"target", want.Target == got.Target},
		{"result", want.Result == got.Result}, {"reason", want.Reason == got.Reason},
		{"request_id", want.RequestID == got.RequestID}, {"metadata", sameJSON(want.Metadata, got.Metadata)},
		{"sealed", want.Sealed == got.Sealed}, {"hash", want.Hash == got.Hash},
	}
	for _, f := range fields {
		if !f.same {
			return f.name
		}
	}
	return ""
}

// sameJSON compares raw JSON as encoding/json writes it (compact).
func sameJSON(a, b json.RawMessage) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && bytes.Equal(ja, jb)
}

func (v *exportVerifier) checkpoint(b []byte) error {
	body := append([]byte("{"), b[len(checkpointPrefix):]...)
	var c auditlog.Checkpoint
	if err := c.UnmarshalJSON(body); err != nil {
		return v.fail(0, "the checkpoint line is not valid: %v", err)
	}
	if again, err := c.MarshalJSON(); err != nil || !bytes.Equal(again, body) {
		return v.fail(c.Seq, "the checkpoint line is not in the exporter's exact form "+
			"(an unknown, repeated, misspelled or reordered field, other spacing or escaping)")
	}
	if c.Prune {
		return v.pruneMarker(c)
	}
	switch {
	case v.h.PrunedThrough > 0 && v.n == 2:
		return v.fail(c.Seq, "the header says the chain was pruned through seq %d, but line 2 is not its prune marker", v.h.PrunedThrough)
	case c.Tenant != v.tenant:
		return v.fail(c.Seq, "a checkpoint of tenant %q in the export of %q", c.Tenant, v.tenant)
	case c.Seq == v.cpSeq:
		return v.fail(c.Seq, "a second checkpoint at seq %d", c.Seq)
	case c.Seq > v.seq:
		return v.fail(c.Seq, "the checkpoint comes before the line of its event (the last event line is seq %d): "+
			"lines were removed or reordered", v.seq)
	case c.Seq < v.seq:
		return v.fail(c.Seq, "the checkpoint comes after the line of seq %d, not right after its event's: lines were reordered", v.seq)
	}
	if err := c.Verify(v.pub); err != nil {
		return v.fail(c.Seq, "the checkpoint does not verify with the given public key %s: %v", v.keyID, err)
	}
	if subtle.ConstantTimeCompare(c.Head[:], v.head[:]) != 1 {
		return v.fail(c.Seq, "the checkpoint signed head %s…, but the chain recomputes to %s… here: "+
			"events up to here were changed, or the chain was replaced", hex.EncodeToString(c.Head[:8]), hex.EncodeToString(v.head[:8]))
	}
	v.cpSeq = c.Seq
	v.sum.Checkpoints++
	v.sum.SignedAt = c.Time
	return nil
}

// pruneMarker reads the prune marker a pruned chain's export has on line 2:
// the chain starts at the head it signs.
func (v *exportVerifier) pruneMarker(c auditlog.Checkpoint) error {
	switch {
	case v.n != 2 || v.h.PrunedThrough == 0:
		return v.fail(c.Seq, "a prune marker on line %d: only line 2 of an export of a pruned chain (version %d) holds one", v.n, ExportVersionPruned)
	case c.Tenant != v.tenant:
		return v.fail(c.Seq, "a prune marker of tenant %q in the export of %q", c.Tenant, v.tenant)
	case c.Seq != v.h.PrunedThrough:
		return v.fail(c.Seq, "the prune marker is at seq %d, the header says %d", c.Seq, v.h.PrunedThrough)
	}
	if err := c.Verify(v.pub); err != nil {
		return v.fail(c.Seq, "the prune marker does not verify with the given public key %s: %v", v.keyID, err)
	}
	v.head, v.seq, v.cpSeq = c.Head, c.Seq, c.Seq
	v.sum.PrunedThrough = c.Seq
	return nil
}

func (v *exportVerifier) finish() (ExportSummary, error) {
	v.sum.Lines = v.n
	end := func(format string, args ...any) (ExportSummary, error) {
		return v.sum, &ExportError{Line: v.n, AtEnd: true, Msg: fmt.Sprintf(format, args...)}
	}
	h := &v.h
	switch {
	case v.n == 0:
		return end("the file is empty: an export begins with its header line")
	case h.PrunedThrough > 0 && v.sum.PrunedThrough == 0:
		return end("the header says the chain was pruned through seq %d, but the file has no prune marker", h.PrunedThrough)
	case v.seq < h.ThroughSeq:
		return end("the file ends after seq %d, but its header says it runs through seq %d: it was cut short", v.seq, h.ThroughSeq)
	case v.seq > 0 && v.cpSeq != v.seq:
		return end("the last event, seq %d, has no checkpoint after it: the file was cut short or its last checkpoint removed", v.seq)
	case v.sum.Events != h.Events:
		return end("the header announces %d events, the file holds %d: event lines were removed or added", h.Events, v.sum.Events)
	case v.sum.Checkpoints != h.Checkpoints:
		return end("the header announces %d checkpoints, the file holds %d: checkpoint lines were removed or added", h.Checkpoints, v.sum.Checkpoints)
	case hex.EncodeToString(v.head[:]) != h.Head:
		return end("the header's head %s… is not the chain's head %s…", h.Head[:16], hex.EncodeToString(v.head[:8]))
	}
	v.sum.ThroughSeq, v.sum.Head = v.seq, v.head
	return v.sum, nil
}
