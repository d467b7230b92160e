package auditlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// EventVersion is the version byte of the event encoding this package writes.
const EventVersion = 1

// MaxEventSize bounds an encoded event that DecodeEvent accepts. Events hold
// identifiers and a small metadata object; anything near this size is not an
// event.
const MaxEventSize = 1 << 20

// Tag numbers a field of the event encoding.
//
// Evolution rules (docs/audit-log.md): a tag is never renumbered, reused or
// given another meaning or encoding; new fields take the next free tag, are
// optional (absent means unknown), and leave the encoding of events without
// them unchanged. Tag 0 is never used.
type Tag uint8

// The tags of version 1. Tags 1–3 are always present; the others only when
// their value is not empty.
const (
	TagTenant     Tag = 1  // strongroom.AuditEvent.TenantID, text
	TagSeq        Tag = 2  // Seq, 8 bytes big-endian
	TagTime       Tag = 3  // Time, µs since the epoch, 8 bytes big-endian two's complement
	TagActorType  Tag = 4  // ActorType, text
	TagActorID    Tag = 5  // ActorID, text
	TagIP         Tag = 6  // IP, text
	TagDeviceType Tag = 7  // DeviceType, text
	TagAction     Tag = 8  // Action, text
	TagTargetType Tag = 9  // TargetType, text
	TagTargetID   Tag = 10 // TargetID, text
	TagResult     Tag = 11 // Result, text
	TagReason     Tag = 12 // Reason, text
	TagRequestID  Tag = 13 // RequestID, text
	TagMetadata   Tag = 14 // Metadata, the stored JSON bytes

	lastKnownTag = TagMetadata
)

// Field is a field of an encoded event whose tag this version does not know:
// written by a newer Strongroom. DecodeEvent returns such fields so that
// AppendEvent can reproduce the exact bytes, and the chain still verifies.
type Field struct {
	Tag   Tag
	Value []byte
}

// ErrEncoding is wrapped by every DecodeEvent and ParseCheckpoint error.
var ErrEncoding = errors.New("auditlog: not a canonical encoding")

func appendField(dst []byte, tag Tag, v string) []byte {
	dst = append(dst, byte(tag))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}

func appendOptional(dst []byte, tag Tag, v string) []byte {
	if v == "" {
		return dst
	}
	return appendField(dst, tag, v)
}

func appendUint64(dst []byte, tag Tag, v uint64) []byte {
	dst = append(dst, byte(tag), 0, 0, 0, 8)
	return binary.BigEndian.AppendUint64(dst, v)
}

// AppendEvent appends the canonical encoding of e to dst and returns it. extra
// are fields of a newer version, as DecodeEvent returns them; their tags must
// be unknown to this version and ascending (AppendEvent panics otherwise: that
// is a programming mistake, never input).
func AppendEvent(dst []byte, e *strongroom.AuditEvent, extra ...Field) []byte {
	dst = append(dst, EventVersion)
	dst = appendField(dst, TagTenant, string(e.TenantID))
	dst = appendUint64(dst, TagSeq, uint64(e.Seq))
	dst = appendUint64(dst, TagTime, uint64(e.Time.UnixMicro()))
	dst = appendOptional(dst, TagActorType, string(e.ActorType))
	dst = appendOptional(dst, TagActorID, e.ActorID)
	dst = appendOptional(dst, TagIP, e.IP)
	dst = appendOptional(dst, TagDeviceType, e.DeviceType)
	dst = appendOptional(dst, TagAction, e.Action)
	dst = appendOptional(dst, TagTargetType, e.TargetType)
	dst = appendOptional(dst, TagTargetID, e.TargetID)
	dst = appendOptional(dst, TagResult, string(e.Result))
	dst = appendOptional(dst, TagReason, e.Reason)
	dst = appendOptional(dst, TagRequestID, e.RequestID)
	if len(e.Metadata) > 0 {
		dst = append(dst, byte(TagMetadata))
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(e.Metadata)))
		dst = append(dst, e.Metadata...)
	}
	last := lastKnownTag
	for _, f := range extra {
		if f.Tag <= last || len(f.Value) == 0 {
			panic("auditlog: extra fields must have unknown, ascending tags and a value")
		}
		last = f.Tag
		dst = appendField(dst, f.Tag, string(f.Value))
	}
	return dst
}

// EncodeEvent returns the canonical encoding of e.
func EncodeEvent(e *strongroom.AuditEvent) []byte { return AppendEvent(nil, e) }

func encodingError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrEncoding, fmt.Sprintf(format, args...))
}

// DecodeEvent decodes a canonical encoding. It refuses every other byte string:
// another version, fields out of order or repeated, a missing tenant, seq or
// time, an empty optional field, a fixed-size field of the wrong size, and
// trailing bytes. Fields with tags this version does not know are returned in
// unknown, in order.
func DecodeEvent(b []byte) (e strongroom.AuditEvent, unknown []Field, err error) {
	if len(b) > MaxEventSize {
		return e, nil, encodingError("event larger than %d bytes", MaxEventSize)
	}
	if len(b) == 0 {
		return e, nil, encodingError("empty")
	}
	if b[0] != EventVersion {
		return e, nil, encodingError("event version %d (this version reads %d)", b[0], EventVersion)
	}
	rest := b[1:]
	var last Tag
	for len(rest) > 0 {
		if len(rest) < 5 {
			return e, nil, encodingError("truncated field header")
		}
		tag := Tag(rest[0])
		n := binary.BigEndian.Uint32(rest[1:5])
		rest = rest[5:]
		if uint64(n) > uint64(len(rest)) {
			return e, nil, encodingError("field %d: length %d exceeds the %d bytes left", tag, n, len(rest))
		}
		v := rest[:n]
		rest = rest[n:]
		if tag <= last {
			return e, nil, encodingError("field %d after field %d: tags must ascend", tag, last)
		}
		if tag > TagTime && n == 0 {
			return e, nil, encodingError("field %d is empty: empty fields are omitted", tag)
		}
		if last < TagTime && tag != last+1 {
			return e, nil, encodingError("field %d is missing", last+1)
		}
		last = tag
		if err := setField(&e, tag, v); err != nil {
			return e, nil, err
		}
		if tag > lastKnownTag {
			unknown = append(unknown, Field{Tag: tag, Value: append([]byte(nil), v...)})
		}
	}
	if last < TagTime {
		return e, nil, encodingError("field %d is missing", last+1)
	}
	return e, unknown, nil
}

func setField(e *strongroom.AuditEvent, tag Tag, v []byte) error {
	switch tag {
	case TagSeq, TagTime:
		if len(v) != 8 {
			return encodingError("field %d has %d bytes, want 8", tag, len(v))
		}
		x := binary.BigEndian.Uint64(v)
		if tag == TagSeq {
			e.Seq = int64(x)
		} else {
			e.Time = time.UnixMicro(int64(x)).UTC()
		}
	case TagTenant:
		e.TenantID = strongroom.TenantID(v)
	case TagActorType:
		e.ActorType = strongroom.PrincipalKind(v)
	case TagActorID:
		e.ActorID = string(v)
	case TagIP:
		e.IP = string(v)
	case TagDeviceType:
		e.DeviceType = string(v)
	case TagAction:
		e.Action = string(v)
	case TagTargetType:
		e.TargetType = string(v)
	case TagTargetID:
		e.TargetID = string(v)
	case TagResult:
		e.Result = strongroom.AuditResult(v)
	case TagReason:
		e.Reason = string(v)
	case TagRequestID:
		e.RequestID = string(v)
	case TagMetadata:
		e.Metadata = append([]byte(nil), v...)
	}
	return nil
}
