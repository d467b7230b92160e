package auditstream_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditstream"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestEventJSON pins the documented form of an event (docs/audit-log.md).
func TestEventJSON(t *testing.T) {
	e := store.SealedAuditEvent{
		AuditEvent: strongroom.AuditEvent{
			TenantID: tenantA, Seq: 812, Time: time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
			ActorType: strongroom.PrincipalUser, ActorID: "0190f3a2-0000-7000-8000-000000000001", IP: "198.51.100.23",
			DeviceType: "desktop", Action: "record.create", TargetType: "record", TargetID: "r1",
			Result: strongroom.ResultSuccess, RequestID: "req-1", Metadata: json.RawMessage(`{"collection":"contracts"}`),
		},
		Hash: bytes.Repeat([]byte{0xab, 0xcd}, 16),
	}
	const want = `{"id":"abcdabcdabcdabcdabcdabcdabcdabcd","seq":812,"tenant":"0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11",` +
		`"hash":"abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd","time":"2025-03-14T15:09:26.535897Z",` +
		`"actor_type":"user","actor_id":"0190f3a2-0000-7000-8000-000000000001","ip":"198.51.100.23","device_type":"desktop",` +
		`"action":"record.create","target_type":"record","target_id":"r1","result":"success","reason":"","request_id":"req-1",` +
		`"metadata":{"collection":"contracts"}}`
	got, err := json.Marshal(auditstream.NewEvent(&e))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("event JSON\n got %s\nwant %s", got, want)
	}

	e.Metadata = json.RawMessage(`{"broken"`)
	if got := auditstream.NewEvent(&e).Metadata; string(got) != `"{\"broken\""` {
		t.Errorf("invalid stored metadata became %s, want it as a JSON string", got)
	}
	e.Metadata = nil
	if got := auditstream.NewEvent(&e).Metadata; string(got) != `{}` {
		t.Errorf("empty metadata became %s, want {}", got)
	}
}

func TestNew(t *testing.T) {
	st := testkit.OpenSQLiteStore(t)
	a, err := auditstream.OpenFile(filepath.Join(t.TempDir(), "a.jsonl"), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	tests := []struct {
		name string
		cfg  auditstream.Config
	}{
		{"no store", auditstream.Config{Sinks: []auditstream.Sink{a}}},
		{"no sink", auditstream.Config{Store: st}},
		{"one sink twice", auditstream.Config{Store: st, Sinks: []auditstream.Sink{a, a}}},
		{"batch too large", auditstream.Config{Store: st, Sinks: []auditstream.Sink{a}, BatchSize: auditstream.MaxBatch + 1}},
	}
	for _, tt := range tests {
		if _, err := auditstream.New(tt.cfg); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}

// TestRestart: a restarted streamer goes on from the stored cursor without
// losing an event; one that crashed between delivering and storing the cursor
// delivers some events again, which receivers drop by ID.
func TestRestart(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			e.add(t, 20)
			sink := openFileSink(t, path)
			_, stop := e.streamer(t, "first", sink)
			testkit.WaitFor(t, 20*time.Second, func() bool { return e.cursor(t, sink.Name()) == e.seqs()[19] })
			stop()
			sink.Close()

			e.add(t, 10) // while no streamer runs
			sink = openFileSink(t, path)
			_, stop = e.streamer(t, "second", sink)
			seqs := e.seqs()
			testkit.WaitFor(t, 20*time.Second, func() bool { return e.cursor(t, sink.Name()) == seqs[29] })
			stop()
			got, bad := readLines(t, path)
			wantSeqs(t, "after a restart", seqs, got)
			if len(bad) > 0 {
				t.Errorf("lines that are not events: %q", bad)
			}

			// A crash after the last 12 events were written but before the
			// cursor was stored: the cursor is still at the 18th.
			if _, err := e.raw.ExecContext(t.Context(), "UPDATE audit_stream_cursors SET seq = $1 WHERE sink = $2",
				seqs[17], sink.Name()); err != nil {
				t.Fatal(err)
			}
			e.add(t, 3)
			seqs = e.seqs()
			_, stop = e.streamer(t, "third", sink)
			testkit.WaitFor(t, 20*time.Second, func() bool { return e.cursor(t, sink.Name()) == seqs[32] })
			stop()
			got, _ = readLines(t, path)
			wantSeqs(t, "after a crash", slices.Concat(seqs[:30], seqs[18:]), got)
			ids := map[string]bool{}
			var once []int64
			for _, ev := range readEvents(t, path) {
				if !ids[ev.ID] {
					ids[ev.ID] = true
					once = append(once, ev.Seq)
				}
			}
			wantSeqs(t, "each ID once", seqs, once)
		})
	}
}

// TestLease: of two streamers, only the lease holder delivers; when it stops,
// the other goes on from the cursor, without loss or repetition.
func TestLease(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			e.add(t, 20)
			rcv := newReceiver(secret, 0, 0)
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			var sent [2]counter
			s1, stop1 := e.streamer(t, "one", newWebhook(t, srv.URL, secret, &sent[0]))
			s2, stop2 := e.streamer(t, "two", newWebhook(t, srv.URL, secret, &sent[1]))
			testkit.WaitFor(t, 20*time.Second, func() bool { return len(rcv.seqs()) == 20 })

			holder, _, err := e.st.LeaseHolder(t.Context(), auditstream.LeaseName)
			if err != nil {
				t.Fatal(err)
			}
			h, other, stopHolder := 0, 1, stop1
			switch holder {
			case s1.Holder():
			case s2.Holder():
				h, other, stopHolder = 1, 0, stop2
			default:
				t.Fatalf("the lease is held by %q", holder)
			}
			if sent[h].n.Load() == 0 || sent[other].n.Load() != 0 {
				t.Fatalf("requests sent: holder %d, other %d; want only the holder's", sent[h].n.Load(), sent[other].n.Load())
			}

			stopHolder()
			e.add(t, 10)
			testkit.WaitFor(t, 20*time.Second, func() bool { return len(rcv.seqs()) == 30 })
			if sent[other].n.Load() == 0 {
				t.Error("the other streamer did not take over")
			}
			wantSeqs(t, "received", e.seqs(), rcv.seqs())
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			if rcv.dups != 0 {
				t.Errorf("%d events were delivered twice across a clean handover", rcv.dups)
			}
			for _, p := range rcv.problems {
				t.Errorf("receiver: %s", p)
			}
		})
	}
}

// counter is an http.RoundTripper that counts the requests it sends.
type counter struct{ n atomic.Int64 }

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// readEvents returns the file's events in order, skipping lines that are not.
func readEvents(t *testing.T, path string) []auditstream.Event {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseEvents(b)
}

// parseEvents returns the JSON Lines' events, skipping lines that are not.
func parseEvents(b []byte) []auditstream.Event {
	var out []auditstream.Event
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		var e auditstream.Event
		if json.Unmarshal(line, &e) == nil {
			out = append(out, e)
		}
	}
	return out
}
