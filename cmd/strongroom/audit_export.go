package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"strongroom.dev/strongroom/audit"
)

// `strongroom audit verify --file export.jsonl --public-key KEY` verifies an
// export (GET /api/v1/orgs/{org}/audit/export) on any machine: no database,
// no configuration, no master key; only the file and the public key kept
// apart from the server.

// wantsFileVerify reports whether audit verify's arguments ask for a file.
func wantsFileVerify(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "file" {
			return true
		}
	}
	return false
}

func runAuditVerifyFile(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify --file", "Verify an audit export (JSON Lines) offline: every line, seal and checkpoint "+
		"against the public key; exit 1 naming the first bad line", stderr)
	file := fs.String("file", "", "the export to verify, as downloaded from GET /api/v1/orgs/{org}/audit/export ('-': standard input)")
	pubFlag := fs.String("public-key", "", "base64 Ed25519 public key the checkpoints must verify with, as printed by "+
		"'strongroom audit public-key' (required: keep a copy apart from the server)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "strongroom audit verify: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	pub, err := base64.StdEncoding.Strict().DecodeString(*pubFlag)
	if *pubFlag == "" || err != nil || len(pub) != ed25519.PublicKeySize {
		fmt.Fprintln(stderr, "strongroom audit verify: --file needs --public-key: 32 bytes in standard base64, as 'strongroom audit public-key' prints it")
		return errUsage
	}
	if *file == "" {
		fmt.Fprintln(stderr, "strongroom audit verify: --file needs the export's path")
		return errUsage
	}
	var r io.Reader = os.Stdin
	name := "standard input"
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("opening the export: %w", err)
		}
		defer f.Close()
		r, name = f, *file
	}
	sum, err := audit.VerifyExport(r, pub)
	var xe *audit.ExportError
	if errors.As(err, &xe) {
		fmt.Fprintf(stdout, "FAIL %s, %v\n", name, xe)
		return errors.New("the export failed verification")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ok   %s: the audit log of %s, exported %s\n", name, sum.Tenant, sum.ExportedAt.Format(time.RFC3339))
	if sum.Events == 0 {
		fmt.Fprintln(stdout, "     it holds no events: the chain had no checkpoint yet")
	} else {
		fmt.Fprintf(stdout, "     %s from the chain's start through seq %d (%s to %s): every seal recomputed\n",
			plural(sum.Events, "event"), sum.ThroughSeq, sum.FirstTime.Format(time.RFC3339), sum.LastTime.Format(time.RFC3339))
		fmt.Fprintf(stdout, "     covered by %s signed with %s, the last at seq %d (signed %s)\n",
			plural(sum.Checkpoints, "checkpoint"), sum.KeyID, sum.ThroughSeq, sum.SignedAt.Format(time.RFC3339))
	}
	if n := sum.ExcludedSealed + sum.ExcludedUnsealed; n > 0 {
		fmt.Fprintf(stdout, "     not in this export: %d later events (%d sealed, %d not yet sealed), after the last checkpoint; export again to include them\n",
			n, sum.ExcludedSealed, sum.ExcludedUnsealed)
	}
	return nil
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
