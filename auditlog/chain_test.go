package auditlog_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
)

func TestGenesisPerTenant(t *testing.T) {
	a, b := auditlog.Genesis("a"), auditlog.Genesis("b")
	if a == b || a == auditlog.Genesis("") {
		t.Error("genesis values of different tenants are equal")
	}
	if auditlog.Start("a").Hash != a || auditlog.Start("a").Seq != 0 {
		t.Error("Start is not the genesis head")
	}
}

func TestHashEncodedMatchesHash(t *testing.T) {
	e := sampleEvent(tenantA, 3)
	g := auditlog.Genesis(tenantA)
	if auditlog.Hash(g, &e) != auditlog.HashEncoded(g, auditlog.EncodeEvent(&e)) {
		t.Error("HashEncoded differs from Hash")
	}
}

func TestChainerNext(t *testing.T) {
	var c auditlog.Chainer
	h := auditlog.Start(tenantA)
	e := sampleEvent(tenantA, 5)
	h2, err := c.Next(h, &e)
	if err != nil || h2.Seq != 5 || h2.Hash != auditlog.Hash(h.Hash, &e) {
		t.Fatalf("Next = %+v, %v", h2, err)
	}
	if _, err := c.Next(h2, &e); err == nil {
		t.Error("Next accepted a repeated seq")
	}
	other := sampleEvent("other", 9)
	if _, err := c.Next(h2, &other); err == nil {
		t.Error("Next accepted another tenant's event")
	}
}

func TestVerifyIntact(t *testing.T) {
	events, seals := sealedChain(tenantA, 10)
	head, err := auditlog.Verify(auditlog.Start(tenantA), seqOf(linksOf(events, seals)))
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != events[9].Seq || !bytes.Equal(head.Hash[:], seals[9]) {
		t.Errorf("head = %d %x, want %d %x", head.Seq, head.Hash, events[9].Seq, seals[9])
	}
	// From a trusted head in the middle.
	mid := auditlog.Head{Tenant: tenantA, Seq: events[4].Seq}
	copy(mid.Hash[:], seals[4])
	if _, err := auditlog.Verify(mid, seqOf(linksOf(events[5:], seals[5:]))); err != nil {
		t.Errorf("from a checkpoint: %v", err)
	}
	// An unsealed tail is not a problem.
	r := run(tenantA, linksOf(events, seals[:7]), nil)
	if len(r.Problems) != 0 || r.Unsealed != 3 || r.FirstUnsealedSeq != events[7].Seq || r.Head.Seq != events[6].Seq {
		t.Errorf("unsealed tail: %+v", r)
	}
}

func run(tenant strongroom.TenantID, links []auditlog.Link, expects []auditlog.Expect) auditlog.Result {
	v := auditlog.NewVerifier(auditlog.Start(tenant), expects)
	for _, l := range links {
		v.Add(l)
	}
	return v.Finish()
}

type found struct {
	Seq  int64
	Kind auditlog.ProblemKind
}

func problems(r auditlog.Result) []found {
	var out []found
	for _, p := range r.Problems {
		out = append(out, found{p.Seq, p.Kind})
	}
	return out
}

func expectAt(events []strongroom.AuditEvent, seals [][]byte, i int) auditlog.Expect {
	x := auditlog.Expect{Seq: events[i].Seq, Source: "test checkpoint"}
	copy(x.Head[:], seals[i])
	return x
}

// TestVerifierFindsTampering: each way of changing a stored chain is reported
// at the first seq concerned, and only there.
func TestVerifierFindsTampering(t *testing.T) {
	events, seals := sealedChain(tenantA, 8)
	last := auditlog.Expect{Seq: events[7].Seq, Head: [32]byte(seals[7]), Source: "cp"}
	tests := []struct {
		name    string
		tamper  func(l []auditlog.Link) []auditlog.Link
		expects []auditlog.Expect
		want    []found
	}{
		{"intact", func(l []auditlog.Link) []auditlog.Link { return l }, []auditlog.Expect{last}, nil},
		{"event edited", func(l []auditlog.Link) []auditlog.Link {
			e := *l[3].Event
			e.Action = "nothing.happened"
			l[3].Event = &e
			return l
		}, []auditlog.Expect{last}, []found{{12, auditlog.ProblemSeal}}},
		{"event and its seal deleted", func(l []auditlog.Link) []auditlog.Link {
			return slices.Delete(l, 3, 4)
		}, []auditlog.Expect{last}, []found{{15, auditlog.ProblemSeal}}},
		{"event deleted, seal kept", func(l []auditlog.Link) []auditlog.Link {
			l[3].Event = nil
			return l
		}, nil, []found{{12, auditlog.ProblemMissing}}},
		{"two events swapped", func(l []auditlog.Link) []auditlog.Link {
			a, b := *l[2].Event, *l[3].Event
			a.Seq, b.Seq = b.Seq, a.Seq
			l[2].Event, l[3].Event = &b, &a
			return l
		}, nil, []found{{9, auditlog.ProblemSeal}, {12, auditlog.ProblemSeal}}},
		{"event inserted without seal", func(l []auditlog.Link) []auditlog.Link {
			e := sampleEvent(tenantA, 13)
			return slices.Insert(l, 4, auditlog.Link{Seq: 13, Event: &e})
		}, nil, []found{{13, auditlog.ProblemUnsealed}}},
		{"seal removed in the middle", func(l []auditlog.Link) []auditlog.Link {
			l[2].Seal = nil
			return l
		}, nil, []found{{9, auditlog.ProblemUnsealed}}},
		{"tail seals removed under a checkpoint", func(l []auditlog.Link) []auditlog.Link {
			l[6].Seal, l[7].Seal = nil, nil
			return l
		}, []auditlog.Expect{last}, []found{{21, auditlog.ProblemUnsealed}, {24, auditlog.ProblemUnsealed}}},
		{"truncated", func(l []auditlog.Link) []auditlog.Link { return l[:6] },
			[]auditlog.Expect{last}, []found{{24, auditlog.ProblemCheckpoint}}},
		{"truncated, no checkpoint: undetectable", func(l []auditlog.Link) []auditlog.Link { return l[:6] }, nil, nil},
		{"checkpoint at a removed seq", func(l []auditlog.Link) []auditlog.Link { return slices.Delete(l, 5, 6) },
			[]auditlog.Expect{expectAt(events, seals, 5)}, []found{{18, auditlog.ProblemCheckpoint}, {21, auditlog.ProblemSeal}}},
		{"chain replaced consistently", func(l []auditlog.Link) []auditlog.Link {
			forged := make([]strongroom.AuditEvent, len(l))
			prev := auditlog.Genesis(tenantA)
			for i := range l {
				forged[i] = *l[i].Event
				forged[i].IP = "192.0.2.1"
				h := auditlog.Hash(prev, &forged[i])
				l[i] = auditlog.Link{Seq: forged[i].Seq, Event: &forged[i], Seal: h[:]}
				prev = h
			}
			return l
		}, []auditlog.Expect{expectAt(events, seals, 2), last}, []found{{9, auditlog.ProblemCheckpoint}, {24, auditlog.ProblemCheckpoint}}},
		{"chain replaced, no checkpoint: undetectable", func(l []auditlog.Link) []auditlog.Link {
			e := *l[0].Event
			e.IP = "192.0.2.1"
			h := auditlog.Hash(auditlog.Genesis(tenantA), &e)
			return []auditlog.Link{{Seq: e.Seq, Event: &e, Seal: h[:]}}
		}, nil, nil},
		{"seal removed before a deleted event", func(l []auditlog.Link) []auditlog.Link {
			l[2].Seal = nil
			l[3].Event = nil
			return l
		}, nil, []found{{9, auditlog.ProblemUnsealed}, {12, auditlog.ProblemMissing}}},
		{"event of another tenant", func(l []auditlog.Link) []auditlog.Link {
			e := *l[1].Event
			e.TenantID = "other"
			l[1].Event = &e
			return l
		}, nil, []found{{6, auditlog.ProblemOrder}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := slices.Clone(events)
			links := tt.tamper(linksOf(ev, seals))
			r := run(tenantA, links, tt.expects)
			if diff := cmp.Diff(tt.want, problems(r)); diff != "" {
				for _, p := range r.Problems {
					t.Log(p)
				}
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyReturnsFirstProblem(t *testing.T) {
	events, seals := sealedChain(tenantA, 5)
	events[2].Reason = "edited"
	_, err := auditlog.Verify(auditlog.Start(tenantA), seqOf(linksOf(events, seals)))
	var p *auditlog.Problem
	if !errors.As(err, &p) || p.Seq != events[2].Seq || p.Tenant != tenantA || p.Kind != auditlog.ProblemSeal {
		t.Fatalf("Verify = %v", err)
	}
	readErr := func(yield func(auditlog.Link, error) bool) { yield(auditlog.Link{}, errors.New("disk on fire")) }
	if _, err := auditlog.Verify(auditlog.Start(tenantA), readErr); !errors.As(err, &p) || p.Kind != auditlog.ProblemRead {
		t.Errorf("read error: %v", err)
	}
}

func TestVerifierBoundsProblems(t *testing.T) {
	events, seals := sealedChain(tenantA, auditlog.MaxProblems+50)
	for i := range events {
		events[i].Reason = "edited"
	}
	r := run(tenantA, linksOf(events, seals), nil)
	if len(r.Problems) != auditlog.MaxProblems || r.Dropped != 50 {
		t.Errorf("%d problems, %d dropped", len(r.Problems), r.Dropped)
	}
}
