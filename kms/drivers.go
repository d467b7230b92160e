package kms

import (
	"context"
	"errors"
	"fmt"
	"os"

	vault "github.com/hashicorp/vault/api"
	"gocloud.dev/gcp"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/awskms"
	"gocloud.dev/secrets/gcpkms"
	"gocloud.dev/secrets/hashivault"
)

// opener opens the key that a validated URL names. cleanup, when not nil,
// releases what the keeper holds beyond itself.
type opener func(ctx context.Context, t *target) (k *secrets.Keeper, cleanup func(), err error)

// openers holds the only schemes Open accepts. The drivers' imports also
// register them on gocloud's global secrets.DefaultURLMux, which this package
// does not use: that mux is shared by the whole program (another import may
// add base64key:// to it), and two of its openers keep the first error or
// credentials they met for the life of the process.
var openers = map[string]opener{
	SchemeHashiVault: openHashiVault,
	SchemeAWSKMS:     openAWSKMS,
	SchemeGCPKMS:     openGCPKMS,
}

// Environment variables for Vault, as gocloud.dev/secrets/hashivault reads
// them: the first of each pair that is set wins. The Vault client also reads
// its usual VAULT_CACERT, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY,
// VAULT_TLS_SERVER_NAME, VAULT_CLIENT_TIMEOUT, VAULT_MAX_RETRIES and
// VAULT_NAMESPACE.
const (
	EnvVaultServerURL   = "VAULT_SERVER_URL"
	EnvVaultAddr        = "VAULT_ADDR"
	EnvVaultServerToken = "VAULT_SERVER_TOKEN"
	EnvVaultToken       = "VAULT_TOKEN"
)

// openHashiVault reads the Vault address and token from the environment at
// every call, unlike the driver's default opener, which reads them once per
// process.
func openHashiVault(_ context.Context, t *target) (*secrets.Keeper, func(), error) {
	cfg := vault.DefaultConfig() // reads VAULT_ADDR and the TLS settings
	if cfg.Error != nil {
		return nil, nil, fmt.Errorf("reading Vault client settings: %w", cfg.Error)
	}
	if addr := os.Getenv(EnvVaultServerURL); addr != "" {
		cfg.Address = addr
		cfg.AgentAddress = "" // VAULT_AGENT_ADDR would otherwise take precedence
	} else if os.Getenv(EnvVaultAddr) == "" {
		return nil, nil, errors.New("no Vault address: set " + EnvVaultServerURL + " or " + EnvVaultAddr)
	}
	client, err := vault.NewClient(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("making Vault client: %w", err)
	}
	token := os.Getenv(EnvVaultServerToken)
	if token == "" {
		token = os.Getenv(EnvVaultToken)
	}
	client.SetToken(token)
	opener := &hashivault.URLOpener{Client: client}
	k, err := opener.OpenKeeperURL(context.Background(), t.url)
	if err != nil {
		return nil, nil, err
	}
	return k, nil, nil
}

// openAWSKMS builds an AWS KMS client from the URL's parameters and the
// default credential chain (environment, shared files, IAM role). The
// credentials are fetched at the first Wrap or Unwrap.
func openAWSKMS(ctx context.Context, t *target) (*secrets.Keeper, func(), error) {
	k, err := (&awskms.URLOpener{}).OpenKeeperURL(ctx, t.url)
	if err != nil {
		return nil, nil, err
	}
	return k, nil, nil
}

// openGCPKMS finds Application Default Credentials and dials Cloud KMS. The
// connection is the Keeper's own and closes with it.
func openGCPKMS(ctx context.Context, t *target) (*secrets.Keeper, func(), error) {
	creds, err := gcp.DefaultCredentials(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("finding Google Cloud credentials: %w", err)
	}
	client, cleanup, err := gcpkms.Dial(ctx, gcp.CredentialsTokenSource(creds))
	if err != nil {
		return nil, nil, fmt.Errorf("dialing Google Cloud KMS: %w", err)
	}
	k, err := (&gcpkms.URLOpener{Client: client}).OpenKeeperURL(ctx, t.url)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return k, cleanup, nil
}
