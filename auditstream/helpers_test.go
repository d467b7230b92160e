package auditstream_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/auditstream"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

const (
	tenantA strongroom.TenantID = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d11"
	tenantB strongroom.TenantID = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d22"
)

var engines = []string{"sqlite", "postgres"}

// env is one engine's store, a raw connection behind its back (the file on
// SQLite, the owner on PostgreSQL), and the real audit sequencer that seals
// what the tests append.
type env struct {
	st    *store.Store
	raw   *sql.DB
	seq   *audit.Sequencer
	mu    sync.Mutex
	added []strongroom.AuditEvent // every event appended, in seq order
}

func newEnv(t *testing.T, engine string) *env {
	t.Helper()
	st, raw, _ := testkit.OpenRaw(t, engine)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := audit.NewSequencer(audit.Config{Store: st, Signer: key, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, raw: raw, seq: seq}
}

// add appends n events, alternating between two tenants and the platform,
// each in its own transaction, and seals them.
func (e *env) add(t *testing.T, n int) {
	t.Helper()
	tenants := []strongroom.TenantID{tenantA, tenantB, strongroom.PlatformTenant}
	for i := range n {
		tenant := tenants[i%len(tenants)]
		ev := strongroom.NewAuditEvent(nil, tenant, "record.create", "record", fmt.Sprintf("r%d", i), strongroom.ResultSuccess)
		ev.Metadata = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
		if err := e.st.Write(t.Context(), store.TenantScope(tenant), func(tx *store.Tx) error {
			return tx.AppendAudit(t.Context(), &ev)
		}); err != nil {
			t.Fatal(err)
		}
		e.mu.Lock()
		e.added = append(e.added, ev)
		e.mu.Unlock()
	}
	last := e.seqs()[len(e.seqs())-1]
	testkit.WaitFor(t, 10*time.Second, func() bool {
		if _, err := e.seq.Tick(t.Context()); err != nil {
			t.Fatalf("sealing: %v", err)
		}
		p, err := e.st.SealedAuditEvents(t.Context(), last-1, 1)
		return err == nil && len(p.Events) == 1 && p.Events[0].Seq == last
	})
}

// seqs returns the seqs of every event added.
func (e *env) seqs() []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]int64, len(e.added))
	for i, ev := range e.added {
		out[i] = ev.Seq
	}
	return out
}

// cursor returns the stored cursor of a sink.
func (e *env) cursor(t *testing.T, sink string) int64 {
	t.Helper()
	n, err := e.st.AuditStreamCursor(t.Context(), sink)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// streamer returns a streamer with short intervals, run until the test ends
// or stop is called; stop waits for it to return.
func (e *env) streamer(t *testing.T, holder string, sinks ...auditstream.Sink) (s *auditstream.Streamer, stop func()) {
	t.Helper()
	s, err := auditstream.New(auditstream.Config{Store: e.st, Sinks: sinks, Logger: quietLog(), Holder: holder,
		LeaseTTL: 600 * time.Millisecond, PollInterval: 20 * time.Millisecond, BatchSize: 7,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return s, stop
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// receiver is a SIEM's endpoint as docs/audit-log.md tells one to write it:
// it checks the timestamp and the signature, and keeps each event once, by
// its ID. It answers the first fail requests with status.
type receiver struct {
	secret []byte
	fail   int
	status int

	mu       sync.Mutex
	requests int
	events   []auditstream.Event // each event once, in the order received
	seen     map[string]bool
	dups     int
	problems []string
}

func newReceiver(secret []byte, fail, status int) *receiver {
	return &receiver{secret: secret, fail: fail, status: status, seen: map[string]bool{}}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 10<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err != nil {
		r.problems = append(r.problems, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := verifyWebhook(r.secret, req.Header, body, time.Now()); err != nil {
		r.problems = append(r.problems, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.requests <= r.fail {
		w.WriteHeader(r.status)
		return
	}
	var batch struct {
		Events []auditstream.Event `json:"events"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		r.problems = append(r.problems, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ids []string
	for _, e := range batch.Events {
		ids = append(ids, e.ID)
		if r.seen[e.ID] {
			r.dups++
			continue
		}
		r.seen[e.ID] = true
		r.events = append(r.events, e)
	}
	if got := req.Header.Get(auditstream.HeaderEventIDs); got != strings.Join(ids, ",") {
		r.problems = append(r.problems, fmt.Sprintf("event IDs header %q does not list the body's %q", got, ids))
	}
	w.WriteHeader(http.StatusNoContent)
}

// seqs returns the seqs received, each once, in the order received.
func (r *receiver) seqs() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int64, len(r.events))
	for i, e := range r.events {
		out[i] = e.Seq
	}
	return out
}

func (r *receiver) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.problems {
		t.Errorf("receiver: %s", p)
	}
}

// verifyWebhook is the check of docs/audit-log.md ("Streaming to a SIEM"):
// keep the two in step.
func verifyWebhook(secret []byte, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Strongroom-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("missing timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp too far from now")
	}
	sig, ok := strings.CutPrefix(h.Get("X-Strongroom-Signature"), "v1=")
	got, err := hex.DecodeString(sig)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	if !ok || err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("bad signature")
	}
	return nil
}

// wantSeqs fails unless got holds exactly want, in order.
func wantSeqs(t *testing.T, what string, want, got []int64) {
	t.Helper()
	if !slices.Equal(want, got) {
		t.Errorf("%s: got seqs %v, want %v", what, got, want)
	}
}
