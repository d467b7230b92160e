package auditlog_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
)

const tenantA strongroom.TenantID = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11"

// sampleEvent returns a fully populated event of tenant with seq.
func sampleEvent(tenant strongroom.TenantID, seq int64) strongroom.AuditEvent {
	return strongroom.AuditEvent{
		TenantID:   tenant,
		Seq:        seq,
		Time:       time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC).Add(time.Duration(seq) * time.Second),
		ActorType:  strongroom.PrincipalUser,
		ActorID:    "0190f3a2-0000-7000-8000-000000000001",
		IP:         "198.51.100.23",
		DeviceType: "desktop",
		Action:     "record.create",
		TargetType: "record",
		TargetID:   fmt.Sprintf("rec-%d", seq),
		Result:     strongroom.ResultSuccess,
		Reason:     "",
		RequestID:  fmt.Sprintf("req-%d", seq),
		Metadata:   json.RawMessage(fmt.Sprintf(`{"n":%d}`, seq)),
	}
}

// sealedChain returns n events of tenant with seqs 3, 6, 9, … (other tenants'
// seqs lie between) and their seals.
func sealedChain(tenant strongroom.TenantID, n int) ([]strongroom.AuditEvent, [][]byte) {
	events := make([]strongroom.AuditEvent, n)
	seals := make([][]byte, n)
	prev := auditlog.Genesis(tenant)
	for i := range events {
		events[i] = sampleEvent(tenant, int64(3*(i+1)))
		h := auditlog.Hash(prev, &events[i])
		seals[i], prev = h[:], h
	}
	return events, seals
}

// linksOf pairs events and seals into links; a nil event or seal leaves that
// side out.
func linksOf(events []strongroom.AuditEvent, seals [][]byte) []auditlog.Link {
	links := make([]auditlog.Link, len(events))
	for i := range events {
		links[i] = auditlog.Link{Seq: events[i].Seq, Event: &events[i]}
		if i < len(seals) {
			links[i].Seal = seals[i]
		}
	}
	return links
}

func seqOf(links []auditlog.Link) iter.Seq2[auditlog.Link, error] {
	return func(yield func(auditlog.Link, error) bool) {
		for _, l := range links {
			if !yield(l, nil) {
				return
			}
		}
	}
}

// detKey is an Ed25519 key derived from a name, for reproducible signatures.
func detKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("auditlog test key:" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// notEd25519 is a crypto.Signer of another algorithm.
type notEd25519 struct{}

func (notEd25519) Public() crypto.PublicKey { return "rsa?" }
func (notEd25519) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("unused")
}
