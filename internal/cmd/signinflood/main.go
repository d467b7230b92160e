// Command signinflood measures how real users' sign-ins fare while another
// process floods the server with bad sign-ins (IAM-13; DESIGN.md: "rejecting a
// rate-limited login costs < 50 µs, so a credential-stuffing flood does not
// starve real users (their p99 stays under 200 ms during a flood)").
//
// It starts the real stack in this process on 127.0.0.1 (embedded SQLite in a
// temporary folder, argon2id at the production parameters, the default rate
// limits and lockout), with 127.0.0.1 as a trusted proxy so that the
// X-Forwarded-For header gives each simulated client its own address. It
// signs up a few real users, each signing in from its own address, and
// measures their sign-ins twice for the same duration: first on a quiet
// server, then while a child process (this binary with -role flood) sends
// sign-ins with wrong passwords for random accounts from a handful of
// attacker addresses, at a bounded rate. It prints a Markdown table.
//
// Everything is bounded: the flood by its rate and duration, the run by
// -deadline, every request by a timeout; all traffic goes to 127.0.0.1.
//
// Usage:
//
//	go run ./internal/cmd/signinflood [-d 10s] [-rate 2000] [-attackers 8] [-users 8]
package main

import (
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
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

type config struct {
	role      string
	url       string
	duration  time.Duration
	rate      int
	attackers int
	users     int
	interval  time.Duration
	deadline  time.Duration
	cold      bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("signinflood", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.role, "role", "measure", "measure (default) or flood (the child process)")
	fs.StringVar(&c.url, "url", "", "flood: the server's base URL (http://127.0.0.1:PORT)")
	fs.DurationVar(&c.duration, "d", 10*time.Second, "duration of each phase (1s to 2m)")
	fs.IntVar(&c.rate, "rate", 2000, "flood: bad sign-ins per second (1 to 20000)")
	fs.IntVar(&c.attackers, "attackers", 8, "flood: distinct attacker addresses (1 to 250)")
	fs.IntVar(&c.users, "users", 8, "real users, each signing in from its own address (1 to 100)")
	fs.DurationVar(&c.interval, "interval", 100*time.Millisecond, "pause between two real sign-ins (round robin over the users)")
	fs.DurationVar(&c.deadline, "deadline", 5*time.Minute, "abort the whole run after this long")
	fs.BoolVar(&c.cold, "cold", false, "flood first, then the quiet phase: the users' networks have no recent sign-in when the flood starts")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case c.duration < time.Second || c.duration > 2*time.Minute,
		c.rate < 1 || c.rate > 20000, c.attackers < 1 || c.attackers > 250, c.users < 1 || c.users > 100,
		c.interval <= 0:
		fmt.Fprintln(stderr, "signinflood: a flag is out of range (see -h)")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, c.deadline)
	defer cancel()
	var err error
	if c.role == "flood" {
		err = flood(ctx, &c, stdout)
	} else {
		err = measure(ctx, &c, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "signinflood:", err)
		return 1
	}
	return 0
}

// client dials 127.0.0.1 only.
func client(conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
					return nil, fmt.Errorf("signinflood connects to 127.0.0.1 only, not %q", addr)
				}
				return d.DialContext(ctx, network, addr)
			},
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
		},
	}
}

// signIn posts one password sign-in from the address ip and returns the status.
func signIn(ctx context.Context, hc *http.Client, base, ip, email, password string) (int, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/auth/password", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// floodResult is what the child reports on stdout.
type floodResult struct {
	Sent     int64         `json:"sent"`
	ByStatus map[int]int64 `json:"by_status"`
	Errors   int64         `json:"errors"`
	Elapsed  time.Duration `json:"elapsed"`
}

// flood sends bad sign-ins at the configured rate for the duration.
func flood(ctx context.Context, c *config, stdout io.Writer) error {
	if !strings.HasPrefix(c.url, "http://127.0.0.1:") {
		return errors.New("flood: -url must be http://127.0.0.1:PORT")
	}
	const workers = 128
	hc := client(workers)
	tokens := make(chan int64, workers)
	var mu sync.Mutex
	res := floodResult{ByStatus: map[int]int64{}}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for n := range tokens {
				ip := fmt.Sprintf("203.0.113.%d", 1+n%int64(c.attackers))
				email := fmt.Sprintf("victim-%d@example.com", n)
				status, err := signIn(ctx, hc, c.url, ip, email, "wrong password, wrong account")
				mu.Lock()
				res.Sent++
				if err != nil {
					res.Errors++
				} else {
					res.ByStatus[status]++
				}
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(c.rate))
	defer tick.Stop()
	var n int64
	end := time.After(c.duration)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end:
			break loop
		case <-tick.C:
			select {
			case tokens <- n:
				n++
			default: // all workers busy: the offered rate is an upper bound
			}
		}
	}
	close(tokens)
	wg.Wait()
	res.Elapsed = time.Since(start)
	return json.NewEncoder(stdout).Encode(res)
}

type phase struct {
	latencies []time.Duration
	failures  map[int]int
	errors    int
}

// measure runs the server, the quiet phase and the flooded phase.
func measure(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "signinflood-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	base, stop, err := startServer(ctx, dir, log)
	if err != nil {
		return err
	}
	defer stop()
	hc := client(16)
	users := make([]string, c.users)
	for i := range users {
		users[i] = fmt.Sprintf("user-%d@example.com", i)
		body, _ := json.Marshal(map[string]string{"email": users[i], "password": "correct horse battery staple 42",
			"organization": fmt.Sprintf("Org %d", i)})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/signup", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", userIP(i))
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("signup: status %d", resp.StatusCode)
		}
	}
	var quiet *phase
	if !c.cold {
		if quiet, err = realSignIns(ctx, c, hc, base, users); err != nil {
			return err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	child := exec.CommandContext(ctx, exe, "-role", "flood", "-url", base, "-d", c.duration.String(),
		fmt.Sprintf("-rate=%d", c.rate), fmt.Sprintf("-attackers=%d", c.attackers))
	child.Stdout, child.Stderr = &out, stderr
	if err := child.Start(); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // let the flood reach its rate
	flooded, err := realSignIns(ctx, c, hc, base, users)
	if err != nil {
		return err
	}
	if err := child.Wait(); err != nil {
		return fmt.Errorf("flood process: %w", err)
	}
	if c.cold {
		if quiet, err = realSignIns(ctx, c, hc, base, users); err != nil {
			return err
		}
	}
	var fr floodResult
	if err := json.Unmarshal(out.Bytes(), &fr); err != nil {
		return fmt.Errorf("flood process output: %w", err)
	}
	report(stdout, c, quiet, flooded, fr)
	if len(quiet.failures)+len(flooded.failures)+quiet.errors+flooded.errors > 0 {
		return errors.New("some real sign-ins failed (see the table)")
	}
	return nil
}

func userIP(i int) string { return fmt.Sprintf("198.51.100.%d", 1+i) }

// realSignIns signs the users in, round robin, one every interval, for the
// phase's duration.
func realSignIns(ctx context.Context, c *config, hc *http.Client, base string, users []string) (*phase, error) {
	p := &phase{failures: map[int]int{}}
	end := time.Now().Add(c.duration)
	for i := 0; time.Now().Before(end); i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		u := i % len(users)
		t := time.Now()
		status, err := signIn(ctx, hc, base, userIP(u), users[u], "correct horse battery staple 42")
		switch {
		case err != nil:
			p.errors++
		case status != http.StatusOK:
			p.failures[status]++
		default:
			p.latencies = append(p.latencies, time.Since(t))
		}
		time.Sleep(c.interval)
	}
	slices.Sort(p.latencies)
	return p, nil
}

func startServer(ctx context.Context, dir string, log *slog.Logger) (string, func(), error) {
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "strongroom.db"), Logger: log})
	if err != nil {
		return "", nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return "", nil, err
	}
	hasher, err := authn.NewHasher(authn.DefaultParams)
	if err != nil {
		st.Close()
		return "", nil, err
	}
	kek, _, err := keyring.CreateKeyFile(filepath.Join(dir, "master.key"), nil)
	if err != nil {
		st.Close()
		return "", nil, err
	}
	outbox := mail.NewOutbox(mail.OutboxConfig{}, log)
	svc, err := service.New(service.Config{Store: st, Keyring: keyring.New(kek, nil, st, keyring.Options{}),
		Hasher: hasher, Logger: log, Mailer: outbox})
	if err != nil {
		st.Close()
		return "", nil, err
	}
	api, err := httpapi.New(svc, log, httpapi.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, nil)
	if err != nil {
		st.Close()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return "http://" + ln.Addr().String(), func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
		svc.WaitMail()
		st.Close()
	}, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func report(w io.Writer, c *config, quiet, flooded *phase, fr floodResult) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	order := "quiet phase first, so the users' networks have signed in lately when the flood starts"
	if c.cold {
		order = "flood first (-cold): the users' networks have no recent sign-in when it starts"
	}
	fmt.Fprintf(w, "Sign-ins of %d real users (one every %s, each from its own address), %s per phase, %s; %s, GOMAXPROCS=%d.\n\n",
		c.users, c.interval, c.duration, order, runtime.GOOS+"/"+runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "| phase | real sign-ins | failed | p50 | p99 | max |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, r := range []struct {
		name string
		p    *phase
	}{{"quiet", quiet}, {"during the flood", flooded}} {
		failed := r.p.errors
		for _, n := range r.p.failures {
			failed += n
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s |\n", r.name, len(r.p.latencies), failed,
			ms(pct(r.p.latencies, 50)), ms(pct(r.p.latencies, 99)), ms(pct(r.p.latencies, 100)))
	}
	rate := float64(fr.Sent) / fr.Elapsed.Seconds()
	fmt.Fprintf(w, "\nFlood (a separate process): %d bad sign-ins in %s (%.0f/s offered up to %d/s) from %d addresses: "+
		"%d answered 429 (rate limited, no password hash computed), %d answered 401 (hash computed), %d other, %d transport errors.\n",
		fr.Sent, fr.Elapsed.Round(time.Millisecond), rate, c.rate, c.attackers,
		fr.ByStatus[http.StatusTooManyRequests], fr.ByStatus[http.StatusUnauthorized],
		fr.Sent-fr.ByStatus[http.StatusTooManyRequests]-fr.ByStatus[http.StatusUnauthorized]-fr.Errors, fr.Errors)
}
