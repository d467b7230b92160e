package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"strongroom.dev/strongroom/auditstream"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/certs"
	"strongroom.dev/strongroom/disclosure"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/incident"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/monitor"
	"strongroom.dev/strongroom/oauthclient"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// Config is Strongroom's configuration. Each field is one setting with a flag
// (--name), an environment variable (STRONGROOM_NAME) and a key in the optional
// JSON config file; later sources win: defaults < file < environment < flags.
type Config struct {
	Addr              string
	DataDir           string
	Database          string
	MaxBodyBytes      int64
	CORSOrigins       []string
	TrustedProxies    []netip.Prefix
	SessionTTL        time.Duration
	SessionIdle       time.Duration
	SMTPHost          string
	SMTPPort          int
	SMTPTLS           string
	SMTPUsername      string
	SMTPPassword      string
	SMTPCAFile        string
	MailFrom          string
	PasswordMinLength int
	MasterKeyFile     string
	MasterKeyEnv      string
	KMS               string
	PreviousKeyFile   string
	PreviousKMS       string
	TLSCert           string
	TLSKey            string
	ACMEDomains       []string
	ACMEEmail         string
	ACMEDirectory     string
	ACMECacheDir      string
	HTTPAddr          string
	Production        bool
	TLSProxy          bool
	HSTS              certs.HSTS // sent when TLS() or TLSProxy
	LogLevel          string
	LogFormat         string
	ShutdownTimeout   time.Duration
	PublicURL         string
	OAuthProviders    string // the providers file (docs/connections.md)
	SignInProviders   string // the sign-in providers file (docs/oidc.md)
	// AuditCheckpointDir receives signed audit checkpoints outside the database
	// (docs/audit-log.md); empty: audit-checkpoints in the data dir.
	AuditCheckpointDir string
	// AuditWebhookURL, its secret's file or variable, and AuditFileSink
	// stream the sealed audit log to a SIEM (docs/audit-log.md); empty: off.
	AuditWebhookURL        string
	AuditWebhookSecretFile string
	AuditWebhookSecretEnv  string
	AuditFileSink          string
	// AuditBlobSink is a blob bucket URL (s3://, file://) receiving the sealed
	// audit log as immutable JSON Lines objects; empty: off.
	AuditBlobSink string
	// MetricsAddr is the admin listener serving GET /metrics; empty: off.
	MetricsAddr string
	// MetricsTokenFile holds the bearer token /metrics requires (mode 0600).
	MetricsTokenFile string
	// Monitor are the thresholds of the security monitor's detections
	// (docs/audit-log.md, "Monitoring").
	Monitor monitor.Thresholds
	// Backups (docs/operations.md): where scheduled backups go, encrypted to
	// whom, how often, kept how long; the keyring's backups apart; the
	// PostgreSQL role that may read every tenant's rows; the drill identity.
	BackupTo            string
	BackupRecipients    []string
	BackupPassphraseEnv string
	BackupEvery         time.Duration
	BackupKeep          time.Duration
	BackupKeyringTo     string
	BackupDatabase      string
	BackupDrillIdentity string
	BackupDrillEvery    time.Duration
	// BackupLayout is the layout of serve's backups (scheduled and "Back up
	// now") and the default of `strongroom backup`: backup.LayoutAuto (the
	// database file of the embedded store, the rows of PostgreSQL),
	// LayoutLogical or LayoutSQLiteFile (embedded store only).
	BackupLayout backup.Layout
	// Data lifecycle (docs/lifecycle.md): how often the retention sweeper
	// runs, the legal minimum of audit retention, the deadline of
	// data-subject requests and the return window after termination.
	RetentionInterval time.Duration
	// Files attached to records (docs/files.md): where their sealed blobs
	// live (a folder or an s3:// URL; "" is the data dir's blobs folder),
	// the size limit of one file and an organization's quota (0: none).
	Blobs                 string
	FileMaxBytes          int64
	FileQuotaBytes        int64
	AuditRetentionMinDays int
	DSRDeadline           time.Duration
	TerminationWindow     time.Duration
	// Incidents, responsible disclosure and subprocessors (docs/trust.md).
	SecurityContacts       []string
	SecurityPolicyURL      string
	SecurityLanguages      []string
	SecurityTxtExpires     time.Duration
	SecurityTxtEncryption  string // Encryption field: https URL or openpgp4fpr: URI
	SecurityTxtSigningKey  string // armored OpenPGP secret key file; empty: unsigned
	securityTxtSigner      *disclosure.SecurityTxtSigner
	BreachWindow           time.Duration
	DisclosureAckDays      int
	DisclosureTimeZone     *time.Location
	DisclosureResolution   disclosure.ResolutionPolicy
	SubprocessorNoticeDays int
	// StatusProbeInterval is how often the status page's probes run.
	StatusProbeInterval time.Duration

	// AuditRetentionPlatformDays is the platform audit chain's retention (0:
	// the legal minimum).
	AuditRetentionPlatformDays int
	// Access reviews (IAM-15; docs/trust.md).
	AccessReviewCadenceMonths int
	AccessReviewDueDays       int
	AccessReviewRemindDays    int
}

// BlobsLocation is where files' blobs live, by setting or by default.
func (c *Config) BlobsLocation() string {
	if c.Blobs != "" {
		return c.Blobs
	}
	return filepath.Join(c.DataDir, "blobs")
}

// CheckpointDir is the audit checkpoint folder, by setting or by default.
func (c *Config) CheckpointDir() string {
	if c.AuditCheckpointDir != "" {
		return c.AuditCheckpointDir
	}
	return filepath.Join(c.DataDir, "audit-checkpoints")
}

// setting describes one configuration value.
type setting struct {
	name string // flag name and config-file key
	def  string
	help string
	set  func(c *Config, v string) error
}

// isBool reports whether the setting is a switch (--production, not
// --production=true), recognized by its default.
func (s setting) isBool() bool { return s.def == "false" || s.def == "true" }

func (s setting) env() string {
	return "STRONGROOM_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

// settings is the documented table of configuration (the README's table is
// generated from the same text: keep them in step).
var settings = []setting{
	{"addr", "127.0.0.1:8080", "address to listen on (host:port)", func(c *Config, v string) error {
		if !strings.Contains(v, ":") {
			return errors.New("must be host:port, such as 127.0.0.1:8080")
		}
		c.Addr = v
		return nil
	}},
	{"data-dir", "./strongroom-data", "folder for the embedded database and local files (created 0700)", func(c *Config, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"database", "", "empty for embedded SQLite in the data dir, or a postgres:// URL (the application role)", func(c *Config, v string) error {
		if v != "" && !store.IsPostgresURL(v) {
			return errors.New("must be empty or start with postgres:// or postgresql://")
		}
		c.Database = v
		return nil
	}},
	{"max-body-bytes", "1048576", "largest accepted request body in bytes (larger: 413)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 1<<30 {
			return errors.New("must be a number of bytes from 1024 to 1073741824")
		}
		c.MaxBodyBytes = n
		return nil
	}},
	{"cors-origins", "", "comma-separated origins allowed cross-origin access (https://app.example.com)", func(c *Config, v string) error {
		c.CORSOrigins = splitList(v)
		o := httpapi.Options{CORSOrigins: c.CORSOrigins}
		return o.Validate()
	}},
	{"trusted-proxies", "", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed", func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, p := range splitList(v) {
			if !strings.Contains(p, "/") {
				a, err := netip.ParseAddr(p)
				if err != nil {
					return fmt.Errorf("%q is not an address or CIDR", p)
				}
				p = netip.PrefixFrom(a, a.BitLen()).String()
			}
			pfx, err := netip.ParsePrefix(p)
			if err != nil {
				return fmt.Errorf("%q is not an address or CIDR", p)
			}
			c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
		}
		return nil
	}},
	{"session-ttl", "12h", "absolute lifetime of a session (Go duration, 5m to 720h)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Minute || d > 720*time.Hour {
			return errors.New("must be a duration from 5m to 720h")
		}
		c.SessionTTL = d
		return nil
	}},
	{"session-idle", "1h", "idle lifetime of a session: it ends after this long without a request (Go duration, 1m to 24h)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 24*time.Hour {
			return errors.New("must be a duration from 1m to 24h")
		}
		c.SessionIdle = d
		return nil
	}},
	{"smtp-host", "", "SMTP server for e-mail (codes, links, notices); empty: the development outbox (embedded mode only)", func(c *Config, v string) error {
		c.SMTPHost = v
		return nil
	}},
	{"smtp-port", "587", "SMTP server port (587 for STARTTLS, 465 for implicit TLS)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return errors.New("must be a port number from 1 to 65535")
		}
		c.SMTPPort = n
		return nil
	}},
	{"smtp-tls", "starttls", "SMTP transport security: starttls (required), implicit, or none (loopback servers only)", func(c *Config, v string) error {
		if v != mail.TLSStartTLS && v != mail.TLSImplicit && v != mail.TLSNone {
			return errors.New("must be starttls, implicit or none")
		}
		c.SMTPTLS = v
		return nil
	}},
	{"smtp-username", "", "SMTP user name (AUTH PLAIN over TLS)", func(c *Config, v string) error {
		c.SMTPUsername = v
		return nil
	}},
	{"smtp-password", "", "SMTP password: set it in STRONGROOM_SMTP_PASSWORD or the config file, never as a flag", func(c *Config, v string) error {
		c.SMTPPassword = v
		return nil
	}},
	{"smtp-ca-file", "", "PEM file of the certificate authorities that sign the SMTP server's certificate; empty: the system's", func(c *Config, v string) error {
		c.SMTPCAFile = v
		return nil
	}},
	{"mail-from", "", "sender address of Strongroom's e-mail (no-reply@example.com); required with smtp-host", func(c *Config, v string) error {
		c.MailFrom = v
		return nil
	}},
	{"password-min-length", "15", "minimum password length in characters (NIST SP 800-63B-4: 15 without MFA; never below 8)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 8 || n > 64 {
			return errors.New("must be a number from 8 to 64")
		}
		c.PasswordMinLength = n
		return nil
	}},
	{"master-key-file", "", "master key file (base64, mode 0600); default: master.key in the data dir, generated at first start", func(c *Config, v string) error {
		c.MasterKeyFile = v
		return nil
	}},
	{"master-key-env", "", "name of an environment variable holding the base64 master key (instead of a file)", func(c *Config, v string) error {
		if v != "" && !envName.MatchString(v) {
			return errors.New("must be an environment variable name such as STRONGROOM_MASTER_KEY")
		}
		c.MasterKeyEnv = v
		return nil
	}},
	{"kms", "", "KMS key URL for the master key: hashivault://KEY, awskms://..., gcpkms://... (instead of a file)", func(c *Config, v string) error {
		c.KMS = v
		return nil
	}},
	{"previous-master-key-file", "", "during master-key rotation: the old key file, still used to unwrap", func(c *Config, v string) error {
		c.PreviousKeyFile = v
		return nil
	}},
	{"previous-kms", "", "during master-key rotation: the old KMS key URL, still used to unwrap", func(c *Config, v string) error {
		c.PreviousKMS = v
		return nil
	}},
	{"tls-cert", "", "TLS certificate chain file (PEM); reloaded when it changes", func(c *Config, v string) error {
		c.TLSCert = v
		return nil
	}},
	{"tls-key", "", "TLS private key file (PEM, mode 0600)", func(c *Config, v string) error {
		c.TLSKey = v
		return nil
	}},
	{"acme-domains", "", "comma-separated domains to get certificates for from an ACME CA (Let's Encrypt)", func(c *Config, v string) error {
		c.ACMEDomains = splitList(v)
		return nil
	}},
	{"acme-email", "", "contact e-mail for the ACME account", func(c *Config, v string) error {
		c.ACMEEmail = v
		return nil
	}},
	{"acme-directory", "", "ACME directory URL (default: Let's Encrypt production)", func(c *Config, v string) error {
		c.ACMEDirectory = v
		return nil
	}},
	{"acme-cache-dir", "", "folder for ACME account and certificates (default: acme in the data dir; 0700)", func(c *Config, v string) error {
		c.ACMECacheDir = v
		return nil
	}},
	{"http-addr", "", "with TLS: plain-HTTP address (such as :80) that redirects to HTTPS and answers ACME http-01", func(c *Config, v string) error {
		if v != "" && !strings.Contains(v, ":") {
			return errors.New("must be host:port, such as :80")
		}
		c.HTTPAddr = v
		return nil
	}},
	{"production", "false", "fail closed: refuse to serve plain HTTP unless TLS ends at a trusted proxy (--tls-proxy with --trusted-proxies)", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		c.Production = b
		return err
	}},
	{"tls-proxy", "false", "TLS is terminated by the trusted proxies (--trusted-proxies): serve HTTP to them and send HSTS", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		c.TLSProxy = b
		return err
	}},
	{"hsts-max-age-days", "730", "Strict-Transport-Security max-age in days, 0 to 3650 (sent with TLS or tls-proxy)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3650 {
			return errors.New("must be a whole number of days from 0 to 3650")
		}
		c.HSTS.MaxAge = time.Duration(n) * 24 * time.Hour
		return nil
	}},
	{"hsts-include-subdomains", "true", "Strict-Transport-Security covers every subdomain (includeSubDomains)", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		c.HSTS.IncludeSubDomains = b
		return err
	}},
	{"hsts-preload", "false", "ask browsers to preload HSTS (preload; needs includeSubDomains and at least 365 days; hard to undo)", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		c.HSTS.Preload = b
		return err
	}},
	{"log-level", "info", "debug, info, warn or error", func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return errors.New("must be debug, info, warn or error")
	}},
	{"log-format", "text", "text or json", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return errors.New("must be text or json")
		}
		c.LogFormat = v
		return nil
	}},
	{"shutdown-timeout", "15s", "how long a graceful shutdown waits for requests in flight", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 10*time.Minute {
			return errors.New("must be a duration from 0s to 10m")
		}
		c.ShutdownTimeout = d
		return nil
	}},
	{"public-url", "", "the URL users reach Strongroom at (https://strongroom.example.com); the connections' and sign-in providers' redirect URIs are built from it", func(c *Config, v string) error {
		if v == "" {
			c.PublicURL = ""
			return nil
		}
		if err := oauthclient.CheckURL(v); err != nil {
			return err
		}
		u, _ := url.Parse(v)
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery {
			return errors.New("must be scheme://host[:port] without a path or query")
		}
		c.PublicURL = strings.TrimSuffix(v, "/")
		return nil
	}},
	{"audit-checkpoint-dir", "", "folder for signed audit-log checkpoints, kept outside the database (created 0700; default: audit-checkpoints in the data dir; see docs/audit-log.md)", func(c *Config, v string) error {
		c.AuditCheckpointDir = v
		return nil
	}},
	{"audit-webhook-url", "", "stream sealed audit events to this URL as signed JSON batches (https; http only to loopback; see docs/audit-log.md)", func(c *Config, v string) error {
		if v != "" {
			if err := auditstream.CheckWebhookURL(v); err != nil {
				return err
			}
		}
		c.AuditWebhookURL = v
		return nil
	}},
	{"audit-webhook-secret-file", "", "file (mode 0600) holding the audit webhook's HMAC-SHA256 secret (16 characters or more)", func(c *Config, v string) error {
		c.AuditWebhookSecretFile = v
		return nil
	}},
	{"audit-webhook-secret-env", "", "name of an environment variable holding the audit webhook's secret (instead of a file)", func(c *Config, v string) error {
		if v != "" && !envName.MatchString(v) {
			return errors.New("must be an environment variable name such as STRONGROOM_AUDIT_WEBHOOK_SECRET")
		}
		c.AuditWebhookSecretEnv = v
		return nil
	}},
	{"audit-file-sink", "", "append sealed audit events to this JSON Lines file (created 0600, synced after each batch; see docs/audit-log.md)", func(c *Config, v string) error {
		c.AuditFileSink = v
		return nil
	}},
	{"audit-blob-sink", "", "write sealed audit events as new JSON Lines objects to this bucket URL, never overwriting one (s3://bucket?region=…&prefix=audit/ with credentials from the environment, or file:///path; see docs/audit-log.md)", func(c *Config, v string) error {
		c.AuditBlobSink = v
		return nil
	}},
	{"oauth-providers-file", "", "JSON file of the third-party OAuth 2.0 providers organizations may connect (not writable by group or others; see docs/connections.md)", func(c *Config, v string) error {
		c.OAuthProviders = v
		return nil
	}},
	{"sign-in-providers-file", "", "JSON file of the OpenID Connect providers people may sign in with: Google, Microsoft or any issuer (not writable by group or others; needs public-url; see docs/oidc.md)", func(c *Config, v string) error {
		c.SignInProviders = v
		return nil
	}},
	{"metrics-addr", "", "admin listener (host:port, such as 127.0.0.1:9090) that serves only GET /metrics for Prometheus; empty: off; off loopback it needs metrics-token-file (see docs/operations.md)", func(c *Config, v string) error {
		if v != "" {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return errors.New("must be host:port, such as 127.0.0.1:9090")
			}
		}
		c.MetricsAddr = v
		return nil
	}},
	{"metrics-token-file", "", "file (mode 0600) holding the bearer token /metrics requires (Authorization: Bearer <token>; 32 characters or more)", func(c *Config, v string) error {
		c.MetricsTokenFile = v
		return nil
	}},
	// The security monitor's thresholds (LOG-04; docs/audit-log.md, "Monitoring").
	{"monitor-brute-force-failures", "10", "failed sign-ins against one account within monitor-brute-force-window that raise a brute-force alert (2 to 10000)", func(c *Config, v string) error {
		return monitorInt(v, 2, 10000, &c.Monitor.BruteForceFailures)
	}},
	{"monitor-brute-force-window", "15m", "window of the brute-force detection (1m to 24h)", func(c *Config, v string) error {
		return monitorWindow(v, &c.Monitor.BruteForceWindow)
	}},
	{"monitor-stuffing-accounts", "20", "different accounts with failed sign-ins from one network (/24 IPv4, /64 IPv6) within monitor-stuffing-window that raise a credential-stuffing alert (2 to 10000)", func(c *Config, v string) error {
		return monitorInt(v, 2, 10000, &c.Monitor.StuffingAccounts)
	}},
	{"monitor-stuffing-window", "15m", "window of the credential-stuffing detection (1m to 24h)", func(c *Config, v string) error {
		return monitorWindow(v, &c.Monitor.StuffingWindow)
	}},
	{"monitor-mass-read-factor", "10", "a principal reading more than this many times its usual volume within monitor-mass-read-window raises a mass-read alert (1 to 1000000)", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 1 && f <= 1e6) {
			return errors.New("must be a number from 1 to 1000000")
		}
		c.Monitor.MassReadFactor = f
		return nil
	}},
	{"monitor-mass-read-floor", "500", "records read within monitor-mass-read-window below which no mass-read alert is raised, however small the usual volume (1 to 1000000000)", func(c *Config, v string) error {
		return monitorInt(v, 1, 1e9, &c.Monitor.MassReadFloor)
	}},
	{"monitor-mass-read-window", "1h", "window of the mass-read detection (1m to 24h)", func(c *Config, v string) error {
		return monitorWindow(v, &c.Monitor.MassReadWindow)
	}},
	{"backup-to", "", "folder or bucket URL (s3://bucket?region=…, file:///path) for encrypted backups; with backup-recipients, serve takes one every backup-every (see docs/operations.md)", func(c *Config, v string) error {
		c.BackupTo = v
		return nil
	}},
	{"backup-recipients", "", "comma-separated age public keys (age1…) or files of them that backups are encrypted to; keep the matching identity offline", func(c *Config, v string) error {
		c.BackupRecipients = splitList(v)
		return nil
	}},
	{"backup-passphrase-env", "", "name of an environment variable holding a passphrase (16+ characters) to encrypt backups to instead of backup-recipients", func(c *Config, v string) error {
		if v != "" && !envName.MatchString(v) {
			return errors.New("must be an environment variable name such as STRONGROOM_BACKUP_PASSPHRASE")
		}
		c.BackupPassphraseEnv = v
		return nil
	}},
	{"backup-every", "24h", "interval between scheduled backups (run once across replicas under a lease)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return errors.New("must be a duration of at least 1m, such as 24h")
		}
		c.BackupEvery = d
		return nil
	}},
	{"backup-keep", "720h", "backups older than this are deleted from backup-to after a new one succeeds (the newest is always kept)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour {
			return errors.New("must be a duration of at least 1h, such as 720h (30 days)")
		}
		c.BackupKeep = d
		return nil
	}},
	{"backup-keyring-to", "", "folder or bucket URL for keyring backups (wrapped keys), apart from backup-to; written after each scheduled backup", func(c *Config, v string) error {
		c.BackupKeyringTo = v
		return nil
	}},
	{"backup-database", "", "postgres:// URL of a role that bypasses row-level security (BYPASSRLS), used only to read backups; empty: database", func(c *Config, v string) error {
		if v != "" && !store.IsPostgresURL(v) {
			return errors.New("must be empty or start with postgres:// or postgresql://")
		}
		c.BackupDatabase = v
		return nil
	}},
	{"backup-drill-identity-file", "", "age identity file that opens the backups, for scheduled restore drills (a second recipient kept for drills); empty: no scheduled drills", func(c *Config, v string) error {
		c.BackupDrillIdentity = v
		return nil
	}},
	{"backup-drill-every", "168h", "interval between scheduled restore drills of the newest backup", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return errors.New("must be a duration of at least 1m, such as 168h")
		}
		c.BackupDrillEvery = d
		return nil
	}},
	{"backup-layout", "auto", "layout of the backups serve takes (scheduled and Back up now) and the default of strongroom backup: auto (the embedded store's database file, PostgreSQL's rows), " +
		"logical (rows, engine-neutral) or sqlite-file (the database file; embedded store only, refused with database)", func(c *Config, v string) error {
		switch v {
		case "auto":
			c.BackupLayout = backup.LayoutAuto
		case string(backup.LayoutLogical), string(backup.LayoutSQLiteFile):
			c.BackupLayout = backup.Layout(v)
		default:
			return errors.New("must be auto, logical or sqlite-file")
		}
		return nil
	}},
	{"blobs", "", "where files' encrypted blobs live: a folder (created 0700), or an s3://bucket?region=…&endpoint=… URL for S3-compatible storage (scale-out); empty: the data dir's blobs folder (see docs/files.md)", func(c *Config, v string) error {
		c.Blobs = v
		return nil
	}},
	{"file-max-bytes", "26214400", "largest file accepted for upload, in bytes (1 to 5368709120; 25 MiB by default)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 5<<30 {
			return errors.New("must be a number of bytes from 1 to 5368709120")
		}
		c.FileMaxBytes = n
		return nil
	}},
	{"file-quota-bytes", "0", "total size of one organization's files, in bytes; 0 for no quota", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errors.New("must be a number of bytes, 0 or more")
		}
		c.FileQuotaBytes = n
		return nil
	}},
	{"retention-interval", "1h", "how often the retention sweeper deletes expired records (one replica at a time, under a lease; Go duration, 1m to 24h; see docs/lifecycle.md)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 24*time.Hour {
			return errors.New("must be a duration from 1m to 24h")
		}
		c.RetentionInterval = d
		return nil
	}},
	{"audit-retention-min-days", "365", "legal minimum of audit-log retention in days: organizations cannot set their audit retention below it (0 to 36500)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 36500 {
			return errors.New("must be a number of days from 0 to 36500")
		}
		c.AuditRetentionMinDays = n
		return nil
	}},
	{"audit-retention-platform-days", "0", "retention of the platform's own audit chain in days; older events are pruned below a signed prune marker (0: the legal minimum, --audit-retention-min-days, and never less; both 0 keeps them forever; see docs/audit-log.md)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 36500 {
			return errors.New("must be a number of days from 0 to 36500")
		}
		c.AuditRetentionPlatformDays = n
		return nil
	}},
	{"dsr-deadline", "720h", "time a data-subject request has to be carried out before it is overdue (Go duration, 24h to 2160h; GDPR: one month)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 24*time.Hour || d > 2160*time.Hour {
			return errors.New("must be a duration from 24h to 2160h")
		}
		c.DSRDeadline = d
		return nil
	}},
	{"termination-window", "720h", "return window after an organization is terminated: its Admin can still export its data, then everything is deleted and its keys destroyed (Go duration, 1h to 2160h)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour || d > 2160*time.Hour {
			return errors.New("must be a duration from 1h to 2160h")
		}
		c.TerminationWindow = d
		return nil
	}},

	// Incidents, responsible disclosure and subprocessors (docs/trust.md).
	{"security-contacts", "", "comma-separated Contact URIs of /.well-known/security.txt (mailto:, https: or tel:); empty: security.txt is not served", func(c *Config, v string) error {
		c.SecurityContacts = splitList(v)
		return c.securityTxtValid()
	}},
	{"security-policy-url", "", "https URL of the disclosure policy, the Policy field of security.txt; optional", func(c *Config, v string) error {
		c.SecurityPolicyURL = v
		return c.securityTxtValid()
	}},
	{"security-languages", "en", "comma-separated language tags for security.txt's Preferred-Languages", func(c *Config, v string) error {
		c.SecurityLanguages = splitList(v)
		return c.securityTxtValid()
	}},
	{"security-txt-expires", "4320h", "how far ahead security.txt's Expires lies, renewed daily (Go duration, more than 24h and less than 8760h)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("must be a duration such as 4320h")
		}
		c.SecurityTxtExpires = d
		return c.securityTxtValid()
	}},
	{"security-txt-encryption", "", "security.txt's Encryption field: an https URL of the OpenPGP key to encrypt reports with, or openpgp4fpr:FINGERPRINT; optional", func(c *Config, v string) error {
		c.SecurityTxtEncryption = v
		return c.securityTxtValid()
	}},
	{"security-txt-signing-key", "", "file of an ASCII-armored OpenPGP secret key (no passphrase; mode 0600) that clear-signs security.txt (RFC 9116 2.3); empty: unsigned", func(c *Config, v string) error {
		c.SecurityTxtSigningKey = v
		return nil
	}},
	{"breach-notification-window", "72h", "deadline for notifying organizations of a personal-data breach, from when the team became aware: 24h or 72h", func(c *Config, v string) error {
		d, err := incident.ParseWindow(v)
		c.BreachWindow = d
		return err
	}},
	{"disclosure-ack-days", "5", "business days (Monday to Friday) within which a vulnerability report must be acknowledged (1 to 30)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > disclosure.MaxBusinessDays {
			return errors.New("must be a whole number from 1 to 30")
		}
		c.DisclosureAckDays = n
		return nil
	}},
	{"disclosure-time-zone", "UTC", "IANA time zone in which business days and deadlines are counted, such as Europe/Berlin", func(c *Config, v string) error {
		loc, err := time.LoadLocation(v)
		if err != nil || v == "" || v == "Local" {
			return errors.New("must be an IANA time zone such as UTC or Europe/Berlin")
		}
		c.DisclosureTimeZone = loc
		return nil
	}},
	{"disclosure-resolution-days", "critical=30,high=60,medium=90,low=180", "calendar days to fix a vulnerability, by severity (every severity; a more severe one never gets longer)", func(c *Config, v string) error {
		p, err := disclosure.ParseResolutionPolicy(v)
		c.DisclosureResolution = p
		return err
	}},
	{"subprocessor-notice-days", "30", "days before a subprocessor change takes effect that subscribers are told (1 to 365)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return errors.New("must be a whole number from 1 to 365")
		}
		c.SubprocessorNoticeDays = n
		return nil
	}},
	{"status-probe-interval", "1m", "how often the status page's health probes run (1s to 1h; once across replicas under a lease); a result older than three intervals shows as not monitored", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			return errors.New("must be a duration from 1s to 1h")
		}
		c.StatusProbeInterval = d
		return nil
	}},
	{"access-review-cadence-months", "3", "months between scheduled access review campaigns, each opened on the first day of its period (1, 2, 3, 4, 6 or 12; 3 is quarterly)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || 12%n != 0 {
			return errors.New("must be 1, 2, 3, 4, 6 or 12")
		}
		c.AccessReviewCadenceMonths = n
		return nil
	}},
	{"access-review-due-days", "14", "days reviewers have to complete an access review campaign (1 to 90)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 90 {
			return errors.New("must be a whole number from 1 to 90")
		}
		c.AccessReviewDueDays = n
		return nil
	}},
	{"access-review-remind-days", "3", "days before an access review's due date that its Admins are e-mailed reminders, daily until it is completed (1 to the due days)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 90 {
			return errors.New("must be a whole number from 1 to 90")
		}
		c.AccessReviewRemindDays = n
		return nil
	}},
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// maxConfigFile bounds the config file; it is small by nature.
const maxConfigFile = 1 << 20

// loadConfig builds the configuration for a subcommand from defaults, the
// config file (--config or STRONGROOM_CONFIG), the environment and args.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (*Config, error) {
	given := map[string]string{}
	for _, s := range settings {
		usage := fmt.Sprintf("%s (env %s, default %q)", s.help, s.env(), s.def)
		record := func(v string) error {
			given[s.name] = v
			return nil
		}
		if s.isBool() {
			fs.BoolFunc(s.name, usage, record)
		} else {
			fs.Func(s.name, usage, record)
		}
	}
	configPath := fs.String("config", getenv("STRONGROOM_CONFIG"), "optional JSON config file whose keys are the flag names (env STRONGROOM_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c := &Config{}
	for _, s := range settings {
		if err := s.set(c, s.def); err != nil {
			return nil, fmt.Errorf("default of %s: %w", s.name, err)
		}
	}
	if *configPath != "" {
		file, err := readConfigFile(*configPath)
		if err != nil {
			return nil, err
		}
		if err := apply(c, file, "config file"); err != nil {
			return nil, err
		}
	}
	env := map[string]string{}
	for _, s := range settings {
		if v, ok := lookupEnv(getenv, s.env()); ok {
			env[s.name] = v
		}
	}
	if err := apply(c, env, "environment"); err != nil {
		return nil, err
	}
	if err := apply(c, given, "flag"); err != nil {
		return nil, err
	}
	n := 0
	for _, v := range []string{c.MasterKeyFile, c.MasterKeyEnv, c.KMS} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("give at most one master key source: master-key-file, master-key-env or kms")
	}
	if err := c.validateTLS(); err != nil {
		return nil, err
	}
	if err := c.loadSecurityTxtSigner(time.Now()); err != nil {
		return nil, err
	}
	if err := c.validateAuditStream(); err != nil {
		return nil, err
	}
	if err := c.validateMetrics(); err != nil {
		return nil, err
	}
	if err := c.Monitor.Validate(); err != nil {
		return nil, fmt.Errorf("monitor thresholds: %w", err)
	}
	if c.AccessReviewRemindDays > c.AccessReviewDueDays {
		return nil, errors.New("access-review-remind-days must not exceed access-review-due-days")
	}
	if c.OAuthProviders != "" && c.PublicURL == "" {
		return nil, errors.New("oauth-providers-file needs public-url: the providers redirect the browser back to it")
	}
	if c.SignInProviders != "" && c.PublicURL == "" {
		return nil, errors.New("sign-in-providers-file needs public-url: the providers redirect the browser back to it")
	}
	if given["smtp-password"] != "" {
		return nil, errors.New("flag smtp-password: a password on the command line is visible to every user of the machine; " +
			"set STRONGROOM_SMTP_PASSWORD or use the config file")
	}
	if c.SMTPHost != "" && c.MailFrom == "" {
		return nil, errors.New("smtp-host needs mail-from: the sender address of Strongroom's e-mail")
	}
	if u, err := url.Parse(given["database"]); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return nil, errors.New("flag database: a password on the command line is visible to every user of the machine; " +
				"pass the URL in STRONGROOM_DATABASE or the config file, or the password in PGPASSFILE")
		}
	}
	return c, nil
}

func lookupEnv(getenv func(string) string, k string) (string, bool) {
	v := getenv(k)
	return v, v != ""
}

func apply(c *Config, vals map[string]string, source string) error {
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		s, ok := findSetting(name)
		if !ok {
			return fmt.Errorf("%s: unknown setting %q", source, name)
		}
		if err := s.set(c, vals[name]); err != nil {
			if source == "environment" {
				return fmt.Errorf("%s %s: %w", source, s.env(), err)
			}
			return fmt.Errorf("%s %s: %w", source, name, err)
		}
	}
	return nil
}

func findSetting(name string) (setting, bool) {
	for _, s := range settings {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}

// readConfigFile reads a JSON object of setting names to strings, numbers or
// lists of strings; unknown keys are refused.
func readConfigFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening config file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	if len(b) > maxConfigFile {
		return nil, errors.New("config file is larger than 1 MiB")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("config file %s: not a JSON object: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("config file %s: data after the JSON object", path)
	}
	out := map[string]string{}
	for k, v := range raw {
		var s string
		var n json.Number
		var list []string
		switch {
		case json.Unmarshal(v, &s) == nil:
			out[k] = s
		case json.Unmarshal(v, &n) == nil:
			out[k] = n.String()
		case json.Unmarshal(v, &list) == nil:
			out[k] = strings.Join(list, ",")
		default:
			return nil, fmt.Errorf("config file %s: %q must be a string, a number or a list of strings", path, k)
		}
	}
	return out, nil
}

// TLS reports whether Strongroom terminates TLS itself.
func (c *Config) TLS() bool { return c.TLSCert != "" || c.TLSKey != "" || len(c.ACMEDomains) > 0 }

// validateTLS checks the combination of TLS settings (APP-05: fail closed).
func (c *Config) validateTLS() error {
	files := c.TLSCert != "" || c.TLSKey != ""
	switch {
	case files && (c.TLSCert == "" || c.TLSKey == ""):
		return errors.New("give both tls-cert and tls-key")
	case files && len(c.ACMEDomains) > 0:
		return errors.New("give either tls-cert/tls-key or acme-domains, not both")
	case c.TLSProxy && len(c.TrustedProxies) == 0:
		return errors.New("tls-proxy needs trusted-proxies: the addresses of the proxies that terminate TLS")
	case c.TLSProxy && c.TLS():
		return errors.New("tls-proxy means TLS ends at the proxy; do not also configure certificates")
	case c.HTTPAddr != "" && !c.TLS():
		return errors.New("http-addr is the plain-HTTP redirect port of a TLS server; configure TLS first")
	case c.Production && !c.TLS() && !c.TLSProxy:
		return errors.New("production mode refuses plain HTTP: configure tls-cert/tls-key or acme-domains, or tls-proxy with trusted-proxies")
	}
	if err := c.HSTS.Validate(); err != nil {
		return fmt.Errorf("hsts: %w", err)
	}
	return nil
}

func monitorInt(v string, lo, hi int, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
	}
	*dst = n
	return nil
}

func monitorWindow(v string, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute || d > 24*time.Hour {
		return errors.New("must be a duration from 1m to 24h")
	}
	*dst = d
	return nil
}

// securityTxt is the security.txt the settings describe; nil without a
// contact. Canonical is set when public-url is https.
func (c *Config) securityTxt() *disclosure.SecurityTxt {
	if len(c.SecurityContacts) == 0 {
		return nil
	}
	st := &disclosure.SecurityTxt{Contacts: c.SecurityContacts, Policy: c.SecurityPolicyURL, Languages: c.SecurityLanguages,
		ExpiresIn: c.SecurityTxtExpires, Encryption: c.SecurityTxtEncryption, Signer: c.securityTxtSigner}
	if strings.HasPrefix(c.PublicURL, "https://") {
		st.Canonical = c.PublicURL + disclosure.SecurityTxtPath
		st.Acknowledgments = c.PublicURL + "/api/v1/disclosure/credits"
	}
	return st
}

// securityTxtValid checks the security.txt settings once all are known (the
// expiry is set last among the defaults).
func (c *Config) securityTxtValid() error {
	if c.SecurityTxtExpires == 0 {
		return nil
	}
	if st := c.securityTxt(); st != nil {
		return st.Validate()
	}
	return nil
}

// maxSigningKeyFile bounds the security.txt signing key file.
const maxSigningKeyFile = 64 << 10

// loadSecurityTxtSigner reads the security.txt signing key, when one is
// configured: a file only its owner may read or change, holding one OpenPGP
// secret key that can sign at now.
func (c *Config) loadSecurityTxtSigner(now time.Time) error {
	if c.SecurityTxtSigningKey == "" {
		return nil
	}
	if len(c.SecurityContacts) == 0 {
		return errors.New("security-txt-signing-key: security.txt is not served without security-contacts")
	}
	b, _, err := readPrivate(c.SecurityTxtSigningKey, maxSigningKeyFile, true)
	if err != nil {
		return fmt.Errorf("security-txt-signing-key: %w", err)
	}
	if c.securityTxtSigner, err = disclosure.NewSecurityTxtSigner(b, now); err != nil {
		return err
	}
	return nil
}

// reviews is the service's access review configuration.
func (c *Config) reviews() service.ReviewConfig {
	return service.ReviewConfig{CadenceMonths: c.AccessReviewCadenceMonths, DueDays: c.AccessReviewDueDays, RemindDays: c.AccessReviewRemindDays}
}

// trust is the service's trust configuration.
func (c *Config) trust() service.TrustConfig {
	return service.TrustConfig{SecurityTxt: c.securityTxt(), BreachWindow: c.BreachWindow, AckDays: c.DisclosureAckDays,
		TimeZone: c.DisclosureTimeZone, Resolution: c.DisclosureResolution, SubprocessorNoticeDays: c.SubprocessorNoticeDays}
}
