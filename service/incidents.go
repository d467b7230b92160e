package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/incident"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/store"
)

// Incident response and breach notification (INC-01..03). Operators create
// and classify incidents, link the affected organizations and move them
// through the phases with a timeline. For a personal-data breach, the notice
// (every required element present, or refused) goes to each affected
// organization's console and its Admins by e-mail, recorded in that
// organization's audit log and the platform's; Admins acknowledge it. The
// post-incident report falls due 7 days after the incident enters Review and
// is published to the affected organizations the same way. Overdue notices
// and reports are listed for operators (and for the alerting that reads the
// same query).

// MaxIncidentNote bounds a timeline note, in characters.
const MaxIncidentNote = 4000

// IncidentInput creates an incident.
type IncidentInput struct {
	Title   string
	Class   incident.Classification
	AwareAt *time.Time // when the team became aware; nil: now
	Orgs    []strongroom.TenantID
	Note    string
}

// IncidentDetail is an incident with its timeline and affected
// organizations.
type IncidentDetail struct {
	strongroom.Incident
	Updates []strongroom.IncidentUpdate
	Orgs    []strongroom.IncidentOrg
}

func (s *Service) operator(ctx context.Context) error {
	return s.Authorize(ctx, access.Operator, access.Resource{})
}

// checkOrgs verifies that every organization exists (ENOTFOUND naming the
// field otherwise) and removes repeats.
func (s *Service) checkOrgs(ctx context.Context, path string, orgs []strongroom.TenantID) ([]strongroom.TenantID, error) {
	seen := map[strongroom.TenantID]bool{}
	var out []strongroom.TenantID
	if len(orgs) > 1000 {
		return nil, validation(path, "at most 1000 organizations")
	}
	for i, o := range orgs {
		if seen[o] {
			continue
		}
		seen[o] = true
		if !ValidID(string(o)) {
			return nil, validation(fmt.Sprintf("%s/%d", path, i), "no such organization")
		}
		err := s.store.Read(ctx, store.TenantScope(o), func(tx *store.Tx) error {
			_, err := tx.Organization(ctx)
			return err
		})
		if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			return nil, validation(fmt.Sprintf("%s/%d", path, i), "no such organization")
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// CreateIncident opens an incident in phase Identify. For a personal-data
// breach the notification deadline is computed now from AwareAt and the
// configured window. Audited in the platform log.
func (s *Service) CreateIncident(ctx context.Context, in IncidentInput) (*IncidentDetail, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	title, err := validName("/title", in.Title, 200)
	if err != nil {
		return nil, err
	}
	if err := in.Class.Validate(); err != nil {
		return nil, err
	}
	note := strings.TrimSpace(in.Note)
	if note != "" {
		if note, err = validText("/note", note, MaxIncidentNote); err != nil {
			return nil, err
		}
	}
	now := s.clock()
	aware := now
	if in.AwareAt != nil {
		aware = in.AwareAt.UTC().Truncate(time.Microsecond)
		if aware.After(now) || now.Sub(aware) > 366*24*time.Hour {
			return nil, validation("/aware_at", "must be in the past year, not in the future")
		}
	}
	orgs, err := s.checkOrgs(ctx, "/organizations", in.Orgs)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	p := strongroom.PrincipalFrom(ctx)
	inc := strongroom.Incident{ID: id, Title: title, Kind: string(in.Class.Kind), Breach: in.Class.Breach, Severity: string(in.Class.Severity),
		Phase: string(incident.Identify), AwareAt: aware, CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now}
	if inc.Breach {
		d, err := incident.NotificationDeadline(aware, s.trust.cfg.BreachWindow)
		if err != nil {
			return nil, err
		}
		inc.NotifyBy = &d
	}
	if note == "" {
		note = "Incident opened."
	}
	d := IncidentDetail{Incident: inc}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		u := strongroom.IncidentUpdate{Phase: inc.Phase, Note: note, Author: p.UserID, At: now}
		if err := tx.AddIncidentUpdate(ctx, id, &u); err != nil {
			return err
		}
		d.Updates = []strongroom.IncidentUpdate{u}
		for _, o := range orgs {
			if err := tx.AddIncidentOrg(ctx, id, o); err != nil {
				return err
			}
			d.Orgs = append(d.Orgs, strongroom.IncidentOrg{Org: o})
		}
		return audit(ctx, tx, "incident.create", "incident", id, map[string]any{"kind": inc.Kind, "breach": inc.Breach,
			"severity": inc.Severity, "aware_at": aware, "notify_by": inc.NotifyBy, "organizations": len(orgs)})
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func (s *Service) loadIncident(ctx context.Context, tx *store.Tx, id string) (*IncidentDetail, error) {
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "incident not found")
	}
	inc, err := tx.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	d := IncidentDetail{Incident: *inc}
	if d.Updates, err = tx.IncidentUpdates(ctx, id); err != nil {
		return nil, err
	}
	if d.Orgs, err = tx.IncidentOrgs(ctx, id); err != nil {
		return nil, err
	}
	return &d, nil
}

// GetIncident returns an incident with its timeline. Audited.
func (s *Service) GetIncident(ctx context.Context, id string) (*IncidentDetail, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	var d *IncidentDetail
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if d, err = s.loadIncident(ctx, tx, id); err != nil {
			return err
		}
		return audit(ctx, tx, "incident.read", "incident", id, nil)
	})
	return d, err
}

// ListIncidents lists every incident, newest first. Audited.
func (s *Service) ListIncidents(ctx context.Context) ([]strongroom.Incident, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	var out []strongroom.Incident
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if out, err = tx.Incidents(ctx, time.Time{}); err != nil {
			return err
		}
		return audit(ctx, tx, "incident.list", "incident", "", map[string]int{"count": len(out)})
	})
	return out, err
}

// IncidentUpdateInput is a timeline entry: a note, and optionally the next
// phase.
type IncidentUpdateInput struct {
	Phase string // "": stay in the current phase
	Note  string
}

// UpdateIncident adds a timeline entry and, with Phase, moves the incident to
// the next phase (one step forward only). Entering Review resolves the
// incident: the post-incident report falls due 7 days later. Audited.
func (s *Service) UpdateIncident(ctx context.Context, id string, in IncidentUpdateInput) (*IncidentDetail, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	note, err := validText("/note", in.Note, MaxIncidentNote)
	if err != nil {
		return nil, err
	}
	p := strongroom.PrincipalFrom(ctx)
	var d *IncidentDetail
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if d, err = s.loadIncident(ctx, tx, id); err != nil {
			return err
		}
		now := s.clock()
		from := d.Phase
		if in.Phase != "" {
			if err := incident.CheckTransition(incident.Phase(from), incident.Phase(in.Phase)); err != nil {
				return err
			}
			d.Phase, d.UpdatedAt = in.Phase, now
			if incident.Phase(in.Phase) == incident.Review {
				due := incident.ReportDue(now)
				d.ResolvedAt, d.ReportDue = &now, &due
			}
			if err := tx.UpdateIncident(ctx, &d.Incident, from); err != nil {
				return err
			}
		}
		u := strongroom.IncidentUpdate{Phase: d.Phase, Note: note, Author: p.UserID, At: now}
		if err := tx.AddIncidentUpdate(ctx, id, &u); err != nil {
			return err
		}
		d.Updates = append(d.Updates, u)
		action := "incident.note"
		if in.Phase != "" {
			action = "incident.phase"
		}
		return audit(ctx, tx, action, "incident", id, map[string]any{"from": from, "to": d.Phase, "report_due": d.ReportDue})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// LinkIncidentOrgs adds affected organizations to an incident. Audited.
func (s *Service) LinkIncidentOrgs(ctx context.Context, id string, orgs []strongroom.TenantID) (*IncidentDetail, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	if len(orgs) == 0 {
		return nil, validation("/organizations", "name at least one organization")
	}
	orgs, err := s.checkOrgs(ctx, "/organizations", orgs)
	if err != nil {
		return nil, err
	}
	var d *IncidentDetail
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if _, err := s.loadIncident(ctx, tx, id); err != nil {
			return err
		}
		for _, o := range orgs {
			if err := tx.AddIncidentOrg(ctx, id, o); err != nil {
				return err
			}
		}
		var err error
		if d, err = s.loadIncident(ctx, tx, id); err != nil {
			return err
		}
		return audit(ctx, tx, "incident.link", "incident", id, map[string]any{"organizations": orgs})
	})
	return d, err
}

// NotifyResult says which organizations a notice went to.
type NotifyResult struct {
	Notified []strongroom.TenantID `json:"notified"`
	Already  []strongroom.TenantID `json:"already_notified"`
}

// NotifyBreach sends the breach notice to every affected organization not
// notified yet: a notice in its console, e-mail to its Admins, an event in
// its audit log and one in the platform's. A notice missing any required
// element is refused and nothing is sent.
func (s *Service) NotifyBreach(ctx context.Context, id string, n incident.Notice) (*NotifyResult, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	var d *IncidentDetail
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		d, err = s.loadIncident(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !d.Breach {
		return nil, strongroom.Errorf(strongroom.ECONFLICT, "the incident is not a personal-data breach")
	}
	if len(d.Orgs) == 0 {
		return nil, strongroom.Errorf(strongroom.ECONFLICT, "link the affected organizations first")
	}
	contents, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encoding notice: %w", err)
	}
	res := &NotifyResult{Notified: []strongroom.TenantID{}, Already: []strongroom.TenantID{}}
	for _, o := range d.Orgs {
		if o.NotifiedAt != nil {
			res.Already = append(res.Already, o.Org)
			continue
		}
		if err := s.sendNotice(ctx, d, o.Org, "breach", "Personal-data breach: "+d.Title, string(contents), d.NotifyBy, noticeText(n)); err != nil {
			return res, err
		}
		res.Notified = append(res.Notified, o.Org)
	}
	return res, nil
}

func noticeText(n incident.Notice) string {
	return fmt.Sprintf("Nature of the breach:\n%s\n\nData affected:\n%s\n\nLikely impact:\n%s\n\nMitigation taken or planned:\n%s\n\nPoint of contact:\n%s\n",
		n.Nature, n.DataAffected, n.LikelyImpact, n.Mitigation, n.Contact)
}

// sendNotice writes one notice into org (with its audit event), marks the
// organization notified on the platform side for breach notices (with the
// platform's event), and e-mails the organization's Admins.
func (s *Service) sendNotice(ctx context.Context, d *IncidentDetail, org strongroom.TenantID, kind, title, contents string, deadline *time.Time, text string) error {
	nid, err := s.newID()
	if err != nil {
		return err
	}
	now := s.clock()
	notice := strongroom.IncidentNotice{ID: nid, IncidentID: d.ID, Kind: kind, Title: title, Contents: contents, Deadline: deadline, SentAt: now}
	var admins []string
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.CreateNotice(ctx, &notice); err != nil {
			return err
		}
		ms, err := tx.Members(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Role == strongroom.RoleAdmin {
				admins = append(admins, m.Email)
			}
		}
		return audit(ctx, tx, "incident.notice."+kind, "notice", nid, map[string]any{"incident": d.ID, "deadline": deadline, "admins": len(admins)})
	})
	if err != nil {
		return fmt.Errorf("notifying %s: %w", org, err)
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if kind == "breach" {
			if err := tx.MarkIncidentOrgNotified(ctx, d.ID, org, now); err != nil {
				return err
			}
		}
		return audit(ctx, tx, "incident.notify."+kind, "incident", d.ID, map[string]any{"organization": org, "notice": nid,
			"on_time": deadline == nil || !incident.Overdue(*deadline, now, now)})
	})
	if err != nil {
		return err
	}
	for _, a := range admins {
		s.deliver(mail.Message{To: a, Kind: "incident-" + kind, Subject: title,
			Text: text + fmt.Sprintf("\nAcknowledge this notice in the console: %s (notice %s).\n", s.baseURL, nid)})
	}
	return nil
}

// PublishReport publishes the post-incident report to every affected
// organization (a notice of kind "report" and e-mail to its Admins). The
// incident must be in Review. Audited in both logs.
func (s *Service) PublishReport(ctx context.Context, id, report string) error {
	if err := s.operator(ctx); err != nil {
		return err
	}
	report, err := validText("/report", report, 50000)
	if err != nil {
		return err
	}
	var d *IncidentDetail
	if err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		d, err = s.loadIncident(ctx, tx, id)
		return err
	}); err != nil {
		return err
	}
	if incident.Phase(d.Phase) != incident.Review {
		return strongroom.Errorf(strongroom.ECONFLICT, "the post-incident report is published in the review phase")
	}
	if d.ReportPublishedAt != nil {
		return strongroom.Errorf(strongroom.ECONFLICT, "the post-incident report is published already")
	}
	for _, o := range d.Orgs {
		if err := s.sendNotice(ctx, d, o.Org, "report", "Post-incident report: "+d.Title, report, d.ReportDue, report+"\n"); err != nil {
			return err
		}
	}
	now := s.clock()
	return s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		inc, err := tx.Incident(ctx, id)
		if err != nil {
			return err
		}
		inc.ReportPublishedAt, inc.UpdatedAt = &now, now
		if err := tx.UpdateIncident(ctx, inc, inc.Phase); err != nil {
			return err
		}
		return audit(ctx, tx, "incident.report.publish", "incident", id, map[string]any{"organizations": len(d.Orgs),
			"on_time": d.ReportDue == nil || !incident.Overdue(*d.ReportDue, now, now)})
	})
}

// Overdue is one overdue obligation: a breach notice not sent to an
// organization by the deadline, or a post-incident report not published by
// its due date.
type Overdue struct {
	IncidentID string                `json:"incident_id"`
	Title      string                `json:"title"`
	Kind       string                `json:"kind"` // breach_notification or post_incident_report
	Due        time.Time             `json:"due"`
	Orgs       []strongroom.TenantID `json:"organizations,omitempty"`
}

// OverdueIncidents lists the overdue notices and reports now (INC-02,
// INC-03). The alerting job and GET /api/v1/operator/incidents/overdue read
// it. Audited.
func (s *Service) OverdueIncidents(ctx context.Context) ([]Overdue, error) {
	if err := s.operator(ctx); err != nil {
		return nil, err
	}
	out := []Overdue{}
	now := s.clock()
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		incs, err := tx.Incidents(ctx, time.Time{})
		if err != nil {
			return err
		}
		for _, in := range incs {
			if in.Breach && in.NotifyBy != nil && now.After(*in.NotifyBy) {
				orgs, err := tx.IncidentOrgs(ctx, in.ID)
				if err != nil {
					return err
				}
				o := Overdue{IncidentID: in.ID, Title: in.Title, Kind: "breach_notification", Due: *in.NotifyBy}
				for _, org := range orgs {
					if org.NotifiedAt == nil {
						o.Orgs = append(o.Orgs, org.Org)
					}
				}
				if len(o.Orgs) > 0 {
					out = append(out, o)
				}
			}
			if in.ReportDue != nil && in.ReportPublishedAt == nil && now.After(*in.ReportDue) {
				out = append(out, Overdue{IncidentID: in.ID, Title: in.Title, Kind: "post_incident_report", Due: *in.ReportDue})
			}
		}
		return audit(ctx, tx, "incident.overdue.list", "incident", "", map[string]int{"count": len(out)})
	})
	return out, err
}

// Notices lists an organization's breach notices and post-incident reports
// (Admins only; another organization's answers 404). Audited.
func (s *Service) Notices(ctx context.Context, org strongroom.TenantID) ([]strongroom.IncidentNotice, error) {
	if err := s.Authorize(ctx, access.NoticesRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	var out []strongroom.IncidentNotice
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if out, err = tx.Notices(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, "notice.list", "notice", "", map[string]int{"count": len(out)})
	})
	return out, err
}

// AcknowledgeNotice records an Admin's acknowledgement of a notice, once.
// Audited in the organization's log and the platform's (INC-02: the
// acknowledgements are tracked).
func (s *Service) AcknowledgeNotice(ctx context.Context, org strongroom.TenantID, id string) (*strongroom.IncidentNotice, error) {
	if err := s.Authorize(ctx, access.NoticesAck, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "notice not found")
	}
	p := strongroom.PrincipalFrom(ctx)
	var n *strongroom.IncidentNotice
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if _, err := tx.Notice(ctx, id); err != nil {
			return err
		}
		if err := tx.AcknowledgeNotice(ctx, id, p.UserID, s.clock()); err != nil {
			return err
		}
		var err error
		if n, err = tx.Notice(ctx, id); err != nil {
			return err
		}
		return audit(ctx, tx, "notice.acknowledge", "notice", id, map[string]string{"incident": n.IncidentID})
	})
	if err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		return audit(ctx, tx, "incident.notice.acknowledged", "incident", n.IncidentID, map[string]any{"organization": org, "notice": id})
	})
	return n, err
}
