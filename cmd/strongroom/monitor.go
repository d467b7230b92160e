package main

import (
	"context"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/monitor"
)

// startMonitor runs the security monitor (LOG-04; docs/audit-log.md,
// "Monitoring") under its lease: it judges the sealed audit log, stores
// alerts, and has the service e-mail each new one. stop waits for it.
func startMonitor(ctx context.Context, cfg *Config, a *app) (stop func(), err error) {
	mc := monitor.Config{Store: a.store, Thresholds: cfg.Monitor, Logger: a.log, Notify: a.svc.NotifyAlert}
	if a.metrics != nil {
		reg := a.metrics.reg
		mc.Raised = func(k strongroom.AlertKind) { reg.Alert(string(k)) }
	}
	m, err := monitor.New(mc)
	if err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { m.Run(mctx); close(done) }()
	return func() {
		cancel()
		<-done
	}, nil
}
