package service

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/store"
)

// Security-policy changes (INC-07; docs/trust.md "Policy changes"). An
// operator publishes a change (title, summary, effective date, and a body or
// a link); every organization's Admins are e-mailed, each organization's
// audit log records the notice, and Admins list and acknowledge the changes
// (the console shows them). Published changes are never edited: a correction
// is a new change.

// Policy change limits, in characters.
const (
	MaxPolicyTitle   = 200
	MaxPolicySummary = 2000
	MaxPolicyBody    = 50000
	MaxPolicyURL     = 2000
)

// PolicyChangeInput is a change to publish.
type PolicyChangeInput struct {
	Title       string
	Summary     string
	Body        string // the new text or the change's details; Body or URL is required
	URL         string // https link to the published policy
	EffectiveAt time.Time
}

func (s *Service) validPolicyChange(in PolicyChangeInput) (strongroom.PolicyChange, error) {
	var c strongroom.PolicyChange
	var err error
	if c.Title, err = validName("/title", in.Title, MaxPolicyTitle); err != nil {
		return c, err
	}
	if c.Summary, err = validText("/summary", in.Summary, MaxPolicySummary); err != nil {
		return c, err
	}
	if strings.TrimSpace(in.Body) != "" {
		if c.Body, err = validText("/body", in.Body, MaxPolicyBody); err != nil {
			return c, err
		}
	}
	if u := strings.TrimSpace(in.URL); u != "" {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "https" || pu.Host == "" || pu.User != nil || len(u) > MaxPolicyURL || strings.ContainsFunc(u, isControl) {
			return c, validation("/url", "must be an https URL of at most %d characters", MaxPolicyURL)
		}
		c.URL = u
	}
	if c.Body == "" && c.URL == "" {
		return c, validation("/body", "give the change's text or a link to it (url)")
	}
	now := s.clock()
	if in.EffectiveAt.IsZero() || in.EffectiveAt.Before(now.AddDate(-1, 0, 0)) || in.EffectiveAt.After(now.AddDate(2, 0, 0)) {
		return c, validation("/effective_at", "must be a date from a year ago to two years ahead")
	}
	c.EffectiveAt = in.EffectiveAt.UTC().Truncate(time.Microsecond)
	return c, nil
}

// PublishPolicyChange publishes a change and notifies every organization's
// Admins by e-mail, with an event in each organization's audit log and one
// in the platform's. It returns the change and the number of organizations
// notified.
func (s *Service) PublishPolicyChange(ctx context.Context, in PolicyChangeInput) (*strongroom.PolicyChange, int, error) {
	if err := s.operator(ctx); err != nil {
		return nil, 0, err
	}
	c, err := s.validPolicyChange(in)
	if err != nil {
		return nil, 0, err
	}
	if c.ID, err = s.newID(); err != nil {
		return nil, 0, err
	}
	c.PublishedBy, c.PublishedAt = strongroom.PrincipalFrom(ctx).UserID, s.clock()
	orgs, err := s.store.OrganizationIDs(ctx)
	if err != nil {
		return nil, 0, err
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreatePolicyChange(ctx, &c); err != nil {
			return err
		}
		return audit(ctx, tx, "policy.publish", "policy_change", c.ID, map[string]any{"effective_at": c.EffectiveAt, "organizations": len(orgs)})
	})
	if err != nil {
		return nil, 0, err
	}
	text := c.Summary + "\n\nEffective " + c.EffectiveAt.Format(time.DateOnly) + ".\n"
	if c.URL != "" {
		text += "\nThe policy: " + c.URL + "\n"
	}
	if c.Body != "" {
		text += "\n" + c.Body + "\n"
	}
	text += fmt.Sprintf("\nAcknowledge this change in the console: %s (policy change %s).\n", s.baseURL, c.ID)
	n := 0
	for _, org := range orgs {
		var admins []string
		err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
			var err error
			if admins, err = reviewerEmails(ctx, tx); err != nil {
				return err
			}
			return audit(ctx, tx, "policy.notice", "policy_change", c.ID, map[string]any{"admins": len(admins)})
		})
		if err != nil {
			return &c, n, fmt.Errorf("notifying %s of the policy change: %w", org, err)
		}
		for _, a := range admins {
			s.deliver(mail.Message{To: a, Kind: "policy-change", Subject: "Security policy change: " + c.Title, Text: text})
		}
		n++
	}
	return &c, n, nil
}

// OperatorPolicyChanges lists the published changes, newest first. Audited.
func (s *Service) OperatorPolicyChanges(ctx context.Context) ([]strongroom.PolicyChange, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	var out []strongroom.PolicyChange
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if out, err = tx.PolicyChanges(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, "policy.list", "policy_change", "", map[string]int{"count": len(out)})
	})
	return out, err
}

func (s *Service) policyChanges(ctx context.Context) ([]strongroom.PolicyChange, error) {
	var out []strongroom.PolicyChange
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		out, err = tx.PolicyChanges(ctx)
		return err
	})
	return out, err
}

// PolicyChanges lists the published changes with the organization's
// acknowledgements (Admins; another organization's answers 404). Audited.
func (s *Service) PolicyChanges(ctx context.Context, org strongroom.TenantID) ([]strongroom.PolicyChange, error) {
	if err := s.Authorize(ctx, access.NoticesRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	out, err := s.policyChanges(ctx)
	if err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		acks, err := tx.PolicyAcks(ctx)
		if err != nil {
			return err
		}
		for i := range out {
			if a, ok := acks[out[i].ID]; ok {
				at := a.At
				out[i].AcknowledgedAt, out[i].AcknowledgedBy = &at, a.By
			}
		}
		return audit(ctx, tx, "policy.list", "policy_change", "", map[string]int{"count": len(out), "acknowledged": len(acks)})
	})
	return out, err
}

// AcknowledgePolicyChange records the organization's acknowledgement (the
// first stands), audited in its log and the platform's.
func (s *Service) AcknowledgePolicyChange(ctx context.Context, org strongroom.TenantID, id string) (*strongroom.PolicyChange, error) {
	if err := s.Authorize(ctx, access.NoticesAck, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "policy change not found")
	}
	all, err := s.policyChanges(ctx)
	if err != nil {
		return nil, err
	}
	var c *strongroom.PolicyChange
	for i := range all {
		if all[i].ID == id {
			c = &all[i]
		}
	}
	if c == nil {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "policy change not found")
	}
	p := strongroom.PrincipalFrom(ctx)
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.AckPolicyChange(ctx, id, p.UserID, s.clock()); err != nil {
			return err
		}
		acks, err := tx.PolicyAcks(ctx)
		if err != nil {
			return err
		}
		a := acks[id]
		c.AcknowledgedAt, c.AcknowledgedBy = &a.At, a.By
		return audit(ctx, tx, "policy.acknowledge", "policy_change", id, nil)
	})
	if err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		return audit(ctx, tx, "policy.acknowledged", "policy_change", id, map[string]any{"organization": org})
	})
	return c, err
}
