package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/oidcauth"
	"strongroom.dev/strongroom/store"
)

// OpenID Connect sign-in (IAM-05): the authorization-code flow with PKCE, state
// and nonce (oidcauth). The flow's secrets stay server-side, sealed in a
// single-use challenge row found through the browser's own cookie (not the
// callback's state), so a login-CSRF callback carried to another browser finds
// nothing. Federated accounts are keyed on (issuer, subject); an account is
// linked by a signed-in user, or through an e-mail address the provider
// verified, never through an unverified one.

var errNoOIDC = strongroom.Errorf(strongroom.ENOTFOUND, "no such sign-in provider")

// OIDCProviders lists the configured providers for the sign-in page.
func (s *Service) OIDCProviders() []oidcauth.ProviderInfo {
	if s.oidc == nil {
		return nil
	}
	return s.oidc.Providers()
}

func oidcAD(id string) envelope.AD {
	return envelope.AD{Tenant: string(strongroom.PlatformTenant), Table: "auth_challenges", Row: id, Field: "data"}
}

// StartOIDC begins a sign-in with a provider: the URL to send the browser to,
// and the flow token for the browser's cookie.
func (s *Service) StartOIDC(ctx context.Context, provider string) (authURL, flowToken string, expires time.Time, err error) {
	if s.oidc == nil {
		return "", "", time.Time{}, errNoOIDC
	}
	if err := s.guards.admitAuth(strongroom.PrincipalFrom(ctx).IP, ""); err != nil {
		return "", "", time.Time{}, err
	}
	authURL, flow, err := s.oidc.Start(ctx, provider)
	if err != nil {
		return "", "", time.Time{}, oidcError(err)
	}
	token, c, err := s.newChallenge(purposeOIDC, nil, "", s.clock(), oidcauth.FlowLifetime)
	if err != nil {
		return "", "", time.Time{}, err
	}
	b, err := json.Marshal(flow)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("encoding flow: %w", err)
	}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if c.Data, err = envelope.Seal(keys.Current, oidcAD(c.ID), b, s.rand); err != nil {
		return "", "", time.Time{}, fmt.Errorf("sealing flow: %w", err)
	}
	if err := s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error { return tx.CreateChallenge(ctx, c) }); err != nil {
		return "", "", time.Time{}, err
	}
	return authURL, token, c.ExpiresAt, nil
}

// oidcError maps the package's errors to ours; provider details stay in logs.
func oidcError(err error) error {
	switch {
	case errors.Is(err, oidcauth.ErrUnknownProvider):
		return errNoOIDC
	case errors.Is(err, oidcauth.ErrUnavailable):
		return strongroom.Errorf(strongroom.EUNAVAILABLE, "the sign-in provider cannot be reached: try again later")
	case errors.Is(err, oidcauth.ErrInvalidCallback):
		return strongroom.Errorf(strongroom.EINVALID, "the provider's answer is malformed")
	}
	return strongroom.Errorf(strongroom.EUNAUTHORIZED, "the sign-in with the provider did not succeed: start again")
}

// oidcReason names a failed callback for the audit log.
func oidcReason(err error) string {
	var e *oidcauth.Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "sign-in refused"
}

// FinishOIDC completes a sign-in at the provider's callback: it spends the
// browser's flow (single use, before anything else), verifies the answer, and
// signs in the linked account, links one, or creates one.
func (s *Service) FinishOIDC(ctx context.Context, provider, flowToken string, query url.Values) (*SignInResult, error) {
	if s.oidc == nil {
		return nil, errNoOIDC
	}
	if err := s.guards.admitAuth(strongroom.PrincipalFrom(ctx).IP, ""); err != nil {
		return nil, err
	}
	// An unknown provider's callback leaves the browser's flow alone.
	if _, err := s.oidc.RedirectURL(provider); err != nil {
		s.auditSignIn(ctx, "auth.signin.oidc", "", strongroom.ResultFailure, "unknown provider")
		return nil, errNoOIDC
	}
	c, _, err := s.takeChallenge(ctx, purposeOIDC, flowToken)
	if err != nil {
		s.auditSignIn(ctx, "auth.signin.oidc", "", strongroom.ResultFailure,
			"no live sign-in for this browser (no flow cookie, or the flow was used or has expired)")
		return nil, err
	}
	if err := s.useChallenge(ctx, c); err != nil {
		s.auditSignIn(ctx, "auth.signin.oidc", "", strongroom.ResultFailure, "the flow was used by a concurrent callback")
		return nil, errBadChallenge
	}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return nil, err
	}
	b, err := openSealed(keys, oidcAD(c.ID), c.Data)
	if err != nil {
		return nil, fmt.Errorf("opening flow: %w", err)
	}
	var flow oidcauth.Flow
	if err := json.Unmarshal(b, &flow); err != nil {
		return nil, fmt.Errorf("decoding flow: %w", err)
	}
	if flow.Provider != provider {
		s.auditSignIn(ctx, "auth.signin.oidc", "", strongroom.ResultFailure, "callback for another provider")
		return nil, errBadChallenge
	}
	id, err := s.oidc.Finish(ctx, provider, flow, query)
	if err != nil {
		s.auditSignIn(ctx, "auth.signin.oidc", "", strongroom.ResultFailure, oidcReason(err))
		return nil, oidcError(err)
	}
	user, how, err := s.federatedUser(ctx, id)
	if err != nil {
		uid := strongroom.UserID("")
		if user != nil {
			uid = user.ID
		}
		s.auditSignIn(ctx, "auth.signin.oidc", uid, strongroom.ResultFailure, strongroom.ErrorMessage(err))
		return nil, err
	}
	if how != "" {
		s.log.Info("federated identity linked", "provider", provider, "how", how)
	}
	return s.afterFirstFactor(ctx, user, strongroom.MethodOIDC, true)
}

// federatedUser finds or makes the account for a verified identity, and says
// how it was linked ("" when it already was).
func (s *Service) federatedUser(ctx context.Context, id oidcauth.Identity) (*strongroom.User, string, error) {
	now := s.clock()
	var user *strongroom.User
	err := s.store.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
		f, err := tx.FederatedIdentity(ctx, id.Issuer, id.Subject)
		if err != nil {
			return err
		}
		user, err = tx.UserByID(ctx, f.UserID)
		return err
	})
	if err == nil {
		err = s.store.Write(ctx, store.Scope{}, func(tx *store.Tx) error {
			return tx.TouchFederatedIdentity(ctx, id.Issuer, id.Subject, now)
		})
		return user, "", err
	}
	if strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
		return nil, "", err
	}
	p := strongroom.PrincipalFrom(ctx)
	email, _ := NormalizeEmail("/email", id.Email)
	var how string
	switch {
	case p.Kind == strongroom.PrincipalUser:
		// A signed-in user links the provider's account to their own: a new
		// way in, so, like any new credential, only after a recent sign-in
		// (a stolen session must not buy lasting access).
		if user, err = s.user(ctx, p.UserID); err != nil {
			return nil, "", err
		}
		if err := s.requireStepUp(ctx); err != nil {
			return user, "", err
		}
		how = "signed-in user"
	case email != "" && id.EmailVerified:
		if user, err = s.userByEmail(ctx, email); err != nil {
			return nil, "", err
		}
		how = "verified e-mail"
		if user != nil && user.EmailVerifiedAt == nil {
			// Whoever made this account never proved the address: it may be
			// an attacker's, waiting for its owner to sign in with a provider
			// (pre-account takeover). Its owner signs in another way (a
			// password reset reaches the address) and links while signed in.
			return user, "", strongroom.Errorf(strongroom.EFORBIDDEN,
				"an account with this e-mail address exists but its address was never confirmed: "+
					"sign in another way first, then link the provider while signed in")
		}
		if user == nil {
			uid, err := s.newID()
			if err != nil {
				return nil, "", err
			}
			user = &strongroom.User{ID: strongroom.UserID(uid), Email: email, EmailVerifiedAt: &now, CreatedAt: now}
			how = "new account"
		}
	default:
		return nil, "", strongroom.Errorf(strongroom.EFORBIDDEN,
			"the provider did not confirm an e-mail address for this account: sign in another way first, then link the provider while signed in")
	}
	created := how == "new account"
	fed := strongroom.FederatedIdentity{Issuer: id.Issuer, Subject: id.Subject, UserID: user.ID, Email: email,
		CreatedAt: now, LastUsedAt: now}
	actor := *p
	actor.Kind, actor.UserID = strongroom.PrincipalUser, user.ID
	actx := strongroom.WithPrincipal(ctx, &actor)
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if created {
			if err := tx.CreateUser(ctx, user); err != nil {
				return err
			}
			if err := audit(actx, tx, "user.signup", "user", string(user.ID), map[string]string{"via": "oidc"}); err != nil {
				return err
			}
		}
		if err := tx.CreateFederatedIdentity(ctx, &fed); err != nil {
			return err
		}
		return audit(actx, tx, "user.federated_identity.link", "user", string(user.ID),
			map[string]string{"issuer": id.Issuer, "how": how})
	})
	if err != nil {
		return nil, "", err
	}
	return user, how, nil
}
