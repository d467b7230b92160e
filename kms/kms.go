// Package kms adapts Strongroom's master-key abstraction (the keyring's KEK) to
// external key management services through gocloud.dev/secrets.
//
// Open takes a URL naming a key in one of three services:
//
//	hashivault://KEY                                 Vault or OpenBao transit engine
//	awskms://alias/NAME?region=REGION                AWS KMS (or awskms:///ARN)
//	gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K   Google Cloud KMS
//
// Nothing else is accepted: local master keys (a key file, an environment
// variable, gocloud's base64key://) are handled by the keyring, not here.
// Credentials never go in the URL; each service takes them from its usual
// place (VAULT_SERVER_TOKEN, the AWS and Google credential chains). The
// Keeper sends the service only the small data keys it is asked to wrap,
// never data. docs/kms.md has the details.
package kms

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"gocloud.dev/secrets"
)

// Limits on what Wrap and Unwrap accept. The KEK wraps keys, never data: in
// Strongroom a 32-byte tenant key behind the keyring's binding (a label, the
// tenant ID, the key kind and version), about 100 bytes in all. Refusing
// anything larger keeps data from ever being sent to the KMS by mistake.
const (
	MinWrapSize    = 16
	MaxWrapSize    = 1024
	MaxWrappedSize = 8 << 10
)

// Keeper wraps and unwraps data keys with a key held by a KMS. It satisfies
// the keyring's KEK interface. It is safe for concurrent use.
type Keeper struct {
	id      string
	keeper  *secrets.Keeper
	cleanup func() // releases driver resources (a gRPC connection); may be nil

	closeOnce sync.Once
	closeErr  error
}

// Open opens the KMS key that url names. It checks the URL and builds the
// client, but only Google Cloud KMS contacts anything (to find credentials)
// before the first Wrap or Unwrap. Close the Keeper when done.
func Open(ctx context.Context, url string) (*Keeper, error) {
	t, err := parseURL(url)
	if err != nil {
		return nil, fmt.Errorf("opening KMS key: %w", err)
	}
	open := openers[t.url.Scheme]
	k, cleanup, err := open(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("opening KMS key %s: %w", t.id, err)
	}
	return &Keeper{id: t.id, keeper: k, cleanup: cleanup}, nil
}

// ID returns a stable identifier of the key: "kms:" and the URL without the
// query parameters that only choose how to reach the service, for example
// "kms:hashivault://strongroom-kek" or
// "kms:awskms://alias/strongroom?region=eu-west-1". It never holds
// credentials (Open refuses URLs with any).
func (k *Keeper) ID() string { return k.id }

// Wrap encrypts plaintext, a key, with the KMS key. plaintext must be
// MinWrapSize to MaxWrapSize bytes long.
func (k *Keeper) Wrap(ctx context.Context, plaintext []byte) ([]byte, error) {
	if n := len(plaintext); n < MinWrapSize || n > MaxWrapSize {
		return nil, fmt.Errorf("wrapping data key with %s: plaintext is %d bytes, want %d to %d", k.id, n, MinWrapSize, MaxWrapSize)
	}
	wrapped, err := call(ctx, func(ctx context.Context) ([]byte, error) {
		return k.keeper.Encrypt(ctx, plaintext)
	})
	if err != nil {
		return nil, fmt.Errorf("wrapping data key with %s: %w", k.id, err)
	}
	if len(wrapped) == 0 {
		return nil, fmt.Errorf("wrapping data key with %s: the KMS returned nothing", k.id)
	}
	return wrapped, nil
}

// Unwrap decrypts a data key that Wrap returned. It fails when wrapped was
// altered or was wrapped by another key.
func (k *Keeper) Unwrap(ctx context.Context, wrapped []byte) ([]byte, error) {
	if n := len(wrapped); n == 0 || n > MaxWrappedSize {
		return nil, fmt.Errorf("unwrapping data key with %s: wrapped key is %d bytes, want 1 to %d", k.id, n, MaxWrappedSize)
	}
	plaintext, err := call(ctx, func(ctx context.Context) ([]byte, error) {
		return k.keeper.Decrypt(ctx, wrapped)
	})
	if err != nil {
		return nil, fmt.Errorf("unwrapping data key with %s: %w", k.id, err)
	}
	if n := len(plaintext); n < MinWrapSize || n > MaxWrapSize {
		clear(plaintext)
		return nil, fmt.Errorf("unwrapping data key with %s: plaintext is %d bytes, want %d to %d", k.id, n, MinWrapSize, MaxWrapSize)
	}
	return plaintext, nil
}

// Close releases the Keeper's resources. It waits for calls in flight,
// including Vault requests abandoned when their context ended (they last at
// most the Vault client's timeout, VAULT_CLIENT_TIMEOUT, 60 seconds by
// default). Wrap and Unwrap fail after it. Calling it again returns the first
// result.
func (k *Keeper) Close() error {
	k.closeOnce.Do(func() {
		k.closeErr = k.keeper.Close()
		if k.cleanup != nil {
			k.cleanup()
		}
		if k.closeErr != nil {
			k.closeErr = fmt.Errorf("closing KMS key %s: %w", k.id, k.closeErr)
		}
	})
	return k.closeErr
}

// errDriverPanic reports a panic in a driver, turned into an error.
var errDriverPanic = errors.New("KMS driver failed on an unexpected response")

// call runs fn and returns its result, or ctx's error as soon as ctx ends.
//
// Two driver shortcomings make it necessary: gocloud's hashivault driver
// ignores the context (its requests are bounded only by the Vault client's
// timeout), and it panics on responses it does not expect (a 404 without a
// body, a reply without the expected field). A call abandoned at ctx's end
// goes on in the background until the client's timeout.
func call(ctx context.Context, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("%w: %v", errDriverPanic, r)}
			}
		}()
		b, err := fn(ctx)
		done <- result{b: b, err: err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
