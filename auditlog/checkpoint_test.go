package auditlog_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/auditlog"
)

func signedCheckpoint(t *testing.T, key ed25519.PrivateKey) auditlog.Checkpoint {
	t.Helper()
	c := auditlog.Checkpoint{Tenant: tenantA, Seq: 42, Head: auditlog.Genesis("head"),
		Time: time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))}
	if err := c.Sign(key); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckpointSignVerify(t *testing.T) {
	key := detKey("checkpoint")
	pub := key.Public().(ed25519.PublicKey)
	c := signedCheckpoint(t, key)
	if c.Time.Location() != time.UTC || c.Time.Nanosecond()%1000 != 0 {
		t.Errorf("time not truncated to UTC microseconds: %v", c.Time)
	}
	if c.KeyID != auditlog.KeyID(pub) || !strings.HasPrefix(c.KeyID, "ed25519:") {
		t.Errorf("key id %q", c.KeyID)
	}
	if err := c.Verify(pub); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	tampered := map[string]func(c *auditlog.Checkpoint){
		"tenant":    func(c *auditlog.Checkpoint) { c.Tenant += "x" },
		"seq":       func(c *auditlog.Checkpoint) { c.Seq++ },
		"head":      func(c *auditlog.Checkpoint) { c.Head[31] ^= 1 },
		"time":      func(c *auditlog.Checkpoint) { c.Time = c.Time.Add(time.Microsecond) },
		"signature": func(c *auditlog.Checkpoint) { c.Signature = append(bytes.Clone(c.Signature[:63]), c.Signature[63]^1) },
		"no sig":    func(c *auditlog.Checkpoint) { c.Signature = nil },
		"key id":    func(c *auditlog.Checkpoint) { c.KeyID = "ed25519:0000000000000000" },
		"other key": func(c *auditlog.Checkpoint) {
			if err := c.Sign(otherKey); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, mutate := range tampered {
		t.Run(name, func(t *testing.T) {
			d := c
			d.Signature = bytes.Clone(c.Signature)
			mutate(&d)
			if err := d.Verify(pub); !errors.Is(err, auditlog.ErrSignature) {
				t.Errorf("Verify = %v, want ErrSignature", err)
			}
		})
	}
	if err := c.Verify(pub[:31]); err == nil {
		t.Error("Verify accepted a short public key")
	}
}

func TestCheckpointEncodings(t *testing.T) {
	c := signedCheckpoint(t, detKey("checkpoint"))
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := auditlog.ParseCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("binary round trip (-want +got):\n%s", diff)
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON auditlog.Checkpoint
	if err := json.Unmarshal(j, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, fromJSON); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	for name, bad := range map[string]string{
		"unknown field": strings.Replace(string(j), `"v":1`, `"v":1,"x":1`, 1),
		"version 2":     strings.Replace(string(j), `"v":1`, `"v":2`, 1),
		"short head":    strings.Replace(string(j), `"head":"`, `"head":"00`, 1),
		"bad time":      strings.Replace(string(j), `"time":"2025`, `"time":"x2025`, 1),
		"seq 0":         strings.Replace(string(j), `"seq":42`, `"seq":0`, 1),
		"bad base64":    strings.Replace(string(j), `"signature":"`, `"signature":"!`, 1),
		"not an object": `[1]`,
	} {
		t.Run("JSON "+name, func(t *testing.T) {
			var x auditlog.Checkpoint
			if err := json.Unmarshal([]byte(bad), &x); err == nil {
				t.Errorf("accepted %s", bad)
			}
		})
	}
	for name, bad := range map[string][]byte{
		"empty":     {},
		"version 2": append([]byte{2}, b[1:]...),
		"truncated": b[:len(b)-1],
		"trailing":  append(bytes.Clone(b), 0),
		"seq 0":     func() []byte { d := c; d.Seq = 0; x, _ := d.MarshalBinary(); return x }(),
		"huge":      make([]byte, 5000),
	} {
		t.Run("binary "+name, func(t *testing.T) {
			if _, err := auditlog.ParseCheckpoint(bad); !errors.Is(err, auditlog.ErrEncoding) {
				t.Errorf("ParseCheckpoint = %v, want ErrEncoding", err)
			}
		})
	}
}

func TestCheckpointSignRefusesOtherKeys(t *testing.T) {
	var c auditlog.Checkpoint
	if err := c.Sign(notEd25519{}); err == nil {
		t.Error("signed with a non-Ed25519 key")
	}
}
