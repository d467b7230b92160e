package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"strongroom.dev/strongroom/internal/testkit"
)

func TestMetricsConfig(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "metrics.token")
	tests := []struct {
		name string
		args []string
		want string // "" for success
	}{
		{"off", nil, ""},
		{"loopback", []string{"--metrics-addr", "127.0.0.1:9090"}, ""},
		{"loopback v6", []string{"--metrics-addr", "[::1]:9090"}, ""},
		{"localhost", []string{"--metrics-addr", "localhost:0"}, ""},
		{"every interface", []string{"--metrics-addr", ":9090"}, "metrics-addr :9090 is reachable from other machines: give metrics-token-file"},
		{"every IPv4 interface", []string{"--metrics-addr", "0.0.0.0:9090"}, "must not be open to the network"},
		{"a LAN address", []string{"--metrics-addr", "10.1.2.3:9090"}, "metrics-token-file"},
		{"a host name", []string{"--metrics-addr", "metrics.internal:9090"}, "metrics-token-file"},
		{"off loopback with a token", []string{"--metrics-addr", "0.0.0.0:9090", "--metrics-token-file", tok}, ""},
		{"token without listener", []string{"--metrics-token-file", tok}, "metrics-token-file needs metrics-addr"},
		{"not host:port", []string{"--metrics-addr", "9090"}, "flag metrics-addr: must be host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			_, err := loadConfig(fs, tt.args, func(string) string { return "" })
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestReadMetricsToken(t *testing.T) {
	dir := t.TempDir()
	good := strings.Repeat("a1B2", 10)
	tests := []struct {
		name, content string
		mode          os.FileMode
		want          string // "" for success
	}{
		{"good", good + "\n", 0o600, ""},
		{"owner read only", good, 0o400, ""},
		{"group readable", good, 0o640, "readable by group or others"},
		{"world writable", good, 0o602, "writable by group or others"},
		{"short", "tooshort", 0o600, "fewer than 32"},
		{"space inside", good + " " + good, 0o600, "printable ASCII without spaces"},
		{"empty", "\n", 0o600, "fewer than 32"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "tok"+string(rune('a'+i)))
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := readMetricsToken(p)
			switch {
			case tt.want == "" && (err != nil || string(got) != good):
				t.Fatalf("readMetricsToken = %q, %v", got, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// syncBuffer collects a server's log output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLines decodes JSON log output, one object a line, failing on any other
// line.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a log line is not JSON: %v: %s", err, sc.Text())
		}
		lines = append(lines, m)
	}
	return lines
}

// metricSeries is a scraped family's series as "name=value,…" (labels
// sorted) → value; a histogram's value is its sample count.
func metricSeries(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[name].GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(ls)
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		out[strings.Join(ls, ",")] = v
	}
	return out
}

// TestServeMetricsAndLogs runs `serve` with JSON logs and the metrics
// listener behind a token, signs up and in, and requests many unknown paths:
// /metrics needs the token and serves nothing else; the counters moved; the
// unknown paths are one "unmatched" series; every log line is JSON, every
// request line has its request id, and the log holds no password, token or
// e-mail address.
func TestServeMetricsAndLogs(t *testing.T) {
	dir := t.TempDir()
	metricsToken := "mt-" + strings.Repeat("0123456789", 4)
	tokFile := filepath.Join(dir, "metrics.token")
	if err := os.WriteFile(tokFile, []byte(metricsToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	url, stop := serveWithLogs(t, &logs, "--data-dir", filepath.Join(dir, "data"), "--log-format", "json", "--log-level", "info",
		"--metrics-addr", "127.0.0.1:0", "--metrics-token-file", tokFile)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	var murl string
	for _, l := range logLines(t, logs.String()) {
		if l["msg"] == "metrics listener started" {
			murl = "http://" + l["addr"].(string)
			if l["token_required"] != true {
				t.Errorf("metrics listener log: %v", l)
			}
		}
	}
	if murl == "" {
		t.Fatalf("no metrics listener in the log:\n%s", logs.String())
	}

	get := func(u, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		path, auth string
		want       int
	}{
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", "Bearer wrong-" + metricsToken, http.StatusUnauthorized},
		{"/", "Bearer " + metricsToken, http.StatusNotFound},
		{"/api/v1/me", "Bearer " + metricsToken, http.StatusNotFound},
		{"/debug/pprof/", "Bearer " + metricsToken, http.StatusNotFound},
		{"/metrics", "Bearer " + metricsToken, http.StatusOK},
	} {
		if got, body := get(murl+c.path, c.auth); got != c.want {
			t.Errorf("metrics listener GET %s (%q): %d, want %d: %.200s", c.path, c.auth, got, c.want, body)
		}
	}
	if got, _ := get(url+"/metrics", "Bearer "+metricsToken); got != http.StatusNotFound {
		t.Errorf("the API listener serves /metrics: %d", got)
	}

	const email, password = "operations.person@example.com", "a passphrase only the test knows 4711"
	acct := postCreated(t, url, "/api/v1/signup", "", map[string]string{"email": email, "password": password, "organization": "Ops Org"})
	signIn := func(pw string) (int, map[string]any) {
		b, _ := json.Marshal(map[string]string{"email": email, "password": pw})
		resp, err := http.Post(url+"/api/v1/auth/password", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	if code, _ := signIn(password + " but wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	code, grant := signIn(password)
	if code != http.StatusOK {
		t.Fatalf("sign-in: %d %v", code, grant)
	}
	req, _ := http.NewRequest("GET", url+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+grant["token"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	meID := resp.Header.Get("X-Request-Id")
	var fragments []string
	for i := range 40 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		frag := hex.EncodeToString(b[:])
		fragments = append(fragments, frag)
		path := "/r/" + frag
		if i%2 == 1 {
			path = "/api/v1/" + frag
		}
		if got, _ := get(url+path, ""); got != http.StatusNotFound {
			t.Fatalf("GET %s: %d", path, got)
		}
	}

	scrape := func() map[string]*dto.MetricFamily {
		t.Helper()
		code, body := get(murl+"/metrics", "Bearer "+metricsToken)
		if code != http.StatusOK {
			t.Fatalf("scrape: %d", code)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("parsing the exposition: %v", err)
		}
		return fams
	}
	// The sequencer seals and checkpoints within a round or two.
	var fams map[string]*dto.MetricFamily
	testkit.WaitFor(t, 20*time.Second, func() bool {
		fams = scrape()
		jobs := metricSeries(fams, "background_job_runs_total")
		return jobs["job=audit_seal,result=ok"] > 0 && jobs["job=audit_checkpoint,result=ok"] > 0 &&
			metricSeries(fams, "audit_seal_lag_events")[""] == 0
	})
	reqs := metricSeries(fams, "http_requests_total")
	for series, want := range map[string]float64{
		"method=POST,route=/api/v1/signup,status_class=2xx":        1,
		"method=POST,route=/api/v1/auth/password,status_class=4xx": 1,
		"method=POST,route=/api/v1/auth/password,status_class=2xx": 1,
		"method=GET,route=/api/v1/me,status_class=2xx":             1,
		"method=GET,route=unmatched,status_class=4xx":              41, // the random paths and /metrics on the API listener
	} {
		if reqs[series] != want {
			t.Errorf("http_requests_total{%s} = %v, want %v", series, reqs[series], want)
		}
	}
	unmatched := 0
	for series := range reqs {
		if strings.Contains(series, "route=unmatched") {
			unmatched++
		}
		for _, f := range fragments {
			if strings.Contains(series, f) {
				t.Fatalf("a raw path became a label: %s", series)
			}
		}
	}
	if unmatched != 1 || len(reqs) > 10 {
		t.Errorf("%d unmatched series, %d in all: %v", unmatched, len(reqs), reqs)
	}
	if got := metricSeries(fams, "http_request_duration_seconds")["method=GET,route=unmatched"]; got < 40 {
		t.Errorf("unmatched request durations: %v", got)
	}
	if diff := metricSeries(fams, "signin_attempts_total"); diff["method=password,result=failure"] != 1 ||
		diff["method=password,result=success"] != 1 || len(diff) != 2 {
		t.Errorf("signin_attempts_total: %v", diff)
	}
	if n := metricSeries(fams, "audit_append_duration_seconds")[""]; n < 3 {
		t.Errorf("audit appends observed: %v, want the sign-up's and both sign-ins'", n)
	}
	if held := metricSeries(fams, "audit_sequencer_lease_held")[""]; held != 1 {
		t.Errorf("audit_sequencer_lease_held = %v", held)
	}
	if _, ok := fams["audit_seal_lag_seconds"]; !ok {
		t.Error("no audit_seal_lag_seconds")
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s", name)
		}
	}

	stop()
	stopped = true
	out := logs.String()
	secrets := map[string]string{"password": password, "e-mail address": email, "sign-up token": acct["token"].(string),
		"session token": grant["token"].(string), "metrics token": metricsToken}
	for what, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log holds the %s", what)
		}
	}
	if m := regexp.MustCompile(`sr[skclpi]_[A-Za-z0-9_-]{6,}`).FindString(out); m != "" {
		t.Errorf("the log holds a token: %s", m)
	}
	requestLines, sawMe := 0, false
	idRE := regexp.MustCompile(`^[0-9a-f]{24}$`)
	for _, l := range logLines(t, out) {
		if l["msg"] != "request" {
			continue
		}
		requestLines++
		id, _ := l["request_id"].(string)
		if !idRE.MatchString(id) {
			t.Errorf("a request line without a request id: %v", l)
		}
		if id == meID && l["route"] == "GET /api/v1/me" && l["status"] == 200.0 {
			sawMe = true
		}
	}
	if requestLines < 45 || !sawMe {
		t.Errorf("%d request lines; the GET /api/v1/me line (id %s) found: %v", requestLines, meID, sawMe)
	}
}

// TestServeRefusesOpenMetricsToken: a token file others may read stops serve
// before it opens anything.
func TestServeRefusesOpenMetricsToken(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "metrics.token")
	if err := os.WriteFile(tokFile, []byte(strings.Repeat("x", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tokFile, 0o644); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
		"--metrics-addr", "127.0.0.1:0", "--metrics-token-file", tokFile}, io.Discard, &errb)
	if code != 1 || !strings.Contains(errb.String(), "readable by group or others") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("serve created the data folder before refusing: %v", err)
	}
}
