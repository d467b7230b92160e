package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/store"
)

// Subprocessors (INC-06): an operator-managed list, published as JSON;
// subscribers (double opt-in by e-mail) are told of each addition and removal
// before it takes effect. A change must take effect at least the configured
// number of notice days after it is entered (the notice period is enforced,
// not just promised), and the notifier job announces it at its next run.

// SubscriptionTokenPrefix starts the token of a subscription's links.
const SubscriptionTokenPrefix = "srn_"

// SubprocessorInput describes a new subprocessor.
type SubprocessorInput struct {
	Name           string
	Purpose        string
	Location       string
	Certifications []string
	DataCategories []string
	EffectiveAt    time.Time
}

func validList(path string, in []string, max int) ([]string, error) {
	if len(in) > 50 {
		return nil, validation(path, "at most 50 entries")
	}
	out := []string{}
	for i, v := range in {
		s, err := validName(fmt.Sprintf("%s/%d", path, i), v, max)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// noticeFloor is the earliest a change entered now may take effect.
func (s *Service) noticeFloor(now time.Time) time.Time {
	return now.Add(time.Duration(s.trust.cfg.SubprocessorNoticeDays) * 24 * time.Hour)
}

// CreateSubprocessor adds a subprocessor taking effect at EffectiveAt, which
// must be at least the notice period away. Audited.
func (s *Service) CreateSubprocessor(ctx context.Context, in SubprocessorInput) (*strongroom.Subprocessor, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	var sp strongroom.Subprocessor
	var err error
	if sp.Name, err = validName("/name", in.Name, 200); err != nil {
		return nil, err
	}
	if sp.Purpose, err = validName("/purpose", in.Purpose, 500); err != nil {
		return nil, err
	}
	if sp.Location, err = validName("/location", in.Location, 200); err != nil {
		return nil, err
	}
	if sp.Certifications, err = validList("/certifications", in.Certifications, 100); err != nil {
		return nil, err
	}
	if sp.DataCategories, err = validList("/data_categories", in.DataCategories, 100); err != nil {
		return nil, err
	}
	if len(sp.DataCategories) == 0 {
		return nil, validation("/data_categories", "name the categories of data it processes")
	}
	now := s.clock()
	sp.EffectiveAt = in.EffectiveAt.UTC().Truncate(time.Microsecond)
	if sp.EffectiveAt.Before(s.noticeFloor(now)) {
		return nil, validation("/effective_at", "must be at least %d days ahead, so subscribers are told in advance", s.trust.cfg.SubprocessorNoticeDays)
	}
	if sp.EffectiveAt.After(now.AddDate(2, 0, 0)) {
		return nil, validation("/effective_at", "must be within two years")
	}
	if sp.ID, err = s.newID(); err != nil {
		return nil, err
	}
	sp.CreatedAt, sp.UpdatedAt = now, now
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreateSubprocessor(ctx, &sp); err != nil {
			return err
		}
		return audit(ctx, tx, "subprocessor.create", "subprocessor", sp.ID, map[string]any{"name": sp.Name, "effective_at": sp.EffectiveAt})
	})
	if err != nil {
		return nil, err
	}
	return &sp, nil
}

// EndSubprocessor schedules a subprocessor's removal at endsAt, at least the
// notice period away. Audited.
func (s *Service) EndSubprocessor(ctx context.Context, id string, endsAt time.Time) (*strongroom.Subprocessor, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "subprocessor not found")
	}
	now := s.clock()
	endsAt = endsAt.UTC().Truncate(time.Microsecond)
	if endsAt.Before(s.noticeFloor(now)) {
		return nil, validation("/ends_at", "must be at least %d days ahead, so subscribers are told in advance", s.trust.cfg.SubprocessorNoticeDays)
	}
	var sp *strongroom.Subprocessor
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		cur, err := tx.Subprocessor(ctx, id)
		if err != nil {
			return err
		}
		if !endsAt.After(cur.EffectiveAt) {
			return validation("/ends_at", "must be after the subprocessor takes effect")
		}
		if err := tx.EndSubprocessor(ctx, id, endsAt, now); err != nil {
			return err
		}
		if sp, err = tx.Subprocessor(ctx, id); err != nil {
			return err
		}
		return audit(ctx, tx, "subprocessor.end", "subprocessor", id, map[string]any{"name": sp.Name, "ends_at": endsAt})
	})
	return sp, err
}

// Subprocessors lists every subprocessor row for operators. Audited.
func (s *Service) Subprocessors(ctx context.Context) ([]strongroom.Subprocessor, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	var out []strongroom.Subprocessor
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if out, err = tx.Subprocessors(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, "subprocessor.list", "subprocessor", "", map[string]int{"count": len(out)})
	})
	return out, err
}

// PublicSubprocessors is the published list: the subprocessors in effect now
// and the announced changes to come.
type PublicSubprocessors struct {
	NoticeDays int                  `json:"notice_days"`
	Current    []PublicSubprocessor `json:"subprocessors"`
	Upcoming   []PublicChange       `json:"upcoming_changes"`
}

// PublicSubprocessor is one published entry.
type PublicSubprocessor struct {
	Name           string     `json:"name"`
	Purpose        string     `json:"purpose"`
	Location       string     `json:"location"`
	Certifications []string   `json:"certifications"`
	DataCategories []string   `json:"data_categories"`
	EffectiveAt    time.Time  `json:"effective_at"`
	EndsAt         *time.Time `json:"ends_at,omitempty"`
}

// PublicChange is an addition or removal that has not taken effect yet.
type PublicChange struct {
	Change      string             `json:"change"` // "add" or "remove"
	EffectiveAt time.Time          `json:"effective_at"`
	Entry       PublicSubprocessor `json:"subprocessor"`
}

func publicEntry(sp strongroom.Subprocessor) PublicSubprocessor {
	return PublicSubprocessor{Name: sp.Name, Purpose: sp.Purpose, Location: sp.Location, Certifications: sp.Certifications,
		DataCategories: sp.DataCategories, EffectiveAt: sp.EffectiveAt, EndsAt: sp.EndsAt}
}

// PublishedSubprocessors is the public list at the current time (the trust
// page reads the same). Public data: not audited.
func (s *Service) PublishedSubprocessors(ctx context.Context) (*PublicSubprocessors, error) {
	now := s.clock()
	out := &PublicSubprocessors{NoticeDays: s.trust.cfg.SubprocessorNoticeDays, Current: []PublicSubprocessor{}, Upcoming: []PublicChange{}}
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		sps, err := tx.Subprocessors(ctx)
		for _, sp := range sps {
			e := publicEntry(sp)
			ended := sp.EndsAt != nil && !sp.EndsAt.After(now)
			switch {
			case sp.EffectiveAt.After(now):
				out.Upcoming = append(out.Upcoming, PublicChange{Change: "add", EffectiveAt: sp.EffectiveAt, Entry: e})
			case !ended:
				out.Current = append(out.Current, e)
			}
			if sp.EndsAt != nil && !ended {
				out.Upcoming = append(out.Upcoming, PublicChange{Change: "remove", EffectiveAt: *sp.EndsAt, Entry: e})
			}
		}
		return err
	})
	return out, err
}

// SubscribeSubprocessors starts a subscription to subprocessor changes: a
// confirmation link is e-mailed (double opt-in). The answer is the same
// whether the address was subscribed already or not (a confirmed address is
// sent nothing). Rate limited per client address. Audited without the
// address.
func (s *Service) SubscribeSubprocessors(ctx context.Context, email string) error {
	return s.subscribe(ctx, subprocessorTopic, email)
}

// ConfirmSubscription confirms a subprocessor subscription by its e-mailed
// token. Audited.
func (s *Service) ConfirmSubscription(ctx context.Context, token string) error {
	return s.confirmSubscription(ctx, subprocessorTopic, token)
}

// Unsubscribe ends a subprocessor subscription by its token (in the
// confirmation message). Audited.
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	return s.unsubscribe(ctx, subprocessorTopic, token)
}

// NotifySubprocessorChanges e-mails every confirmed subscriber about each
// addition and removal not announced yet, marks it announced and records it in
// the platform log (with whether the notice period was kept). Run it under a
// lease; it returns the number of changes announced.
func (s *Service) NotifySubprocessorChanges(ctx context.Context) (int, error) {
	now := s.clock()
	var sps []strongroom.Subprocessor
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		sps, err = tx.Subprocessors(ctx)
		return err
	})
	if err != nil {
		return 0, err
	}
	subs, err := s.confirmedSubscribers(ctx, subprocessorTopic)
	if err != nil {
		return 0, err
	}
	sys := strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem})
	n := 0
	for _, sp := range sps {
		for _, end := range []bool{false, true} {
			at, announced, verb := sp.EffectiveAt, sp.AnnouncedAt, "will process data for us"
			if end {
				if sp.EndsAt == nil {
					continue
				}
				at, announced, verb = *sp.EndsAt, sp.EndAnnouncedAt, "will stop processing data for us"
			}
			if announced != nil {
				continue
			}
			var marked bool
			err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
				var err error
				if marked, err = tx.MarkSubprocessorAnnounced(ctx, sp.ID, end, now); err != nil || !marked {
					return err
				}
				return audit(sys, tx, "subprocessor.announce", "subprocessor", sp.ID, map[string]any{"end": end, "effective_at": at,
					"subscribers": len(subs), "notice_days_kept": !at.Before(s.noticeFloor(now))})
			})
			if err != nil {
				return n, err
			}
			if !marked {
				continue // another replica announced it
			}
			n++
			text := fmt.Sprintf("%s (%s, in %s) %s from %s.\nData categories: %s.\n", sp.Name, sp.Purpose, sp.Location, verb,
				at.Format("2 January 2006 15:04 MST"), strings.Join(sp.DataCategories, ", "))
			for _, sub := range subs {
				s.deliver(mail.Message{To: sub.Email, Kind: "subprocessor-change", Subject: "A change to our subprocessors: " + sp.Name,
					Text: text + fmt.Sprintf("\nThe current list: %s/subprocessors.json\nTo unsubscribe, use the unsubscribe link of your confirmation message.\n", s.baseURL)})
			}
		}
	}
	return n, nil
}
