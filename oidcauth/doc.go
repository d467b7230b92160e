// Package oidcauth is the relying-party side of "Sign in with Google /
// Microsoft / any OpenID Connect provider": it discovers the configured
// providers, starts the authorization-code flow with PKCE (S256), a state and
// a nonce, and finishes it by exchanging the code and verifying the ID token
// (signature against the provider's JWKS, issuer, audience, expiry, nonce).
//
// # Key federated accounts on (Issuer, Subject), never on e-mail
//
// The only stable, provider-guaranteed identifier of an account is the pair
// ([Identity.Issuer], [Identity.Subject]). The e-mail address is a mutable
// attribute the provider reports: it can change, be reassigned to another
// person, or be set to any value by whoever administers the account (with
// Microsoft multi-tenant sign-in, anyone who owns a tenant can give a user in
// it any address, so the address proves nothing). A service that finds or links
// an account by e-mail alone lets an attacker take over the account of whoever
// has that address. Look accounts up by (Issuer, Subject); use the e-mail only
// to fill in a profile or, when [Identity.EmailVerified] is true and the
// operator allows it, to offer linking to an existing account after the user
// has proved they hold that account too.
//
// # Flow
//
// [Registry.Start] returns the URL to send the browser to and a [Flow]: the
// server-side secrets (state, nonce, PKCE verifier) the callback needs. The
// service keeps the Flow on the server side, bound to the browser that started
// it (see [Flow]), for at most [FlowLifetime], and hands it back to
// [Registry.Finish] exactly once, with the callback's query.
//
// Discovery happens lazily, on the first use of a provider, with a timeout; a
// provider that is down does not stop the server or the other providers.
//
// Errors are *[Error] values that match one of the sentinel errors (ErrUnknownProvider,
// ErrUnavailable, ErrInvalidCallback, ErrStateMismatch, ErrExpired,
// ErrProviderError, ErrCodeRejected, ErrTokenInvalid) with [errors.Is], so the
// service can audit the reason. Their messages never hold codes, tokens,
// verifiers or nonces.
package oidcauth
