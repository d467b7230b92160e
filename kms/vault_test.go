package kms_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"go/build"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/kms"
)

// Environment variables for the Vault tests.
const (
	// requireVaultEnv set to "1" turns a missing Vault binary into a failure.
	requireVaultEnv = "STRONGROOM_REQUIRE_VAULT"
	// vaultBinEnv names the Vault or OpenBao binary: a path or a name on PATH.
	vaultBinEnv = "STRONGROOM_VAULT_BIN"
)

const (
	// vaultLifetime bounds the dev server's life: it is killed after it
	// even if cleanup never runs.
	vaultLifetime = 5 * time.Minute
	// vaultStartTimeout bounds the wait for the server to answer.
	vaultStartTimeout = 60 * time.Second
)

// vaultBinary finds the server binary: STRONGROOM_VAULT_BIN, then bao or
// vault on PATH, then vault in the repository's bin/ or $GOPATH/bin, where
// scripts/install-vault.sh puts it. Without one the test is skipped, or fails when
// STRONGROOM_REQUIRE_VAULT=1.
func vaultBinary(t *testing.T) string {
	t.Helper()
	if name := os.Getenv(vaultBinEnv); name != "" {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s=%s: %v", vaultBinEnv, name, err)
		}
		return path
	}
	for _, name := range []string{"bao", "vault"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	// The places scripts/install-vault.sh installs to: the repository's
	// bin/ (tests run in the package folder) and $GOPATH/bin.
	candidates := []string{filepath.Join("..", "bin", "vault")}
	if gopath := build.Default.GOPATH; gopath != "" {
		candidates = append(candidates, filepath.Join(filepath.SplitList(gopath)[0], "bin", "vault"))
	}
	for _, path := range candidates {
		if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			abs, err := filepath.Abs(path)
			if err != nil {
				t.Fatalf("resolving %s: %v", path, err)
			}
			return abs
		}
	}
	testkit.SkipOrFail(t, requireVaultEnv,
		"no Vault or OpenBao binary: set %s, put bao or vault on PATH, or run scripts/install-vault.sh", vaultBinEnv)
	return ""
}

// vaultServer is a Vault dev server for one test.
type vaultServer struct {
	addr  string // http://127.0.0.1:PORT
	token string // root token
}

// startVault starts a Vault (or OpenBao) dev server on a free loopback port,
// mounts the transit engine and creates the keys strongroom-kek and
// strongroom-other in it, and points the kms package at it through
// VAULT_SERVER_URL and VAULT_SERVER_TOKEN. The server is killed when the test
// ends, or after vaultLifetime.
func startVault(t *testing.T) *vaultServer {
	t.Helper()
	bin := vaultBinary(t)
	token := "strongroom-test-" + rand.Text()
	listen := closedAddr(t) // free a moment ago

	ctx, cancel := context.WithTimeout(context.Background(), vaultLifetime)
	cmd := exec.CommandContext(ctx, bin, "server", "-dev",
		"-dev-root-token-id="+token, "-dev-listen-address="+listen, "-dev-no-store-token")
	// A clean environment: none of the developer's VAULT_* settings, and a
	// HOME of its own so nothing is written to the real one.
	home := t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + home}
	cmd.Dir = home
	logs := &syncBuffer{}
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cancel() // kills the process
		<-exited
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), logs.String())
		}
	})

	v := &vaultServer{addr: "http://" + listen, token: token}
	t.Logf("Vault dev server %s at %s", bin, v.addr)
	if err := v.waitReady(exited); err != nil {
		t.Fatalf("waiting for %s dev server at %s: %v", filepath.Base(bin), v.addr, err)
	}
	v.request(t, http.MethodPost, "/v1/sys/mounts/transit", `{"type":"transit"}`)
	v.request(t, http.MethodPost, "/v1/transit/keys/strongroom-kek", `{"type":"aes256-gcm96"}`)
	v.request(t, http.MethodPost, "/v1/transit/keys/strongroom-other", `{"type":"aes256-gcm96"}`)

	t.Setenv(kms.EnvVaultServerURL, v.addr)
	t.Setenv(kms.EnvVaultServerToken, token)
	for _, name := range []string{kms.EnvVaultAddr, kms.EnvVaultToken, "VAULT_AGENT_ADDR", "VAULT_NAMESPACE", "VAULT_CACERT", "VAULT_CAPATH"} {
		t.Setenv(name, "")
	}
	return v
}

// waitReady polls the health endpoint until the server is unsealed and
// active, it exits, or vaultStartTimeout passes.
func (v *vaultServer) waitReady(exited <-chan struct{}) error {
	deadline := time.NewTimer(vaultStartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		resp, err := client.Get(v.addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("health: %s", resp.Status)
		}
		last = err
		select {
		case <-exited:
			return fmt.Errorf("server exited (last error: %v)", last)
		case <-deadline.C:
			return fmt.Errorf("not ready after %v (last error: %v)", vaultStartTimeout, last)
		case <-tick.C:
		}
	}
}

// request sends an API request with the root token and fails the test unless
// it succeeds.
func (v *vaultServer) request(t *testing.T, method, path, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, v.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("X-Vault-Token", v.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
}

func TestVaultTransit(t *testing.T) {
	v := startVault(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	k := openKeeper(t, "hashivault://strongroom-kek")
	if got, want := k.ID(), "kms:hashivault://strongroom-kek"; got != want {
		t.Errorf("ID() = %q, want %q", got, want)
	}
	if strings.Contains(k.ID(), v.token) {
		t.Errorf("ID() %q holds the Vault token", k.ID())
	}

	key := make([]byte, 32)
	rand.Read(key)
	wrapped, err := k.Wrap(ctx, key)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	if !bytes.HasPrefix(wrapped, []byte("vault:v1:")) {
		t.Errorf("wrapped key %q lacks Vault's vault:v1: prefix", wrapped)
	}
	leaks := [][]byte{key, []byte(hex.EncodeToString(key)), []byte(base64.StdEncoding.EncodeToString(key))}
	for _, leak := range leaks {
		if bytes.Contains(wrapped, leak) {
			t.Fatal("the wrapped key contains the plaintext key")
		}
	}
	again, err := k.Wrap(ctx, key)
	if err != nil {
		t.Fatalf("second Wrap: %v", err)
	}
	if bytes.Equal(again, wrapped) {
		t.Error("two Wraps of one key gave the same ciphertext")
	}

	for name, w := range map[string][]byte{"first": wrapped, "second": again} {
		got, err := k.Unwrap(ctx, w)
		if err != nil {
			t.Fatalf("Unwrap of the %s wrapping: %v", name, err)
		}
		if !bytes.Equal(got, key) {
			t.Fatalf("Unwrap of the %s wrapping returned another key", name)
		}
	}

	// checkErr fails the test unless err is an error that holds neither the
	// key nor the token.
	checkErr := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s succeeded, want an error", what)
			return
		}
		t.Logf("%s: %v", what, err)
		for _, leak := range append(leaks, []byte(v.token)) {
			if strings.Contains(err.Error(), string(leak)) {
				t.Errorf("%s error holds a secret: %v", what, err)
			}
		}
	}

	// checkAuthFailed checks that err is the AEAD's refusal, not some other
	// failure such as a missing key or a malformed request.
	checkAuthFailed := func(what string, err error) {
		t.Helper()
		checkErr(what, err)
		if err != nil && !strings.Contains(err.Error(), "message authentication failed") {
			t.Errorf("%s failed, but not on authentication: %v", what, err)
		}
	}

	t.Run("tampered", func(t *testing.T) {
		for name, w := range tamperings(t, wrapped) {
			_, err := k.Unwrap(ctx, w)
			if strings.HasPrefix(name, "flipped") {
				checkAuthFailed("Unwrap of "+name, err)
			} else {
				checkErr("Unwrap of "+name, err)
			}
		}
	})

	t.Run("other key", func(t *testing.T) {
		other := openKeeper(t, "hashivault://strongroom-other")
		_, err := other.Unwrap(ctx, wrapped)
		checkAuthFailed("Unwrap with another key", err)
		missing := openKeeper(t, "hashivault://strongroom-missing")
		_, err = missing.Unwrap(ctx, wrapped)
		checkErr("Unwrap with a key that does not exist", err)
	})

	t.Run("other engine", func(t *testing.T) {
		v.request(t, http.MethodPost, "/v1/sys/mounts/strongroom-transit", `{"type":"transit"}`)
		v.request(t, http.MethodPost, "/v1/strongroom-transit/keys/strongroom-kek", `{}`)
		k2 := openKeeper(t, "hashivault://strongroom-kek?engine=strongroom-transit")
		if got, want := k2.ID(), "kms:hashivault://strongroom-kek?engine=strongroom-transit"; got != want {
			t.Errorf("ID() = %q, want %q", got, want)
		}
		w2, err := k2.Wrap(ctx, key)
		if err != nil {
			t.Fatalf("Wrap: %v", err)
		}
		if got, err := k2.Unwrap(ctx, w2); err != nil || !bytes.Equal(got, key) {
			t.Fatalf("Unwrap in the same engine: %v", err)
		}
		// Same key name, another mount: another key.
		_, err = k.Unwrap(ctx, w2)
		checkAuthFailed("Unwrap with the same key name in another engine", err)
	})

	t.Run("keyring-sized plaintext", func(t *testing.T) {
		// The keyring wraps a binding (label, tenant, kind, version) and the
		// 32-byte key: about 100 bytes.
		p := append([]byte("strongroom tenant key v1\x00"+rand.Text()+rand.Text()+"\x00data\x00\x00\x00\x00\x01"), key...)
		w, err := k.Wrap(ctx, p)
		if err != nil {
			t.Fatalf("Wrap of %d bytes: %v", len(p), err)
		}
		if got, err := k.Unwrap(ctx, w); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("Unwrap of %d bytes: %v", len(p), err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				dk := make([]byte, 32)
				rand.Read(dk)
				w, err := k.Wrap(ctx, dk)
				if err != nil {
					t.Errorf("Wrap: %v", err)
					return
				}
				got, err := k.Unwrap(ctx, w)
				if err != nil || !bytes.Equal(got, dk) {
					t.Errorf("Unwrap: %v", err)
				}
			})
		}
		wg.Wait()
	})

	t.Run("wrong token", func(t *testing.T) {
		t.Setenv(kms.EnvVaultServerToken, "strongroom-wrong-"+rand.Text())
		bad := openKeeper(t, "hashivault://strongroom-kek")
		_, err := bad.Wrap(ctx, key)
		checkErr("Wrap with a wrong token", err)
		_, err = bad.Unwrap(ctx, wrapped)
		checkErr("Unwrap with a wrong token", err)
	})
}

// tamperings returns altered copies of a Vault ciphertext
// ("vault:v1:" + base64(nonce ‖ ciphertext ‖ tag)).
func tamperings(t *testing.T, wrapped []byte) map[string][]byte {
	t.Helper()
	prefix, payload, ok := bytes.Cut(wrapped, []byte("v1:"))
	if !ok {
		t.Fatalf("unexpected ciphertext format %q", wrapped)
	}
	raw, err := base64.StdEncoding.DecodeString(string(payload))
	if err != nil {
		t.Fatalf("decoding ciphertext: %v", err)
	}
	reencode := func(b []byte) []byte {
		return []byte(string(prefix) + "v1:" + base64.StdEncoding.EncodeToString(b))
	}
	flip := func(i int) []byte {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return reencode(b)
	}
	return map[string][]byte{
		"flipped nonce bit":      flip(0),
		"flipped ciphertext bit": flip(len(raw) / 2),
		"flipped tag bit":        flip(len(raw) - 1),
		"truncated":              reencode(raw[:len(raw)-1]),
		"extended":               reencode(append(bytes.Clone(raw), 0)),
		"other key version":      []byte(string(prefix) + "v2:" + string(payload)),
		"not base64":             []byte(string(prefix) + "v1:" + "!!!!"),
		"no prefix":              payload,
	}
}

func openKeeper(t *testing.T, url string) *kms.Keeper {
	t.Helper()
	k, err := kms.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return k
}

// syncBuffer is a bytes.Buffer safe for the writes of a subprocess's two
// output streams.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
