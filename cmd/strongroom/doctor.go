package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"strongroom.dev/strongroom/certs"
	"strongroom.dev/strongroom/store"
)

// checkPostgres returns what makes a PostgreSQL store unfit to serve.
func checkPostgres(ctx context.Context, st *store.Store) []string {
	var problems []string
	status, err := st.SchemaStatus(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	switch {
	case status.Applied < status.Latest:
		problems = append(problems, fmt.Sprintf("schema is at version %d, this binary needs %d: run 'strongroom migrate' as the schema owner", status.Applied, status.Latest))
	case status.Applied > status.Latest:
		problems = append(problems, fmt.Sprintf("schema is at version %d, newer than this binary (%d): upgrade the binary", status.Applied, status.Latest))
	}
	role, err := st.Role(ctx)
	if err != nil {
		return append(problems, err.Error())
	}
	return append(problems, role.Problems()...)
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig("migrate", "Apply database migrations. On PostgreSQL, pass the schema owner's URL with --database; the server itself connects as a login role in strongroom_app", args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	status, err := st.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema is current (version %d)\n", status.Applied)
	} else {
		fmt.Fprintf(stdout, "applied migrations %v; schema is at version %d\n", applied, status.Applied)
	}
	return nil
}

// runDoctor checks the configuration and the database and explains every
// problem; it exits non-zero when anything would make serving unsafe.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig("doctor", "Check the configuration and the database, and explain anything unsafe", args, stderr)
	if err != nil {
		return err
	}
	failed := false
	report := func(ok bool, what, detail string) {
		mark := "ok  "
		if !ok {
			mark, failed = "FAIL", true
		}
		fmt.Fprintf(stdout, "%s %s", mark, what)
		if detail != "" {
			fmt.Fprintf(stdout, ": %s", detail)
		}
		fmt.Fprintln(stdout)
	}
	report(true, "configuration", "valid")
	doctorTLS(cfg, report)
	doctorSecurityTxt(cfg, time.Now(), report)
	doctorAuditFolder(cfg, report)
	if cfg.Database == "" {
		fi, err := os.Stat(cfg.DataDir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			report(true, "data folder", cfg.DataDir+" does not exist yet; serve creates it with mode 0700")
		case err != nil:
			report(false, "data folder", err.Error())
		case fi.Mode().Perm()&0o077 != 0:
			report(false, "data folder", fmt.Sprintf("%s has mode %o; others can read it: chmod 700 %s", cfg.DataDir, fi.Mode().Perm(), cfg.DataDir))
		default:
			report(true, "data folder", cfg.DataDir+" (mode 0700)")
		}
		doctorLoadFiles(cfg.DataDir, report)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	log := newLogger(cfg, io.Discard)
	if cfg.Database == "" {
		if _, err := os.Stat(cfg.DataDir); err != nil {
			report(true, "database", "embedded SQLite; created at first start")
			return doctorResult(failed)
		}
	}
	st, err := store.Open(cctx, store.Config{URL: cfg.Database, Path: cfg.DataDir + "/strongroom.db", Logger: log})
	if err != nil {
		report(false, "database", err.Error())
		return doctorResult(failed)
	}
	defer st.Close()
	if err := st.Ping(cctx); err != nil {
		report(false, "database", err.Error())
		return doctorResult(failed)
	}
	report(true, "database", string(st.Engine())+" reachable")
	doctorKeys(cctx, cfg, st, report)
	if st.Engine() == store.Postgres {
		problems := checkPostgres(cctx, st)
		for _, p := range problems {
			report(false, "database role and schema", p)
		}
		if len(problems) == 0 {
			report(true, "database role and schema", "schema current; role owns nothing, no BYPASSRLS, not superuser")
		}
	} else {
		status, err := st.SchemaStatus(cctx)
		switch {
		case err != nil:
			report(false, "schema", err.Error())
		case status.Applied > status.Latest:
			report(false, "schema", fmt.Sprintf("version %d is newer than this binary (%d)", status.Applied, status.Latest))
		default:
			report(true, "schema", fmt.Sprintf("version %d of %d (serve migrates the embedded store)", status.Applied, status.Latest))
		}
	}
	return doctorResult(failed)
}

func doctorResult(failed bool) error {
	if failed {
		return errors.New("problems found")
	}
	return nil
}

// keyAgeLimit is the age after which doctor asks for a data-key rotation.
const keyAgeLimit = 365 * 24 * time.Hour

// doctorKeys reports the master key's source and protection, and the keyring's
// state: which master keys wrap it and how old the current data keys are.
func doctorKeys(ctx context.Context, cfg *Config, st *store.Store, report func(bool, string, string)) {
	switch {
	case cfg.KMS != "":
		report(true, "master key", "KMS "+cfg.KMS)
	case cfg.MasterKeyEnv != "":
		report(true, "master key", "environment variable "+cfg.MasterKeyEnv)
	default:
		path := masterKeyPath(cfg)
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist) && cfg.Database == "":
			report(true, "master key", path+" does not exist yet; serve generates it (back it up apart from the data)")
			return
		case err != nil:
			report(false, "master key", err.Error())
			return
		case fi.Mode().Perm()&0o077 != 0:
			report(false, "master key", fmt.Sprintf("%s has mode %04o: chmod 600 %s", path, fi.Mode().Perm(), path))
			return
		default:
			report(true, "master key", path+" (mode 0600); keep a copy apart from the data and its backups")
		}
	}
	kek, _, err := openKEK(ctx, cfg, false)
	if err != nil {
		report(false, "master key", err.Error())
		return
	}
	defer kek.Close()
	stats, err := st.KeyringStats(ctx)
	if err != nil {
		report(false, "keyring", err.Error())
		return
	}
	for _, id := range stats.KEKIDs {
		if id != kek.ID() {
			report(false, "keyring", fmt.Sprintf("keys are wrapped by master key %s, not the configured %s: finish the master-key rotation (strongroom keys rotate-master)", id, kek.ID()))
		}
	}
	detail := fmt.Sprintf("%d organizations with keys, %d shredded, master key %s", stats.Tenants, stats.Shredded, kek.ID())
	report(true, "keyring", detail)
	if !stats.OldestCurrent.IsZero() {
		age := time.Since(stats.OldestCurrent)
		msg := fmt.Sprintf("oldest current data key is %d days old", int(age.Hours()/24))
		if age > keyAgeLimit {
			report(false, "key age", msg+": rotate with strongroom keys rotate --all")
		} else {
			report(true, "key age", msg)
		}
	}
}

// doctorAuditFolder reports the audit checkpoint folder, which must be private
// (docs/audit-log.md).
// doctorLoadFiles reports the files a restore into the embedded store builds
// beside the database (strongroom.db.load-*) and renames into place when it
// succeeds: one left behind means a restore was interrupted (a crash, a kill).
// Nothing opens it, but it holds a copy of the restored rows and takes the
// space of one, so the operator removes it once no restore is running.
func doctorLoadFiles(dataDir string, report func(bool, string, string)) {
	left, err := filepath.Glob(filepath.Join(dataDir, "strongroom.db.load-*"))
	if err != nil {
		report(false, "restore leftovers", err.Error())
		return
	}
	if len(left) == 0 {
		return
	}
	report(false, "restore leftovers", fmt.Sprintf("%s left by an interrupted restore; when no restore is running: rm %s",
		strings.Join(left, ", "), strings.Join(left, " ")))
}

func doctorAuditFolder(cfg *Config, report func(bool, string, string)) {
	dir := cfg.CheckpointDir()
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		report(true, "audit checkpoints", dir+" does not exist yet; serve creates it with mode 0700")
	case err != nil:
		report(false, "audit checkpoints", err.Error())
	case !fi.IsDir():
		report(false, "audit checkpoints", dir+" is not a folder")
	case fi.Mode().Perm()&0o077 != 0:
		report(false, "audit checkpoints", fmt.Sprintf("%s has mode %o; others can read it: chmod 700 %s", dir, fi.Mode().Perm(), dir))
	default:
		report(true, "audit checkpoints", dir+" (mode 0700); best on storage the database's administrators cannot write")
	}
}

// doctorTLS reports how connections are protected: TLS here (with the policy
// and the certificate's expiry), TLS at a trusted proxy, or plain HTTP, which is
// unsafe anywhere but on the loopback interface.
func doctorTLS(cfg *Config, report func(bool, string, string)) {
	switch {
	case cfg.TLSProxy:
		report(true, "TLS", fmt.Sprintf("terminated by trusted proxies %v", cfg.TrustedProxies))
		doctorHSTS(cfg, report)
		return
	case !cfg.TLS():
		host, _, _ := net.SplitHostPort(cfg.Addr)
		ip := net.ParseIP(host)
		if host == "localhost" || ip != nil && ip.IsLoopback() {
			report(true, "TLS", "not configured: plain HTTP on the loopback interface only (set --production for deployments)")
		} else {
			report(false, "TLS", "plain HTTP on "+cfg.Addr+": configure --tls-cert/--tls-key or --acme-domains, or --tls-proxy")
		}
		return
	}
	m, err := newTLSManager(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		report(false, "TLS", err.Error())
		return
	}
	st := m.Describe()
	report(true, "TLS", fmt.Sprintf("%s; minimum %s; TLS 1.2 suites %v", st.Mode, st.MinVersion, st.CipherSuites))
	doctorHSTS(cfg, report)
	for _, c := range st.Certificates {
		report(true, "certificate", fmt.Sprintf("%s %v expires %s (%d days)", c.Subject, c.DNSNames, c.NotAfter.Format(time.DateOnly), c.DaysToExpiry))
	}
	for _, w := range st.Warnings {
		// Before the first handshake an ACME server has no certificate yet: that
		// is how ACME works, not a fault.
		first := st.Mode == certs.ModeACME && len(st.Certificates) == 0 && strings.HasPrefix(w, "no ACME certificate obtained yet")
		report(first, "TLS", w)
	}
}

// doctorHSTS reports the Strict-Transport-Security policy sent over TLS.
// max-age 0 tells browsers to forget the host: sent on purpose only while
// moving away from HTTPS, so it is reported as a failure.
func doctorHSTS(cfg *Config, report func(bool, string, string)) {
	h := cfg.HSTS
	if h.MaxAge == 0 {
		report(false, "HSTS", h.Value()+": browsers are told to forget HTTPS for this host; set --hsts-max-age-days")
		return
	}
	detail := fmt.Sprintf("%s (%d days", h.Value(), int64(h.MaxAge/(24*time.Hour)))
	if h.Preload {
		detail += "; preload asked: submit the domain at hstspreload.org, hard to undo"
	}
	report(true, "HSTS", detail+")")
}

// doctorSecurityTxt reports whether /.well-known/security.txt is served and
// signed: the signing key's fingerprint and expiry, never the key. A key
// expiring within 30 days gets a reminder in the detail; an expired key
// cannot be configured (parseConfig refuses it).
func doctorSecurityTxt(cfg *Config, now time.Time, report func(bool, string, string)) {
	switch {
	case len(cfg.SecurityContacts) == 0:
		report(true, "security.txt", "not served (no --security-contacts)")
		return
	case cfg.securityTxtSigner == nil:
		report(true, "security.txt", "served unsigned (no --security-txt-signing-key)")
		return
	}
	s := cfg.securityTxtSigner
	detail := "signed with key " + s.Fingerprint()
	if exp, ok := s.Expires(); ok {
		days := int(exp.Sub(now) / (24 * time.Hour))
		detail += fmt.Sprintf(", expires %s (%d days)", exp.Format(time.DateOnly), days)
		if days < 30 {
			detail += "; renew it (or extend its expiry) and publish the public key again soon"
		}
	} else {
		detail += ", no expiry"
	}
	report(true, "security.txt", detail)
}
