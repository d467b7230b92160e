package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const operatorUsage = `Usage: strongroom operator <command> --email ADDRESS [flags]

Commands:
  grant    make an existing account platform staff (an operator); operators
           must enrol and use a second factor (TOTP or a passkey) for operator work
  revoke   withdraw operator status
`

func runOperator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, operatorUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	var grant bool
	switch args[0] {
	case "grant":
		grant = true
	case "revoke":
	default:
		fmt.Fprintf(stderr, "strongroom operator: unknown command %q\n\n%s", args[0], operatorUsage)
		return errUsage
	}
	fs := newFlagSet("operator "+args[0], "Grant or revoke platform operator status", stderr)
	email := fs.String("email", "", "the account's e-mail address")
	cfg, err := loadConfig(fs, args[1:], os.Getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		fmt.Fprintf(stderr, "strongroom operator %s: %v\n", args[0], err)
		return errUsage
	}
	if *email == "" {
		fmt.Fprintf(stderr, "strongroom operator %s: --email is required\n", args[0])
		return errUsage
	}
	app, err := openApp(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer app.close()
	if err := app.svc.SetOperator(cliContext(ctx), *email, grant); err != nil {
		return err
	}
	if grant {
		fmt.Fprintf(stdout, "%s is now an operator. Operator work needs a session signed in with a second factor.\n", *email)
	} else {
		fmt.Fprintf(stdout, "%s is no longer an operator.\n", *email)
	}
	return nil
}
