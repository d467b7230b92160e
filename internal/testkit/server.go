package testkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/disclosure"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
	"strongroom.dev/strongroom/web"
)

// FastHashParams make argon2id cheap for tests that sign many users up. They are
// for tests only; the server always uses authn.DefaultParams or stronger.
var FastHashParams = authn.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// Server is the whole HTTP stack on a store, served on 127.0.0.1.
type Server struct {
	URL     string
	Store   *store.Store
	Service *service.Service
	API     *httpapi.Server
	Keyring *keyring.Keyring
	// Outbox receives the service's e-mail unless ServerConfig.Service set
	// another Mailer.
	Outbox *mail.Outbox
	// Blobs is the service's blob store (a temporary folder unless
	// ServerConfig.Service set another).
	Blobs  *blob.Store
	client *http.Client
}

// GenerousLimits are the test servers' rate limits: high enough that tests
// which send many requests from one address or session are not throttled.
// Tests of the limits themselves set their own.
var GenerousLimits = service.Limits{AuthPerIPRate: 10_000, AuthPerIPBurst: 100_000, APIRate: 1e6, APIBurst: 1e6,
	LockoutFree: 1000, AccountLockoutFree: 10_000, EmailPerAddressRate: 100, EmailPerAddressBurst: 1000}

// TestTrust is the test servers' trust configuration: a security.txt with a
// contact, and a report intake limit no test reaches by accident.
func TestTrust() service.TrustConfig {
	return service.TrustConfig{ReportsPerHour: 1e6, ReportsBurst: 100_000,
		SecurityTxt: &disclosure.SecurityTxt{Contacts: []string{"mailto:security@strongroom.test"}, ExpiresIn: 180 * 24 * time.Hour}}
}

// NewServer starts the HTTP stack on st with opts and a keyring with a random
// master key.
func NewServer(t testing.TB, st *store.Store, opts httpapi.Options) *Server {
	t.Helper()
	return NewServerWithKeyring(t, st, NewKeyring(t, st), opts)
}

// NewServerWithKeyring starts the HTTP stack on st with the given keyring.
func NewServerWithKeyring(t testing.TB, st *store.Store, keys *keyring.Keyring, opts httpapi.Options) *Server {
	t.Helper()
	return NewServerWithConfig(t, st, ServerConfig{Keyring: keys, Options: opts})
}

// ServerConfig adjusts a test server.
type ServerConfig struct {
	Keyring *keyring.Keyring // nil: a new one with a random master key
	Options httpapi.Options
	// Service, when set, changes the service's configuration; it gets the
	// server's URL, known before the service is built (connections need it
	// for their redirect URI).
	Service func(url string, cfg *service.Config)
	// Logger, when set, receives the logs of the outbox, the service and the
	// HTTP layer (tests that look for secrets in logs); nil discards them.
	Logger *slog.Logger
}

// NewServerWithConfig starts the HTTP stack on st as sc says.
func NewServerWithConfig(t testing.TB, st *store.Store, sc ServerConfig) *Server {
	t.Helper()
	keys := sc.Keyring
	if keys == nil {
		keys = NewKeyring(t, st)
	}
	h, err := authn.NewHasher(FastHashParams)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	log := slog.New(slog.DiscardHandler)
	if sc.Logger != nil {
		log = sc.Logger
	}
	outbox := mail.NewOutbox(mail.OutboxConfig{}, log)
	cfg := service.Config{Store: st, Keyring: keys, Hasher: h, Logger: log, Limits: GenerousLimits,
		Mailer: outbox, Outbox: outbox, BaseURL: url, Trust: TestTrust()}
	blobs, err := blob.Open(context.Background(), filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blobs.Close() })
	cfg.Files.Blobs = blobs
	if sc.Service != nil {
		sc.Service(url, &cfg)
	}
	svc, err := service.New(cfg)
	if err != nil {
		ts.Close()
		t.Fatal(err)
	}
	api, err := httpapi.New(svc, log, sc.Options, web.New(svc, log))
	if err != nil {
		ts.Close()
		t.Fatal(err)
	}
	ts.Config.Handler = api
	ts.Start()
	t.Cleanup(ts.Close)
	t.Cleanup(svc.WaitMail)
	return &Server{URL: ts.URL, Store: st, Service: svc, API: api, Keyring: keys, Outbox: outbox, Blobs: cfg.Files.Blobs, client: ts.Client()}
}

// NewKeyring returns a keyring over st with a random in-memory master key.
func NewKeyring(t testing.TB, st *store.Store) *keyring.Keyring {
	t.Helper()
	m := make([]byte, 32)
	if _, err := rand.Read(m); err != nil {
		t.Fatal(err)
	}
	kek, err := keyring.NewLocalKEK(m)
	if err != nil {
		t.Fatal(err)
	}
	return keyring.New(kek, nil, st, keyring.Options{})
}

// Response is a captured HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response is not a JSON object (status %d): %v: %s", r.Status, err, r.Body)
	}
	return v
}

// Request is one API call. Body may be a string (sent as is), []byte, or any
// value (JSON-encoded). ContentType defaults to application/json with a body.
type Request struct {
	Method      string
	Path        string
	Token       string
	Body        any
	ContentType string
	Header      map[string]string
}

// Do sends req and captures the response.
func (s *Server) Do(t testing.TB, req Request) Response {
	t.Helper()
	var body io.Reader
	switch b := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(enc)
	}
	r, err := http.NewRequest(req.Method, s.URL+req.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if req.Token != "" {
		r.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	resp, err := s.client.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Account is a signed-up user with their first organization.
type Account struct {
	Email  string
	Token  string
	UserID string
	OrgID  string
}

// Signup creates an account and organization over the API.
func (s *Server) Signup(t testing.TB, email, org string) Account {
	t.Helper()
	r := s.Do(t, Request{Method: "POST", Path: "/api/v1/signup", Body: map[string]string{
		"email": email, "password": "correct horse battery staple", "organization": org}})
	if r.Status != http.StatusCreated {
		t.Fatalf("signup %s: status %d: %s", email, r.Status, r.Body)
	}
	v := r.JSON(t)
	return Account{Email: email, Token: v["token"].(string),
		UserID: v["user"].(map[string]any)["id"].(string), OrgID: v["organization"].(map[string]any)["id"].(string)}
}

// MustStatus fails the test unless r has the wanted status.
func MustStatus(t testing.TB, r Response, want int) Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// SetOrgSettings replaces an organization's settings directly in the store,
// for tests that need settings no session of theirs may make.
func (s *Server) SetOrgSettings(t testing.TB, org strongroom.TenantID, set strongroom.OrgSettings) {
	t.Helper()
	st := s.Store
	defer s.Service.OrgSettingsChanged(org)
	err := st.Write(t.Context(), store.TenantScope(org), func(tx *store.Tx) error {
		return tx.SetOrgSettings(t.Context(), &set, time.Now())
	})
	if err != nil {
		t.Fatalf("setting organization settings: %v", err)
	}
}
