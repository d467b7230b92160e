package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/kms"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// masterKeyPath is where the master key file is, by flag or by default.
func masterKeyPath(cfg *Config) string {
	if cfg.MasterKeyFile != "" {
		return cfg.MasterKeyFile
	}
	return filepath.Join(cfg.DataDir, "master.key")
}

// openKEK opens the configured master key. With create, a missing default key
// file is generated (embedded first start) and the caller is told to back it up.
func openKEK(ctx context.Context, cfg *Config, create bool) (kek keyring.KEK, created bool, err error) {
	switch {
	case cfg.KMS != "":
		k, err := kms.Open(ctx, cfg.KMS)
		return k, false, err
	case cfg.MasterKeyEnv != "":
		k, err := keyring.FromEnv(cfg.MasterKeyEnv, os.Getenv)
		return k, false, err
	case create:
		k, created, err := keyring.CreateKeyFile(masterKeyPath(cfg), nil)
		return k, created, err
	default:
		k, err := keyring.LoadKeyFile(masterKeyPath(cfg))
		return k, false, err
	}
}

func openPreviousKEKs(ctx context.Context, cfg *Config) ([]keyring.KEK, error) {
	var out []keyring.KEK
	if cfg.PreviousKeyFile != "" {
		k, err := keyring.LoadKeyFile(cfg.PreviousKeyFile)
		if err != nil {
			return nil, fmt.Errorf("previous master key: %w", err)
		}
		out = append(out, k)
	}
	if cfg.PreviousKMS != "" {
		k, err := kms.Open(ctx, cfg.PreviousKMS)
		if err != nil {
			return nil, fmt.Errorf("previous master key: %w", err)
		}
		out = append(out, k)
	}
	return out, nil
}

// openKeyring opens the master key(s) and the keyring over st.
func openKeyring(ctx context.Context, cfg *Config, st *store.Store, log *slog.Logger, create bool) (*keyring.Keyring, func(), error) {
	kek, created, err := openKEK(ctx, cfg, create)
	if err != nil {
		return nil, nil, err
	}
	prev, err := openPreviousKEKs(ctx, cfg)
	if err != nil {
		kek.Close()
		return nil, nil, err
	}
	if created {
		log.Warn("generated a new master key: back it up now, apart from the data and its backups; without it no data can be read",
			"file", masterKeyPath(cfg), "kek_id", kek.ID())
	}
	closeAll := func() {
		kek.Close()
		for _, p := range prev {
			p.Close()
		}
	}
	return keyring.New(kek, prev, st, keyring.Options{}), closeAll, nil
}

const keysUsage = `Usage: strongroom keys <command> [flags]

Commands:
  rotate --tenant ID | --all   new data-key version for new writes, then reseal older rows
  rotate-master                re-wrap every data key under the master key now configured
                               (run with the new key as --master-key-file/--kms and the old
                               one as --previous-master-key-file/--previous-kms)
  backup --to DIR|URL          age-encrypted backup of the keyring (keys stay wrapped)
  restore --from FILE|DIR|URL  load a keyring backup into an empty keyring
`

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, keysUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "rotate":
		return runKeysRotate(ctx, args[1:], stdout, stderr)
	case "rotate-master":
		return runKeysRotateMaster(ctx, args[1:], stdout, stderr)
	case "backup":
		return runKeysBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		return runKeysRestore(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "strongroom keys: unknown command %q\n\n%s", args[0], keysUsage)
	return errUsage
}

// cliContext is the principal of work done from the command line: audited as
// the system acting for the operator who ran it.
func cliContext(ctx context.Context) context.Context {
	return strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem, RequestID: "cli"})
}

func runKeysRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys rotate", "Add a data-key version for new writes and reseal older rows", stderr)
	tenant := fs.String("tenant", "", "organization ID to rotate")
	all := fs.Bool("all", false, "rotate every organization")
	batch := fs.Int("batch", 500, "records per reseal transaction")
	cfg, err := loadConfig(fs, args, os.Getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		fmt.Fprintf(stderr, "strongroom keys rotate: %v\n", err)
		return errUsage
	}
	if (*tenant == "") == !*all {
		fmt.Fprintln(stderr, "strongroom keys rotate: give exactly one of --tenant ID or --all")
		return errUsage
	}
	app, err := openApp(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer app.close()
	ctx = cliContext(ctx)
	tenants := []strongroom.TenantID{strongroom.TenantID(*tenant)}
	if *all {
		if tenants, err = app.store.KeyringTenants(ctx); err != nil {
			return err
		}
	}
	for _, t := range tenants {
		v, err := app.svc.RotateTenantKey(ctx, t)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: new data key version %d\n", t, v)
		n, err := app.svc.Reseal(ctx, t, *batch, func(p service.ResealProgress) {
			fmt.Fprintf(stdout, "%s: resealed %d, %d left\n", t, p.Done, p.Left)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d records resealed under version %d\n", t, n, v)
	}
	return nil
}

func runKeysRotateMaster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig("keys rotate-master", "Re-wrap every data key under the configured master key; the previous master key must be given as --previous-master-key-file or --previous-kms", args, stderr)
	if err != nil {
		return err
	}
	if cfg.PreviousKeyFile == "" && cfg.PreviousKMS == "" {
		fmt.Fprintln(stderr, "strongroom keys rotate-master: give the old master key as --previous-master-key-file or --previous-kms")
		return errUsage
	}
	app, err := openApp(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer app.close()
	n, err := app.keys.RewrapAll(cliContext(ctx))
	if err != nil {
		return err
	}
	if err := app.svc.AuditPlatform(cliContext(ctx), "keys.rotate_master", "keyring", app.keys.KEKID(), map[string]int{"keys": n}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-wrapped %d keys under master key %s\n", n, app.keys.KEKID())
	return nil
}
