package auditlog_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
)

func eventSeeds() map[string][]byte {
	full := sampleEvent(tenantA, 7)
	enc := auditlog.EncodeEvent(&full)
	minimal := strongroom.AuditEvent{TenantID: strongroom.PlatformTenant, Seq: 1}
	return map[string][]byte{
		"full":          enc,
		"minimal":       auditlog.EncodeEvent(&minimal),
		"newer-field":   append(bytes.Clone(enc), field(15, []byte("x"))...),
		"empty":         {},
		"version-only":  {1},
		"version-2":     append([]byte{2}, enc[1:]...),
		"truncated":     enc[:len(enc)-3],
		"empty-field":   append(bytes.Clone(enc), field(16, nil)...),
		"repeated-tag":  append(bytes.Clone(enc), field(14, []byte("{}"))...),
		"huge-length":   append(bytes.Clone(enc[:1]), 1, 0xff, 0xff, 0xff, 0xf0),
		"missing-seq":   append([]byte{1}, field(1, []byte("t"))...),
		"short-seq":     append(append([]byte{1}, field(1, nil)...), field(2, []byte{1})...),
		"trailing-byte": append(bytes.Clone(enc), 0),
	}
}

// FuzzDecodeEvent: DecodeEvent never panics, refuses with ErrEncoding, and
// what it accepts is canonical: encoding the result gives back the same bytes.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range eventSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, unknown, err := auditlog.DecodeEvent(b)
		if err != nil {
			if !errors.Is(err, auditlog.ErrEncoding) {
				t.Fatalf("error %v is not ErrEncoding", err)
			}
			return
		}
		if again := auditlog.AppendEvent(nil, &e, unknown...); !bytes.Equal(again, b) {
			t.Fatalf("not canonical: decoded %x, re-encoded %x", b, again)
		}
		if auditlog.HashEncoded(auditlog.Genesis(e.TenantID), b) != auditlog.Hash(auditlog.Genesis(e.TenantID), &e) && len(unknown) == 0 {
			t.Fatal("Hash and HashEncoded disagree")
		}
	})
}

func checkpointSeeds(t testing.TB) map[string][]byte {
	c := auditlog.Checkpoint{Tenant: tenantA, Seq: 42, Head: auditlog.Genesis("x")}
	if err := c.Sign(detKey("fuzz")); err != nil {
		t.Fatal(err)
	}
	b, _ := c.MarshalBinary()
	return map[string][]byte{
		"genuine":   b,
		"empty":     {},
		"truncated": b[:len(b)-10],
		"trailing":  append(bytes.Clone(b), 1),
		"version-2": append([]byte{2}, b[1:]...),
		"long-len":  append([]byte{1}, 0xff, 0xff, 0xff, 0xff),
	}
}

// FuzzParseCheckpoint: ParseCheckpoint never panics, refuses with ErrEncoding,
// and what it accepts marshals back to the same bytes; a changed genuine
// checkpoint never verifies.
func FuzzParseCheckpoint(f *testing.F) {
	for _, s := range checkpointSeeds(f) {
		f.Add(s)
	}
	genuine := checkpointSeeds(f)["genuine"]
	pub := detKey("fuzz").Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := auditlog.ParseCheckpoint(b)
		if err != nil {
			if !errors.Is(err, auditlog.ErrEncoding) {
				t.Fatalf("error %v is not ErrEncoding", err)
			}
			return
		}
		again, _ := c.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("not canonical: %x re-marshals to %x", b, again)
		}
		if err := c.Verify(pub); err == nil && !bytes.Equal(b, genuine) {
			t.Fatalf("a checkpoint other than the genuine one verifies: %x", b)
		}
	})
}

func checkpointJSONSeeds(t testing.TB) map[string][]byte {
	c := auditlog.Checkpoint{Tenant: tenantA, Seq: 42, Head: auditlog.Genesis("x")}
	if err := c.Sign(detKey("fuzz")); err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(c)
	return map[string][]byte{
		"genuine":   j,
		"empty":     {},
		"array":     []byte(`[]`),
		"truncated": j[:len(j)-2],
		"extra":     append(j[:len(j)-1:len(j)-1], []byte(`,"extra":1}`)...),
	}
}

// FuzzCheckpointJSON: lines of a checkpoint file, which lives outside the
// database and may be edited, never panic the reader, and what parses round
// trips.
func FuzzCheckpointJSON(f *testing.F) {
	for _, s := range checkpointJSONSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c auditlog.Checkpoint
		if err := json.Unmarshal(b, &c); err != nil {
			return
		}
		j, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var d auditlog.Checkpoint
		if err := json.Unmarshal(j, &d); err != nil {
			t.Fatalf("re-marshaled checkpoint does not parse: %v", err)
		}
		b1, _ := c.MarshalBinary()
		b2, _ := d.MarshalBinary()
		if !bytes.Equal(b1, b2) {
			t.Fatalf("JSON round trip changed the checkpoint: %x vs %x", b1, b2)
		}
	})
}
