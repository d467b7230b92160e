package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/store"
)

const backupUsage = `Usage: strongroom backup [flags]         take an encrypted backup now (see --help)
       strongroom backup list --from DIR|URL  list the backups in a location
       strongroom backup drill [flags]   restore the newest backup into a scratch store and verify it
`

// backupFlags are the flags shared by the backup commands, defaulting to the
// backup-* settings.
type backupFlags struct {
	where      *string
	recipients *string
	passEnv    *string
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return runBackupList(ctx, args[1:], stdout, stderr)
		case "drill":
			return runBackupDrill(ctx, args[1:], stdout, stderr)
		case "help":
			fmt.Fprint(stderr, backupUsage)
			return nil
		}
	}
	fs := newFlagSet("backup", "Take a consistent, compressed, age-encrypted backup of every data table (never the keyring) and of the files' sealed blobs "+
		"(read from --blobs) into a folder or bucket, then delete the backups older than --keep there", stderr)
	to := fs.String("to", "", "folder or bucket URL (s3://bucket?region=…, file:///path) to write the backup to (default: the backup-to setting)")
	recips := fs.String("recipient", "", "age recipients to encrypt to: public keys (age1…) separated by commas, or a file of them one a line (default: the backup-recipients setting)")
	passEnv := fs.String("passphrase-env", "", "name of an environment variable holding a passphrase to encrypt to instead (scrypt; default: the backup-passphrase-env setting)")
	keep := fs.Duration("keep", 0, "delete backups older than this from the location after the backup succeeds (default: the backup-keep setting)")
	logical := fs.Bool("logical", false, "write the rows in the engine-neutral logical layout even from the embedded (SQLite) store, "+
		"whose backups otherwise carry its database file (faster to take and to restore into SQLite; both restore into either engine); "+
		"without it, the backup-layout setting decides")
	cfg, err := loadSubcommandConfig("backup", fs, args, stderr)
	if err != nil {
		return err
	}
	bf := backupFlags{where: to, recipients: recips, passEnv: passEnv}
	bf.defaults(cfg)
	if *keep == 0 {
		*keep = cfg.BackupKeep
	}
	if *bf.where == "" {
		fmt.Fprintln(stderr, "strongroom backup: give the location with --to (or the backup-to setting)")
		return errUsage
	}
	recipients, err := bf.ageRecipients()
	if err != nil {
		fmt.Fprintf(stderr, "strongroom backup: %v\n", err)
		return errUsage
	}
	if !*logical {
		if err := checkBackupLayout(cfg); err != nil {
			fmt.Fprintf(stderr, "strongroom backup: %v (or give --logical)\n", err)
			return errUsage
		}
	}
	st, err := openBackupStore(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	loc, err := backup.OpenLocation(ctx, *bf.where)
	if err != nil {
		return err
	}
	defer loc.Close()
	loc.Layout = cfg.BackupLayout
	if *logical {
		loc.Layout = backup.LayoutLogical
	}
	blobs, err := blob.Open(ctx, cfg.BlobsLocation())
	if err != nil {
		return err
	}
	defer blobs.Close()
	res, err := takeBackup(cliContext(ctx), st, blobs, loc, recipients, *keep, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup %s: %s schema %d, %s layout, %d tables, %d rows, %d file blobs (%d bytes), %d bytes (%d before compression), sha256 %s\n",
		res.index.Name, res.index.Engine, res.index.SchemaVersion, res.index.Layout, len(res.index.Tables), res.index.Rows,
		res.index.Blobs, res.index.BlobBytes, res.index.ArchiveBytes, res.index.PlainBytes, res.index.ArchiveSHA256)
	if n := res.index.BlobsMissing; n > 0 {
		fmt.Fprintf(stdout, "%d files had no blob when it was copied (deleted since the snapshot, or lost); the backup lists them as missing\n", n)
	}
	for _, name := range res.pruned {
		fmt.Fprintf(stdout, "deleted %s (older than %s)\n", name, *keep)
	}
	return nil
}

type backupResult struct {
	index  *backup.Index
	pruned []string
}

// takeBackup writes a backup, records it (the platform table backups and
// audit chain), and applies retention.
func takeBackup(ctx context.Context, st *store.Store, blobs *blob.Store, loc *backup.Location, recipients []age.Recipient, keep time.Duration, now time.Time) (*backupResult, error) {
	idx, err := loc.Put(ctx, st, blobs, recipients, now)
	if err != nil {
		if rerr := backup.RecordBackup(ctx, st, loc, now, time.Now(), nil, err); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	if err := backup.RecordBackup(ctx, st, loc, now, time.Now(), idx, nil); err != nil {
		return nil, err
	}
	res := &backupResult{index: idx}
	if keep > 0 {
		if res.pruned, err = loc.Prune(ctx, keep, now); err != nil {
			return res, err
		}
		if len(res.pruned) > 0 {
			if err := backup.AuditPlatform(ctx, st, "backup.prune", "backup", idx.Name, strongroom.ResultSuccess,
				map[string]any{"deleted": res.pruned}); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

func (bf *backupFlags) defaults(cfg *Config) {
	if *bf.where == "" {
		*bf.where = cfg.BackupTo
	}
	if *bf.recipients == "" {
		*bf.recipients = strings.Join(cfg.BackupRecipients, ",")
	}
	if *bf.passEnv == "" {
		*bf.passEnv = cfg.BackupPassphraseEnv
	}
}

// ageRecipients parses the recipients: public keys, files of them, or the
// passphrase in the named environment variable (alone: age encrypts to a
// passphrase or to keys, not both).
func (bf *backupFlags) ageRecipients() ([]age.Recipient, error) {
	return parseRecipients(*bf.recipients, *bf.passEnv)
}

func parseRecipients(list, passEnv string) ([]age.Recipient, error) {
	if passEnv != "" {
		if list != "" {
			return nil, errors.New("give recipients or a passphrase, not both")
		}
		pass := os.Getenv(passEnv)
		if len(pass) < 16 {
			return nil, fmt.Errorf("the passphrase in %s must be at least 16 characters", passEnv)
		}
		r, err := age.NewScryptRecipient(pass)
		if err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
		return []age.Recipient{r}, nil
	}
	var out []age.Recipient
	for _, item := range splitList(list) {
		text := item
		if !strings.HasPrefix(item, "age1") {
			b, err := os.ReadFile(item)
			if err != nil {
				return nil, fmt.Errorf("reading recipients file: %w", err)
			}
			text = string(b)
		}
		rs, err := age.ParseRecipients(strings.NewReader(text))
		if err != nil {
			return nil, fmt.Errorf("parsing recipients: %w", err)
		}
		out = append(out, rs...)
	}
	if len(out) == 0 {
		return nil, errors.New("no recipient: give age public keys (age1…) or a passphrase environment variable")
	}
	return out, nil
}

// parseIdentities reads an age identity file (the private key that the
// backups were encrypted to) or the passphrase in an environment variable.
func parseIdentities(file, passEnv string) ([]age.Identity, error) {
	if passEnv != "" {
		id, err := age.NewScryptIdentity(os.Getenv(passEnv))
		if err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
		return []age.Identity{id}, nil
	}
	if file == "" {
		return nil, errors.New("give the identity file (--identity) or a passphrase variable (--passphrase-env)")
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("opening identity file: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("parsing identity file: %w", err)
	}
	return ids, nil
}

// openBackupStore opens the store to back up: the embedded database, or on
// PostgreSQL the backup-database URL (a role that bypasses row-level
// security) or else database.
func openBackupStore(ctx context.Context, cfg *Config, stderr io.Writer) (*store.Store, error) {
	if cfg.Database == "" && cfg.BackupDatabase == "" {
		return openExistingStore(ctx, cfg, stderr)
	}
	u := cfg.BackupDatabase
	if u == "" {
		u = cfg.Database
	}
	st, err := store.Open(ctx, store.Config{URL: u, Logger: newLogger(cfg, stderr)})
	if err != nil {
		return nil, err
	}
	return st, nil
}

func runBackupList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup list", "List the backups in a folder or bucket (from their index files; no key needed)", stderr)
	from := fs.String("from", "", "folder or bucket URL (default: the backup-to setting)")
	cfg, err := loadSubcommandConfig("backup list", fs, args, stderr)
	if err != nil {
		return err
	}
	if *from == "" {
		*from = cfg.BackupTo
	}
	loc, err := backup.OpenLocation(ctx, *from)
	if err != nil {
		return err
	}
	defer loc.Close()
	all, err := loc.List(ctx)
	if err != nil {
		return err
	}
	for _, idx := range all {
		fmt.Fprintf(stdout, "%s  %s  %-8s %-11s schema %d  %d rows  %s  %d bytes\n", idx.Name, idx.CreatedAt.Format(time.RFC3339), idx.Engine,
			listLayout(idx), idx.SchemaVersion, idx.Rows, listBlobs(idx), idx.ArchiveBytes)
	}
	fmt.Fprintf(stdout, "%d backups\n", len(all))
	return nil
}

// listLayout is a listed backup's layout: "-" when its index does not say
// (missing, or written before indexes named the layout).
func listLayout(idx backup.Index) string {
	if l := idx.ArchiveLayout(); l != "" {
		return string(l)
	}
	return "-"
}

// listBlobs is a listed backup's file blobs, as its index counts them.
func listBlobs(idx backup.Index) string {
	if idx.Format < 2 {
		return "no file blobs"
	}
	s := fmt.Sprintf("%d file blobs (%d bytes", idx.Blobs, idx.BlobBytes)
	if idx.BlobsMissing > 0 {
		s += fmt.Sprintf(", %d missing", idx.BlobsMissing)
	}
	return s + ")"
}

func runBackupDrill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup drill", "Restore the newest backup into a scratch SQLite store, check every table's row count and checksum and every audit chain, "+
		"record the result in the store (operators' drill list, the trust page) and the platform audit chain; exit 1 if the drill fails", stderr)
	from := fs.String("from", "", "folder or bucket URL (default: the backup-to setting)")
	identity := fs.String("identity", "", "age identity file that opens the backups (default: the backup-drill-identity-file setting)")
	passEnv := fs.String("passphrase-env", "", "name of an environment variable holding the backups' passphrase instead")
	pubFlag := fs.String("public-key", "", "base64 Ed25519 public key of the audit checkpoints (default: the key in the keyring, which needs the master key)")
	cfg, err := loadSubcommandConfig("backup drill", fs, args, stderr)
	if err != nil {
		return err
	}
	if *from == "" {
		*from = cfg.BackupTo
	}
	if *identity == "" {
		*identity = cfg.BackupDrillIdentity
	}
	ids, err := parseIdentities(*identity, *passEnv)
	if err != nil {
		fmt.Fprintf(stderr, "strongroom backup drill: %v\n", err)
		return errUsage
	}
	var pub ed25519.PublicKey
	var st *store.Store
	if *pubFlag != "" {
		b, err := base64.StdEncoding.DecodeString(*pubFlag)
		if err != nil || len(b) != ed25519.PublicKeySize {
			fmt.Fprintln(stderr, "strongroom backup drill: --public-key must be 32 bytes in standard base64")
			return errUsage
		}
		pub = b
		if st, err = openBackupStore(ctx, cfg, stderr); err != nil {
			return err
		}
		defer st.Close()
	} else {
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
			return errors.New("the keyring has no audit signing key yet")
		}
		st, pub = a.store, k.PublicKey()
	}
	loc, err := backup.OpenLocation(ctx, *from)
	if err != nil {
		return err
	}
	defer loc.Close()
	res, err := backup.RunDrill(cliContext(ctx), st, backup.DrillConfig{Location: loc, Identities: ids, PublicKey: pub, ScratchDir: filepath.Join(os.TempDir())})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "drill of %s: %d tables, %d rows, %d audit chains (%d events), %s in %s: %s\n",
		res.Backup, res.Tables, res.Rows, res.Chains, res.Events, drillBlobs(res), res.Duration.Round(time.Millisecond), drillOutcome(res))
	if !res.OK {
		return fmt.Errorf("the restore drill failed: %s", res.Problem)
	}
	return nil
}

func drillBlobs(r *backup.DrillResult) string {
	if !r.BlobsInArchive {
		return "no file blobs (a format 1 backup)"
	}
	if r.BlobsMissing > 0 {
		return fmt.Sprintf("%d file blobs verified (%d bytes; %d files without a blob in the backup)", r.Blobs, r.BlobBytes, r.BlobsMissing)
	}
	return fmt.Sprintf("%d file blobs verified (%d bytes)", r.Blobs, r.BlobBytes)
}

func drillOutcome(r *backup.DrillResult) string {
	if r.OK {
		return "ok"
	}
	return "FAILED: " + r.Problem
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", "Restore a backup into an EMPTY store of either engine (the data-dir's embedded database, or --database as a role that bypasses "+
		"row-level security), and the files' blobs into the EMPTY blob store of --blobs; a truncated, tampered, wrong-key or wrong-version archive is refused "+
		"and nothing is left written. "+
		"The embedded store is loaded into a new file beside the database and renamed into place when complete (stop the server; the folder needs room for a second copy). "+
		"Restore the keyring separately ('strongroom keys restore') and keep the same master key", stderr)
	from := fs.String("from", "", "a backup file, or a folder or bucket URL of backups (then --name, default the newest)")
	name := fs.String("name", "", "the backup's name in the folder or bucket (default: the newest)")
	identity := fs.String("identity", "", "age identity file (the private key the backup was encrypted to)")
	passEnv := fs.String("passphrase-env", "", "name of an environment variable holding the backup's passphrase instead")
	cfg, err := loadSubcommandConfig("restore", fs, args, stderr)
	if err != nil {
		return err
	}
	if *from == "" {
		fmt.Fprintln(stderr, "strongroom restore: give the backup with --from")
		return errUsage
	}
	ids, err := parseIdentities(*identity, *passEnv)
	if err != nil {
		fmt.Fprintf(stderr, "strongroom restore: %v\n", err)
		return errUsage
	}
	src, err := openDataBackup(ctx, *from, *name)
	if err != nil {
		return err
	}
	defer src.Close()
	var st *store.Store
	if cfg.Database == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("creating data folder: %w", err)
		}
	}
	st, err = store.Open(ctx, store.Config{URL: cfg.Database, Path: filepath.Join(cfg.DataDir, "strongroom.db"), Logger: newLogger(cfg, stderr)})
	if err != nil {
		return err
	}
	defer st.Close()
	blobs, err := blob.Open(ctx, cfg.BlobsLocation())
	if err != nil {
		return err
	}
	defer blobs.Close()
	m, err := backup.Restore(ctx, st, blobs, src, ids)
	if err != nil {
		return err
	}
	label := src.name
	if err := backup.RecordRestore(cliContext(ctx), st, src.where, src.name, m, src.index, time.Now()); err != nil {
		return fmt.Errorf("the store is restored, but recording the restore failed: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s (%s backup of %s, schema %d): %d tables, %d rows into the %s store\n",
		label, m.Engine, m.CreatedAt.Format(time.RFC3339), m.SchemaVersion, len(m.Tables), m.Rows(), st.Engine())
	switch {
	case m.Blobs == nil:
		fmt.Fprintln(stdout, "the backup is of format 1, which did not hold the files' blobs: restore them from the blob store's own copy, or files answer 500 on download")
	case len(m.Blobs.Missing) > 0:
		fmt.Fprintf(stdout, "%d file blobs (%d bytes) into the %s blob store; %d files had no blob in the backup (deleted after its snapshot, or lost) and answer 500 on download\n",
			m.Blobs.Count, m.Blobs.Bytes, blobs.Kind(), len(m.Blobs.Missing))
	default:
		fmt.Fprintf(stdout, "%d file blobs (%d bytes) into the %s blob store\n", m.Blobs.Count, m.Blobs.Bytes, blobs.Kind())
	}
	fmt.Fprintln(stdout, "next: restore the keyring ('strongroom keys restore') with the same master key, then 'strongroom audit verify'")
	return nil
}

// dataBackup is a data backup opened for a restore: where it is (the
// location as records name it, or a file's folder), its name, and its index
// when it is in a location.
type dataBackup struct {
	io.ReadCloser
	where, name string
	index       *backup.Index
}

// openDataBackup opens a backup file, or a named (default: the newest)
// backup in a folder or bucket, with what the restore's record needs.
func openDataBackup(ctx context.Context, from, name string) (*dataBackup, error) {
	if fi, err := os.Stat(from); err == nil && fi.Mode().IsRegular() {
		f, err := os.Open(from)
		if err != nil {
			return nil, fmt.Errorf("opening backup: %w", err)
		}
		dir, err := filepath.Abs(filepath.Dir(from))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("opening backup: %w", err)
		}
		return &dataBackup{ReadCloser: f, where: dir, name: filepath.Base(from)}, nil
	}
	loc, err := backup.OpenLocation(ctx, from)
	if err != nil {
		return nil, err
	}
	all, err := loc.List(ctx)
	if err != nil {
		loc.Close()
		return nil, err
	}
	var idx *backup.Index
	for i := range all {
		if (name == "" && i == len(all)-1) || all[i].Name == name {
			idx = &all[i]
		}
	}
	switch {
	case idx != nil:
		name = idx.Name
	case name == "":
		loc.Close()
		return nil, fmt.Errorf("no backup in %s", from)
	}
	r, err := loc.Open(ctx, name)
	if err != nil {
		loc.Close()
		return nil, err
	}
	return &dataBackup{ReadCloser: closeBoth{r, loc}, where: loc.String(), name: name, index: idx}, nil
}

// openBackupSource opens a backup file, or a named (default: the newest)
// backup in a folder or bucket.
func openBackupSource(ctx context.Context, from, name string, open func(context.Context, string) (*backup.Location, error)) (io.ReadCloser, string, error) {
	if fi, err := os.Stat(from); err == nil && fi.Mode().IsRegular() {
		f, err := os.Open(from)
		if err != nil {
			return nil, "", fmt.Errorf("opening backup: %w", err)
		}
		return f, filepath.Base(from), nil
	}
	loc, err := open(ctx, from)
	if err != nil {
		return nil, "", err
	}
	if name == "" {
		latest, err := loc.Latest(ctx)
		if err != nil {
			loc.Close()
			return nil, "", err
		}
		if latest == nil {
			loc.Close()
			return nil, "", fmt.Errorf("no backup in %s", from)
		}
		name = latest.Name
	}
	r, err := loc.Open(ctx, name)
	if err != nil {
		loc.Close()
		return nil, "", err
	}
	return closeBoth{r, loc}, name, nil
}

type closeBoth struct {
	io.ReadCloser
	loc *backup.Location
}

func (c closeBoth) Close() error { return errors.Join(c.ReadCloser.Close(), c.loc.Close()) }

func runKeysBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys backup", "Write an age-encrypted backup of the keyring (every key still wrapped by the master key, and the shredded tenants' tombstones) "+
		"into a folder or bucket kept apart from the data backups", stderr)
	to := fs.String("to", "", "folder or bucket URL for keyring backups (default: the backup-keyring-to setting)")
	recips := fs.String("recipient", "", "age recipients: public keys (age1…) separated by commas, or a file of them (default: the backup-recipients setting)")
	passEnv := fs.String("passphrase-env", "", "name of an environment variable holding a passphrase to encrypt to instead")
	cfg, err := loadSubcommandConfig("keys backup", fs, args, stderr)
	if err != nil {
		return err
	}
	if *to == "" {
		*to = cfg.BackupKeyringTo
	}
	bf := backupFlags{where: to, recipients: recips, passEnv: passEnv}
	bf.defaults(cfg)
	if *to == "" {
		fmt.Fprintln(stderr, "strongroom keys backup: give the location with --to (or the backup-keyring-to setting)")
		return errUsage
	}
	recipients, err := bf.ageRecipients()
	if err != nil {
		fmt.Fprintf(stderr, "strongroom keys backup: %v\n", err)
		return errUsage
	}
	st, err := openBackupStore(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	loc, err := backup.OpenKeyringLocation(ctx, *to)
	if err != nil {
		return err
	}
	defer loc.Close()
	idx, err := loc.PutKeyring(ctx, st, recipients, time.Now())
	if err != nil {
		return err
	}
	if err := backup.AuditPlatform(cliContext(ctx), st, "keys.backup", "keyring", idx.Name, strongroom.ResultSuccess,
		map[string]any{"keys": idx.Rows, "sha256": idx.ArchiveSHA256}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "keyring backup %s: %d keys, %d bytes\n", idx.Name, idx.Rows, idx.ArchiveBytes)
	return nil
}

func runKeysRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys restore", "Load a keyring backup into the EMPTY keyring of the configured store (keyring.db beside the embedded database, "+
		"or the strongroom_keyring schema); the keys stay wrapped, so configure the same master key", stderr)
	from := fs.String("from", "", "a keyring backup file, or a folder or bucket URL of them (then --name, default the newest)")
	name := fs.String("name", "", "the keyring backup's name in the folder or bucket (default: the newest)")
	identity := fs.String("identity", "", "age identity file")
	passEnv := fs.String("passphrase-env", "", "name of an environment variable holding the passphrase instead")
	cfg, err := loadSubcommandConfig("keys restore", fs, args, stderr)
	if err != nil {
		return err
	}
	if *from == "" {
		fmt.Fprintln(stderr, "strongroom keys restore: give the keyring backup with --from")
		return errUsage
	}
	ids, err := parseIdentities(*identity, *passEnv)
	if err != nil {
		fmt.Fprintf(stderr, "strongroom keys restore: %v\n", err)
		return errUsage
	}
	r, label, err := openBackupSource(ctx, *from, *name, backup.OpenKeyringLocation)
	if err != nil {
		return err
	}
	defer r.Close()
	if cfg.Database == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("creating data folder: %w", err)
		}
	}
	st, err := store.Open(ctx, store.Config{URL: cfg.Database, Path: filepath.Join(cfg.DataDir, "strongroom.db"), Logger: newLogger(cfg, stderr)})
	if err != nil {
		return err
	}
	defer st.Close()
	ka, err := backup.RestoreKeyring(ctx, st, r, ids)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored keyring backup %s: %d keys\n", label, len(ka.Keys))
	return nil
}

// startBackups starts scheduled backups and drills when backup-to is set;
// stop ends them. One replica works at a time (lease "backup").
func startBackups(ctx context.Context, cfg *Config, a *app) (stop func(), err error) {
	if cfg.BackupTo == "" {
		return func() {}, nil
	}
	recipients, err := parseRecipients(strings.Join(cfg.BackupRecipients, ","), cfg.BackupPassphraseEnv)
	if err != nil {
		return nil, fmt.Errorf("backup-recipients: %w", err)
	}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	src := a.store
	if cfg.Database != "" {
		if cfg.BackupDatabase == "" {
			return nil, errors.New("backup-to on PostgreSQL needs backup-database: a role with BYPASSRLS that can read every tenant's rows")
		}
		if src, err = store.Open(ctx, store.Config{URL: cfg.BackupDatabase, Logger: a.log, ReadConns: 2}); err != nil {
			return nil, fmt.Errorf("backup-database: %w", err)
		}
		closers = append(closers, func() { src.Close() })
	}
	loc, err := backup.OpenLocation(ctx, cfg.BackupTo)
	if err != nil {
		closeAll()
		return nil, err
	}
	closers = append(closers, func() { loc.Close() })
	// The schedule's backups and operators' "Back up now" both write
	// through loc, in this layout.
	loc.Layout = cfg.BackupLayout
	sc := backup.SchedulerConfig{Store: a.store, Source: src, Location: loc, Blobs: a.blobs, Recipients: recipients, Every: cfg.BackupEvery,
		Keep: cfg.BackupKeep, DrillEvery: cfg.BackupDrillEvery, Holder: leaseHolder(), Logger: a.log}
	if cfg.BackupKeyringTo != "" {
		kl, err := backup.OpenKeyringLocation(ctx, cfg.BackupKeyringTo)
		if err != nil {
			closeAll()
			return nil, err
		}
		closers = append(closers, func() { kl.Close() })
		sc.KeyringLocation = kl
		// Shredding an organization replaces the keyring backups at once
		// with one without its keys (docs/crypto.md, LIF-04).
		a.svc.OnShred(func(ctx context.Context, _ strongroom.TenantID) error {
			idx, deleted, err := backup.RewriteKeyringBackups(ctx, a.store, kl, recipients, time.Now())
			if err == nil {
				a.log.Info("keyring backups rewritten after shredding", "backup", idx.Name, "deleted", len(deleted))
			}
			return err
		})
	}
	if cfg.BackupDrillIdentity != "" {
		ids, err := parseIdentities(cfg.BackupDrillIdentity, "")
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("backup-drill-identity-file: %w", err)
		}
		k, err := a.keys.SigningKey(ctx)
		if err != nil {
			closeAll()
			return nil, err
		}
		sc.Drill = backup.DrillConfig{Identities: ids, PublicKey: k.PublicKey()}
	}
	s, err := backup.NewScheduler(sc)
	if err != nil {
		closeAll()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { s.Run(sctx); close(done) }()
	a.svc.OnBackupNow(s) // operators' "Back up now" (docs/operations.md)
	a.log.Info("scheduled backups started", "every", cfg.BackupEvery.String(), "keep", cfg.BackupKeep.String(), "drills", cfg.BackupDrillIdentity != "")
	return func() {
		a.svc.OnBackupNow(nil)
		cancel()
		<-done
		closeAll()
	}, nil
}

// checkBackupLayout refuses a backup-layout the configured store cannot
// write: the sqlite-file layout is the embedded store's database file.
func checkBackupLayout(cfg *Config) error {
	if cfg.BackupLayout == backup.LayoutSQLiteFile && cfg.Database != "" {
		return errors.New("backup-layout sqlite-file needs the embedded (SQLite) store, and database is set (PostgreSQL): " +
			"use auto or logical, which back up PostgreSQL's rows")
	}
	return nil
}

// leaseHolder names this process in background-work leases.
func leaseHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// openBackupStatusLocation opens the backup location of a serving process,
// for the backups status probe and to name it to operators; nil when
// backup-to is unset. The backups and drills operators and the trust page see
// are the store's records.
func openBackupStatusLocation(ctx context.Context, cfg *Config, serving bool) (*backup.Location, func(), error) {
	if cfg.BackupTo == "" || !serving {
		return nil, func() {}, nil
	}
	loc, err := backup.OpenLocation(ctx, cfg.BackupTo)
	if err != nil {
		return nil, nil, err
	}
	return loc, func() { loc.Close() }, nil
}
