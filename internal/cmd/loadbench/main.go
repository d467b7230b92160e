// Command loadbench measures Strongroom's HTTP throughput as a ratio to a bare
// net/http handler measured on the same machine in the same run, the way the
// performance targets in DESIGN.md are stated, and prints the result as a
// Markdown table (see docs/benchmarks.md).
//
// It starts two servers on 127.0.0.1:0 in this process: a bare handler that
// writes a small fixed JSON body, and the real stack wired as `strongroom
// serve` wires it (embedded SQLite in a temporary folder, argon2id, service,
// httpapi with the web console). It signs up, creates a collection and a
// record, then drives each target with a closed-loop load generator: -c
// workers share one http.Client and each sends its next request as soon as the
// previous answer has been read. Every phase has a warm-up that is not
// measured. Each round measures the bare handler and then one target back to
// back; the table shows medians over the rounds.
//
// Everything is bounded: each phase by its duration, the run by -deadline (or
// Ctrl-C), every request by a timeout, and the client dials 127.0.0.1 only. Any
// non-2xx answer or transport error is counted and makes the exit status 1.
//
// Usage:
//
//	go run ./internal/cmd/loadbench [-c 32] [-d 5s] [-rounds 3] [-out FILE]
//	    [-cpuprofile FILE] [-memprofile FILE] [-blockprofile FILE] [-mutexprofile FILE] [-profile TARGET]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
	"strongroom.dev/strongroom/web"
)

// config holds the flags.
type config struct {
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	deadline    time.Duration
	out         string
	cpuprofile  string
	// memprofile, blockprofile and mutexprofile are written after the same
	// extra phase as cpuprofile; profileTarget names its target.
	memprofile    string
	blockprofile  string
	mutexprofile  string
	profileTarget string
}

// profiling reports whether any profile was asked for.
func (c *config) profiling() bool {
	return c.cpuprofile != "" || c.memprofile != "" || c.blockprofile != "" || c.mutexprofile != ""
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	var c config
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.concurrency, "c", 32, "concurrent closed-loop workers (1 to 1024)")
	fs.DurationVar(&c.duration, "d", 5*time.Second, "measured duration of each phase")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured warm-up before each phase")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds; each measures the bare handler and then one target, back to back (1 to 99)")
	fs.DurationVar(&c.deadline, "deadline", 0, "stop everything after this long (0: enough for the phases plus a minute)")
	fs.StringVar(&c.out, "out", "", "also write the Markdown table to this file")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "after the rounds, run one more phase of the -profile target with the CPU profile written to this file")
	fs.StringVar(&c.memprofile, "memprofile", "", "write the allocation profile after the profiled phase to this file, and the one before it to FILE.before (go tool pprof -sample_index=alloc_space -diff_base FILE.before FILE)")
	fs.StringVar(&c.blockprofile, "blockprofile", "", "write where goroutines blocked during the profiled phase to this file (every blocking event)")
	fs.StringVar(&c.mutexprofile, "mutexprofile", "", "write mutex contention during the profiled phase to this file (every event)")
	fs.StringVar(&c.profileTarget, "profile", targetGet, "the target of the profiled phase: "+strings.Join(quoted(targetNames), ", "))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: loadbench [flags]

Measures Strongroom's request throughput and latency against a bare net/http
handler in the same process and run, on 127.0.0.1 only, and prints a Markdown
table with the ratios. Phases: bare handler GET (the baseline), authenticated
record GET, authenticated record POST (a new record each time).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case c.concurrency < 1 || c.concurrency > 1024:
		return nil, errors.New("-c must be from 1 to 1024")
	case c.duration < 100*time.Millisecond:
		return nil, errors.New("-d must be at least 100ms")
	case c.warmup < 0:
		return nil, errors.New("-warmup must not be negative")
	case c.rounds < 1 || c.rounds > 99:
		return nil, errors.New("-rounds must be from 1 to 99")
	case c.deadline < 0:
		return nil, errors.New("-deadline must not be negative")
	case !slices.Contains(targetNames, c.profileTarget):
		return nil, fmt.Errorf("-profile must be one of %s", strings.Join(quoted(targetNames), ", "))
	}
	if c.deadline == 0 {
		phases := time.Duration(c.rounds*2*len(targetNames) + 1)
		c.deadline = phases*(c.warmup+c.duration)*3/2 + time.Minute
	}
	return &c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.deadline)
	defer cancel()
	rep, err := bench(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 1
	}
	table := rep.markdown()
	fmt.Fprint(stdout, table)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(table), 0o644); err != nil {
			fmt.Fprintf(stderr, "loadbench: writing the table: %v\n", err)
			return 1
		}
	}
	if rep.errors > 0 {
		fmt.Fprintf(stderr, "loadbench: %d requests failed (non-2xx or transport error); first: %s\n", rep.errors, rep.firstErr)
		return 1
	}
	return 0
}

// The targets, in the order they are measured and reported.
const (
	targetGet          = "record GET"
	targetGetUnaudited = "record GET, unaudited"
	targetPost         = "record POST"
)

var targetNames = []string{targetGet, targetGetUnaudited, targetPost}

// bench sets up both servers, runs the rounds and returns the report.
func bench(ctx context.Context, cfg *config, stderr io.Writer) (*report, error) {
	log := slog.New(slog.NewMultiHandler(
		// The access log is formatted as in production, then dropped: writing
		// one line per request to a terminal would measure the terminal.
		slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}),
		slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}),
	))

	bare, err := startServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	}), log)
	if err != nil {
		return nil, fmt.Errorf("starting the bare handler: %w", err)
	}
	defer bare.stop()

	dir, err := os.MkdirTemp("", "strongroom-loadbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	app, closeApp, err := startStrongroom(ctx, dir, log, false)
	if err != nil {
		return nil, fmt.Errorf("starting Strongroom: %w", err)
	}
	defer closeApp()
	// The same stack with record reads not audited, for the cost of auditing
	// them (the ratio of the two GET rows).
	dir2 := filepath.Join(dir, "unaudited")
	if err := os.Mkdir(dir2, 0o700); err != nil {
		return nil, err
	}
	app2, closeApp2, err := startStrongroom(ctx, dir2, log, true)
	if err != nil {
		return nil, fmt.Errorf("starting Strongroom: %w", err)
	}
	defer closeApp2()

	client := newClient(cfg.concurrency)
	defer client.CloseIdleConnections()
	fx, err := setup(ctx, client, app.url)
	if err != nil {
		return nil, fmt.Errorf("setting up: %w", err)
	}
	fx2, err := setup(ctx, client, app2.url)
	if err != nil {
		return nil, fmt.Errorf("setting up: %w", err)
	}

	var seq atomic.Int64
	targets := map[string]target{
		"bare": func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, bare.url+"/", nil)
		},
		targetGet: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fx.recordURL, nil)
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+fx.token)
			}
			return req, err
		},
		targetGetUnaudited: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fx2.recordURL, nil)
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+fx2.token)
			}
			return req, err
		},
		targetPost: func(ctx context.Context) (*http.Request, error) {
			n := seq.Add(1)
			body := fmt.Appendf(nil, `{"data":{"email":"user%d@example.com","n":%d}}`, n, n)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, fx.recordsURL, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+fx.token)
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		},
	}

	rep := &report{cfg: cfg, machine: machineInfo()}
	phase := func(name string) (stats, error) {
		fmt.Fprintf(stderr, "loadbench: %-12s ", name)
		s, err := runPhase(ctx, client, targets[name], cfg.concurrency, cfg.warmup, cfg.duration)
		if err != nil {
			fmt.Fprintln(stderr, "stopped")
			return s, err
		}
		fmt.Fprintf(stderr, "%8.0f req/s  p50 %-8s p99 %-8s CPU/req %-8s errors %d\n", s.rps, ms(s.p50), ms(s.p99), us(s.cpuPerReq), s.errors)
		rep.errors += s.errors
		if rep.firstErr == "" {
			rep.firstErr = s.firstErr
		}
		return s, nil
	}
	for round := range cfg.rounds {
		for _, name := range targetNames {
			fmt.Fprintf(stderr, "loadbench: round %d/%d, %s\n", round+1, cfg.rounds, name)
			b, err := phase("bare")
			if err != nil {
				return nil, err
			}
			t, err := phase(name)
			if err != nil {
				return nil, err
			}
			rep.add(name, b, t)
		}
	}
	if cfg.profiling() {
		if err := profile(cfg, func() error { _, err := phase(cfg.profileTarget); return err }); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "loadbench: profiles of one %s phase (server and load generator) written\n", cfg.profileTarget)
	}
	return rep, nil
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}

// profile runs fn with the profiles cfg asks for: the CPU profile during fn,
// and the allocation, block and mutex profiles of what happened during fn
// (sampled at every event; the alloc profile at the runtime's default rate).
func profile(cfg *config, fn func() error) (err error) {
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
	}
	if cfg.blockprofile != "" {
		runtime.SetBlockProfileRate(1)
		defer runtime.SetBlockProfileRate(0)
	}
	if cfg.mutexprofile != "" {
		runtime.SetMutexProfileFraction(1)
		defer runtime.SetMutexProfileFraction(0)
	}
	// The allocation profile counts from the start of the process: the one
	// written before the phase is the base to subtract (pprof -diff_base).
	if cfg.memprofile != "" {
		if err := writeProfile("allocs", cfg.memprofile+".before"); err != nil {
			return err
		}
	}
	if err := fn(); err != nil {
		return err
	}
	for _, p := range []struct{ name, path string }{
		{"allocs", cfg.memprofile}, {"block", cfg.blockprofile}, {"mutex", cfg.mutexprofile},
	} {
		if p.path == "" {
			continue
		}
		if err := writeProfile(p.name, p.path); err != nil {
			return err
		}
	}
	return nil
}

func writeProfile(name, path string) error {
	if name == "allocs" {
		runtime.GC() // the allocation profile is as of the last completed collection
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("writing the %s profile: %w", name, err)
	}
	return f.Close()
}

// server is a running http.Server on 127.0.0.1.
type server struct {
	url  string
	srv  *http.Server
	done chan struct{}
}

// startServer serves h on 127.0.0.1:0 with the timeouts `strongroom serve` sets.
func startServer(h http.Handler, log *slog.Logger) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{
		url: "http://" + ln.Addr().String(),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after stop
	}()
	return s, nil
}

// stop shuts the server down, waiting at most 5 seconds for requests in flight.
func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

// startStrongroom starts the real stack on an embedded store in dir, wired as
// cmd/strongroom/serve.go wires it.
func startStrongroom(ctx context.Context, dir string, log *slog.Logger, unauditedReads bool) (*server, func(), error) {
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "strongroom.db"), Logger: log})
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	hasher, err := authn.NewHasher(authn.DefaultParams)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	kek, _, err := keyring.CreateKeyFile(filepath.Join(dir, "master.key"), nil)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	keys := keyring.New(kek, nil, st, keyring.Options{})
	// The benchmark's one client session sends far more than a session's
	// default API rate; the limiter still runs on every request.
	svc, err := service.New(service.Config{Store: st, Keyring: keys, Hasher: hasher, Logger: log,
		Limits:         service.Limits{APIRate: 1e9, APIBurst: 1e9, AuthPerIPRate: 1e6, AuthPerIPBurst: 1e6},
		UnauditedReads: unauditedReads})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	api, err := httpapi.New(svc, log, httpapi.Options{Version: "loadbench"}, web.New(svc, log))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	// The audit sequencer seals every event into its chain as `serve` has it do
	// (the default intervals, checkpoint copies in a folder): sealing the read
	// events is part of what auditing reads costs.
	signer, err := keys.SigningKey(ctx)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("audit signing key: %w", err)
	}
	folder, err := audit.OpenFolder(filepath.Join(dir, "checkpoints"))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	seq, err := audit.NewSequencer(audit.Config{Store: st, Signer: signer, Folder: folder, Logger: log})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	sctx, cancelSeq := context.WithCancel(context.WithoutCancel(ctx))
	seqDone := make(chan struct{})
	go func() { seq.Run(sctx); close(seqDone) }()
	srv, err := startServer(api, log)
	if err != nil {
		cancelSeq()
		<-seqDone
		st.Close()
		return nil, nil, err
	}
	return srv, func() { srv.stop(); cancelSeq(); <-seqDone; st.Close() }, nil
}

// newClient returns the one client all workers share: keep-alive connections
// for every worker, no proxy, no redirects, and a dialer that refuses any
// address but 127.0.0.1.
func newClient(concurrency int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
					return nil, fmt.Errorf("loadbench connects to 127.0.0.1 only, not %q", addr)
				}
				return d.DialContext(ctx, network, addr)
			},
			MaxIdleConns:          4 * concurrency,
			MaxIdleConnsPerHost:   concurrency,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
			DisableCompression:    true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// fixture is what setup created.
type fixture struct {
	token      string
	recordsURL string
	recordURL  string
}

// setup signs up, creates the collection "bench" with one searchable field,
// and creates one record.
func setup(ctx context.Context, client *http.Client, base string) (*fixture, error) {
	var signup struct {
		Token        string `json:"token"`
		Organization struct {
			ID string `json:"id"`
		} `json:"organization"`
	}
	err := call(ctx, client, http.MethodPost, base+"/api/v1/signup", "", map[string]string{
		"email": "loadbench@example.com", "password": "correct horse battery staple 42", "organization": "Benchmark Org",
	}, http.StatusCreated, &signup)
	if err != nil {
		return nil, err
	}
	org := base + "/api/v1/orgs/" + signup.Organization.ID
	coll := map[string]any{
		"name": "bench",
		"schema": map[string]any{
			"type":                 "object",
			"required":             []string{"email"},
			"additionalProperties": false,
			"properties": map[string]any{
				"email": map[string]any{"type": "string", "maxLength": 254},
				"n":     map[string]any{"type": "integer"},
			},
		},
		"searchable": []string{"email"},
	}
	if err := call(ctx, client, http.MethodPost, org+"/collections", signup.Token, coll, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	fx := &fixture{token: signup.Token, recordsURL: org + "/collections/bench/records"}
	var rec struct {
		ID string `json:"id"`
	}
	body := map[string]any{"data": map[string]any{"email": "first@example.com", "n": 0}}
	if err := call(ctx, client, http.MethodPost, fx.recordsURL, fx.token, body, http.StatusCreated, &rec); err != nil {
		return nil, err
	}
	fx.recordURL = fx.recordsURL + "/" + rec.ID
	if err := call(ctx, client, http.MethodGet, fx.recordURL, fx.token, nil, http.StatusOK, nil); err != nil {
		return nil, err
	}
	return fx, nil
}

// call sends one JSON request and decodes the answer into out (if not nil).
func call(ctx context.Context, client *http.Client, method, url, token string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, req.URL.Path, resp.StatusCode, want, snippet(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, req.URL.Path, err)
		}
	}
	return nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// target makes the next request of a phase.
type target func(ctx context.Context) (*http.Request, error)

// stats is one measured phase.
type stats struct {
	requests int // measured requests that succeeded
	errors   int // failed requests, warm-up included
	firstErr string
	rps      float64
	p50, p99 time.Duration
	// cpuPerReq is the CPU time of the whole process (servers and load
	// generator) per request over the phase, warm-up included; zero where
	// the operating system does not tell (see processCPU).
	cpuPerReq time.Duration
}

// runPhase runs concurrency closed-loop workers against tg for warmup+dur and
// measures the requests that start after the warm-up. Every worker stops by
// itself at the end of the phase; a request still in flight then is bounded by
// the client's timeout and the phase context.
func runPhase(ctx context.Context, client *http.Client, tg target, concurrency int, warmup, dur time.Duration) (stats, error) {
	cpu0, cpuOK := processCPU()
	start := time.Now()
	from := start.Add(warmup)
	end := from.Add(dur)
	pctx, cancel := context.WithDeadline(ctx, end.Add(20*time.Second))
	defer cancel()

	type workerOut struct {
		lat      []time.Duration
		last     time.Time
		done     int // requests that succeeded, warm-up included
		errors   int
		firstErr string
	}
	outs := make([]workerOut, concurrency)
	var wg sync.WaitGroup
	for w := range outs {
		o := &outs[w]
		wg.Go(func() {
			o.lat = make([]time.Duration, 0, 1<<14)
			for {
				t0 := time.Now()
				if !t0.Before(end) || pctx.Err() != nil {
					return
				}
				err := do(pctx, client, tg)
				t1 := time.Now()
				if err != nil {
					if pctx.Err() != nil {
						return // the run was stopped; reported below
					}
					o.errors++
					if o.firstErr == "" {
						o.firstErr = err.Error()
					}
					continue
				}
				o.done++
				if !t0.Before(from) {
					o.lat = append(o.lat, t1.Sub(t0))
					o.last = t1
				}
			}
		})
	}
	wg.Wait()
	cpu1, cpuOK1 := processCPU()
	if err := ctx.Err(); err != nil {
		return stats{}, fmt.Errorf("stopped: %w", context.Cause(ctx))
	}

	var s stats
	var lat []time.Duration
	done := 0
	last := from
	for _, o := range outs {
		done += o.done
		lat = append(lat, o.lat...)
		if o.last.After(last) {
			last = o.last
		}
		s.errors += o.errors
		if s.firstErr == "" {
			s.firstErr = o.firstErr
		}
	}
	if cpuOK && cpuOK1 && done > 0 {
		s.cpuPerReq = (cpu1 - cpu0) / time.Duration(done)
	}
	s.requests = len(lat)
	if s.requests == 0 {
		return s, nil
	}
	s.rps = float64(s.requests) / last.Sub(from).Seconds()
	slices.Sort(lat)
	s.p50, s.p99 = percentile(lat, 50), percentile(lat, 99)
	return s, nil
}

// do sends one request and reads the whole answer. A non-2xx answer is an
// error naming the status and the start of the body.
func do(ctx context.Context, client *http.Client, tg target) error {
	req, err := tg(ctx)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, snippet(b))
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// processCPU returns the CPU time (user and system) this process has used so
// far, from /proc/self/stat on Linux; elsewhere it reports false.
func processCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may contain spaces; the fields after its
	// closing parenthesis start with field 3, so utime and stime (fields 14
	// and 15) are the 12th and 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const userHZ = 100 // the unit of /proc times on Linux (USER_HZ)
	return time.Duration(utime+stime) * time.Second / userHZ, true
}

// percentile returns the nearest-rank percentile p of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100 // ceil(n·p/100)
	return sorted[max(i, 1)-1]
}

// pair is one round of a target: the baseline measured just before it, and
// the target.
type pair struct{ base, target stats }

// report collects the rounds.
type report struct {
	cfg      *config
	machine  string
	pairs    map[string][]pair
	errors   int
	firstErr string
}

func (r *report) add(name string, base, target stats) {
	if r.pairs == nil {
		r.pairs = map[string][]pair{}
	}
	r.pairs[name] = append(r.pairs[name], pair{base, target})
}

// markdown renders the report. Each row shows the median over the rounds of
// req/s, p50 and p99; a target's ratio is the median of its per-round ratios
// to the baseline measured just before it.
func (r *report) markdown() string {
	var b strings.Builder
	c := r.cfg
	fmt.Fprintf(&b, "Machine: %s\n\n", r.machine)
	fmt.Fprintf(&b, "Load: %d closed-loop workers sharing one keep-alive http.Client, in the same process as both servers, over 127.0.0.1; "+
		"each phase %s warm-up + %s measured; rounds: %d, each target right after its own baseline; medians over the rounds.\n\n",
		c.concurrency, c.warmup, c.duration, c.rounds)
	b.WriteString("| Endpoint | req/s | p50 | p99 | × bare handler | CPU/req |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|\n")
	var bases []stats
	for _, name := range targetNames {
		for _, p := range r.pairs[name] {
			bases = append(bases, p.base)
		}
	}
	base := medianStats(bases)
	fmt.Fprintf(&b, "| bare net/http handler, GET (baseline) | %s | %s | %s | 1.00 | %s |\n", count(base.rps), ms(base.p50), ms(base.p99), us(base.cpuPerReq))
	labels := map[string]string{
		targetGet:          "record GET (Bearer session, authorized, read audited durably)",
		targetGetUnaudited: "record GET, the read not audited (same stack; for the cost of auditing)",
		targetPost:         "record POST (new record, durable, audited)",
	}
	for _, name := range targetNames {
		ps := r.pairs[name]
		var ts []stats
		var ratios []float64
		for _, p := range ps {
			ts = append(ts, p.target)
			ratios = append(ratios, safeRatio(p.target.rps, p.base.rps))
		}
		t := medianStats(ts)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f | %s |\n", labels[name], count(t.rps), ms(t.p50), ms(t.p99), median(ratios), us(t.cpuPerReq))
	}

	b.WriteString("\nRounds (req/s, baseline → target, ratio):\n\n")
	b.WriteString("| Round |")
	for _, name := range targetNames {
		fmt.Fprintf(&b, " %s |", name)
	}
	b.WriteString("\n|--:|")
	for range targetNames {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for i := range c.rounds {
		fmt.Fprintf(&b, "| %d |", i+1)
		for _, name := range targetNames {
			if i >= len(r.pairs[name]) {
				b.WriteString(" |")
				continue
			}
			p := r.pairs[name][i]
			fmt.Fprintf(&b, " %s → %s (%.2f) |", count(p.base.rps), count(p.target.rps), safeRatio(p.target.rps, p.base.rps))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nCPU/req is the CPU time (user + system) of the whole process — both servers and the load generator — per request, warm-up included. " +
		"It depends less than req/s on how many cores a shared machine gives at the moment, but it is not immune to it.\n")
	fmt.Fprintf(&b, "\nFailed requests (non-2xx or transport errors): %d\n", r.errors)
	return b.String()
}

func medianStats(ss []stats) stats {
	var rps []float64
	var p50, p99, cpu []time.Duration
	for _, s := range ss {
		rps = append(rps, s.rps)
		p50 = append(p50, s.p50)
		p99 = append(p99, s.p99)
		cpu = append(cpu, s.cpuPerReq)
	}
	return stats{rps: median(rps), p50: median(p50), p99: median(p99), cpuPerReq: median(cpu)}
}

// median returns the median of xs (the mean of the middle two for an even
// count), or zero for none.
func median[T float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func safeRatio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func count(rps float64) string {
	n := int64(rps + 0.5)
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// us formats a CPU time per request in microseconds; "n/a" when unknown.
func us(d time.Duration) string {
	if d == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// machineInfo describes where the numbers come from.
func machineInfo() string {
	s := fmt.Sprintf("%s/%s, runtime.NumCPU %d, GOMAXPROCS %d, %s", runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	if m := cpuModel(); m != "" {
		s += ", CPU " + m
	}
	return s
}

// cpuModel reads the CPU model name on Linux, or returns "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
