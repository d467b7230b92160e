package auditlog_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the fuzz seed corpora in testdata/fuzz")

const vectorsPath = "testdata/vectors.json"

// vectorFile is testdata/vectors.json: known answers for version 1 of the event
// encoding, the chain and checkpoints, written once by -update and then never
// changed (see the package's evolution rules).
type vectorFile struct {
	Comment     []string           `json:"comment"`
	Genesis     []genesisVector    `json:"genesis"`
	Events      []eventVector      `json:"events"`
	Chains      []chainVector      `json:"chains"`
	Checkpoints []checkpointVector `json:"checkpoints"`
}

type genesisVector struct {
	Tenant  string   `json:"tenant"`
	Genesis hexBytes `json:"genesis"`
}

// vectorEvent spells out every field of an event, time in microseconds.
type vectorEvent struct {
	Tenant     string         `json:"tenant"`
	Seq        int64          `json:"seq"`
	TimeMicros int64          `json:"time_us"`
	ActorType  string         `json:"actor_type"`
	ActorID    string         `json:"actor_id"`
	IP         string         `json:"ip"`
	DeviceType string         `json:"device_type"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	Result     string         `json:"result"`
	Reason     string         `json:"reason"`
	RequestID  string         `json:"request_id"`
	Metadata   string         `json:"metadata"`
	Unknown    []vectorUnknow `json:"unknown,omitempty"`
}

type vectorUnknow struct {
	Tag   int      `json:"tag"`
	Value hexBytes `json:"value"`
}

func (v vectorEvent) event() (strongroom.AuditEvent, []auditlog.Field) {
	e := strongroom.AuditEvent{TenantID: strongroom.TenantID(v.Tenant), Seq: v.Seq, Time: time.UnixMicro(v.TimeMicros).UTC(),
		ActorType: strongroom.PrincipalKind(v.ActorType), ActorID: v.ActorID, IP: v.IP, DeviceType: v.DeviceType,
		Action: v.Action, TargetType: v.TargetType, TargetID: v.TargetID, Result: strongroom.AuditResult(v.Result),
		Reason: v.Reason, RequestID: v.RequestID}
	if v.Metadata != "" {
		e.Metadata = json.RawMessage(v.Metadata)
	}
	var extra []auditlog.Field
	for _, u := range v.Unknown {
		extra = append(extra, auditlog.Field{Tag: auditlog.Tag(u.Tag), Value: u.Value})
	}
	return e, extra
}

func toVector(e strongroom.AuditEvent) vectorEvent {
	return vectorEvent{Tenant: string(e.TenantID), Seq: e.Seq, TimeMicros: e.Time.UnixMicro(), ActorType: string(e.ActorType),
		ActorID: e.ActorID, IP: e.IP, DeviceType: e.DeviceType, Action: e.Action, TargetType: e.TargetType,
		TargetID: e.TargetID, Result: string(e.Result), Reason: e.Reason, RequestID: e.RequestID, Metadata: string(e.Metadata)}
}

type eventVector struct {
	Name     string      `json:"name"`
	Event    vectorEvent `json:"event"`
	Encoding hexBytes    `json:"encoding"`
}

type chainVector struct {
	Name   string        `json:"name"`
	Tenant string        `json:"tenant"`
	Events []vectorEvent `json:"events"`
	Seals  []hexBytes    `json:"seals"`
}

type checkpointVector struct {
	Name      string   `json:"name"`
	Seed      hexBytes `json:"ed25519_seed"`
	PublicKey hexBytes `json:"public_key"`
	KeyID     string   `json:"key_id"`
	Tenant    string   `json:"tenant"`
	Seq       int64    `json:"seq"`
	Head      hexBytes `json:"head"`
	TimeMicro int64    `json:"time_us"`
	Binary    hexBytes `json:"binary"`
	JSON      string   `json:"json"`
}

// hexBytes is []byte written as hex in JSON.
type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, h), nil }

func (h *hexBytes) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	*h = d
	return err
}

func buildVectors(t *testing.T) vectorFile {
	t.Helper()
	vf := vectorFile{Comment: []string{
		"Known answers for Strongroom's auditlog package, version 1 (docs/audit-log.md).",
		"event: 0x01 || fields in ascending tag order; field = tag (1 byte) || length (4 bytes BE) || value;",
		"  tags 1 tenant, 2 seq (8 bytes BE), 3 time (µs, 8 bytes BE two's complement) always present;",
		"  4 actor_type, 5 actor_id, 6 ip, 7 device_type, 8 action, 9 target_type, 10 target_id, 11 result,",
		"  12 reason, 13 request_id, 14 metadata present only when not empty; unknown tags are kept.",
		"genesis = SHA-256('strongroom/auditlog/genesis/v1' || 0x00 || tenant);",
		"seal_i = SHA-256('strongroom/auditlog/event/v1' || 0x00 || seal_{i-1} || event_i), seal_0 = genesis.",
		"checkpoint binary = body || lp(signature); body = 0x01 || lp(tenant) || seq (8 BE) || head (32) || time (µs, 8 BE) || lp(key_id);",
		"  lp(x) = len(x) as 4 bytes BE || x; signature = Ed25519(key, 'strongroom/auditlog/checkpoint/v1' || 0x00 || body);",
		"  key_id = 'ed25519:' || hex(SHA-256('strongroom/auditlog/key-id/v1' || 0x00 || public key)[:8]).",
	}}
	for _, tenant := range []string{"", string(strongroom.PlatformTenant), string(tenantA)} {
		vf.Genesis = append(vf.Genesis, genesisVector{tenant, hexBytes(sliceOf(auditlog.Genesis(strongroom.TenantID(tenant))))})
	}
	full := sampleEvent(tenantA, 7)
	minimal := strongroom.AuditEvent{TenantID: strongroom.PlatformTenant, Seq: 1, Time: time.UnixMicro(0).UTC()}
	unicode := sampleEvent(tenantA, 1<<40)
	unicode.Reason, unicode.ActorType, unicode.Result, unicode.Time = "naïve — ☃", strongroom.PrincipalAnonymous, strongroom.ResultDenied, time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	newer := vectorEvent{Tenant: string(tenantA), Seq: 8, TimeMicros: 1741964966535897, Action: "session.end",
		Unknown: []vectorUnknow{{Tag: 15, Value: []byte("a field of a newer version")}}}
	for _, d := range []struct {
		name string
		ev   vectorEvent
	}{
		{"every field", toVector(full)},
		{"only the fields always present", toVector(minimal)},
		{"unicode, negative time, large seq", toVector(unicode)},
		{"a field of a newer version", newer},
	} {
		e, extra := d.ev.event()
		vf.Events = append(vf.Events, eventVector{d.name, d.ev, auditlog.AppendEvent(nil, &e, extra...)})
	}
	events, seals := sealedChain(tenantA, 4)
	cv := chainVector{Name: "four events of one tenant", Tenant: string(tenantA)}
	for i := range events {
		cv.Events = append(cv.Events, toVector(events[i]))
		cv.Seals = append(cv.Seals, seals[i])
	}
	vf.Chains = append(vf.Chains, cv)
	for _, d := range []struct {
		name   string
		tenant strongroom.TenantID
		seq    int64
	}{
		{"organization chain", tenantA, 12},
		{"platform chain", strongroom.PlatformTenant, 1 << 33},
	} {
		key := detKey(d.name)
		c := auditlog.Checkpoint{Tenant: d.tenant, Seq: d.seq, Head: auditlog.Genesis("head:" + strongroom.TenantID(d.name)),
			Time: time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)}
		if err := c.Sign(key); err != nil {
			t.Fatal(err)
		}
		bin, _ := c.MarshalBinary()
		j, _ := json.Marshal(c)
		vf.Checkpoints = append(vf.Checkpoints, checkpointVector{Name: d.name, Seed: key.Seed(),
			PublicKey: []byte(key.Public().(ed25519.PublicKey)), KeyID: c.KeyID, Tenant: string(c.Tenant), Seq: c.Seq,
			Head: sliceOf(c.Head), TimeMicro: c.Time.UnixMicro(), Binary: bin, JSON: string(j)})
	}
	return vf
}

func sliceOf(h [32]byte) []byte { return h[:] }

func TestVectors(t *testing.T) {
	if *update {
		b, err := json.MarshalIndent(buildVectors(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		writeFuzzSeeds(t)
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Genesis) == 0 || len(vf.Events) == 0 || len(vf.Chains) == 0 || len(vf.Checkpoints) == 0 {
		t.Fatal("vectors missing")
	}
	for _, v := range vf.Genesis {
		if g := auditlog.Genesis(strongroom.TenantID(v.Tenant)); !bytes.Equal(g[:], v.Genesis) {
			t.Errorf("genesis(%q) = %x, stored %x", v.Tenant, g, v.Genesis)
		}
	}
	for _, v := range vf.Events {
		t.Run("event/"+v.Name, func(t *testing.T) {
			e, extra := v.Event.event()
			if got := auditlog.AppendEvent(nil, &e, extra...); !bytes.Equal(got, v.Encoding) {
				t.Errorf("encoding\n got %x\nwant %x", got, []byte(v.Encoding))
			}
			de, unknown, err := auditlog.DecodeEvent(v.Encoding)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(e, de); diff != "" {
				t.Errorf("decoded (-stored +got):\n%s", diff)
			}
			if len(unknown) != len(extra) {
				t.Errorf("unknown fields %v, want %v", unknown, extra)
			}
		})
	}
	for _, v := range vf.Chains {
		t.Run("chain/"+v.Name, func(t *testing.T) {
			prev := auditlog.Genesis(strongroom.TenantID(v.Tenant))
			for i, ve := range v.Events {
				e, _ := ve.event()
				prev = auditlog.Hash(prev, &e)
				if !bytes.Equal(prev[:], v.Seals[i]) {
					t.Errorf("seal %d = %x, stored %x", i, prev, []byte(v.Seals[i]))
				}
			}
		})
	}
	for _, v := range vf.Checkpoints {
		t.Run("checkpoint/"+v.Name, func(t *testing.T) {
			key := ed25519.NewKeyFromSeed(v.Seed)
			pub := key.Public().(ed25519.PublicKey)
			if !bytes.Equal(pub, v.PublicKey) || auditlog.KeyID(pub) != v.KeyID {
				t.Errorf("public key or key id differ: %x %s", pub, auditlog.KeyID(pub))
			}
			c := auditlog.Checkpoint{Tenant: strongroom.TenantID(v.Tenant), Seq: v.Seq, Head: [32]byte(v.Head), Time: time.UnixMicro(v.TimeMicro)}
			if err := c.Sign(key); err != nil {
				t.Fatal(err)
			}
			if bin, _ := c.MarshalBinary(); !bytes.Equal(bin, v.Binary) {
				t.Errorf("binary\n got %x\nwant %x", bin, []byte(v.Binary))
			}
			if j, _ := json.Marshal(c); string(j) != v.JSON {
				t.Errorf("JSON\n got %s\nwant %s", j, v.JSON)
			}
			parsed, err := auditlog.ParseCheckpoint(v.Binary)
			if err != nil {
				t.Fatal(err)
			}
			if err := parsed.Verify(pub); err != nil {
				t.Errorf("stored checkpoint does not verify: %v", err)
			}
		})
	}
}

// writeFuzzSeeds rewrites the committed seed corpora of the fuzz tests.
func writeFuzzSeeds(t *testing.T) {
	t.Helper()
	write := func(target, name string, v []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(v)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range eventSeeds() {
		write("FuzzDecodeEvent", name, b)
	}
	for name, b := range checkpointSeeds(t) {
		write("FuzzParseCheckpoint", name, b)
	}
	for name, b := range checkpointJSONSeeds(t) {
		write("FuzzCheckpointJSON", name, b)
	}
}
