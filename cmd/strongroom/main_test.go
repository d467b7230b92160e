package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "strongroom.json")
	if err := os.WriteFile(file, []byte(`{"addr":"127.0.0.1:9001","data-dir":"/from-file","max-body-bytes":2048,"cors-origins":["https://a.example","https://b.example"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STRONGROOM_CONFIG": file, "STRONGROOM_DATA_DIR": "/from-env", "STRONGROOM_ADDR": "127.0.0.1:9002"}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, err := loadConfig(fs, []string{"--addr", "127.0.0.1:9003"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"addr": cfg.Addr, "data": cfg.DataDir, "body": cfg.MaxBodyBytes, "cors": cfg.CORSOrigins,
		"ttl": cfg.SessionTTL, "min": cfg.PasswordMinLength}
	want := map[string]any{"addr": "127.0.0.1:9003", "data": "/from-env", "body": int64(2048),
		"cors": []string{"https://a.example", "https://b.example"}, "ttl": 12 * time.Hour, "min": 15}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flags > env > file > defaults (-want +got):\n%s", diff)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.DataDir != "./strongroom-data" || cfg.Database != "" || cfg.MaxBodyBytes != 1<<20 {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestConfigRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad addr flag", []string{"--addr", "nocolon"}, nil, "flag addr"},
		{"mysql url", []string{"--database", "mysql://x"}, nil, "postgres://"},
		{"password in argv", []string{"--database", "postgres://app:secret@db/strongroom"}, nil, "STRONGROOM_DATABASE"},
		{"password floor", []string{"--password-min-length", "7"}, nil, "8 to 64"},
		{"tiny body", []string{"--max-body-bytes", "10"}, nil, "1024"},
		{"bad cors", []string{"--cors-origins", "app.example"}, nil, "CORS"},
		{"bad proxy", []string{"--trusted-proxies", "10.0.0.0/99"}, nil, "CIDR"},
		{"bad env", nil, map[string]string{"STRONGROOM_SESSION_TTL": "forever"}, "STRONGROOM_SESSION_TTL"},
		{"unknown file key", []string{"--config", write("u.json", `{"adress":"x"}`)}, nil, `unknown setting "adress"`},
		{"file not object", []string{"--config", write("a.json", `[1]`)}, nil, "not a JSON object"},
		{"file trailing", []string{"--config", write("t.json", `{} {}`)}, nil, "data after"},
		{"file bad value", []string{"--config", write("v.json", `{"addr":{"x":1}}`)}, nil, "must be a string"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.json")}, nil, "opening config file"},
		{"stray argument", []string{"extra"}, nil, "unexpected argument"},
		{"retention too often", []string{"--retention-interval", "1s"}, nil, "1m to 24h"},
		{"audit minimum negative", []string{"--audit-retention-min-days", "-1"}, nil, "0 to 36500"},
		{"dsr deadline", []string{"--dsr-deadline", "1h"}, nil, "24h to 2160h"},
		{"no return window", []string{"--termination-window", "0s"}, nil, "1h to 2160h"},
		{"bad window env", nil, map[string]string{"STRONGROOM_TERMINATION_WINDOW": "a month"}, "STRONGROOM_TERMINATION_WINDOW"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			_, err := loadConfig(fs, tt.args, func(k string) string { return tt.env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"serve", "migrate", "doctor", "version", "keys rotate", "keys rotate-master",
		"audit verify", "audit checkpoint", "audit public-key"} {
		t.Run(cmd, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), append(strings.Fields(cmd), "--help"), &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), "Usage: strongroom "+cmd) {
				t.Errorf("help lacks usage line: %s", errb.String())
			}
			if cmd != "version" && !strings.Contains(errb.String(), "STRONGROOM_DATA_DIR") {
				t.Errorf("help does not name the environment variables: %s", errb.String())
			}
		})
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"help"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "serve") {
		t.Errorf("help: exit %d, %s", code, out.String())
	}
	if code := run(context.Background(), []string{"bogus"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// startServe runs `serve` with args on 127.0.0.1:0 and returns its URL, the
// time from start to the first /healthz answer, and a stop function that
// shuts it down and checks its exit status.
func startServe(t *testing.T, args ...string) (string, time.Duration, func()) {
	t.Helper()
	start := time.Now()
	url, stop := serveWithLogs(t, io.Discard, append([]string{"--log-level", "error"}, args...)...)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	resp.Body.Close()
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		stop()
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	return url, elapsed, stop
}

// serveWithLogs runs `serve` with args on 127.0.0.1:0, its log output in logs,
// and returns its URL and a stop function that checks its exit status.
func serveWithLogs(t *testing.T, logs io.Writer, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), pw, logs)
		pw.Close()
	}()
	url := ""
	sc := bufio.NewScanner(pr)
	re := regexp.MustCompile(`running at (https?://127\.0\.0\.1:\d+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if url == "" {
		cancel()
		t.Fatalf("serve printed no address (exit %d)", <-done)
	}
	return url, func() {
		t.Helper()
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d after shutdown", code)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not shut down")
		}
	}
}

// TestServeStartsFast runs `serve` on the embedded default and expects /healthz
// to answer within a second of start, the data folder and the generated master
// key to be private, and a clean shutdown on cancel.
func TestServeStartsFast(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, elapsed, stop := startServe(t, "--data-dir", dir)
	t.Logf("healthz answered %v after start", elapsed)
	if elapsed > time.Second && os.Getenv("STRONGROOM_STRICT_TIMING") == "1" {
		t.Errorf("healthz answered after %v, want < 1s", elapsed)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "master.key"): 0o600,
		filepath.Join(dir, "strongroom.db"): 0o600, filepath.Join(dir, "keyring.db"): 0o600,
		filepath.Join(dir, "strongroom.db-wal"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", path, fi.Mode().Perm(), want)
		}
	}
	stop()
}

// TestKeysCommands: a record written by `serve` survives `keys rotate --all`
// and `keys rotate-master`, and reads back from a server that has only the new
// master key.
func TestKeysCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, _, stop := startServe(t, "--data-dir", dir)
	post := func(path, token string, body any) map[string]any { return postCreated(t, url, path, token, body) }
	acct := post("/api/v1/signup", "", map[string]string{"email": "keys@example.com", "password": "correct horse battery staple", "organization": "Keys Org"})
	token, org := acct["token"].(string), acct["organization"].(map[string]any)["id"].(string)
	post("/api/v1/orgs/"+org+"/collections", token, map[string]any{"name": "notes", "schema": map[string]any{"type": "object"}})
	rec := post("/api/v1/orgs/"+org+"/collections/notes/records", token, map[string]any{"data": map[string]string{"text": "keep me"}})
	stop()

	var out bytes.Buffer
	if code := run(context.Background(), []string{"keys", "rotate", "--all", "--data-dir", dir, "--log-level", "error"}, &out, io.Discard); code != 0 {
		t.Fatalf("keys rotate: exit %d: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "1 records resealed under version 2") {
		t.Errorf("keys rotate output: %s", out.String())
	}
	newKey := filepath.Join(t.TempDir(), "new.key")
	if _, _, err := keyring.CreateKeyFile(newKey, nil); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code := run(context.Background(), []string{"keys", "rotate-master", "--data-dir", dir, "--master-key-file", newKey,
		"--previous-master-key-file", filepath.Join(dir, "master.key"), "--log-level", "error"}, &out, io.Discard)
	// The organization's index key and two data-key versions, and the
	// platform's audit signing key.
	if code != 0 || !strings.Contains(out.String(), "re-wrapped 4 keys") {
		t.Fatalf("keys rotate-master: exit %d: %s", code, out.String())
	}
	url, _, stop = startServe(t, "--data-dir", dir, "--master-key-file", newKey)
	defer stop()
	req, _ := http.NewRequest("GET", url+"/api/v1/orgs/"+org+"/collections/notes/records/"+rec["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "keep me") {
		t.Fatalf("record after both rotations: %d %s", resp.StatusCode, body)
	}
}

func TestMigrateAndDoctorOnPostgres(t *testing.T) {
	db := testkit.NewPostgresDB(t)
	var out bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--database", db.OwnerURL, "--log-level", "error"}, &out, io.Discard); code != 0 {
		t.Fatalf("migrate exit %d", code)
	}
	if !strings.Contains(out.String(), "schema is current") {
		t.Errorf("migrate output: %s", out.String())
	}
	out.Reset()
	// Scale-out needs an explicit master key shared by the replicas.
	if code := run(context.Background(), []string{"doctor", "--database", db.AppURL}, &out, io.Discard); code != 1 || !strings.Contains(out.String(), "FAIL master key") {
		t.Fatalf("doctor without a master key: exit %d:\n%s", code, out.String())
	}
	key := filepath.Join(t.TempDir(), "master.key")
	if _, _, err := keyring.CreateKeyFile(key, nil); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"doctor", "--database", db.AppURL, "--master-key-file", key}, &out, io.Discard); code != 0 {
		t.Fatalf("doctor as the application role: exit %d:\n%s", code, out.String())
	}
	out.Reset()
	// The owner can disable row-level security: serving as it must be refused.
	if code := run(context.Background(), []string{"doctor", "--database", db.OwnerURL}, &out, io.Discard); code != 1 {
		t.Fatalf("doctor as the owner: exit %d, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "FAIL database role") {
		t.Errorf("doctor does not explain the unsafe role:\n%s", out.String())
	}
	if code := run(context.Background(), []string{"serve", "--database", db.OwnerURL, "--addr", "127.0.0.1:0", "--log-level", "error"}, io.Discard, io.Discard); code != 1 {
		t.Errorf("serve as the owner: exit %d, want 1 (refused)", code)
	}
}

func TestDoctorEmbedded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"doctor", "--data-dir", dir}, &out, io.Discard); code != 1 {
		t.Fatalf("doctor with a world-readable data folder: exit %d, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "chmod 700") {
		t.Errorf("doctor does not say how to fix the folder:\n%s", out.String())
	}
	if strings.Contains(out.String(), "restore leftovers") {
		t.Errorf("doctor reports restore leftovers in a folder without any:\n%s", out.String())
	}

	// A file an interrupted restore left beside the database is reported with
	// the command that removes it.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(dir, "strongroom.db.load-0123456789abcdef")
	if err := os.WriteFile(left, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"doctor", "--data-dir", dir}, &out, io.Discard); code != 1 {
		t.Fatalf("doctor with a restore leftover: exit %d, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "FAIL restore leftovers: "+left) || !strings.Contains(out.String(), "rm "+left) {
		t.Errorf("doctor does not report the restore leftover:\n%s", out.String())
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key (0600) into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "strongroom test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestServeTLS: with certificate files, serve speaks TLS 1.2+ only, sends HSTS,
// and its plain-HTTP port redirects to HTTPS.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	httpPort := freePort(t)
	url, _, stop := startServe(t, "--data-dir", filepath.Join(dir, "data"), "--tls-cert", cert, "--tls-key", key,
		"--http-addr", "127.0.0.1:"+httpPort, "--production")
	defer stop()
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("serve with TLS printed %s", url)
	}
	host := strings.TrimPrefix(url, "https://")
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		c, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
		if err == nil {
			c.Close()
			t.Errorf("TLS version %x accepted", v)
		}
	}
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("HSTS = %q", got)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("negotiated %+v", resp.TLS)
	}
	resp, err = client.Get("http://127.0.0.1:" + httpPort + "/healthz?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != url+"/healthz?x=1" {
		t.Errorf("plain HTTP: %d Location %q, want 301 to %s/healthz?x=1", resp.StatusCode, loc, url)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestProductionFailsClosed: production mode refuses plain HTTP.
func TestProductionFailsClosed(t *testing.T) {
	var errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--production", "--data-dir", t.TempDir()}, io.Discard, &errb)
	if code != 2 || !strings.Contains(errb.String(), "production mode refuses plain HTTP") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	errb.Reset()
	code = run(context.Background(), []string{"serve", "--tls-proxy", "--data-dir", t.TempDir()}, io.Discard, &errb)
	if code != 2 || !strings.Contains(errb.String(), "trusted-proxies") {
		t.Fatalf("tls-proxy without proxies: exit %d: %s", code, errb.String())
	}
}

func TestDoctorTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	var out bytes.Buffer
	if code := run(context.Background(), []string{"doctor", "--data-dir", filepath.Join(dir, "d"), "--tls-cert", cert, "--tls-key", key}, &out, io.Discard); code != 0 {
		t.Fatalf("doctor with TLS files: exit %d:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "ok   TLS: files; minimum TLS 1.2") || !strings.Contains(out.String(), "ok   certificate: CN=strongroom test") {
		t.Errorf("doctor TLS report:\n%s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"doctor", "--data-dir", filepath.Join(dir, "d"), "--addr", "0.0.0.0:8080"}, &out, io.Discard); code != 1 || !strings.Contains(out.String(), "FAIL TLS: plain HTTP on 0.0.0.0:8080") {
		t.Errorf("doctor with plain HTTP on all interfaces: exit %d:\n%s", code, out.String())
	}
}

// postCreated sends a JSON POST to a running serve and expects 201 Created.
func postCreated(t *testing.T, url, path, token string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d %v", path, resp.StatusCode, v)
	}
	return v
}
