// Command strongroom runs Strongroom, the self-hosted security platform: its
// server, schema migrations, configuration checks and version.
//
//	strongroom serve     run the server (embedded SQLite by default)
//	strongroom migrate   apply database migrations
//	strongroom doctor    check the configuration and explain what is unsafe
//	strongroom keys      rotate data keys and the master key
//	strongroom audit     verify the tamper-evident audit log, checkpoint it, print its public key
//	strongroom backup    take, list and drill encrypted backups
//	strongroom restore   restore a backup into an empty store
//	strongroom version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the Strongroom server", runServe},
		{"migrate", "apply database migrations (on PostgreSQL: as the schema owner)", runMigrate},
		{"doctor", "check the configuration and the database, and explain anything unsafe", runDoctor},
		{"keys", "rotate data keys and the master key", runKeys},
		{"operator", "grant or revoke platform operator status for an account", runOperator},
		{"audit", "verify the tamper-evident audit log, write checkpoints, print the signing public key", runAudit},
		{"backup", "take, list and drill encrypted backups", runBackup},
		{"restore", "restore a backup into an empty store of either engine", runRestore},
		{"certificate", "verify a signed deletion certificate offline", runCertificate},
		{"version", "print the version", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Strongroom %s: a self-hosted security platform.\n\nUsage: strongroom <command> [flags]\n\nCommands:\n", buildVersion())
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'strongroom <command> --help' for a command's flags.\n")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintf(stderr, "strongroom %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "strongroom: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

var errUsage = errors.New("usage error")

// newFlagSet returns a flag set whose --help prints the command's usage and
// every setting with its environment variable and default.
func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strongroom %s [flags]\n\n%s.\n\nFlags (each also an environment variable and a config-file key):\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseConfig parses a subcommand's flags into a Config; usage errors are
// reported by the flag package and mapped to errUsage.
func parseConfig(name, summary string, args []string, stderr io.Writer) (*Config, error) {
	fs := newFlagSet(name, summary, stderr)
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

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "Print the version", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "strongroom %s\n", buildVersion())
	return nil
}
