package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"strongroom.dev/strongroom/auditstream"
)

// validateAuditStream checks the settings of the audit stream (docs/audit-log.md,
// "Streaming to a SIEM"): a webhook needs exactly one secret source, and a
// secret source needs a webhook.
func (c *Config) validateAuditStream() error {
	n := 0
	for _, v := range []string{c.AuditWebhookSecretFile, c.AuditWebhookSecretEnv} {
		if v != "" {
			n++
		}
	}
	switch {
	case c.AuditWebhookURL != "" && n != 1:
		return errors.New("audit-webhook-url needs one of audit-webhook-secret-file or audit-webhook-secret-env: the key its requests are signed with")
	case c.AuditWebhookURL == "" && n > 0:
		return errors.New("audit-webhook-secret-file and audit-webhook-secret-env are for audit-webhook-url, which is not set")
	}
	return nil
}

// auditWebhookSecret reads the webhook's signing secret from its file (mode
// 0600) or environment variable, without surrounding spaces.
func auditWebhookSecret(cfg *Config, getenv func(string) string) ([]byte, error) {
	if cfg.AuditWebhookSecretFile != "" {
		b, _, err := readPrivate(cfg.AuditWebhookSecretFile, maxSecretFile, true)
		if err != nil {
			return nil, fmt.Errorf("audit-webhook-secret-file %s %v", cfg.AuditWebhookSecretFile, err)
		}
		return []byte(strings.TrimSpace(string(b))), nil
	}
	s := strings.TrimSpace(getenv(cfg.AuditWebhookSecretEnv))
	if s == "" {
		return nil, fmt.Errorf("audit-webhook-secret-env: %s is not set", cfg.AuditWebhookSecretEnv)
	}
	return []byte(s), nil
}

// startAuditStream starts streaming the sealed audit log to the configured
// webhook, file and bucket, if any; stop ends it and closes the file and bucket.
func startAuditStream(ctx context.Context, cfg *Config, a *app) (stop func(), err error) {
	var sinks []auditstream.Sink
	var file *auditstream.FileSink
	if cfg.AuditWebhookURL != "" {
		secret, err := auditWebhookSecret(cfg, os.Getenv)
		if err != nil {
			return nil, err
		}
		wh, err := auditstream.NewWebhook(auditstream.WebhookConfig{URL: cfg.AuditWebhookURL, Secret: secret})
		if err != nil {
			return nil, fmt.Errorf("audit-webhook-url: %w", err)
		}
		sinks = append(sinks, wh)
	}
	if cfg.AuditFileSink != "" {
		if file, err = auditstream.OpenFile(cfg.AuditFileSink, a.log); err != nil {
			return nil, err
		}
		sinks = append(sinks, file)
	}
	var bucket *auditstream.BlobSink
	closeSinks := func() {
		if file != nil {
			if err := file.Close(); err != nil {
				a.log.Warn("audit stream: closing the file", "err", err)
			}
		}
		if bucket != nil {
			if err := bucket.Close(); err != nil {
				a.log.Warn("audit stream: closing the bucket", "err", err)
			}
		}
	}
	if cfg.AuditBlobSink != "" {
		if bucket, err = auditstream.OpenBlob(ctx, cfg.AuditBlobSink, a.log); err != nil {
			closeSinks()
			return nil, fmt.Errorf("audit-blob-sink: %w", err)
		}
		sinks = append(sinks, bucket)
	}
	if len(sinks) == 0 {
		return func() {}, nil
	}
	s, err := auditstream.New(auditstream.Config{Store: a.store, Sinks: sinks, Logger: a.log})
	if err != nil {
		closeSinks()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { s.Run(sctx); close(done) }()
	names := make([]string, len(sinks))
	for i, sk := range sinks {
		names[i] = sk.Name()
	}
	a.log.Info("audit stream started", "sinks", names)
	return func() {
		cancel()
		<-done
		closeSinks()
	}, nil
}
