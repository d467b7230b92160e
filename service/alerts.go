package service

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/ratelimit"
	"strongroom.dev/strongroom/store"
)

// Security alerts (LOG-04; docs/audit-log.md, "Monitoring"). Package monitor
// raises them from the audit log; an organization's Admins list, read,
// acknowledge and resolve its alerts, operators those of the platform. Every
// list and read is audited as "alert.list" and "alert.read", every change as
// "alert.acknowledge" or "alert.resolve", in the same transaction.

// The page sizes of an alert list.
const (
	DefaultAlertPageSize = 50
	MaxAlertPageSize     = 500
)

// NewDeviceAlertWindow is how long an open new-device alert of a user gathers
// further new-device sign-ins rather than a new alert opening.
const NewDeviceAlertWindow = 24 * time.Hour

// AlertQueryInput is an alert list query as the caller wrote it; each field is
// a query parameter's text, empty when not given.
type AlertQueryInput struct {
	Status string // open, acknowledged or resolved
	Kind   string // brute_force, credential_stuffing, mass_read, new_device, incident_overdue
	Limit  string // 1 to MaxAlertPageSize; default DefaultAlertPageSize
	Cursor string // the NextCursor of the previous page
}

// AlertPage is one page of alerts, newest first.
type AlertPage struct {
	Items      []strongroom.Alert
	NextCursor string
}

// AlertDetail is an alert with its evidence events, read from the audit log.
type AlertDetail struct {
	Alert  strongroom.Alert
	Events []strongroom.AuditEvent
}

// Alerts lists an organization's alerts (Admins).
func (s *Service) Alerts(ctx context.Context, org strongroom.TenantID, in AlertQueryInput) (*AlertPage, error) {
	if err := s.Authorize(ctx, access.AlertsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	return s.listAlerts(ctx, org, in)
}

// PlatformAlerts lists the platform's alerts (operators).
func (s *Service) PlatformAlerts(ctx context.Context, in AlertQueryInput) (*AlertPage, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	return s.listAlerts(ctx, strongroom.PlatformTenant, in)
}

// Alert returns one of an organization's alerts with its evidence (Admins).
func (s *Service) Alert(ctx context.Context, org strongroom.TenantID, id string) (*AlertDetail, error) {
	if err := s.Authorize(ctx, access.AlertsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	return s.readAlert(ctx, org, id)
}

// PlatformAlert returns one of the platform's alerts with its evidence
// (operators).
func (s *Service) PlatformAlert(ctx context.Context, id string) (*AlertDetail, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	return s.readAlert(ctx, strongroom.PlatformTenant, id)
}

// SetAlertStatus acknowledges or resolves one of an organization's alerts
// (Admins).
func (s *Service) SetAlertStatus(ctx context.Context, org strongroom.TenantID, id string, status strongroom.AlertStatus) (*strongroom.Alert, error) {
	if err := s.Authorize(ctx, access.AlertsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	return s.setAlertStatus(ctx, org, id, status)
}

// SetPlatformAlertStatus acknowledges or resolves one of the platform's
// alerts (operators).
func (s *Service) SetPlatformAlertStatus(ctx context.Context, id string, status strongroom.AlertStatus) (*strongroom.Alert, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	return s.setAlertStatus(ctx, strongroom.PlatformTenant, id, status)
}

func parseAlertQuery(in AlertQueryInput) (store.AlertQuery, map[string]string, error) {
	q := store.AlertQuery{Limit: DefaultAlertPageSize}
	given := map[string]string{}
	if in.Status != "" {
		st := strongroom.AlertStatus(in.Status)
		if !slices.Contains([]strongroom.AlertStatus{strongroom.AlertOpen, strongroom.AlertAcknowledged, strongroom.AlertResolved}, st) {
			return q, nil, paramError("status", "must be open, acknowledged or resolved")
		}
		q.Status, given["status"] = st, in.Status
	}
	if in.Kind != "" {
		k := strongroom.AlertKind(in.Kind)
		if !slices.Contains(strongroom.AlertKinds(), k) {
			return q, nil, paramError("kind", "must be brute_force, credential_stuffing, mass_read, new_device or incident_overdue")
		}
		q.Kind, given["kind"] = k, in.Kind
	}
	if in.Limit != "" {
		n, err := strconv.Atoi(in.Limit)
		if err != nil || n < 1 || n > MaxAlertPageSize || strings.TrimLeft(in.Limit, "0123456789") != "" {
			return q, nil, paramError("limit", "must be a whole number from 1 to %d", MaxAlertPageSize)
		}
		q.Limit, given["limit"] = n, in.Limit
	}
	if in.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.Cursor)
		if err != nil || !ValidID(string(b)) {
			return q, nil, paramError("cursor", "is not a cursor this API returned")
		}
		q.Before, given["cursor"] = string(b), in.Cursor
	}
	return q, given, nil
}

func (s *Service) listAlerts(ctx context.Context, t strongroom.TenantID, in AlertQueryInput) (*AlertPage, error) {
	q, given, err := parseAlertQuery(in)
	if err != nil {
		return nil, err
	}
	want := q.Limit
	q.Limit++ // one more tells whether another page follows
	page := &AlertPage{}
	err = s.store.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		items, err := tx.Alerts(ctx, q)
		if err != nil {
			return err
		}
		page.Items, page.NextCursor = items, ""
		if len(items) > want {
			page.Items = items[:want]
			page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(items[want-1].ID))
		}
		return audit(ctx, tx, "alert.list", "alerts", string(t), map[string]any{"query": given, "returned": len(page.Items)})
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

func (s *Service) readAlert(ctx context.Context, t strongroom.TenantID, id string) (*AlertDetail, error) {
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "alert not found")
	}
	var d AlertDetail
	err := s.store.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		a, err := tx.Alert(ctx, id)
		if err != nil {
			return err
		}
		events, err := tx.AuditEventsBySeq(ctx, a.Evidence)
		if err != nil {
			return err
		}
		d = AlertDetail{Alert: *a, Events: events}
		return audit(ctx, tx, "alert.read", "alert", id, map[string]any{"kind": a.Kind, "evidence": len(events)})
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func (s *Service) setAlertStatus(ctx context.Context, t strongroom.TenantID, id string, status strongroom.AlertStatus) (*strongroom.Alert, error) {
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "alert not found")
	}
	p := strongroom.PrincipalFrom(ctx)
	action := map[strongroom.AlertStatus]string{strongroom.AlertAcknowledged: "alert.acknowledge", strongroom.AlertResolved: "alert.resolve"}[status]
	if action == "" {
		return nil, fmt.Errorf("service: an alert cannot be set to %q", status)
	}
	var out *strongroom.Alert
	err := s.store.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		a, err := tx.SetAlertStatus(ctx, id, status, p.UserID, s.clock())
		if err != nil {
			return err
		}
		out = a
		return audit(ctx, tx, action, "alert", id, map[string]any{"kind": a.Kind})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NotifyAlert e-mails a new alert of medium or high severity to the
// organization's Admins, or to the operators for an alert of the platform. A
// low one (a new device, of which the user is told) is only listed. The
// message names the alert's kind, severity, subject and summary, and where to
// read it; never a secret or an event's content.
func (s *Service) NotifyAlert(ctx context.Context, a *strongroom.Alert) {
	if a.Severity == strongroom.SeverityLow {
		return
	}
	var to []string
	var link string
	err := s.store.Read(ctx, store.TenantScope(a.TenantID), func(tx *store.Tx) error {
		if a.TenantID == strongroom.PlatformTenant {
			var err error
			to, err = tx.OperatorEmails(ctx)
			return err
		}
		members, err := tx.Members(ctx)
		if err != nil {
			return err
		}
		for _, m := range members {
			if m.Role == strongroom.RoleAdmin {
				to = append(to, m.Email)
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("finding whom to tell of an alert", "err", err, "alert", a.ID)
		return
	}
	if a.TenantID == strongroom.PlatformTenant {
		link = fmt.Sprintf("%s/api/v1/operator/alerts/%s", s.baseURL, a.ID)
	} else {
		link = fmt.Sprintf("%s/api/v1/orgs/%s/alerts/%s", s.baseURL, a.TenantID, a.ID)
	}
	kind := strings.ReplaceAll(string(a.Kind), "_", " ")
	for _, addr := range to {
		s.deliver(mail.Message{To: addr, Kind: "alert", Subject: fmt.Sprintf("Strongroom security alert: %s (%s)", kind, a.Severity),
			Text: fmt.Sprintf("Strongroom's monitor raised a %s-severity alert:\n\n  %s\n  about: %s\n  first seen: %s\n\n"+
				"Its evidence (the audit events that raised it) and its status are at\n  %s\n\n"+
				"Acknowledge it while you look into it, and resolve it when it is handled.\n",
				a.Severity, a.Summary, a.Subject, a.FirstSeen.Format(time.RFC1123), link)})
	}
}

// recordNewDevice records a sign-in from a new device or network as a
// low-severity alert of the platform, with the sign-in's audit event as
// evidence. A failure is logged: the sign-in has succeeded already.
func (s *Service) recordNewDevice(ctx context.Context, user *strongroom.User, sess *strongroom.Session, seq int64, what string) {
	id, err := s.newID()
	var fresh bool
	if err == nil {
		network := ratelimit.Network(sess.IP)
		err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
			var err error
			_, fresh, err = tx.RecordAlert(ctx, id, store.AlertHit{Kind: strongroom.AlertNewDevice, Severity: strongroom.SeverityLow,
				Subject: string(user.ID), Summary: fmt.Sprintf("sign-in from a new device or network: %s from %s", what, network),
				Seqs: []int64{seq}, First: sess.CreatedAt, Last: sess.CreatedAt, Window: NewDeviceAlertWindow})
			return err
		})
	}
	if err == nil && fresh {
		s.obs.Alert(string(strongroom.AlertNewDevice))
	}
	if err != nil {
		s.log.Error("recording a new-device alert", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
	}
}
