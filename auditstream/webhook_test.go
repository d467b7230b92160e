package auditstream_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/auditstream"
	"strongroom.dev/strongroom/internal/testkit"
)

var secret = []byte("0f1e2d3c4b5a69788796a5b4c3d2e1f0")

func newWebhook(t *testing.T, url string, key []byte, rt http.RoundTripper) *auditstream.Webhook {
	t.Helper()
	w, err := auditstream.NewWebhook(auditstream.WebhookConfig{URL: url, Secret: key, Timeout: 5 * time.Second, Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWebhook streams to a real HTTP server on 127.0.0.1 that checks every
// signature and refuses the first attempts.
func TestWebhook(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			e.add(t, 20)
			rcv := newReceiver(secret, 2, http.StatusServiceUnavailable)
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			wh := newWebhook(t, srv.URL+"/in?token=kept-out-of-logs", secret, nil)
			e.streamer(t, "one", wh)

			testkit.WaitFor(t, 20*time.Second, func() bool { return len(rcv.seqs()) == 20 })
			e.add(t, 5) // events sealed after the sink caught up follow
			testkit.WaitFor(t, 20*time.Second, func() bool { return len(rcv.seqs()) == 25 })
			seqs := e.seqs()
			wantSeqs(t, "received", seqs, rcv.seqs())
			testkit.WaitFor(t, 10*time.Second, func() bool { return e.cursor(t, wh.Name()) == seqs[len(seqs)-1] })
			rcv.check(t)

			// What arrived is the stored events with their seals.
			page, err := e.st.SealedAuditEvents(t.Context(), 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]auditstream.Event, len(page.Events))
			for i := range page.Events {
				want[i] = auditstream.NewEvent(&page.Events[i])
			}
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			if d := cmp.Diff(want, rcv.events); d != "" {
				t.Errorf("events received (-want +got):\n%s", d)
			}
			if rcv.requests < 2+4 { // two refused, then at least 25/7 batches
				t.Errorf("%d requests, want at least 6", rcv.requests)
			}
		})
	}
}

// TestWebhookRefusals: a receiver that refuses the events — a client error,
// or a signature it cannot check — gets them again and again, with an error
// logged; nothing is skipped and the cursor stays.
func TestWebhookRefusals(t *testing.T) {
	tests := []struct {
		name   string
		key    []byte // the receiver's secret
		fail   int
		status int
		level  slog.Level
	}{
		{"bad request, then accepted", secret, 3, http.StatusBadRequest, slog.LevelError},
		{"too many requests, then accepted", secret, 3, http.StatusTooManyRequests, slog.LevelWarn},
		{"another secret: never accepted", []byte("another secret of 32 characters."), 0, 0, slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "sqlite")
			e.add(t, 5)
			rcv := newReceiver(tt.key, tt.fail, tt.status)
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			wh := newWebhook(t, srv.URL, secret, nil)
			logs := &records{}
			s, err := auditstream.New(auditstream.Config{Store: e.st, Sinks: []auditstream.Sink{wh}, Logger: slog.New(logs),
				LeaseTTL: time.Second, PollInterval: 10 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { s.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })

			testkit.WaitFor(t, 10*time.Second, func() bool {
				rcv.mu.Lock()
				defer rcv.mu.Unlock()
				return rcv.requests > max(tt.fail, 3)
			})
			if !logs.has(tt.level, "audit stream: ") {
				t.Errorf("no %v logged for the refusals; logged: %v", tt.level, logs.messages())
			}
			if tt.fail == 0 {
				if n := e.cursor(t, wh.Name()); n != 0 {
					t.Errorf("cursor = %d after the receiver refused every request, want 0", n)
				}
				if got := rcv.seqs(); len(got) != 0 {
					t.Errorf("received %v", got)
				}
				return
			}
			testkit.WaitFor(t, 10*time.Second, func() bool { return len(rcv.seqs()) == 5 })
			wantSeqs(t, "received", e.seqs(), rcv.seqs())
		})
	}
}

func TestCheckWebhookURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://siem.example.com/strongroom", true},
		{"https://siem.example.com:8443/in?channel=audit", true},
		{"http://127.0.0.1:8088/services/collector", true},
		{"http://[::1]:9000/", true},
		{"http://localhost:9000/", true},
		{"http://siem.example.com/in", false},
		{"http://10.0.0.5/in", false},
		{"https://user:pass@siem.example.com/in", false},
		{"https://siem.example.com/in#frag", false},
		{"ftp://siem.example.com/in", false},
		{"siem.example.com/in", false},
		{"", false},
	}
	for _, tt := range tests {
		if err := auditstream.CheckWebhookURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("CheckWebhookURL(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

func TestWebhookName(t *testing.T) {
	a := newWebhook(t, "https://siem.example.com/in?token=s3cret", secret, nil)
	b := newWebhook(t, "https://siem.example.com/in?token=other", secret, nil)
	c := newWebhook(t, "https://siem.example.com/in", secret, nil)
	if strings.Contains(a.Name(), "s3cret") || !strings.HasPrefix(a.Name(), "webhook:https://siem.example.com/in?sha256:") {
		t.Errorf("Name() = %q: want the URL with its query hashed", a.Name())
	}
	if a.Name() == b.Name() || c.Name() != "webhook:https://siem.example.com/in" {
		t.Errorf("names %q, %q, %q: want one per destination", a.Name(), b.Name(), c.Name())
	}
	if _, err := auditstream.NewWebhook(auditstream.WebhookConfig{URL: "https://siem.example.com/in", Secret: []byte("short")}); err == nil {
		t.Error("NewWebhook accepted a 5-byte secret")
	}
}

func TestSign(t *testing.T) {
	// HMAC-SHA256 under secret of "1700000000.{}", computed independently
	// (openssl dgst -sha256 -hmac, and Python's hmac module).
	const want = "056e2336eac854fca22d33f43b26813c894e3051cbb75b890ccd9595b58dbfe8"
	if got := auditstream.Sign(secret, "1700000000", []byte("{}")); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

// records is a slog handler that keeps what is logged.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) has(level slog.Level, prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		if rec.Level == level && strings.HasPrefix(rec.Message, prefix) {
			return true
		}
	}
	return false
}

func (r *records) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		out = append(out, rec.Level.String()+" "+rec.Message)
	}
	return out
}
