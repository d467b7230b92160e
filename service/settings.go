package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/store"
)

// Organization settings (IAM-04, IAM-07, IAM-12) and operator access.

// OrgSettings returns an organization's settings.
func (s *Service) OrgSettings(ctx context.Context, org strongroom.TenantID) (*strongroom.OrgSettings, error) {
	if err := s.Authorize(ctx, access.SettingsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	return s.orgSettings(ctx, org)
}

// Limits of the organization lifetimes.
const (
	maxIdleMinutes   = 24 * 60
	maxAbsoluteHours = 30 * 24
)

// UpdateOrgSettings replaces an organization's settings, audited with the old
// and new values.
func (s *Service) UpdateOrgSettings(ctx context.Context, org strongroom.TenantID, in strongroom.OrgSettings) (*strongroom.OrgSettings, error) {
	if err := s.Authorize(ctx, access.SettingsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if err := validSettings(&in); err != nil {
		return nil, err
	}
	if err := s.validLifecycleSettings(&in); err != nil {
		return nil, err
	}
	// Security settings are sensitive: a recent sign-in, and no change that
	// would shut out the session making it.
	if err := s.requireStepUp(ctx); err != nil {
		return nil, err
	}
	if p := strongroom.PrincipalFrom(ctx); p.Session != nil && !in.AllowsMethod(p.Session.Methods) {
		return nil, validation("/sign_in_methods", "must include a method of your own session (%s), or you would shut yourself out",
			strings.Join(p.Session.Methods, ", "))
	}
	var old *strongroom.OrgSettings
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if old, err = tx.OrgSettings(ctx); err != nil {
			return err
		}
		if err := tx.SetOrgSettings(ctx, &in, s.clock()); err != nil {
			return err
		}
		return audit(ctx, tx, "org.settings.update", "organization", string(org), map[string]any{"old": old, "new": in})
	})
	s.settings.del(org)
	if err != nil {
		return nil, err
	}
	return &in, nil
}

func validSettings(in *strongroom.OrgSettings) error {
	seen := map[string]bool{}
	for i, m := range in.SignInMethods {
		if !slices.Contains(strongroom.SignInMethods, m) {
			return validation(fmt.Sprintf("/sign_in_methods/%d", i), "must be one of %s", strings.Join(strongroom.SignInMethods, ", "))
		}
		if seen[m] {
			return validation(fmt.Sprintf("/sign_in_methods/%d", i), "is listed twice")
		}
		seen[m] = true
	}
	if len(in.AllowedEmailDomains) > 100 {
		return validation("/allowed_email_domains", "at most 100 domains")
	}
	for i, d := range in.AllowedEmailDomains {
		norm, err := NormalizeEmail("", "x@"+d)
		if err != nil || strings.ContainsAny(d, "@ ") || !strings.Contains(d, ".") {
			return validation(fmt.Sprintf("/allowed_email_domains/%d", i), "must be a domain name such as example.com")
		}
		in.AllowedEmailDomains[i] = strings.TrimPrefix(norm, "x@")
	}
	if in.SessionIdleMinutes < 0 || in.SessionIdleMinutes > maxIdleMinutes {
		return validation("/session_idle_minutes", "must be 0 (platform default) to %d", maxIdleMinutes)
	}
	if in.SessionAbsoluteHours < 0 || in.SessionAbsoluteHours > maxAbsoluteHours {
		return validation("/session_absolute_hours", "must be 0 (platform default) to %d", maxAbsoluteHours)
	}
	return nil
}

// EnterOperator admits platform staff to operator work: an operator account
// whose session signed in with MFA (IAM-07: always required for operators).
func (s *Service) EnterOperator(ctx context.Context) (*strongroom.Principal, error) {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser || p.Session == nil {
		return nil, s.Authorize(ctx, access.Operator, access.Resource{})
	}
	u, err := s.user(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if !u.Operator {
		return nil, s.Authorize(ctx, access.Operator, access.Resource{})
	}
	if p.Session.AAL < 2 {
		n, err := s.confirmedFactors(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		s.auditDenied(ctx, "", string(access.Operator), "operator without MFA in this session")
		if n == 0 {
			return nil, strongroom.Errorf(strongroom.EMFAENROLL, "operators must use multi-factor authentication: enrol an authenticator app or a passkey first")
		}
		return nil, strongroom.Errorf(strongroom.EMFAREQUIRED, "operators must sign in with their second factor")
	}
	q := *p
	q.Operator = true
	return &q, nil
}

// OutboxMessages lists the development outbox (embedded mode) for operators;
// the read is audited, since messages carry sign-in codes.
func (s *Service) OutboxMessages(ctx context.Context, limit int) ([]mail.OutboxMessage, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	if s.outbox == nil {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "this server sends e-mail over SMTP: there is no development outbox")
	}
	if err := s.AuditPlatform(ctx, "outbox.read", "outbox", "", map[string]int{"limit": limit}); err != nil {
		return nil, err
	}
	return s.outbox.List(limit), nil
}

// SetOperator grants or withdraws platform operator status (from the command
// line), audited in the platform log.
func (s *Service) SetOperator(ctx context.Context, email string, operator bool) error {
	norm, err := NormalizeEmail("/email", email)
	if err != nil {
		return err
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		u, err := tx.UserByEmail(ctx, norm)
		if err != nil {
			return err
		}
		if err := tx.SetOperator(ctx, u.ID, operator); err != nil {
			return err
		}
		action := "operator.grant"
		if !operator {
			action = "operator.revoke"
		}
		return audit(ctx, tx, action, "user", string(u.ID), nil)
	})
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return fmt.Errorf("no account has the address %s", norm)
	}
	return err
}

// OrgSettingsChanged drops an organization's cached settings after they were
// changed outside the service (maintenance commands, tests).
func (s *Service) OrgSettingsChanged(org strongroom.TenantID) { s.settings.del(org) }
