package kms_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/kms"
)

// The keyring's KEK interface, restated so that a change to either side shows
// here.
var _ interface {
	Wrap(ctx context.Context, plaintext []byte) ([]byte, error)
	Unwrap(ctx context.Context, wrapped []byte) ([]byte, error)
	ID() string
	Close() error
} = (*kms.Keeper)(nil)

// secretMarker stands for a credential or key someone put in a URL. No error
// and no ID may contain it.
const secretMarker = "s3cr3tT0ken"

// offlineVault points the Vault client at a closed port on 127.0.0.1 with a
// token that must never leak.
func offlineVault(t *testing.T) {
	t.Helper()
	t.Setenv(kms.EnvVaultServerURL, "http://"+closedAddr(t))
	t.Setenv(kms.EnvVaultServerToken, secretMarker)
	t.Setenv("VAULT_AGENT_ADDR", "")
}

// closedAddr returns a loopback address that nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("closing listener: %v", err)
	}
	return addr
}

func TestOpenRefusesUnsupportedSchemes(t *testing.T) {
	offlineVault(t)
	localKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32))
	tests := []struct {
		name string
		url  string
	}{
		{"base64key", "base64key://" + localKey},
		{"base64key upper case", "BASE64KEY://" + localKey},
		{"stringkey", "stringkey://" + secretMarker},
		{"azure key vault", "azurekeyvault://myvault.vault.azure.net/keys/mykey/123"},
		{"file", "file:///etc/strongroom/master.key"},
		{"https", "https://vault.example.com/v1/transit/keys/k"},
		{"no scheme", "strongroom-kek"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := kms.Open(t.Context(), tt.url)
			if err == nil {
				k.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tt.url)
			}
			if !errors.Is(err, kms.ErrUnsupportedScheme) {
				t.Errorf("Open(%q) = %v, want ErrUnsupportedScheme", tt.url, err)
			}
			if strings.Contains(err.Error(), localKey) || strings.Contains(err.Error(), secretMarker) {
				t.Errorf("error quotes the key: %v", err)
			}
			if _, err := kms.KeyID(tt.url); !errors.Is(err, kms.ErrUnsupportedScheme) {
				t.Errorf("KeyID(%q) = %v, want ErrUnsupportedScheme", tt.url, err)
			}
		})
	}
}

func TestOpenRefusesMalformedURLs(t *testing.T) {
	offlineVault(t)
	tests := []struct {
		name string
		url  string
		want string // in the error
	}{
		{"user info", "hashivault://root:" + secretMarker + "@strongroom-kek", "credentials do not belong in the URL"},
		{"user name only", "hashivault://" + secretMarker + "@strongroom-kek", "credentials do not belong in the URL"},
		{"token parameter", "hashivault://strongroom-kek?token=" + secretMarker, `unsupported query parameter "token"`},
		{"aws secret parameter", "awskms://alias/k?region=eu-west-1&secret_access_key=" + secretMarker, `unsupported query parameter "secret_access_key"`},
		{"gcp credentials parameter", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k?credentials=" + secretMarker, `unsupported query parameter "credentials"`},
		{"repeated parameter", "hashivault://strongroom-kek?engine=transit&engine=" + secretMarker, "given 2 times"},
		{"fragment", "hashivault://strongroom-kek#" + secretMarker, "fragment"},
		{"empty fragment", "hashivault://strongroom-kek#", "fragment"},
		{"no key", "hashivault://", "no key name"},
		{"no key with parameter", "hashivault://?engine=transit", "no key name"},
		{"opaque", "hashivault:strongroom-kek", "want hashivault://KEY"},
		{"vault key with slash", "hashivault://transit/strongroom-kek", "one segment"},
		{"vault key escaping the engine", "hashivault://strongroom-kek/..%2F..%2Fsys%2Fmounts", "one segment"},
		{"escaped slash in host", "hashivault://x%2F..%2Fsys", "malformed URL"},
		{"token as a port", "hashivault://strongroom-kek:" + secretMarker, "malformed URL"},
		{"control character", "hashivault://strongroom-kek\n" + secretMarker, "malformed URL"},
		{"vault engine with dot dot", "hashivault://strongroom-kek?engine=..%2Fsys", "engine must be"},
		{"aws dot dot", "awskms://alias/../../k?region=eu-west-1", "path segment"},
		{"aws empty segment", "awskms://alias//k?region=eu-west-1", "path segment"},
		{"gcp short resource", "gcpkms://projects/p/locations/l/keyRings/r", "want gcpkms://projects/PROJECT"},
		{"gcp wrong resource", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeyVersions/k", "want gcpkms://projects/PROJECT"},
		{"bad escape", "hashivault://strongroom-kek?engine=%zz", "malformed query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := kms.Open(t.Context(), tt.url)
			if err == nil {
				k.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tt.url)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %q, want it to contain %q", tt.url, err, tt.want)
			}
			if strings.Contains(err.Error(), secretMarker) {
				t.Errorf("error quotes a secret from the URL: %v", err)
			}
			if errors.Is(err, kms.ErrUnsupportedScheme) {
				t.Errorf("error is ErrUnsupportedScheme, want a URL error: %v", err)
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"vault", "hashivault://strongroom-kek", "kms:hashivault://strongroom-kek"},
		{"vault scheme case", "HashiVault://strongroom-kek", "kms:hashivault://strongroom-kek"},
		{"vault engine", "hashivault://strongroom-kek?engine=kms%2Ftransit", "kms:hashivault://strongroom-kek?engine=kms%2Ftransit"},
		{"vault trailing slash", "hashivault://strongroom-kek/", "kms:hashivault://strongroom-kek"},
		{"aws trailing slash", "awskms://alias/strongroom/?region=eu-west-1", "kms:awskms://alias/strongroom?region=eu-west-1"},
		{"aws alias", "awskms://alias/strongroom?region=eu-west-1", "kms:awskms://alias/strongroom?region=eu-west-1"},
		{
			"aws transport parameters left out",
			"awskms://alias/strongroom?region=eu-west-1&endpoint=https%3A%2F%2Fkms.internal&profile=prod&fips=true&awssdk=v2",
			"kms:awskms://alias/strongroom?region=eu-west-1",
		},
		{
			"aws encryption context kept and sorted",
			"awskms://alias/strongroom?context_b=2&region=eu-west-1&context_a=1",
			"kms:awskms://alias/strongroom?context_a=1&context_b=2&region=eu-west-1",
		},
		{
			"aws ARN",
			"awskms:///arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			"kms:awskms:///arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		},
		{
			"gcp",
			"gcpkms://projects/acme/locations/europe-west1/keyRings/strongroom/cryptoKeys/kek",
			"kms:gcpkms://projects/acme/locations/europe-west1/keyRings/strongroom/cryptoKeys/kek",
		},
		{
			"gcp additional authenticated data",
			"gcpkms://projects/acme/locations/global/keyRings/r/cryptoKeys/k?additional_authenticated_data=c3Ryb25ncm9vbQ%3D%3D",
			"kms:gcpkms://projects/acme/locations/global/keyRings/r/cryptoKeys/k?additional_authenticated_data=c3Ryb25ncm9vbQ%3D%3D",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kms.KeyID(tt.url)
			if err != nil {
				t.Fatalf("KeyID(%q): %v", tt.url, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("KeyID(%q) mismatch (-want +got):\n%s", tt.url, diff)
			}
		})
	}
}

// TestOpenID checks that Keeper.ID matches KeyID and never holds the Vault
// token, for the schemes that open without contacting anything.
func TestOpenID(t *testing.T) {
	offlineVault(t)
	isolateAWS(t)
	for _, url := range []string{
		"hashivault://strongroom-kek",
		"hashivault://strongroom-kek?engine=transit",
		"awskms://alias/strongroom?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A1",
	} {
		k, err := kms.Open(t.Context(), url)
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		t.Cleanup(func() { k.Close() })
		want, err := kms.KeyID(url)
		if err != nil {
			t.Fatalf("KeyID(%q): %v", url, err)
		}
		if got := k.ID(); got != want {
			t.Errorf("Open(%q).ID() = %q, KeyID = %q", url, got, want)
		}
		if strings.Contains(k.ID(), secretMarker) {
			t.Errorf("ID %q holds the Vault token", k.ID())
		}
	}
}

func TestOpenVaultNeedsAddress(t *testing.T) {
	t.Setenv(kms.EnvVaultServerURL, "")
	t.Setenv(kms.EnvVaultAddr, "")
	_, err := kms.Open(t.Context(), "hashivault://strongroom-kek")
	if err == nil || !strings.Contains(err.Error(), kms.EnvVaultServerURL) {
		t.Fatalf("Open without a Vault address = %v, want an error naming %s", err, kms.EnvVaultServerURL)
	}

	// The address is read at every Open, not once per process.
	offlineVault(t)
	k, err := kms.Open(t.Context(), "hashivault://strongroom-kek")
	if err != nil {
		t.Fatalf("Open after setting %s: %v", kms.EnvVaultServerURL, err)
	}
	k.Close()
}

func TestWrapChecksSizes(t *testing.T) {
	offlineVault(t)
	k, err := kms.Open(t.Context(), "hashivault://strongroom-kek")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	for _, n := range []int{0, kms.MinWrapSize - 1, kms.MaxWrapSize + 1, 1 << 20} {
		if _, err := k.Wrap(t.Context(), make([]byte, n)); err == nil || !strings.Contains(err.Error(), "want 16 to 1024") {
			t.Errorf("Wrap of %d bytes = %v, want a size error", n, err)
		}
	}
	for _, n := range []int{0, kms.MaxWrappedSize + 1} {
		if _, err := k.Unwrap(t.Context(), make([]byte, n)); err == nil || !strings.Contains(err.Error(), "wrapped key is") {
			t.Errorf("Unwrap of %d bytes = %v, want a size error", n, err)
		}
	}
}

func TestCanceledContextAndClose(t *testing.T) {
	offlineVault(t)
	k, err := kms.Open(t.Context(), "hashivault://strongroom-kek")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := k.Wrap(ctx, make([]byte, 32)); !errors.Is(err, context.Canceled) {
		t.Errorf("Wrap with a canceled context = %v, want context.Canceled", err)
	}
	if err := k.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := k.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := k.Wrap(t.Context(), make([]byte, 32)); err == nil {
		t.Error("Wrap after Close succeeded")
	}
}

// fakeVault serves handler on 127.0.0.1 as the Vault server.
func fakeVault(t *testing.T, handler http.HandlerFunc) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	t.Setenv(kms.EnvVaultServerURL, srv.URL)
	t.Setenv(kms.EnvVaultServerToken, secretMarker)
	t.Setenv("VAULT_AGENT_ADDR", "")
	t.Setenv("VAULT_MAX_RETRIES", "0")
}

// TestVaultOddResponses checks that replies gocloud's hashivault driver does
// not expect (it panics on them) come back as errors.
func TestVaultOddResponses(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"404 without body", http.StatusNotFound, ""},
		{"200 without data", http.StatusOK, `{}`},
		{"200 with wrong type", http.StatusOK, `{"data":{"ciphertext":42,"plaintext":42}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeVault(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			k, err := kms.Open(t.Context(), "hashivault://strongroom-kek")
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { k.Close() })
			key := bytes.Repeat([]byte{0xa5}, 32)
			if _, err := k.Wrap(t.Context(), key); err == nil {
				t.Error("Wrap succeeded, want an error")
			}
			if _, err := k.Unwrap(t.Context(), []byte("vault:v1:AAAA")); err == nil {
				t.Error("Unwrap succeeded, want an error")
			}
		})
	}
}

// TestVaultHonorsContext checks that Wrap returns when its context ends even
// though the hashivault driver ignores the context.
func TestVaultHonorsContext(t *testing.T) {
	release := make(chan struct{})
	fakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	k, err := kms.Open(t.Context(), "hashivault://strongroom-kek")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	// Cleanups run last first: this one lets the abandoned request end, which
	// Close waits for, and the server close.
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = k.Wrap(ctx, make([]byte, 32))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wrap against a hung Vault = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Wrap took %v after a 200ms deadline", d)
	}
}

// isolateAWS keeps the AWS SDK away from the developer's credentials and from
// the EC2 metadata service: it may only use what the test gives it.
func isolateAWS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for name, value := range map[string]string{
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ROLE_ARN":                           "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_KMS":                   "",
	} {
		t.Setenv(name, value)
	}
}

// promptly bounds the offline cloud tests: a hang fails them, and a prompt
// error must come well before it.
const promptly = 15 * time.Second

// TestAWSKMSWithoutCredentials checks that, offline and without credentials,
// Wrap fails on its own well before its deadline instead of hanging. Requests
// could only go to a closed port on 127.0.0.1.
func TestAWSKMSWithoutCredentials(t *testing.T) {
	isolateAWS(t)
	url := "awskms://alias/strongroom?region=eu-west-1&endpoint=http%3A%2F%2F" + closedAddr(t)
	k, err := kms.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { k.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	_, err = k.Wrap(ctx, make([]byte, 32))
	if err == nil {
		t.Fatal("Wrap without credentials succeeded")
	}
	if ctx.Err() != nil {
		t.Fatalf("Wrap ran into its %v deadline: %v", promptly, err)
	}
	if !strings.Contains(err.Error(), "credentials") {
		t.Errorf("Wrap error does not mention credentials: %v", err)
	}
}

// TestAWSKMSRequest runs the driver against a stand-in AWS KMS endpoint on
// 127.0.0.1 with dummy credentials: the key ID and encryption context come
// from the URL, only the 32-byte data key is sent, and the endpoint's error
// reaches the caller.
func TestAWSKMSRequest(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretMarker)

	type encryptRequest struct {
		KeyID             string            `json:"KeyId"`
		Plaintext         []byte            `json:"Plaintext"`
		EncryptionContext map[string]string `json:"EncryptionContext"`
	}
	var (
		mu   sync.Mutex
		reqs []encryptRequest
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req encryptRequest
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("stand-in KMS: decoding %s request: %v", r.Header.Get("X-Amz-Target"), err)
		}
		if got := r.Header.Get("X-Amz-Target"); got != "TrentService.Encrypt" {
			t.Errorf("stand-in KMS: X-Amz-Target = %q, want TrentService.Encrypt", got)
		}
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"NotFoundException","message":"Alias is not found."}`)
	}))
	t.Cleanup(srv.Close)

	url := "awskms://alias/strongroom?region=eu-west-1&context_purpose=kek&endpoint=" + srv.URL
	k, err := kms.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { k.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	key := bytes.Repeat([]byte{0x42}, 32)
	_, err = k.Wrap(ctx, key)
	if err == nil || !strings.Contains(err.Error(), "NotFoundException") {
		t.Fatalf("Wrap = %v, want the endpoint's NotFoundException", err)
	}
	if strings.Contains(err.Error(), secretMarker) {
		t.Errorf("error holds the secret access key: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) == 0 {
		t.Fatal("the stand-in KMS got no request")
	}
	want := encryptRequest{KeyID: "alias/strongroom", Plaintext: key, EncryptionContext: map[string]string{"purpose": "kek"}}
	if diff := cmp.Diff(want, reqs[0]); diff != "" {
		t.Errorf("Encrypt request mismatch (-want +got):\n%s", diff)
	}
}

// TestGCPKMSWithoutCredentials checks that Open fails promptly when the
// Application Default Credentials cannot be found. GOOGLE_APPLICATION_CREDENTIALS
// pointing at a missing file stops the search before it would ask the GCE
// metadata server.
func TestGCPKMSWithoutCredentials(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	k, err := kms.Open(ctx, "gcpkms://projects/acme/locations/global/keyRings/strongroom/cryptoKeys/kek")
	if err == nil {
		k.Close()
		t.Fatal("Open without credentials succeeded")
	}
	if ctx.Err() != nil {
		t.Fatalf("Open ran into its %v deadline: %v", promptly, err)
	}
	if !strings.Contains(err.Error(), "credentials") {
		t.Errorf("Open error does not mention credentials: %v", err)
	}
}
