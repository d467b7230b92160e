package service

import (
	"context"
	"fmt"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/store"
)

// E-mail subscriptions (status updates INC-04, subprocessor changes INC-06)
// are one double-opt-in mechanism: an address asks, a link with a token is
// e-mailed (only the token's SHA-256 is stored), the link confirms, and a
// link unsubscribes. What differs per topic — token prefix, the page the
// links open, audit names, the wording — is a subscriptionTopic.

type subscriptionTopic struct {
	topic       string // strongroom.TopicStatus, strongroom.TopicSubprocessors
	tokenPrefix string
	path        string // the pages the links open: path+"/confirm", path+"/unsubscribe"
	ipLimitKey  string // the per-client-address limiter's key prefix
	ipLimitName string // the rate-limit metric's label
	emailLimit  string // the per-address limiter's key prefix
	audit       string // audit actions audit+".subscribe", ".subscription.confirm", ".unsubscribe"
	target      string // audit target type
	what        string // "incidents and maintenance": what the subscriber is told of
	confirmKind string // mail kinds
	subject     string // the confirmation's subject
	// resend: a confirmed address that subscribes again is e-mailed a new
	// unsubscribe link (its messages carry fresh tokens); otherwise it is
	// sent nothing.
	resend bool
	keep   string // the confirmation's line before the unsubscribe link
}

var statusTopic = subscriptionTopic{
	topic: strongroom.TopicStatus, tokenPrefix: StatusTokenPrefix, path: "/status",
	ipLimitKey: "status-subscribe:", ipLimitName: "status_subscribe", emailLimit: "status:",
	audit: "status", target: "status_subscriber", what: "incidents and maintenance",
	confirmKind: "status-confirm", subject: "Confirm your subscription to status updates",
	resend: true, keep: "To unsubscribe later, use",
}

var subprocessorTopic = subscriptionTopic{
	topic: strongroom.TopicSubprocessors, tokenPrefix: SubscriptionTokenPrefix, path: "/subprocessors",
	ipLimitKey: "subscribe:", ipLimitName: "subscribe", emailLimit: "subprocessors:",
	audit: "subprocessor", target: "subscriber", what: "changes to our list of subprocessors",
	confirmKind: "subprocessor-confirm", subject: "Confirm your subscription to subprocessor changes",
	keep: "Keep this message: to unsubscribe later, use",
}

// subscribe starts a subscription to st: a confirmation link is e-mailed
// (double opt-in). A confirmed address gets a new unsubscribe link if the
// topic resends, else nothing. The answer is the same either way (no
// enumeration). Rate limited per client address and per address. Audited
// without the address.
func (s *Service) subscribe(ctx context.Context, st subscriptionTopic, email string) error {
	p := strongroom.PrincipalFrom(ctx)
	if ok, wait := s.trust.reports.Allow(st.ipLimitKey + ipKey(p.IP)); !ok {
		s.obs.RateLimited(st.ipLimitName)
		return strongroom.RateLimited(wait, "too many requests from your address: wait before trying again")
	}
	email, err := NormalizeEmail("/email", email)
	if err != nil {
		return err
	}
	if ok, wait := s.guards.email.Allow(st.emailLimit + email); !ok {
		return strongroom.RateLimited(wait, "too many messages to this address: wait before trying again")
	}
	id, err := s.newID()
	if err != nil {
		return err
	}
	token, hash, err := authn.NewToken(s.rand, st.tokenPrefix)
	if err != nil {
		return err
	}
	var confirmed bool
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.PutSubscription(ctx, &strongroom.Subscriber{ID: id, Topic: st.topic, Email: email, TokenHash: hash, CreatedAt: s.clock()}); err != nil {
			return err
		}
		sub, err := tx.SubscriptionByEmail(ctx, st.topic, email)
		if err != nil {
			return err
		}
		if confirmed = sub.ConfirmedAt != nil; confirmed && st.resend {
			if err := tx.SetSubscriptionToken(ctx, st.topic, sub.ID, hash); err != nil {
				return err
			}
		}
		return audit(ctx, tx, st.audit+".subscribe", st.target, sub.ID, map[string]bool{"already_confirmed": confirmed})
	})
	if err != nil {
		return err
	}
	switch {
	case confirmed && st.resend:
		s.deliver(mail.Message{To: email, Kind: "status-unsubscribe-link", Subject: "Your status subscription",
			Text: fmt.Sprintf("This address is subscribed to status updates already.\nTo unsubscribe, use this link:\n\n%s%s/unsubscribe?token=%s\n", s.baseURL, st.path, token)})
	case !confirmed:
		s.deliver(mail.Message{To: email, Kind: st.confirmKind, Subject: st.subject,
			Text: fmt.Sprintf("Someone (we hope you) asked to be told of %s.\nConfirm with this link, or ignore this message:\n\n%s%s/confirm?token=%s\n\n%s\n\n%s%s/unsubscribe?token=%s\n",
				st.what, s.baseURL, st.path, token, st.keep, s.baseURL, st.path, token)})
	}
	return nil
}

// confirmSubscription confirms a subscription to st by its e-mailed token.
// Audited.
func (s *Service) confirmSubscription(ctx context.Context, st subscriptionTopic, token string) error {
	return s.subscriptionByToken(ctx, st, token, func(tx *store.Tx, sub *strongroom.Subscriber) error {
		if err := tx.ConfirmSubscription(ctx, st.topic, sub.ID, s.clock()); err != nil {
			return err
		}
		return audit(ctx, tx, st.audit+".subscription.confirm", st.target, sub.ID, nil)
	})
}

// unsubscribe ends a subscription to st by its token. Audited.
func (s *Service) unsubscribe(ctx context.Context, st subscriptionTopic, token string) error {
	return s.subscriptionByToken(ctx, st, token, func(tx *store.Tx, sub *strongroom.Subscriber) error {
		if err := tx.DeleteSubscription(ctx, st.topic, sub.ID); err != nil {
			return err
		}
		return audit(ctx, tx, st.audit+".unsubscribe", st.target, sub.ID, nil)
	})
}

// subscriptionByToken runs fn on the subscription to st whose token this is;
// a malformed or unknown token (or one of another topic) is ENOTFOUND.
func (s *Service) subscriptionByToken(ctx context.Context, st subscriptionTopic, token string, fn func(*store.Tx, *strongroom.Subscriber) error) error {
	if !authn.WellFormed(token, st.tokenPrefix) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "no such subscription")
	}
	return s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		sub, err := tx.SubscriptionByToken(ctx, st.topic, authn.HashToken(token))
		if err != nil {
			return strongroom.Errorf(strongroom.ENOTFOUND, "no such subscription")
		}
		return fn(tx, sub)
	})
}

// confirmedSubscribers lists the confirmed subscriptions to st.
func (s *Service) confirmedSubscribers(ctx context.Context, st subscriptionTopic) ([]strongroom.Subscriber, error) {
	var subs []strongroom.Subscriber
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		subs, err = tx.ConfirmedSubscriptions(ctx, st.topic)
		return err
	})
	return subs, err
}
