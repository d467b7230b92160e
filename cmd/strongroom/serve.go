package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/certs"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/logscrub"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/oauthclient"
	"strongroom.dev/strongroom/oidcauth"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/status"
	"strongroom.dev/strongroom/store"
	"strongroom.dev/strongroom/web"
)

// newLogger returns the logger of the configured level and format, which
// scrubs secrets and personal data from every record (package logscrub).
func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(logscrub.New(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(logscrub.New(slog.NewTextHandler(w, opts)))
}

// openStore opens the configured store. In embedded mode it creates the data
// folder (0700) and migrates; on PostgreSQL it requires the schema to be current
// and the role to be safe (see doctor).
func openStore(ctx context.Context, cfg *Config, log *slog.Logger, migrate bool) (*store.Store, error) {
	if cfg.Database == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating data folder: %w", err)
		}
		if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("restricting data folder: %w", err)
		}
	}
	st, err := store.Open(ctx, store.Config{URL: cfg.Database, Path: filepath.Join(cfg.DataDir, "strongroom.db"), Logger: log})
	if err != nil {
		return nil, err
	}
	if cfg.Database == "" {
		// The folder is 0700; the files are made private too, so that a
		// loosened folder mode alone exposes nothing. SQLite gives the WAL and
		// shared-memory files the database file's mode.
		if err := restrictFiles(cfg.DataDir, "strongroom.db", "keyring.db"); err != nil {
			st.Close()
			return nil, err
		}
	}
	if migrate {
		applied, err := st.Migrate(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		if len(applied) > 0 {
			log.Info("applied migrations", "versions", applied)
		}
	}
	return st, nil
}

// app is the wired application: what serve and the maintenance commands share.
type app struct {
	log   *slog.Logger
	store *store.Store
	keys  *keyring.Keyring
	svc   *service.Service
	// blobs holds the files' sealed content (--blobs); backups copy it.
	blobs *blob.Store
	// metrics is nil unless serving with metrics-addr.
	metrics *adminMetrics
	close   func()
}

// openApp opens the store (migrating it in embedded mode when migrate is set),
// refuses an unsafe PostgreSQL role or schema, opens the keyring and builds the
// service. This is the only place where the parts are wired together.
func openApp(ctx context.Context, cfg *Config, stderr io.Writer, serving bool) (*app, error) {
	log := newLogger(cfg, stderr)
	embedded := cfg.Database == ""
	var conns *oauthclient.Client
	var signIn *oidcauth.Registry
	var mx *adminMetrics
	if serving {
		// Checked before anything is opened. Only the server talks to the
		// providers: maintenance commands do not need their secrets.
		if err := checkBackupLayout(cfg); err != nil {
			return nil, err
		}
		var err error
		if conns, err = openConnections(cfg, os.Getenv); err != nil {
			return nil, err
		}
		if signIn, err = openSignIn(ctx, cfg, os.Getenv); err != nil {
			return nil, err
		}
		if mx, err = openMetrics(cfg); err != nil {
			return nil, err
		}
	}
	st, err := openStore(ctx, cfg, log, embedded && serving)
	if err != nil {
		return nil, err
	}
	mx.observeStore(st)
	if !embedded {
		if problems := checkPostgres(ctx, st); len(problems) > 0 {
			for _, p := range problems {
				log.Error("refusing to start", "problem", p)
			}
			st.Close()
			return nil, errors.New("unsafe or outdated database; run 'strongroom doctor' for details")
		}
	} else if status, err := st.SchemaStatus(ctx); err != nil || !status.Current() {
		st.Close()
		if err == nil {
			err = fmt.Errorf("schema is at version %d, this binary needs %d: run 'strongroom serve' or 'strongroom migrate' first", status.Applied, status.Latest)
		}
		return nil, err
	}
	keys, closeKeys, err := openKeyring(ctx, cfg, st, log, serving && embedded)
	if err != nil {
		st.Close()
		return nil, err
	}
	hasher, err := authn.NewHasher(authn.DefaultParams)
	if err != nil {
		closeKeys()
		st.Close()
		return nil, err
	}
	policy := authn.DefaultPolicy
	policy.MinLength = cfg.PasswordMinLength
	sender, outbox, err := openMailer(cfg, log)
	if err != nil {
		closeKeys()
		st.Close()
		return nil, err
	}
	passkeys, err := openPasskeys(cfg)
	if err != nil {
		closeKeys()
		st.Close()
		return nil, err
	}
	backupLoc, closeCatalog, err := openBackupStatusLocation(ctx, cfg, serving)
	if err != nil {
		closeKeys()
		st.Close()
		return nil, err
	}
	statusCfg, err := cfg.statusConfig(backupLoc, time.Now())
	if err != nil {
		closeCatalog()
		closeKeys()
		st.Close()
		return nil, err
	}
	blobs, err := blob.Open(ctx, cfg.BlobsLocation())
	if err != nil {
		closeCatalog()
		closeKeys()
		st.Close()
		return nil, err
	}
	closeCatalog = func(closeBackups func()) func() {
		return func() { closeBackups(); _ = blobs.Close() }
	}(closeCatalog)
	svc, err := service.New(service.Config{Store: st, Keyring: keys, Hasher: hasher, Policy: policy,
		SessionTTL: cfg.SessionTTL, SessionIdle: cfg.SessionIdle, Logger: log, Connections: conns, OIDC: signIn,
		Mailer: sender, Outbox: outbox, BaseURL: cfg.consoleURL(), Passkeys: passkeys, Observer: mx.observer(),
		BackupLocation: backupLoc.String(), Lifecycle: service.LifecycleConfig{AuditRetentionMinDays: cfg.AuditRetentionMinDays,
			DSRDeadline: cfg.DSRDeadline, TerminationWindow: cfg.TerminationWindow}, Trust: cfg.trust(),
		Status: statusCfg, TrustPage: cfg.trustPage(), Reviews: cfg.reviews(),
		Files: service.FilesConfig{Blobs: blobs, MaxBytes: cfg.FileMaxBytes, OrgQuotaBytes: cfg.FileQuotaBytes}})
	if err != nil {
		closeCatalog()
		closeKeys()
		st.Close()
		return nil, err
	}
	return &app{log: log, store: st, keys: keys, svc: svc, blobs: blobs, metrics: mx, close: func() { closeCatalog(); closeKeys(); st.Close() }}, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig("serve", "Run the Strongroom server", args, stderr)
	if err != nil {
		return err
	}
	started := time.Now()
	embedded := cfg.Database == ""
	a, err := openApp(ctx, cfg, stderr, true)
	if err != nil {
		return err
	}
	defer a.close()
	log, st := a.log, a.store
	// The sequencer seals audit events into their chains and signs checkpoints
	// (docs/audit-log.md). Deferred after a.close, it stops before the store
	// closes and after the HTTP server has finished its requests.
	stopSequencer, err := startSequencer(ctx, cfg, a)
	if err != nil {
		return err
	}
	defer stopSequencer()
	// The audit stream delivers sealed events to a SIEM; it stops first.
	stopStream, err := startAuditStream(ctx, cfg, a)
	if err != nil {
		return err
	}
	defer stopStream()
	// The security monitor raises alerts from the sealed audit log; it stops
	// before the sequencer and the store.
	stopMonitor, err := startMonitor(ctx, cfg, a)
	if err != nil {
		return err
	}
	defer stopMonitor()
	// Scheduled backups and restore drills (docs/operations.md); they stop
	// before the store closes.
	stopBackups, err := startBackups(ctx, cfg, a)
	if err != nil {
		return err
	}
	defer stopBackups()
	sweepCtx, stopSweeper := context.WithCancel(ctx)
	sweeperDone := make(chan struct{})
	go func() {
		defer close(sweeperDone)
		a.svc.RunSweeper(sweepCtx, 10*time.Minute)
	}()
	// The retention sweeper (LIF-01) runs on every replica; the lease lets one
	// sweep at a time.
	retentionCtx, stopRetention := context.WithCancel(ctx)
	retentionDone := make(chan struct{})
	go func() {
		defer close(retentionDone)
		a.svc.RunRetention(retentionCtx, "", cfg.RetentionInterval)
	}()
	// The orphan-blob sweeper removes blobs no file row names (uploads cut
	// off before their commit, files of deleted records and organizations).
	blobSweepDone := make(chan struct{})
	go func() {
		defer close(blobSweepDone)
		a.svc.RunBlobSweeper(retentionCtx, "", time.Hour)
	}()
	// The purge job deletes terminated organizations after their return
	// window, destroys their keys and issues deletion certificates (LIF-03).
	purgeDone := make(chan struct{})
	go func() {
		defer close(purgeDone)
		a.svc.RunPurger(retentionCtx, "", 10*time.Minute)
	}()
	defer func() {
		stopRetention()
		<-retentionDone
		<-purgeDone
		<-blobSweepDone
	}()
	defer func() {
		stopSweeper()
		<-sweeperDone
		a.svc.WaitMail() // deliver what was handed to the mailer before exiting
	}()
	// Disclosure reminders and subprocessor change notices, once across
	// replicas under a lease (docs/trust.md); stopped before the sweeper.
	trustCtx, stopTrust := context.WithCancel(ctx)
	trustDone := make(chan struct{})
	go func() {
		defer close(trustDone)
		host, _ := os.Hostname()
		a.svc.RunTrustJobs(trustCtx, 5*time.Minute, fmt.Sprintf("%s/%d/%d", host, os.Getpid(), started.UnixNano()))
	}()
	defer func() {
		stopTrust()
		<-trustDone
	}()
	// Scheduled access review campaigns and their reminders, once across
	// replicas under a lease (docs/trust.md "Access reviews").
	reviewsCtx, stopReviews := context.WithCancel(ctx)
	reviewsDone := make(chan struct{})
	go func() {
		defer close(reviewsDone)
		host, _ := os.Hostname()
		a.svc.RunReviewJobs(reviewsCtx, 15*time.Minute, fmt.Sprintf("%s/%d/%d", host, os.Getpid(), started.UnixNano()))
	}()
	defer func() {
		stopReviews()
		<-reviewsDone
	}()
	if cfg.securityTxtSigner != nil {
		log.Info("security.txt is clear-signed with OpenPGP", "fingerprint", cfg.securityTxtSigner.Fingerprint())
	}
	var tlsm *certs.Manager
	if cfg.TLS() {
		if tlsm, err = newTLSManager(cfg, log); err != nil {
			return err
		}
		a.svc.SetCertificateSource(tlsm.Describe)
	}
	api, err := httpapi.New(a.svc, log, httpapi.Options{
		MaxBodyBytes: cfg.MaxBodyBytes, CORSOrigins: cfg.CORSOrigins, TrustedProxies: cfg.TrustedProxies,
		HSTS: cfg.TLS() || cfg.TLSProxy, HSTSPolicy: &cfg.HSTS, Version: buildVersion(), Observe: a.metrics.httpObserver(),
	}, web.New(a.svc, log))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if tlsm != nil {
		srv.TLSConfig = tlsm.TLSConfig()
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ln) }()
	// The status page's probes (docs/trust.md "Status"), once across
	// replicas under a lease; the API probe asks this server's /readyz.
	if p := cfg.apiProbe(ln, tlsm != nil); p != nil {
		if err := a.svc.SetStatusProbe(status.API, p); err != nil {
			return err
		}
	}
	statusCtx, stopStatus := context.WithCancel(ctx)
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		host, _ := os.Hostname()
		a.svc.RunStatusProbes(statusCtx, fmt.Sprintf("%s/%d/%d", host, os.Getpid(), started.UnixNano()))
	}()
	defer func() {
		stopStatus()
		<-statusDone
	}()
	// The admin listener (metrics-addr) is shut down on return, after the
	// server has finished its requests.
	stopMetrics, err := a.metrics.serve(cfg, log, errc)
	if err != nil {
		_ = srv.Close()
		return err
	}
	defer stopMetrics()
	var redirect *http.Server
	if tlsm != nil && cfg.HTTPAddr != "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		redirect = &http.Server{Addr: cfg.HTTPAddr, Handler: tlsm.HTTPHandler(certs.RedirectHandler(port, cfg.ACMEDomains...)),
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
			IdleTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
		rl, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.HTTPAddr, err)
		}
		go func() { errc <- redirect.Serve(rl) }()
	}
	url := scheme + "://" + ln.Addr().String()
	log.Info("strongroom started", "version", buildVersion(), "addr", ln.Addr().String(),
		"engine", string(st.Engine()), "startup", time.Since(started).Round(time.Millisecond))
	printBanner(stdout, url, cfg, embedded)

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if redirect != nil {
		_ = redirect.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// newTLSManager builds the certificate source from the configuration.
func newTLSManager(cfg *Config, log *slog.Logger) (*certs.Manager, error) {
	opts := certs.Options{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, Logger: log}
	if len(cfg.ACMEDomains) > 0 {
		opts.ACMEDomains, opts.ACMEEmail, opts.ACMEDirectory = cfg.ACMEDomains, cfg.ACMEEmail, cfg.ACMEDirectory
		opts.ACMECacheDir = cfg.ACMECacheDir
		if opts.ACMECacheDir == "" {
			opts.ACMECacheDir = filepath.Join(cfg.DataDir, "acme")
		}
	}
	m, err := certs.New(opts)
	if err != nil {
		return nil, fmt.Errorf("configuring TLS: %w", err)
	}
	return m, nil
}

func printBanner(w io.Writer, url string, cfg *Config, embedded bool) {
	where := "PostgreSQL"
	if embedded {
		where = "embedded SQLite in " + cfg.DataDir
	}
	fmt.Fprintf(w, `
Strongroom is running at %s (%s).

Create the first account and organization:

  curl -sS -X POST %s/api/v1/signup \
    -H 'Content-Type: application/json' \
    -d '{"email":"you@example.com","password":"a long passphrase of 15+ characters","organization":"Example Inc"}'

The answer holds a session token: send it as "Authorization: Bearer <token>".
Open %s/ for the quickstart, %s/api/openapi.json for the API. Stop with Ctrl-C.
%s
`, url, where, url, url, url, mailNote(cfg))
}

// mailNote says where e-mail goes.
func mailNote(cfg *Config) string {
	if cfg.SMTPHost != "" {
		return "E-mail (codes, links, notices) is sent through " + cfg.SMTPHost + ".\n"
	}
	return `E-mail (sign-in codes, links, notices) goes to the development outbox: make your
account an operator with 'strongroom operator grant --email you@example.com', enrol a
second factor, and read it at /api/v1/operator/outbox. Configure --smtp-host for real mail.
`
}

// restrictFiles sets mode 0600 on each named file in dir and on its SQLite
// companions (-wal, -shm) where they exist.
func restrictFiles(dir string, names ...string) error {
	for _, n := range names {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			p := filepath.Join(dir, n+suffix)
			if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("restricting %s: %w", p, err)
			}
		}
	}
	return nil
}

// openMailer returns the SMTP sender, or the development outbox when no SMTP
// server is configured.
func openMailer(cfg *Config, log *slog.Logger) (mail.Sender, *mail.Outbox, error) {
	if cfg.SMTPHost == "" {
		if cfg.Database != "" {
			log.Warn("no smtp-host: e-mail goes to the development outbox, which only operators can read; configure SMTP for production")
		}
		o := mail.NewOutbox(mail.OutboxConfig{}, log)
		return o, o, nil
	}
	var roots *x509.CertPool
	if cfg.SMTPCAFile != "" {
		b, err := os.ReadFile(cfg.SMTPCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("e-mail: reading the SMTP CA file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(b) {
			return nil, nil, fmt.Errorf("e-mail: %s holds no PEM certificate", cfg.SMTPCAFile)
		}
	}
	m, err := mail.NewSMTP(mail.SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, TLS: cfg.SMTPTLS,
		Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, From: cfg.MailFrom, RootCAs: roots}, log)
	if err != nil {
		return nil, nil, fmt.Errorf("e-mail: %w", err)
	}
	return m, nil, nil
}

// consoleURL is where links in e-mail point: the public URL, or the local
// address in development.
func (c *Config) consoleURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	return "http://" + strings.Replace(c.Addr, "127.0.0.1", "localhost", 1)
}

// openPasskeys configures WebAuthn for the public URL's host (or localhost in
// development).
func openPasskeys(cfg *Config) (*passkey.Passkeys, error) {
	origin := cfg.consoleURL()
	u, err := url.Parse(origin)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	if u.Scheme != "https" && u.Hostname() != "localhost" {
		return nil, nil // WebAuthn needs a secure context: https or localhost
	}
	pk, err := passkey.New(passkey.Config{RPID: u.Hostname(), RPDisplayName: "Strongroom", Origins: []string{origin}})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return pk, nil
}
