package auditlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// TestPruneMarkerLabel checks that a prune marker and an ordinary checkpoint
// of the same head are not interchangeable, and that the JSON form keeps the
// difference.
func TestPruneMarkerLabel(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := Checkpoint{Tenant: "t1", Seq: 42, Head: [HashSize]byte{1, 2, 3}, Time: time.Now()}
	if err := c.Sign(key); err != nil {
		t.Fatal(err)
	}
	m := c
	m.Prune = true
	if err := m.Verify(pub); !errors.Is(err, ErrSignature) {
		t.Errorf("a checkpoint's signature verifies as a prune marker: %v", err)
	}
	if err := m.Sign(key); err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(pub); err != nil {
		t.Fatal(err)
	}
	c2 := m
	c2.Prune = false
	if err := c2.Verify(pub); !errors.Is(err, ErrSignature) {
		t.Errorf("a prune marker's signature verifies as a checkpoint: %v", err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Checkpoint
	if err := json.Unmarshal(b, &back); err != nil || !back.Prune || back.Verify(pub) != nil {
		t.Errorf("JSON round trip %s: %+v, %v", b, back, err)
	}
	if _, err := m.MarshalBinary(); err == nil {
		t.Error("a prune marker has a binary form that would read back as a checkpoint")
	}
	plain, _ := json.Marshal(c)
	if string(plain) == string(b) || bytes.Contains(plain, []byte("prune")) {
		t.Errorf("an ordinary checkpoint's JSON changed: %s", plain)
	}
}
