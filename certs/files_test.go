package certs

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fileServer serves a FileSource with ServerTLSConfig on 127.0.0.1.
func fileServer(t *testing.T, fs *FileSource) string {
	t.Helper()
	cfg := ServerTLSConfig()
	cfg.GetCertificate = fs.GetCertificate
	return serveTLS(t, cfg)
}

func TestFileSourceReload(t *testing.T) {
	dir := t.TempDir()
	first := newCert(t, certSpec{})
	certFile, keyFile := writePair(t, dir, first)
	clk := newClock()
	log, logs := testLog(t)
	fs, err := NewFileSource(FileConfig{CertFile: certFile, KeyFile: keyFile, Logger: log, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	addr := fileServer(t, fs)
	if got := servedLeaf(t, addr, "strongroom.test"); !got.Equal(first.leaf) {
		t.Fatal("the loaded certificate is not served")
	}

	// Replace both files; nothing changes until a look is due.
	second := newCert(t, certSpec{rsa: true})
	writePair(t, dir, second)
	if got := servedLeaf(t, addr, "strongroom.test"); !got.Equal(first.leaf) {
		t.Fatal("files looked at before CheckEvery passed")
	}
	clk.Advance(DefaultCheckInterval)
	if got := servedLeaf(t, addr, "strongroom.test"); !got.Equal(second.leaf) {
		t.Fatal("the replaced certificate is not served after the check interval")
	}
	if !strings.Contains(logs.String(), "tls certificate reloaded") {
		t.Error("reload not logged")
	}

	// A broken replacement keeps the last good certificate, and is logged once.
	writeAtomic(t, certFile, []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"), 0o644)
	for range 3 {
		clk.Advance(DefaultCheckInterval)
		if got := servedLeaf(t, addr, "strongroom.test"); !got.Equal(second.leaf) {
			t.Fatal("a broken replacement replaced the certificate")
		}
	}
	if fs.LastError() == nil {
		t.Error("LastError is nil after a refused replacement")
	}
	if n := strings.Count(logs.String(), "tls certificate reload failed"); n != 1 {
		t.Errorf("refused replacement logged %d times, want once", n)
	}

	// A half-done replacement (new certificate, old key) is refused as a
	// mismatch, and taken once the key follows.
	third := newCert(t, certSpec{})
	writeAtomic(t, certFile, third.certPEM, 0o644)
	if err := fs.Reload(); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("Reload with the old key = %v, want ErrKeyMismatch", err)
	}
	if got := servedLeaf(t, addr, "strongroom.test"); !got.Equal(second.leaf) {
		t.Fatal("a mismatched pair replaced the certificate")
	}
	writeAtomic(t, keyFile, third.keyPEM, 0o600)
	if err := fs.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := servedLeaf(t, addr, "strongroom.test"); !got.Equal(third.leaf) {
		t.Fatal("Reload did not take the new certificate")
	}
	if fs.LastError() != nil {
		t.Errorf("LastError = %v after a good reload", fs.LastError())
	}

	// An expired replacement, or a key made readable by others, is refused.
	writePair(t, dir, newCert(t, certSpec{notBefore: clk.Now().Add(-48 * time.Hour), notAfter: clk.Now().Add(-time.Hour)}))
	if err := fs.Reload(); !errors.Is(err, ErrExpired) {
		t.Errorf("Reload of an expired certificate = %v, want ErrExpired", err)
	}
	writePair(t, dir, third)
	if err := os.Chmod(keyFile, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := fs.Reload(); !errors.Is(err, ErrKeyPermissions) {
		t.Errorf("Reload with a 0640 key = %v, want ErrKeyPermissions", err)
	}
	if got := servedLeaf(t, addr, "strongroom.test"); !got.Equal(third.leaf) {
		t.Fatal("the last good certificate is no longer served")
	}
}

// TestFileSourceConcurrentReload runs handshakes while the files change, for
// the race detector.
func TestFileSourceConcurrentReload(t *testing.T) {
	dir := t.TempDir()
	certs := []testCert{newCert(t, certSpec{}), newCert(t, certSpec{})}
	certFile, keyFile := writePair(t, dir, certs[0])
	log, _ := testLog(t)
	fs, err := NewFileSource(FileConfig{CertFile: certFile, KeyFile: keyFile, Logger: log, CheckEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	addr := fileServer(t, fs)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				st, err := handshake(addr, &tls.Config{ServerName: "strongroom.test", InsecureSkipVerify: true})
				if err != nil {
					t.Errorf("handshake: %v", err)
					return
				}
				if leaf := st.PeerCertificates[0]; !leaf.Equal(certs[0].leaf) && !leaf.Equal(certs[1].leaf) {
					t.Error("served a certificate that was never written")
					return
				}
			}
		})
	}
	for i := range 20 {
		writePair(t, dir, certs[(i+1)%2])
		time.Sleep(5 * time.Millisecond) // let handshakes run between writes
	}
	close(stop)
	wg.Wait()
	waitFor(t, 5*time.Second, "the last written certificate", func() bool {
		return fs.Certificate().Leaf.Equal(certs[20%2].leaf)
	})
}

func TestFileSourceRefuses(t *testing.T) {
	now := time.Now()
	good := newCert(t, certSpec{})
	expired := newCert(t, certSpec{notBefore: now.Add(-60 * 24 * time.Hour), notAfter: now.Add(-24 * time.Hour)})
	for _, tc := range []struct {
		name       string
		pair       testCert
		cert, key  []byte // replace the pair's files when set
		keyMode    os.FileMode
		want       error  // for errors.Is, if set
		wantInText string // in the message
	}{
		{name: "key readable by others", pair: good, keyMode: 0o644, want: ErrKeyPermissions, wantInText: "chmod 600"},
		{name: "key readable by group", pair: good, keyMode: 0o640, want: ErrKeyPermissions},
		{name: "mismatched key", pair: good, key: newCert(t, certSpec{}).keyPEM, keyMode: 0o600, want: ErrKeyMismatch},
		{name: "key of another type", pair: good, key: newCert(t, certSpec{rsa: true}).keyPEM, keyMode: 0o600, want: ErrKeyMismatch},
		{
			name: "expired", pair: expired, keyMode: 0o600, want: ErrExpired,
			wantInText: "NotAfter " + expired.leaf.NotAfter.UTC().Format(time.RFC3339),
		},
		{name: "not valid yet", pair: newCert(t, certSpec{notBefore: now.Add(24 * time.Hour)}), keyMode: 0o600, want: ErrNotYetValid},
		{name: "RSA 1024", pair: newCert(t, certSpec{rsa: true, rsaBits: 1024}), keyMode: 0o600, want: ErrWeakKey},
		{name: "no certificate", pair: good, cert: []byte("hello"), keyMode: 0o600, wantInText: "no PEM CERTIFICATE"},
		{name: "no key", pair: good, key: []byte("hello"), keyMode: 0o600, wantInText: "no PEM PRIVATE KEY"},
		{name: "key in the certificate file", pair: good, cert: append(append([]byte{}, good.certPEM...), good.keyPEM...), keyMode: 0o600, wantInText: "contains a private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			certPEM, keyPEM := tc.pair.certPEM, tc.pair.keyPEM
			if tc.cert != nil {
				certPEM = tc.cert
			}
			if tc.key != nil {
				keyPEM = tc.key
			}
			certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
			writeAtomic(t, certFile, certPEM, 0o644)
			writeAtomic(t, keyFile, keyPEM, tc.keyMode)
			_, err := NewFileSource(FileConfig{CertFile: certFile, KeyFile: keyFile, Now: func() time.Time { return now }})
			if err == nil {
				t.Fatal("loaded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantInText) {
				t.Errorf("error %q does not contain %q", err, tc.wantInText)
			}
			t.Log(err)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := NewFileSource(FileConfig{CertFile: filepath.Join(t.TempDir(), "none.pem"), KeyFile: filepath.Join(t.TempDir(), "none.key")})
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error %v, want not exist", err)
		}
	})
}

// TestFileSourceTime: a replacement not valid yet is taken once it is (the
// refused content is parsed again at each look but logged once), and a
// certificate that expires while in use is logged once and kept.
func TestFileSourceTime(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	certFile, keyFile := writePair(t, dir, newCert(t, certSpec{}))
	log, logs := testLog(t)
	fs, err := NewFileSource(FileConfig{CertFile: certFile, KeyFile: keyFile, Logger: log, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	future := newCert(t, certSpec{notBefore: clk.Now().Add(time.Hour), notAfter: clk.Now().Add(3 * time.Hour)})
	writePair(t, dir, future)
	for range 3 {
		clk.Advance(DefaultCheckInterval)
		if fs.Certificate().Leaf.Equal(future.leaf) {
			t.Fatal("a certificate not valid yet was taken")
		}
	}
	if !errors.Is(fs.LastError(), ErrNotYetValid) {
		t.Errorf("LastError = %v", fs.LastError())
	}
	clk.Advance(time.Hour)
	if !fs.Certificate().Leaf.Equal(future.leaf) {
		t.Fatal("the certificate was not taken once valid")
	}
	if n := strings.Count(logs.String(), "reload failed"); n != 1 {
		t.Errorf("refusal logged %d times, want once", n)
	}
	for range 3 {
		clk.Advance(2 * time.Hour)
		if !fs.Certificate().Leaf.Equal(future.leaf) {
			t.Fatal("the expired certificate in use was dropped")
		}
	}
	if n := strings.Count(logs.String(), "tls certificate in use has expired"); n != 1 {
		t.Errorf("expiry logged %d times, want once", n)
	}
}
