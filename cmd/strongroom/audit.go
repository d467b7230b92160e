package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/auditlog"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/store"
)

const auditUsage = `Usage: strongroom audit <command> [flags]

Commands:
  verify [--tenant ID] [--public-key KEY]   recompute every audit chain from its start, check every
                                            seal and every checkpoint (database and folder); exits 1
                                            on any problem, naming the first bad event; records the
                                            run in the platform log (audit.verify, shown on /trust)
  verify --file FILE --public-key KEY       verify an export (GET /api/v1/orgs/{org}/audit/export)
                                            offline, without a database or configuration; exits 1
                                            naming the first bad line
  checkpoint                                seal pending events (unless a server's sequencer holds
                                            the lease) and sign every verified chain head now
  public-key                                print the Ed25519 key that verifies checkpoints (base64)

The checkpoint folder is --audit-checkpoint-dir (default: audit-checkpoints in the data dir).
See docs/audit-log.md.
`

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, auditUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, args[1:], stdout, stderr)
	case "checkpoint":
		return runAuditCheckpoint(ctx, args[1:], stdout, stderr)
	case "public-key":
		return runAuditPublicKey(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "strongroom audit: unknown command %q\n\n%s", args[0], auditUsage)
	return errUsage
}

// newSequencer builds the audit sequencer with the keyring's signing key and
// the checkpoint folder (shared by serve and `audit checkpoint`).
func newSequencer(ctx context.Context, cfg *Config, a *app) (*audit.Sequencer, *keyring.SigningKey, *audit.Folder, error) {
	signer, err := a.keys.SigningKey(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("audit signing key: %w", err)
	}
	folder, err := audit.OpenFolder(cfg.CheckpointDir())
	if err != nil {
		return nil, nil, nil, err
	}
	seq, err := audit.NewSequencer(audit.Config{Store: a.store, Signer: signer, Folder: folder, Logger: a.log,
		Observe: a.metrics.jobObserver()})
	if err != nil {
		return nil, nil, nil, err
	}
	return seq, signer, folder, nil
}

// startSequencer starts the audit sequencer of a serving process; stop ends it
// after a last seal and checkpoint.
func startSequencer(ctx context.Context, cfg *Config, a *app) (stop func(), err error) {
	seq, signer, folder, err := newSequencer(ctx, cfg, a)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { seq.Run(sctx); close(done) }()
	a.metrics.watchSequencer(seq)
	a.log.Info("audit sequencer started", "checkpoints", folder.Dir(), "key_id", signer.KeyID())
	// The audit pruner deletes events older than their chain's retention, below
	// signed prune markers (docs/audit-log.md, "Retention and pruning").
	pruned := make(chan struct{})
	go func() {
		defer close(pruned)
		audit.RunPruner(sctx, audit.PruneConfig{Store: a.store, Signer: signer, Folder: folder, Logger: a.log,
			Holder: seq.Holder(), MinDays: cfg.AuditRetentionMinDays, PlatformDays: cfg.AuditRetentionPlatformDays},
			cfg.RetentionInterval)
	}()
	return func() { cancel(); <-done; <-pruned }, nil
}

func runAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if wantsFileVerify(args) {
		return runAuditVerifyFile(args, stdout, stderr)
	}
	fs := newFlagSet("audit verify", "Recompute every audit chain from its start and check every seal and checkpoint; exit 1 on any problem. Each run is recorded in the platform audit log (audit.verify), which /trust shows", stderr)
	tenant := fs.String("tenant", "", "verify only this organization's chain (the platform's: "+string(strongroom.PlatformTenant)+")")
	pubFlag := fs.String("public-key", "", "base64 Ed25519 public key the checkpoints must verify with, as printed by 'strongroom audit public-key' "+
		"(default: the key in the keyring, which needs the master key; a copy kept elsewhere also catches a replaced key)")
	cfg, err := loadSubcommandConfig("audit verify", fs, args, stderr)
	if err != nil {
		return err
	}
	var pub ed25519.PublicKey
	if *pubFlag != "" {
		b, err := base64.StdEncoding.DecodeString(*pubFlag)
		if err != nil || len(b) != ed25519.PublicKeySize {
			fmt.Fprintln(stderr, "strongroom audit verify: --public-key must be 32 bytes in standard base64")
			return errUsage
		}
		pub = b
	}
	var st *store.Store
	if pub == nil {
		a, err := openApp(ctx, cfg, stderr, false)
		if err != nil {
			return err
		}
		defer a.close()
		k, err := a.keys.ExistingSigningKey(ctx)
		if err != nil {
			return err
		}
		if k == nil {
			return errors.New("the keyring has no audit signing key yet ('strongroom serve' or 'strongroom audit public-key' creates it)")
		}
		st, pub = a.store, k.PublicKey()
	} else {
		if st, err = openExistingStore(ctx, cfg, stderr); err != nil {
			return err
		}
		defer st.Close()
	}
	var tenants []strongroom.TenantID
	if *tenant != "" {
		tenants = []strongroom.TenantID{strongroom.TenantID(*tenant)}
	}
	reports, err := audit.Verify(ctx, audit.VerifyConfig{Store: st, PublicKey: pub, Folder: audit.ReadFolder(cfg.CheckpointDir())}, tenants)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verifying with key %s and the checkpoint folder %s\n", auditlog.KeyID(pub), cfg.CheckpointDir())
	var events, sealed, unsealed int64
	problems := 0
	for _, r := range reports {
		fmt.Fprintf(stdout, "%s %s: %d events, %d sealed (head seq %d), %d unsealed; checkpoints checked: %d database, %d file\n",
			mark(r.OK()), r.Tenant, r.Events, r.Sealed, r.Head.Seq, r.Unsealed, r.DBCheckpoints, r.FileCheckpoints)
		if r.PrunedThrough > 0 {
			fmt.Fprintf(stdout, "     %s: verified from its prune marker at seq %d (older events deleted by retention)\n", r.Tenant, r.PrunedThrough)
		}
		events, sealed, unsealed = events+r.Events, sealed+r.Sealed, unsealed+r.Unsealed
		problems += len(r.Problems) + r.Dropped
	}
	for _, r := range reports {
		for _, p := range r.Problems {
			fmt.Fprintf(stdout, "PROBLEM %v\n", p)
		}
		if r.Dropped > 0 {
			fmt.Fprintf(stdout, "PROBLEM tenant %s: %d more problems not shown\n", r.Tenant, r.Dropped)
		}
	}
	for _, r := range reports {
		if r.Unsealed > 0 {
			fmt.Fprintf(stdout, "unsealed: %s has %d events from seq %d not sealed yet (not covered until the sequencer seals them)\n",
				r.Tenant, r.Unsealed, r.FirstUnsealedSeq)
		}
	}
	fmt.Fprintf(stdout, "%d chains, %d events: %d sealed, %d unsealed; %d problems\n", len(reports), events, sealed, unsealed, problems)
	if err := audit.RecordVerification(ctx, st, reports, time.Now()); err != nil {
		return err
	}
	if problems > 0 {
		return fmt.Errorf("the audit log failed verification: %d problems", problems)
	}
	return nil
}

func mark(ok bool) string {
	if ok {
		return "ok  "
	}
	return "FAIL"
}

func runAuditCheckpoint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig("audit checkpoint", "Seal pending audit events (unless a running server's sequencer holds the lease) and sign every verified chain head now, into the database and the checkpoint folder", args, stderr)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer a.close()
	seq, signer, folder, err := newSequencer(ctx, cfg, a)
	if err != nil {
		return err
	}
	held, err := seq.Tick(ctx)
	if err != nil {
		return err
	}
	if held {
		if err := seq.Stop(ctx); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout, "a running sequencer holds the lease: it seals; signing the heads it has sealed")
	}
	reports, err := audit.Verify(ctx, audit.VerifyConfig{Store: a.store, PublicKey: signer.PublicKey(), Folder: folder}, nil)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range reports {
		switch {
		case !r.OK():
			failed++
			fmt.Fprintf(stdout, "FAIL %s: not checkpointed, the chain fails verification (run 'strongroom audit verify')\n", r.Tenant)
		case r.Head.Seq == 0:
			continue
		default:
			c, err := audit.WriteCheckpoint(ctx, a.store, folder, signer, r.Head, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "ok   %s: checkpoint at seq %d, head %s\n", r.Tenant, c.Seq, hex.EncodeToString(c.Head[:8]))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d chains fail verification and were not checkpointed", failed)
	}
	return nil
}

func runAuditPublicKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig("audit public-key", "Print the Ed25519 public key that verifies audit checkpoints, in base64 (created in the keyring if it does not exist yet); keep a copy apart from the server to pass to 'audit verify --public-key'", args, stderr)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer a.close()
	k, err := a.keys.SigningKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(k.PublicKey()))
	fmt.Fprintf(stderr, "key id %s\n", k.KeyID())
	return nil
}

// loadSubcommandConfig parses a subcommand's own flags together with the
// settings.
func loadSubcommandConfig(name string, fs *flag.FlagSet, args []string, stderr io.Writer) (*Config, error) {
	cfg, err := loadConfig(fs, args, os.Getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		fmt.Fprintf(stderr, "strongroom %s: %v\n", name, err)
		return nil, errUsage
	}
	return cfg, nil
}

// openExistingStore opens the configured store for reading without creating
// or migrating anything, and requires its schema to be current.
func openExistingStore(ctx context.Context, cfg *Config, stderr io.Writer) (*store.Store, error) {
	if cfg.Database == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "strongroom.db")); err != nil {
			return nil, fmt.Errorf("no embedded database in %s: %w", cfg.DataDir, err)
		}
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, stderr), false)
	if err != nil {
		return nil, err
	}
	status, err := st.SchemaStatus(ctx)
	if err == nil && !status.Current() {
		err = fmt.Errorf("schema is at version %d, this binary needs %d", status.Applied, status.Latest)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}
