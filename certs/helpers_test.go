package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// certSpec describes a self-signed test certificate.
type certSpec struct {
	rsa       bool // RSA 2048 instead of ECDSA P-256
	rsaBits   int  // with rsa; default 2048
	cn        string
	notBefore time.Time // default an hour ago
	notAfter  time.Time // default in 90 days
}

type testCert struct {
	certPEM, keyPEM []byte
	leaf            *x509.Certificate
	tls             tls.Certificate
}

// newCert returns a self-signed certificate for "strongroom.test", localhost
// and 127.0.0.1.
func newCert(t testing.TB, spec certSpec) testCert {
	t.Helper()
	var key crypto.Signer
	var err error
	if spec.rsa {
		bits := spec.rsaBits
		if bits == 0 {
			bits = 2048
		}
		key, err = rsa.GenerateKey(rand.Reader, bits)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	if spec.cn == "" {
		spec.cn = "strongroom.test"
	}
	if spec.notBefore.IsZero() {
		spec.notBefore = time.Now().Add(-time.Hour)
	}
	if spec.notAfter.IsZero() {
		spec.notAfter = time.Now().Add(90 * 24 * time.Hour)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.cn},
		DNSNames:              []string{spec.cn, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	tc := testCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	tc.leaf, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	tc.tls = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: tc.leaf}
	return tc
}

// writeAtomic writes data to name through a rename, as an operator should.
func writeAtomic(t testing.TB, name string, data []byte, mode os.FileMode) {
	t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, mode); err != nil { // WriteFile's mode is filtered by the umask
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// writePair writes tc to cert.pem (0644) and key.pem (0600) in dir.
func writePair(t testing.TB, dir string, tc testCert) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeAtomic(t, certFile, tc.certPEM, 0o644)
	writeAtomic(t, keyFile, tc.keyPEM, 0o600)
	return certFile, keyFile
}

// listen listens on a random port of 127.0.0.1 until the test ends.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// port returns the port of ln.
func port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// serveTLS serves a tiny HTTP handler over TLS with cfg on 127.0.0.1 and
// returns the address.
func serveTLS(t testing.TB, cfg *tls.Config) string {
	t.Helper()
	ln := listen(t)
	serveHTTP(t, tls.NewListener(ln, cfg), nil)
	return ln.Addr().String()
}

// serveHTTP serves h (default: a tiny handler) on ln until the test ends.
func serveHTTP(t testing.TB, ln net.Listener, h http.Handler) {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("ok " + r.Proto))
		})
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       10 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.DiscardHandler, slog.LevelError),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
}

// handshake connects to addr with cfg and returns the connection state.
func handshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState(), nil
}

// servedLeaf returns the leaf certificate addr presents (not verified).
func servedLeaf(t testing.TB, addr, serverName string) *x509.Certificate {
	t.Helper()
	st, err := handshake(addr, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	return st.PeerCertificates[0]
}

// waitFor polls cond every 50ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testLog returns a logger writing to t.Log until the test ends (goroutines of
// autocert and Pebble outlive tests), and a buffer with everything logged.
func testLog(t testing.TB) (*slog.Logger, *logBuffer) {
	w := &logBuffer{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), w
}

type logBuffer struct {
	t    testing.TB
	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func (w *logBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.buf.Write(p)
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func (w *logBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// clock is a settable time for Now options.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// isHandshakeRefusal reports whether err is a failed TLS handshake rather than
// a failure to connect.
func isHandshakeRefusal(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return err != nil
}
