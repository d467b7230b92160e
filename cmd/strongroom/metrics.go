package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/metrics"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// The metrics registry implements the service's observer.
var _ service.Observer = (*metrics.Registry)(nil)

// minMetricsToken is the shortest bearer token accepted for /metrics.
const minMetricsToken = 32

// validateMetrics checks the metrics settings together. Off loopback the
// listener needs a token: the metrics name every route and count sign-in
// failures, rate-limit refusals and the audit log's sealing lag, which tells
// whoever reads them what is noticed and when, and an open /metrics lets
// anyone on the network make the server gather them as often as they like.
func (c *Config) validateMetrics() error {
	switch {
	case c.MetricsTokenFile != "" && c.MetricsAddr == "":
		return errors.New("metrics-token-file needs metrics-addr: metrics are served only on the admin listener")
	case c.MetricsAddr != "" && c.MetricsTokenFile == "" && !loopbackAddr(c.MetricsAddr):
		return fmt.Errorf("metrics-addr %s is reachable from other machines: give metrics-token-file as well, or listen on a "+
			"loopback address such as 127.0.0.1:9090. The metrics show every route's traffic, sign-in failures, rate-limit "+
			"refusals and the audit log's health, which must not be open to the network", c.MetricsAddr)
	}
	return nil
}

// loopbackAddr reports whether host:port listens on a loopback address only.
// An empty host (":9090") listens on every interface.
func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// readMetricsToken reads the bearer token from a file only its owner can
// read (mode 0600 or stricter): printable ASCII without spaces, at least
// minMetricsToken characters, surrounding whitespace ignored.
func readMetricsToken(path string) ([]byte, error) {
	b, _, err := readPrivate(path, 4096, true)
	if err != nil {
		return nil, fmt.Errorf("metrics-token-file %s: %w", path, err)
	}
	tok := bytes.TrimSpace(b)
	for _, c := range tok {
		if c <= ' ' || c > '~' {
			return nil, fmt.Errorf("metrics-token-file %s: the token must be printable ASCII without spaces", path)
		}
	}
	if len(tok) < minMetricsToken {
		return nil, fmt.Errorf("metrics-token-file %s: the token has %d characters, fewer than %d (make one with: openssl rand -base64 32)",
			path, len(tok), minMetricsToken)
	}
	return tok, nil
}

// adminMetrics is a serving process's metrics: the registry the parts report
// to and the admin listener's token. A nil *adminMetrics (metrics-addr empty)
// turns every hook off.
type adminMetrics struct {
	reg   *metrics.Registry
	token []byte
}

// openMetrics reads the metrics settings; nil when metrics are off.
func openMetrics(cfg *Config) (*adminMetrics, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	m := &adminMetrics{reg: metrics.New()}
	if cfg.MetricsTokenFile != "" {
		tok, err := readMetricsToken(cfg.MetricsTokenFile)
		if err != nil {
			return nil, err
		}
		m.token = tok
	}
	return m, nil
}

// observer is the service's Observer (nil: none).
func (m *adminMetrics) observer() service.Observer {
	if m == nil {
		return nil
	}
	return m.reg
}

// httpObserver is httpapi.Options.Observe (nil: none).
func (m *adminMetrics) httpObserver() func(pattern, method string, status int, d time.Duration) {
	if m == nil {
		return nil
	}
	return m.reg.ObserveHTTP
}

// jobObserver is audit.Config.Observe (nil: none).
func (m *adminMetrics) jobObserver() func(job string, d time.Duration, err error) {
	if m == nil {
		return nil
	}
	return m.reg.Job
}

// observeStore times the store's writes that carry audit events.
func (m *adminMetrics) observeStore(st *store.Store) {
	if m != nil {
		st.ObserveAuditWrites(m.reg.AuditAppend)
	}
}

// watchSequencer exports the sequencer's lag.
func (m *adminMetrics) watchSequencer(seq *audit.Sequencer) {
	if m == nil {
		return
	}
	_ = m.reg.WatchAuditSeal(func() metrics.SealLag {
		l := seq.Lag()
		return metrics.SealLag{Holding: l.Holding, Events: l.Events, Age: l.Age}
	})
}

// serve starts the admin listener, which serves only GET /metrics; errors
// after the start go to errc. stop shuts it down gracefully (within the
// shutdown timeout); it is safe to call more than once.
func (m *adminMetrics) serve(cfg *Config, log *slog.Logger, errc chan<- error) (stop func(), err error) {
	if m == nil {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listening on metrics-addr %s: %w", cfg.MetricsAddr, err)
	}
	srv := &http.Server{
		Handler:           m.reg.Handler(metrics.HandlerOptions{Token: m.token, Log: log}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics listener: %w", err)
		}
	}()
	log.Info("metrics listener started", "addr", ln.Addr().String(), "token_required", len(m.token) > 0)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
