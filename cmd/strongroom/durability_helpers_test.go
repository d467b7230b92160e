//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file runs the real strongroom binary as a child process, for tests that
// need what an in-process run cannot give: a process killed with SIGKILL.

// buildBinary builds this package's binary into a temporary folder with the go
// command on PATH (without -race: the child need not be instrumented).
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the strongroom binary needs the go command on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "strongroom")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// childEnv is the test's environment without any STRONGROOM_ setting, plus
// extra ("NAME=value"): the child sees only the configuration the test gives.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STRONGROOM_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// tailBuffer keeps the last bytes a child wrote, for the failure report.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 32 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailBytes {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-tailBytes:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// serveProcess is `strongroom serve` running as a child process in its own
// process group.
type serveProcess struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{} // closed when the process has been reaped
	err    error         // Wait's result; read after exited is closed
	stderr *tailBuffer
}

var servingAt = regexp.MustCompile(`running at (https?://127\.0\.0\.1:\d+)`)

// startServeProcess starts `bin serve` on 127.0.0.1:0 with args and env, and
// returns once /healthz answers. The process group is killed when the test
// ends, whatever happened; the server's log is shown if the test failed.
func startServeProcess(t *testing.T, bin string, env []string, args ...string) *serveProcess {
	t.Helper()
	p := &serveProcess{exited: make(chan struct{}), stderr: &tailBuffer{}}
	p.cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Our own pipe rather than StdoutPipe: Wait may then run while the banner
	// is still being read.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = w
	if err := p.cmd.Start(); err != nil {
		r.Close()
		w.Close()
		t.Fatalf("starting serve: %v", err)
	}
	w.Close()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.killGroup()
		if t.Failed() {
			t.Logf("serve (pid %d) stderr:\n%s", p.cmd.Process.Pid, p.stderr)
		}
	})
	urls := make(chan string, 1)
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := servingAt.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case p.url = <-urls:
	case <-p.exited:
		t.Fatalf("serve exited before serving (%v):\n%s", p.err, p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve printed no address within 30s:\n%s", p.stderr)
	}
	resp, err := http.Get(p.url + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	return p
}

// killGroup sends SIGKILL to the process group (unless the process was
// already reaped, when the group id may belong to someone else) and waits for
// the process.
func (p *serveProcess) killGroup() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

// kill9 kills the server with SIGKILL: no shutdown, no last seal, no flush.
func (p *serveProcess) kill9(t *testing.T) {
	t.Helper()
	p.killGroup()
	select {
	case <-p.exited:
	default:
		t.Fatal("serve survived SIGKILL for 10s")
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		t.Fatalf("serve after SIGKILL: %v, want killed by the signal", p.err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("serve after SIGKILL: %v, want killed by the signal", p.err)
	}
}

// stop shuts the server down with SIGTERM and expects exit status 0.
func (p *serveProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signalling serve: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of SIGTERM")
	}
	if p.err != nil {
		t.Fatalf("serve after SIGTERM: %v", p.err)
	}
}

// runBinary runs bin with args and env and returns its exit code and output.
func runBinary(t *testing.T, bin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("running %s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, errb.String())
	}
	return code, out.String(), errb.String()
}

// apiClient speaks JSON to a running server.
type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient(base string, conns int) *apiClient {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second}
	return &apiClient{base: base, http: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

// do sends a request with a JSON body (nil for none) and a bearer token ("" for
// none) and returns the status and the body. err is a transport error: the
// request may or may not have reached the server, and no answer came back.
func (c *apiClient) do(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, b, nil
}

// create sends a POST that must answer 201 and returns the decoded answer.
func (c *apiClient) create(t *testing.T, path, token string, body any) map[string]any {
	t.Helper()
	status, b, err := c.do(context.Background(), http.MethodPost, path, token, body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil || status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, status, b)
	}
	return v
}
