package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/auditlog"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz/FuzzVerifyExport")

const tenantC strongroom.TenantID = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d33"

// exportEnv is an engine where tenant A has 12 events sealed and checkpointed
// after the 6th and the 12th, then 2 sealed but not checkpointed and 1 not
// sealed; tenant B has 4, sealed and checkpointed.
func exportEnv(t *testing.T, engine string) *env {
	t.Helper()
	e := newEnv(t, engine)
	s := e.sequencer(t, "sealer", nil, func(c *audit.Config) { c.CheckpointInterval = time.Hour })
	appendEvents(t, e.st, tenantA, 6)
	appendEvents(t, e.st, tenantB, 4)
	sealOnly(t, e, s)
	checkpoint(t, s)
	appendEvents(t, e.st, tenantA, 6)
	sealOnly(t, e, s)
	checkpoint(t, s)
	appendEvents(t, e.st, tenantA, 2)
	sealOnly(t, e, s)
	appendEvents(t, e.st, tenantA, 1)
	return e
}

// sealOnly ticks s until every event is sealed, without checkpoints (s's
// interval is long and its first tick has passed or checkpoints nothing new).
func sealOnly(t *testing.T, e *env, s *audit.Sequencer) {
	t.Helper()
	testkit.WaitFor(t, 30*time.Second, func() bool {
		if _, err := s.Tick(context.Background()); err != nil {
			t.Fatalf("Tick: %v", err)
		}
		for _, r := range e.verify(t, nil) {
			if r.Unsealed > 0 {
				return false
			}
		}
		return true
	})
}

func checkpoint(t *testing.T, s *audit.Sequencer) {
	t.Helper()
	if _, err := s.Checkpoint(context.Background()); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
}

var exportTime = time.Date(2025, 3, 14, 16, 0, 0, 123456000, time.UTC)

// export writes an export of tenant's chain with the env's key.
func (e *env) export(t testing.TB, tenant strongroom.TenantID) []byte {
	t.Helper()
	ctx := context.Background()
	plan, err := audit.PlanExport(ctx, e.st, tenant, []ed25519.PublicKey{e.pub()}, exportTime)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := audit.Export(ctx, &b, e.st, plan); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestExportVerifies: a genuine export verifies, holds exactly the
// checkpointed events of its tenant, and says what it leaves out.
func TestExportVerifies(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := exportEnv(t, engine)
			seqs := e.seqs(t, tenantA)
			raw := e.export(t, tenantA)
			sum, err := audit.VerifyExport(bytes.NewReader(raw), e.pub())
			if err != nil {
				t.Fatalf("a genuine export fails: %v\n%s", err, raw)
			}
			lines := splitLines(raw)
			if sum.Events != 12 || sum.Checkpoints != 2 || sum.ThroughSeq != seqs[11] || sum.Lines != len(lines) ||
				sum.ExcludedSealed != 2 || sum.ExcludedUnsealed != 1 || sum.Tenant != tenantA ||
				sum.KeyID != auditlog.KeyID(e.pub()) || !sum.ExportedAt.Equal(exportTime) || sum.SignedAt.IsZero() {
				t.Errorf("summary %+v", sum)
			}
			// Header, 12 events, checkpoints after the 6th and the 12th.
			var kinds []string
			for _, l := range lines {
				var v struct{ Type string }
				if err := json.Unmarshal(l, &v); err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, v.Type)
			}
			want := append([]string{"header"}, slices.Repeat([]string{"event"}, 6)...)
			want = append(append(want, "checkpoint"), slices.Repeat([]string{"event"}, 6)...)
			want = append(want, "checkpoint")
			if !slices.Equal(kinds, want) {
				t.Errorf("line types %v, want %v", kinds, want)
			}
			var h audit.ExportHeader
			if err := json.Unmarshal(lines[0], &h); err != nil {
				t.Fatal(err)
			}
			if h.Format != audit.ExportFormat || h.V != 1 || h.Tenant != string(tenantA) || len(h.Keys) != 1 ||
				h.Keys[0].PublicKey != base64.StdEncoding.EncodeToString(e.pub()) || h.Head != hex.EncodeToString(sum.Head[:]) {
				t.Errorf("header %+v", h)
			}
			// An event line: its decoded fields and its encoding.
			var ev eventLine
			if err := json.Unmarshal(lines[1], &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Seq != seqs[0] || ev.Action != "record.create" || ev.Actor != (audit.Ref{Type: "user", ID: "u1"}) ||
				ev.Target != (audit.Ref{Type: "record", ID: "r0"}) || string(ev.Metadata) != `{"i":0}` || !ev.Sealed || len(ev.Hash) != 64 {
				t.Errorf("first event line %s", lines[1])
			}

			// B's export holds B's chain only; a tenant without events exports
			// an empty, verifiable chain.
			if sum, err := audit.VerifyExport(bytes.NewReader(e.export(t, tenantB)), e.pub()); err != nil || sum.Events != 4 || sum.Tenant != tenantB {
				t.Errorf("B's export: %+v, %v", sum, err)
			}
			empty := e.export(t, tenantC)
			if sum, err := audit.VerifyExport(bytes.NewReader(empty), e.pub()); err != nil || sum.Events != 0 || len(splitLines(empty)) != 1 {
				t.Errorf("an empty chain's export: %+v, %v:\n%s", sum, err, empty)
			}
		})
	}
}

// eventLine is an event line as the format describes it (written out here
// rather than taken from package audit, so that this test pins the format).
type eventLine struct {
	Type string `json:"type"`
	audit.EventJSON
	Encoded string `json:"encoded"`
}

func splitLines(b []byte) [][]byte {
	return bytes.SplitAfter(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func joinLines(lines [][]byte) []byte {
	var b []byte
	for _, l := range lines {
		b = append(b, l...)
		if !bytes.HasSuffix(l, []byte("\n")) {
			b = append(b, '\n')
		}
	}
	return b
}

func mustMarshalLine(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// editEvent rewrites the event line at i with change applied to its decoded
// fields only.
func editEvent(t *testing.T, lines [][]byte, i int, change func(*eventLine)) {
	t.Helper()
	var ev eventLine
	if err := json.Unmarshal(lines[i], &ev); err != nil {
		t.Fatalf("line %d is not an event: %v", i+1, err)
	}
	change(&ev)
	lines[i] = mustMarshalLine(t, ev)
}

// rechain changes the event at line i with change, re-encodes it, and
// recomputes the seals of it and every later event, and the header's head,
// as a forger without the signing key would.
func rechain(t *testing.T, lines [][]byte, i int, change func(*strongroom.AuditEvent)) {
	t.Helper()
	var h audit.ExportHeader
	if err := json.Unmarshal(lines[0], &h); err != nil {
		t.Fatal(err)
	}
	head := auditlog.Genesis(strongroom.TenantID(h.Tenant))
	for j := 1; j < len(lines); j++ {
		if !bytes.HasPrefix(lines[j], []byte(`{"type":"event"`)) {
			continue
		}
		var ev eventLine
		if err := json.Unmarshal(lines[j], &ev); err != nil {
			t.Fatal(err)
		}
		enc, _ := base64.StdEncoding.DecodeString(ev.Encoded)
		e, _, err := auditlog.DecodeEvent(enc)
		if err != nil {
			t.Fatal(err)
		}
		if j == i {
			change(&e)
		}
		enc = auditlog.EncodeEvent(&e)
		head = auditlog.HashEncoded(head, enc)
		if j >= i {
			lines[j] = mustMarshalLine(t, eventLine{Type: "event", EventJSON: audit.NewEventJSON(&e, head[:]),
				Encoded: base64.StdEncoding.EncodeToString(enc)})
		}
	}
	h.Head = hex.EncodeToString(head[:])
	lines[0] = mustMarshalLine(t, h)
}

func editHeader(t *testing.T, lines [][]byte, change func(*audit.ExportHeader)) {
	t.Helper()
	var h audit.ExportHeader
	if err := json.Unmarshal(lines[0], &h); err != nil {
		t.Fatal(err)
	}
	change(&h)
	lines[0] = mustMarshalLine(t, h)
}

// TestExportTampering changes a genuine export file in every way a forger or
// an accident might and expects verification to fail, naming the first bad
// line.
func TestExportTampering(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := exportEnv(t, engine)
			genuine := e.export(t, tenantA)
			other := splitLines(e.export(t, tenantB))
			otherKey := newEnvKey(t)
			// Lines (0-based) of the genuine export: 0 header, 1-6 events, 7
			// checkpoint, 8-13 events, 14 checkpoint.
			tests := []struct {
				name   string
				tamper func(lines [][]byte) [][]byte // nil: the file is raw
				raw    func() []byte
				key    ed25519.PublicKey // nil: the genuine key
				line   int               // the line reported (1-based)
				atEnd  bool
				want   string
			}{
				{name: "an event's decoded field edited", tamper: func(l [][]byte) [][]byte {
					editEvent(t, l, 3, func(ev *eventLine) { ev.IP = "192.0.2.66" })
					return l
				}, line: 4, want: `the decoded field "ip" differs from the event's encoding`},
				{name: "an event's metadata edited", tamper: func(l [][]byte) [][]byte {
					editEvent(t, l, 9, func(ev *eventLine) { ev.Metadata = json.RawMessage(`{"i":99}`) })
					return l
				}, line: 10, want: `the decoded field "metadata"`},
				{name: "an event edited and re-encoded, its seal kept", tamper: func(l [][]byte) [][]byte {
					var ev eventLine
					_ = json.Unmarshal(l[2], &ev)
					enc, _ := base64.StdEncoding.DecodeString(ev.Encoded)
					d, _, _ := auditlog.DecodeEvent(enc)
					d.Action = "record.read"
					seal, _ := hex.DecodeString(ev.Hash)
					l[2] = mustMarshalLine(t, eventLine{Type: "event", EventJSON: audit.NewEventJSON(&d, seal),
						Encoded: base64.StdEncoding.EncodeToString(auditlog.EncodeEvent(&d))})
					return l
				}, line: 3, want: "seal mismatch"},
				{name: "an event line deleted", tamper: func(l [][]byte) [][]byte { return slices.Delete(l, 2, 3) },
					line: 3, want: "seal mismatch"},
				{name: "the first event line deleted", tamper: func(l [][]byte) [][]byte { return slices.Delete(l, 1, 2) },
					line: 2, want: "seal mismatch"},
				{name: "a checkpoint line deleted", tamper: func(l [][]byte) [][]byte { return slices.Delete(l, 7, 8) },
					line: 14, atEnd: true, want: "the header announces 2 checkpoints, the file holds 1"},
				{name: "the last checkpoint deleted", tamper: func(l [][]byte) [][]byte { return l[:14] },
					line: 14, atEnd: true, want: "has no checkpoint after it"},
				{name: "the last event and its checkpoint deleted", tamper: func(l [][]byte) [][]byte { return l[:13] },
					line: 13, atEnd: true, want: "it was cut short"},
				// At line 5 the chain goes from event 3 to event 5: as if 4 were
				// removed (it cannot yet be told apart).
				{name: "two event lines swapped", tamper: func(l [][]byte) [][]byte { l[4], l[5] = l[5], l[4]; return l },
					line: 5, want: "seal mismatch"},
				{name: "an event and its checkpoint swapped", tamper: func(l [][]byte) [][]byte { l[6], l[7] = l[7], l[6]; return l },
					line: 7, want: "the checkpoint comes before the line of its event"},
				{name: "a checkpoint moved later", tamper: func(l [][]byte) [][]byte {
					cp := l[7]
					l = slices.Delete(l, 7, 8)
					return slices.Insert(l, 8, cp)
				}, line: 9, want: "the checkpoint comes after the line of seq"},
				{name: "an event line repeated", tamper: func(l [][]byte) [][]byte { return slices.Insert(l, 3, l[2]) },
					line: 4, want: "does not come after"},
				{name: "a checkpoint line repeated", tamper: func(l [][]byte) [][]byte { return slices.Insert(l, 8, l[7]) },
					line: 9, want: "a second checkpoint at seq"},
				{name: "the header moved", tamper: func(l [][]byte) [][]byte { l[0], l[1] = l[1], l[0]; return l },
					line: 1, want: "an export begins with its header line"},
				{name: "the header removed", tamper: func(l [][]byte) [][]byte { return l[1:] },
					line: 1, want: "an export begins with its header line"},
				{name: "a second header", tamper: func(l [][]byte) [][]byte { return slices.Insert(l, 5, l[0]) },
					line: 6, want: "a second header line"},
				{name: "cut off inside a line", raw: func() []byte { return genuine[:len(genuine)-40] },
					line: 15, want: "no newline at its end"},
				{name: "cut off before the last newline", raw: func() []byte { return genuine[:len(genuine)-1] },
					line: 15, want: "no newline at its end"},
				{name: "the chain replaced consistently, not re-signed", tamper: func(l [][]byte) [][]byte {
					rechain(t, l, 2, func(ev *strongroom.AuditEvent) { ev.ActorID = "someone-else" })
					return l
				}, line: 8, want: "the checkpoint signed head"},
				{name: "the chain replaced and its checkpoints dropped", tamper: func(l [][]byte) [][]byte {
					rechain(t, l, 2, func(ev *strongroom.AuditEvent) { ev.ActorID = "someone-else" })
					l = slices.Delete(l, 14, 15)
					l = slices.Delete(l, 7, 8)
					editHeader(t, l, func(h *audit.ExportHeader) { h.Checkpoints = 0 })
					return l
				}, line: 13, atEnd: true, want: "has no checkpoint after it"},
				{name: "the events after a checkpoint replaced, the last checkpoint dropped", tamper: func(l [][]byte) [][]byte {
					rechain(t, l, 10, func(ev *strongroom.AuditEvent) { ev.Result = strongroom.ResultSuccess; ev.Reason = "forged" })
					editHeader(t, l, func(h *audit.ExportHeader) { h.Checkpoints = 1 })
					return l[:14]
				}, line: 14, atEnd: true, want: "has no checkpoint after it"},
				{name: "the wrong public key", key: otherKey.Public().(ed25519.PublicKey),
					line: 1, want: "signed with " + auditlog.KeyID(e.pub()) + ", not with the given public key"},
				{name: "the header claims the given wrong key", key: otherKey.Public().(ed25519.PublicKey), tamper: func(l [][]byte) [][]byte {
					pub := otherKey.Public().(ed25519.PublicKey)
					editHeader(t, l, func(h *audit.ExportHeader) {
						h.Keys = []audit.ExportKey{{KeyID: auditlog.KeyID(pub), PublicKey: base64.StdEncoding.EncodeToString(pub)}}
					})
					return l
				}, line: 8, want: "the checkpoint does not verify with the given public key"},
				{name: "a malformed JSON line", tamper: func(l [][]byte) [][]byte {
					l[5] = []byte(`{"type":"event","seq":` + "\n")
					return l
				}, line: 6, want: "the event line is not valid"},
				{name: "a line that is not JSON", tamper: func(l [][]byte) [][]byte { return slices.Insert(l, 4, []byte("hello\n")) },
					line: 5, want: "not a JSON object"},
				{name: "an unknown line type", tamper: func(l [][]byte) [][]byte {
					return slices.Insert(l, 4, []byte(`{"type":"comment","text":"trust me"}`+"\n"))
				}, line: 5, want: `unknown type "comment"`},
				{name: "an empty line", tamper: func(l [][]byte) [][]byte { return slices.Insert(l, 4, []byte("\n")) },
					line: 5, want: "the line is empty"},
				{name: "an oversized line", tamper: func(l [][]byte) [][]byte {
					return slices.Insert(l, 4, append(bytes.Repeat([]byte("x"), audit.MaxExportLine+1), '\n'))
				}, line: 5, want: "longer than"},
				{name: "an extra field", tamper: func(l [][]byte) [][]byte {
					l[3] = append(bytes.TrimSuffix(l[3], []byte("}\n")), []byte(`,"note":"x"}`+"\n")...)
					return l
				}, line: 4, want: "not in the exporter's exact form"},
				{name: "a field repeated", tamper: func(l [][]byte) [][]byte {
					l[3] = append([]byte(`{"type":"event","seq":1,`), l[3][len(`{"type":"event",`):]...)
					return l
				}, line: 4, want: "not in the exporter's exact form"},
				{name: "the type not first", tamper: func(l [][]byte) [][]byte {
					var v map[string]any
					_ = json.Unmarshal(l[3], &v)
					l[3] = mustMarshalLine(t, v) // keys sorted: "action" first
					return l
				}, line: 4, want: "an event line not in the exporter's form"},
				{name: "CRLF line ends", raw: func() []byte { return bytes.ReplaceAll(genuine, []byte("\n"), []byte("\r\n")) },
					line: 1, want: "not in the exporter's exact form"},
				{name: "a checkpoint's head edited", tamper: func(l [][]byte) [][]byte {
					i := bytes.Index(l[7], []byte(`"head":"`)) + len(`"head":"`)
					l[7][i] = "10"[min(1, int(l[7][i]-'0'))] // 0 → 1, anything else → 0
					return l
				}, line: 8, want: "checkpoint signature does not verify"},
				{name: "a checkpoint with an extra field", tamper: func(l [][]byte) [][]byte {
					l[7] = append(bytes.TrimSuffix(l[7], []byte("}\n")), []byte(`,"note":"x"}`+"\n")...)
					return l
				}, line: 8, want: "the checkpoint line is not valid"},
				{name: "an event of another tenant", tamper: func(l [][]byte) [][]byte { return slices.Insert(l, 14, other[1]) },
					line: 15, want: "belongs to tenant"},
				{name: "the header's event count edited", tamper: func(l [][]byte) [][]byte {
					editHeader(t, l, func(h *audit.ExportHeader) { h.Events = 11 })
					return l
				}, line: 15, atEnd: true, want: "the header announces 11 events, the file holds 12"},
				{name: "the header's head edited", tamper: func(l [][]byte) [][]byte {
					editHeader(t, l, func(h *audit.ExportHeader) { h.Head = strings.Repeat("0", 64) })
					return l
				}, line: 15, atEnd: true, want: "the header's head"},
				{name: "the header's tenant changed", tamper: func(l [][]byte) [][]byte {
					editHeader(t, l, func(h *audit.ExportHeader) { h.Tenant = string(tenantB) })
					return l
				}, line: 2, want: "belongs to tenant"},
				{name: "an unsealed event claimed", tamper: func(l [][]byte) [][]byte {
					editEvent(t, l, 2, func(ev *eventLine) { ev.Sealed, ev.Hash = false, "" })
					return l
				}, line: 3, want: "not sealed"},
				{name: "another format version", tamper: func(l [][]byte) [][]byte {
					editHeader(t, l, func(h *audit.ExportHeader) { h.V = 3 })
					return l
				}, line: 1, want: "format version 3"},
				{name: "the pruned version without a prune marker", tamper: func(l [][]byte) [][]byte {
					editHeader(t, l, func(h *audit.ExportHeader) { h.V = 2 })
					return l
				}, line: 1, want: "pruned_through 0 in an export of version 2"},
				{name: "a prune marker announced but missing", tamper: func(l [][]byte) [][]byte {
					editHeader(t, l, func(h *audit.ExportHeader) { h.V, h.PrunedThrough = 2, 1 })
					return l
				}, line: 2, want: "line 2 is not its prune marker"},
				{name: "an empty file", raw: func() []byte { return nil }, line: 0, atEnd: true, want: "the file is empty"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var b []byte
					switch {
					case tt.raw != nil:
						b = tt.raw()
					case tt.tamper != nil:
						b = joinLines(tt.tamper(splitLines(bytes.Clone(genuine))))
					default:
						b = genuine
					}
					key := tt.key
					if key == nil {
						key = e.pub()
					}
					_, err := audit.VerifyExport(bytes.NewReader(b), key)
					var xe *audit.ExportError
					if !errors.As(err, &xe) {
						t.Fatalf("verification passed or failed without a line: %v", err)
					}
					if xe.Line != tt.line || xe.AtEnd != tt.atEnd || !strings.Contains(xe.Msg, tt.want) {
						t.Errorf("error %q (line %d, at end %v), want line %d, at end %v, %q", err, xe.Line, xe.AtEnd, tt.line, tt.atEnd, tt.want)
					}
				})
			}
		})
	}
}

// TestExportOfAlteredDatabase: an export is written from what is stored,
// unverified; a chain changed in the database gives an export that fails.
func TestExportOfAlteredDatabase(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := exportEnv(t, engine)
			seqs := e.seqs(t, tenantA)
			e.dropProtection(t)
			e.rawExec(t, fmt.Sprintf("UPDATE audit_events SET reason = 'rewritten' WHERE seq = %d", seqs[4]))
			_, err := audit.VerifyExport(bytes.NewReader(e.export(t, tenantA)), e.pub())
			var xe *audit.ExportError
			if !errors.As(err, &xe) || xe.Line != 6 || xe.Seq != seqs[4] || !strings.Contains(xe.Msg, "seal mismatch") {
				t.Fatalf("got %v, want a seal mismatch at line 6 (seq %d)", err, seqs[4])
			}
			if _, err := audit.VerifyExport(bytes.NewReader(e.export(t, tenantB)), e.pub()); err != nil {
				t.Errorf("B's untouched chain: %v", err)
			}
		})
	}
}

// fuzzKey signs the fuzz corpus's checkpoints.
func fuzzKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("strongroom audit export fuzz key"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// fuzzExport is a small genuine export, the same bytes on every run: fixed
// event times, checkpoint times and key on a new SQLite store.
func fuzzExport(t testing.TB) []byte {
	t.Helper()
	st := testkit.OpenSQLiteStore(t)
	ctx := context.Background()
	at := time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)
	clock := func() time.Time { return at }
	s, err := audit.NewSequencer(audit.Config{Store: st, Signer: fuzzKey(), Holder: "fuzz", Now: clock, CheckpointInterval: time.Hour,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e := strongroom.NewAuditEvent(&strongroom.Principal{Kind: strongroom.PrincipalUser, UserID: "u1", IP: "198.51.100.7",
			DeviceType: "desktop", RequestID: "req-" + strconv.Itoa(i)}, tenantA, "record.create", "record", "r"+strconv.Itoa(i), strongroom.ResultSuccess)
		e.Time, e.Metadata = at.Add(time.Duration(i)*time.Second), json.RawMessage(`{"n":`+strconv.Itoa(i)+`}`)
		if err := st.Write(ctx, store.TenantScope(tenantA), func(tx *store.Tx) error { return tx.AppendAudit(ctx, &e) }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Tick(ctx); err != nil { // SQLite seals at once
			t.Fatal(err)
		}
		if i != 1 {
			if _, err := s.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	plan, err := audit.PlanExport(ctx, st, tenantA, []ed25519.PublicKey{fuzzKey().Public().(ed25519.PublicKey)}, at)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := audit.Export(ctx, &b, st, plan); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func fuzzSeeds(t testing.TB) map[string][]byte {
	g := fuzzExport(t)
	l := splitLines(g)
	return map[string][]byte{
		"genuine":        g,
		"empty":          {},
		"header-only":    l[0],
		"truncated":      g[:len(g)-30],
		"no-checkpoint":  joinLines(l[:len(l)-1]),
		"swapped":        joinLines([][]byte{l[0], l[2], l[1], l[3], l[4], l[5]}),
		"unknown-type":   joinLines([][]byte{l[0], []byte(`{"type":"note"}`), l[1]}),
		"crlf":           bytes.ReplaceAll(g, []byte("\n"), []byte("\r\n")),
		"event-as-first": joinLines(l[1:]),
	}
}

// TestExportFuzzSeeds keeps the committed corpus of FuzzVerifyExport true to
// the writer: the genuine seed is what Export writes today and verifies (run
// with -update to rewrite the corpus after a deliberate format change).
func TestExportFuzzSeeds(t *testing.T) {
	seeds := fuzzSeeds(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzVerifyExport")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := audit.VerifyExport(bytes.NewReader(seeds["genuine"]), fuzzKey().Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("the genuine seed does not verify: %v", err)
	}
	committed, err := os.ReadFile(filepath.Join(dir, "genuine"))
	if err != nil {
		t.Fatalf("the committed corpus (run with -update): %v", err)
	}
	if want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(seeds["genuine"]))); string(committed) != want {
		t.Errorf("the committed genuine seed is not what Export writes now: run go test ./audit -run TestExportFuzzSeeds -update")
	}
}

// FuzzVerifyExport: export files come from outside (a customer's copy, a
// download, an attacker); VerifyExport never panics, fails with an
// *ExportError naming a line, and whatever it accepts is a well-formed
// export: every line ends in a newline, the counts match its lines, and it
// ends with a checkpoint.
func FuzzVerifyExport(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\n"))
	pub := fuzzKey().Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		sum, err := audit.VerifyExport(bytes.NewReader(b), pub)
		if err != nil {
			var xe *audit.ExportError
			if !errors.As(err, &xe) || xe.Msg == "" {
				t.Fatalf("error %v is not an ExportError", err)
			}
			if n := bytes.Count(b, []byte("\n")) + 1; xe.Line > n {
				t.Fatalf("error names line %d of a file of %d lines: %v", xe.Line, n, err)
			}
			return
		}
		lines := splitLines(b)
		var events, cps int64
		for _, l := range lines {
			switch {
			case bytes.HasPrefix(l, []byte(`{"type":"event",`)):
				events++
			case bytes.HasPrefix(l, []byte(`{"type":"checkpoint",`)):
				cps++
			}
		}
		if !bytes.HasSuffix(b, []byte("\n")) || sum.Lines != len(lines) || sum.Events != events || sum.Checkpoints != cps {
			t.Fatalf("accepted %q as %+v", b, sum)
		}
		if events > 0 && !bytes.HasPrefix(lines[len(lines)-1], []byte(`{"type":"checkpoint",`)) {
			t.Fatalf("accepted an export that does not end with a checkpoint: %q", b)
		}
	})
}
