package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/status"
	"strongroom.dev/strongroom/store"
)

// Operators' side of the status page: maintenance windows and status
// updates (each audited, and e-mailed to confirmed subscribers), and the
// public e-mail subscriptions with double opt-in.

// StatusTokenPrefix starts the token of a status subscription's links.
const StatusTokenPrefix = "sts_"

// Update states an operator may post.
var updateStates = []string{"investigating", "identified", "monitoring", "resolved", "informational"}

func validComponents(path string, in []string, atLeastOne bool) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	if len(in) > len(status.Components) {
		in = in[:len(status.Components)+1] // one too many is enough to refuse below
	}
	for i, c := range in {
		if !status.ValidComponent(c) {
			return nil, validation(fmt.Sprintf("%s/%d", path, i), "must be one of %s", strings.Join(status.Components, ", "))
		}
		if seen[c] {
			return nil, validation(fmt.Sprintf("%s/%d", path, i), "is named twice")
		}
		seen[c] = true
		out = append(out, c)
	}
	if atLeastOne && len(out) == 0 {
		return nil, validation(path, "name at least one component")
	}
	return out, nil
}

// MaintenanceInput describes a maintenance window.
type MaintenanceInput struct {
	Title      string
	Body       string
	Components []string
	StartsAt   time.Time
	EndsAt     time.Time
}

// CreateMaintenance schedules a maintenance window (listed at once on the
// page and in the feed, and e-mailed to subscribers). It may not start in the
// past, must end after it starts and last at most 7 days. Audited.
func (s *Service) CreateMaintenance(ctx context.Context, in MaintenanceInput) (*strongroom.StatusMaintenance, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	m, err := validMaintenance(in)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if err := checkMaintenanceTimes(m, nil, now); err != nil {
		return nil, err
	}
	if m.ID, err = s.newID(); err != nil {
		return nil, err
	}
	m.CreatedAt = now
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreateMaintenance(ctx, m); err != nil {
			return err
		}
		return audit(ctx, tx, "status.maintenance.create", "status_maintenance", m.ID,
			map[string]any{"components": m.Components, "starts_at": m.StartsAt, "ends_at": m.EndsAt})
	})
	if err != nil {
		return nil, err
	}
	s.notifyStatusSubscribers(ctx, "Scheduled maintenance: "+m.Title, maintenanceNotice("Scheduled maintenance", m))
	return m, nil
}

// validMaintenance checks a window's title, text and components, and takes
// its times in UTC at the store's precision; checkMaintenanceTimes checks
// the times.
func validMaintenance(in MaintenanceInput) (*strongroom.StatusMaintenance, error) {
	var m strongroom.StatusMaintenance
	var err error
	if m.Title, err = validName("/title", in.Title, 200); err != nil {
		return nil, err
	}
	if m.Body, err = validText("/body", in.Body, 4000); err != nil {
		return nil, err
	}
	if m.Components, err = validComponents("/components", in.Components, true); err != nil {
		return nil, err
	}
	m.StartsAt, m.EndsAt = in.StartsAt.UTC().Truncate(time.Microsecond), in.EndsAt.UTC().Truncate(time.Microsecond)
	return &m, nil
}

// checkMaintenanceTimes checks a window's times at now: it ends after it
// starts and lasts at most 7 days; a new window (old nil) or one not started
// yet starts now or later, within a year; a window that has started keeps
// its start and may only be moved to end in the future.
func checkMaintenanceTimes(m, old *strongroom.StatusMaintenance, now time.Time) error {
	if old != nil && !now.Before(old.StartsAt) {
		switch {
		case !m.StartsAt.Equal(old.StartsAt):
			return validation("/starts_at", "the window has started: its start cannot change")
		case !m.EndsAt.After(now):
			return validation("/ends_at", "must be in the future: the window has started")
		}
	} else {
		switch {
		case m.StartsAt.Before(now.Add(-time.Minute)):
			return validation("/starts_at", "must not be in the past")
		case m.StartsAt.After(now.AddDate(1, 0, 0)):
			return validation("/starts_at", "must be within a year")
		}
	}
	switch {
	case !m.EndsAt.After(m.StartsAt):
		return validation("/ends_at", "must be after starts_at")
	case m.EndsAt.Sub(m.StartsAt) > 7*24*time.Hour:
		return validation("/ends_at", "a window lasts at most 7 days")
	}
	return nil
}

// maintenanceNotice is the text of the e-mail about a window.
func maintenanceNotice(what string, m *strongroom.StatusMaintenance) string {
	return fmt.Sprintf("%s of %s\nfrom %s\nto   %s (UTC).\n\n%s\n", what, componentLabels(m.Components),
		m.StartsAt.Format("Mon 2 Jan 2006 15:04"), m.EndsAt.Format("Mon 2 Jan 2006 15:04"), m.Body)
}

// sameComponents reports whether a and b name the same components, in any
// order (each names a component once).
func sameComponents(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(c string) bool { return !slices.Contains(b, c) })
}

// UpdateMaintenance replaces a window's title, text, components and times,
// checked as when scheduling, except that a window that has started keeps
// its start (its end may move, to the future). A cancelled or ended window
// is ECONFLICT. Audited with the times and components before and after (not
// the text). Subscribers are e-mailed only when the times or components
// changed: a corrected wording is not worth a message.
func (s *Service) UpdateMaintenance(ctx context.Context, id string, in MaintenanceInput) (*strongroom.StatusMaintenance, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "maintenance window not found")
	}
	m, err := validMaintenance(in)
	if err != nil {
		return nil, err
	}
	m.ID = id
	now := s.clock()
	var old *strongroom.StatusMaintenance
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if old, err = tx.Maintenance(ctx, id); err != nil {
			return err
		}
		switch {
		case old.CancelledAt != nil:
			return strongroom.Errorf(strongroom.ECONFLICT, "the maintenance window is cancelled")
		case !old.EndsAt.After(now):
			return strongroom.Errorf(strongroom.ECONFLICT, "the maintenance window has ended")
		}
		if err := checkMaintenanceTimes(m, old, now); err != nil {
			return err
		}
		m.CreatedAt = old.CreatedAt
		if err := tx.UpdateMaintenance(ctx, m); err != nil {
			return err
		}
		return audit(ctx, tx, "status.maintenance.update", "status_maintenance", id, map[string]any{
			"before": map[string]any{"components": old.Components, "starts_at": old.StartsAt, "ends_at": old.EndsAt},
			"after":  map[string]any{"components": m.Components, "starts_at": m.StartsAt, "ends_at": m.EndsAt}})
	})
	if err != nil {
		return nil, err
	}
	switch {
	case !m.StartsAt.Equal(old.StartsAt) || !m.EndsAt.Equal(old.EndsAt):
		s.notifyStatusSubscribers(ctx, "Maintenance rescheduled: "+m.Title, maintenanceNotice("Maintenance rescheduled", m))
	case !sameComponents(m.Components, old.Components):
		s.notifyStatusSubscribers(ctx, "Maintenance updated: "+m.Title, maintenanceNotice("Maintenance updated", m))
	}
	return m, nil
}

func componentLabels(cs []string) string {
	var ls []string
	for _, c := range cs {
		ls = append(ls, status.ComponentLabel(c))
	}
	return strings.Join(ls, ", ")
}

// CancelMaintenance cancels a window (it stops showing) and e-mails the
// confirmed subscribers, as scheduling does. Audited.
func (s *Service) CancelMaintenance(ctx context.Context, id string) error {
	if err := s.operator(ctx); err != nil {
		return err
	}
	if !ValidID(id) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "maintenance window not found")
	}
	var m *strongroom.StatusMaintenance
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if m, err = tx.Maintenance(ctx, id); err != nil {
			return err
		}
		if err := tx.CancelMaintenance(ctx, id, s.clock()); err != nil {
			return err
		}
		return audit(ctx, tx, "status.maintenance.cancel", "status_maintenance", id, nil)
	})
	if err != nil {
		return err
	}
	// Subscribers were told when it was scheduled: they are told it is off.
	s.notifyStatusSubscribers(ctx, "Maintenance cancelled: "+m.Title, maintenanceNotice("Cancelled: the maintenance", m))
	return nil
}

// Maintenance lists the windows not ended yet (cancelled ones included) for
// operators. Audited.
func (s *Service) Maintenance(ctx context.Context) ([]strongroom.StatusMaintenance, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	var out []strongroom.StatusMaintenance
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if out, err = tx.MaintenanceEndingAfter(ctx, s.clock()); err != nil {
			return err
		}
		return audit(ctx, tx, "status.maintenance.list", "status_maintenance", "", map[string]int{"count": len(out)})
	})
	return out, err
}

// StatusSubscribers counts the status subscriptions for operators:
// confirmed, and pending confirmation. Counts only, never addresses.
// Audited.
func (s *Service) StatusSubscribers(ctx context.Context) (confirmed, pending int, err error) {
	if err := s.operator(ctx); err != nil {
		return 0, 0, err
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if confirmed, pending, err = tx.SubscriptionCounts(ctx, strongroom.TopicStatus); err != nil {
			return err
		}
		return audit(ctx, tx, "status.subscribers.count", "status_subscriber", "", map[string]int{"confirmed": confirmed, "pending": pending})
	})
	return confirmed, pending, err
}

// StatusUpdateInput describes a status update.
type StatusUpdateInput struct {
	Title      string
	Body       string
	State      string
	Components []string
}

// PostStatusUpdate publishes a status update (page, feed, and e-mail to
// subscribers). Updates are status-only text written for the public: an
// incident of the incident register is never published by linking it, since
// it may hold a breach's details and affected organizations. Audited.
func (s *Service) PostStatusUpdate(ctx context.Context, in StatusUpdateInput) (*strongroom.StatusUpdate, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	var u strongroom.StatusUpdate
	var err error
	if u.Title, err = validName("/title", in.Title, 200); err != nil {
		return nil, err
	}
	if u.Body, err = validText("/body", in.Body, 4000); err != nil {
		return nil, err
	}
	ok := false
	for _, st := range updateStates {
		ok = ok || st == in.State
	}
	if !ok {
		return nil, validation("/state", "must be one of %s", strings.Join(updateStates, ", "))
	}
	u.State = in.State
	if u.Components, err = validComponents("/components", in.Components, false); err != nil {
		return nil, err
	}
	if u.ID, err = s.newID(); err != nil {
		return nil, err
	}
	u.CreatedAt = s.clock()
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreateStatusUpdate(ctx, &u); err != nil {
			return err
		}
		return audit(ctx, tx, "status.update.create", "status_update", u.ID, map[string]any{"state": u.State, "components": u.Components})
	})
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("%s — %s\n\n%s\n", u.Title, u.State, u.Body)
	if len(u.Components) > 0 {
		text += "\nAffected: " + componentLabels(u.Components) + "\n"
	}
	s.notifyStatusSubscribers(ctx, "Status: "+u.Title, text)
	return &u, nil
}

// notifyStatusSubscribers e-mails every confirmed subscriber. Each message
// carries a fresh unsubscribe token (only its hash is stored, so the token of
// the newest message is the one that works; the page also takes an address
// and e-mails a new link). Failures are logged, never returned: the update is
// published already.
func (s *Service) notifyStatusSubscribers(ctx context.Context, subject, text string) {
	subs, err := s.confirmedSubscribers(ctx, statusTopic)
	if err != nil {
		s.log.Error("listing status subscribers", "err", err)
		return
	}
	for _, sub := range subs {
		token, hash, err := authn.NewToken(s.rand, StatusTokenPrefix)
		if err == nil {
			err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
				return tx.SetSubscriptionToken(ctx, strongroom.TopicStatus, sub.ID, hash)
			})
		}
		if err != nil {
			s.log.Error("renewing a status subscriber's token", "err", err)
			continue
		}
		s.deliver(mail.Message{To: sub.Email, Kind: "status-update", Subject: subject,
			Text: text + fmt.Sprintf("\nThe status page: %s/status\nUnsubscribe: %s/status/unsubscribe?token=%s\n", s.baseURL, s.baseURL, token)})
	}
}

// SubscribeStatus starts a subscription to status updates: a confirmation
// link is e-mailed (double opt-in). A confirmed address instead gets a new
// unsubscribe link. The answer is the same either way (no enumeration).
// Rate limited per client address and per address. Audited without the
// address.
func (s *Service) SubscribeStatus(ctx context.Context, email string) error {
	return s.subscribe(ctx, statusTopic, email)
}

// ConfirmStatusSubscription confirms a subscription by its e-mailed token.
// Audited.
func (s *Service) ConfirmStatusSubscription(ctx context.Context, token string) error {
	return s.confirmSubscription(ctx, statusTopic, token)
}

// UnsubscribeStatus ends a subscription by its token. Audited.
func (s *Service) UnsubscribeStatus(ctx context.Context, token string) error {
	return s.unsubscribe(ctx, statusTopic, token)
}
