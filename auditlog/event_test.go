package auditlog_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
)

func TestEventRoundTrip(t *testing.T) {
	full := sampleEvent(tenantA, 42)
	minimal := strongroom.AuditEvent{TenantID: tenantA, Seq: 1, Time: time.Unix(0, 0).UTC()}
	negative := strongroom.AuditEvent{Seq: 1 << 62, Time: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), Action: "x"}
	for name, e := range map[string]strongroom.AuditEvent{"full": full, "minimal": minimal, "before 1970, no tenant": negative} {
		t.Run(name, func(t *testing.T) {
			b := auditlog.EncodeEvent(&e)
			got, unknown, err := auditlog.DecodeEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(unknown) != 0 {
				t.Errorf("unknown fields %v", unknown)
			}
			if diff := cmp.Diff(e, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEventFieldsAllHashed: changing any one field of an event changes its
// encoding, so every field is covered by the seal.
func TestEventFieldsAllHashed(t *testing.T) {
	base := sampleEvent(tenantA, 7)
	enc := auditlog.EncodeEvent(&base)
	mutations := map[string]func(e *strongroom.AuditEvent){
		"tenant":      func(e *strongroom.AuditEvent) { e.TenantID += "x" },
		"seq":         func(e *strongroom.AuditEvent) { e.Seq++ },
		"time":        func(e *strongroom.AuditEvent) { e.Time = e.Time.Add(time.Microsecond) },
		"actor type":  func(e *strongroom.AuditEvent) { e.ActorType = strongroom.PrincipalSystem },
		"actor id":    func(e *strongroom.AuditEvent) { e.ActorID += "x" },
		"ip":          func(e *strongroom.AuditEvent) { e.IP = "203.0.113.9" },
		"device":      func(e *strongroom.AuditEvent) { e.DeviceType = "mobile" },
		"action":      func(e *strongroom.AuditEvent) { e.Action = "record.delete" },
		"target type": func(e *strongroom.AuditEvent) { e.TargetType = "collection" },
		"target id":   func(e *strongroom.AuditEvent) { e.TargetID += "x" },
		"result":      func(e *strongroom.AuditEvent) { e.Result = strongroom.ResultDenied },
		"reason":      func(e *strongroom.AuditEvent) { e.Reason = "because" },
		"request id":  func(e *strongroom.AuditEvent) { e.RequestID += "x" },
		"metadata":    func(e *strongroom.AuditEvent) { e.Metadata = []byte(`{"n":8}`) },
		// Moving bytes between adjacent fields keeps the concatenation but not
		// the encoding.
		"bytes moved between fields": func(e *strongroom.AuditEvent) { e.TargetType, e.TargetID = e.TargetType+"r", e.TargetID[1:] },
		"empty vs absent":            func(e *strongroom.AuditEvent) { e.Reason, e.RequestID = e.RequestID, "" },
	}
	seen := map[string]string{string(enc): "original"}
	for name, mutate := range mutations {
		e := base
		mutate(&e)
		got := string(auditlog.EncodeEvent(&e))
		if prev, ok := seen[got]; ok {
			t.Errorf("%s: same encoding as %s", name, prev)
		}
		seen[got] = name
		if auditlog.Hash(auditlog.Genesis(tenantA), &e) == auditlog.Hash(auditlog.Genesis(tenantA), &base) {
			t.Errorf("%s: same seal", name)
		}
	}
}

// field builds one encoded field.
func field(tag byte, v []byte) []byte {
	b := []byte{tag}
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func TestDecodeEventRefusesNonCanonical(t *testing.T) {
	head := func(rest ...[]byte) []byte {
		b := []byte{1}
		b = append(b, field(1, []byte("t"))...)
		b = append(b, field(2, u64(5))...)
		b = append(b, field(3, u64(7))...)
		for _, r := range rest {
			b = append(b, r...)
		}
		return b
	}
	good := head(field(8, []byte("a.b")))
	if _, _, err := auditlog.DecodeEvent(good); err != nil {
		t.Fatalf("valid encoding refused: %v", err)
	}
	tests := map[string][]byte{
		"empty":               {},
		"version 0":           append([]byte{0}, good[1:]...),
		"version 2":           append([]byte{2}, good[1:]...),
		"no tenant":           append([]byte{1}, append(field(2, u64(5)), field(3, u64(7))...)...),
		"no time":             append([]byte{1}, append(field(1, []byte("t")), field(2, u64(5))...)...),
		"only version":        {1},
		"seq of 4 bytes":      append([]byte{1}, append(append(field(1, nil), field(2, []byte{0, 0, 0, 5})...), field(3, u64(7))...)...),
		"time of 9 bytes":     append([]byte{1}, append(append(field(1, nil), field(2, u64(5))...), field(3, make([]byte, 9))...)...),
		"empty optional":      head(field(8, nil)),
		"repeated field":      head(field(8, []byte("a")), field(8, []byte("b"))),
		"descending fields":   head(field(9, []byte("a")), field(8, []byte("b"))),
		"tag 0":               head(field(0, []byte("a"))),
		"truncated header":    good[:len(good)-5],
		"truncated value":     good[:len(good)-1],
		"trailing byte":       append(bytes.Clone(good), 0),
		"length overflows":    head([]byte{8, 0xff, 0xff, 0xff, 0xff, 'a'}),
		"empty unknown field": head(field(200, nil)),
		"too large":           head(field(8, make([]byte, auditlog.MaxEventSize))),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := auditlog.DecodeEvent(b)
			if !errors.Is(err, auditlog.ErrEncoding) {
				t.Errorf("DecodeEvent = %v, want ErrEncoding", err)
			}
		})
	}
}

// TestUnknownFieldsKept: an event of a newer version, with a field this version
// does not know, decodes and re-encodes to the same bytes, so it still hashes
// the same (the evolution rule that lets old verifiers check new chains).
func TestUnknownFieldsKept(t *testing.T) {
	e := sampleEvent(tenantA, 9)
	newer := append(auditlog.EncodeEvent(&e), field(15, []byte("session-123"))...)
	newer = append(newer, field(40, []byte{0})...)
	got, unknown, err := auditlog.DecodeEvent(newer)
	if err != nil {
		t.Fatal(err)
	}
	want := []auditlog.Field{{Tag: 15, Value: []byte("session-123")}, {Tag: 40, Value: []byte{0}}}
	if diff := cmp.Diff(want, unknown); diff != "" {
		t.Errorf("unknown fields (-want +got):\n%s", diff)
	}
	if again := auditlog.AppendEvent(nil, &got, unknown...); !bytes.Equal(again, newer) {
		t.Errorf("re-encoding lost the unknown fields:\n%x\n%x", again, newer)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("known fields (-want +got):\n%s", diff)
	}
}

func TestAppendEventPanicsOnBadExtra(t *testing.T) {
	e := sampleEvent(tenantA, 1)
	for name, extra := range map[string][]auditlog.Field{
		"known tag":  {{Tag: auditlog.TagAction, Value: []byte("x")}},
		"descending": {{Tag: 20, Value: []byte("x")}, {Tag: 16, Value: []byte("y")}},
		"empty":      {{Tag: 20}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			auditlog.AppendEvent(nil, &e, extra...)
		})
	}
}
