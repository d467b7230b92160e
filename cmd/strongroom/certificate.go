package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"strongroom.dev/strongroom/retention"
)

// maxCertificateSize bounds the file 'certificate verify' reads.
const maxCertificateSize = 1 << 20

const certificateUsage = `Usage: strongroom certificate <command> [flags]

Commands:
  verify --file FILE --public-key KEY   verify a deletion certificate (issued when a terminated
                                        organization's data was deleted) offline, with the key
                                        'strongroom audit public-key' prints; exits 1 if it does
                                        not verify

See docs/lifecycle.md.
`

func runCertificate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, certificateUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if args[0] != "verify" {
		fmt.Fprintf(stderr, "strongroom certificate: unknown command %q\n\n%s", args[0], certificateUsage)
		return errUsage
	}
	fs := newFlagSet("certificate verify", "Verify a deletion certificate offline against the audit signing public key; exit 1 if it does not verify", stderr)
	file := fs.String("file", "", "the certificate (JSON), as fetched from GET /api/v1/deletion-certificates/{token} ('-': standard input)")
	pubFlag := fs.String("public-key", "", "base64 Ed25519 public key, as printed by 'strongroom audit public-key' (required)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "strongroom certificate verify: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	pub, err := base64.StdEncoding.Strict().DecodeString(*pubFlag)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		fmt.Fprintln(stderr, "strongroom certificate verify: --public-key must be 32 bytes in standard base64")
		return errUsage
	}
	if *file == "" {
		fmt.Fprintln(stderr, "strongroom certificate verify: --file needs the certificate's path")
		return errUsage
	}
	var r io.Reader = os.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("opening the certificate: %w", err)
		}
		defer f.Close()
		r = f
	}
	doc, err := io.ReadAll(io.LimitReader(r, maxCertificateSize+1))
	if err != nil {
		return fmt.Errorf("reading the certificate: %w", err)
	}
	if len(doc) > maxCertificateSize {
		return errors.New("the certificate is larger than 1 MiB: not a deletion certificate")
	}
	c, err := retention.VerifyCertificate(doc, pub)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL %v\n", err)
		return errors.New("the certificate does not verify")
	}
	var tables []string
	for _, t := range slices.Sorted(maps.Keys(c.Deleted)) {
		tables = append(tables, fmt.Sprintf("%s %d", t, c.Deleted[t]))
	}
	fmt.Fprintf(stdout, "OK organization %s (%s) deleted at %s, signed by %s\n  deleted: %s\n  keys destroyed: %d\n",
		c.Tenant, c.Organization, c.DeletedAt, c.KeyID, strings.Join(tables, ", "), len(c.KeysDestroyed))
	return nil
}
