package service

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// Overdue incident obligations raise operator alerts (INC-02, INC-03;
// docs/trust.md, "Overdue obligations raise alerts"). The trust jobs, under
// their lease, look at the stored deadlines and raise one alert of kind
// incident_overdue per incident and obligation: stored with the platform's
// alerts, its evidence the "incident.overdue" audit event written in the same
// transaction, and e-mailed to the operators (NotifyAlert).

// NoticeAcknowledgementWindow is how long an affected organization has to
// acknowledge a breach notice before operators are alerted that it has not:
// the longest notification window, so that a customer who must in turn notify
// its own authority or data subjects is chased in time to do so.
const NoticeAcknowledgementWindow = 72 * time.Hour

// The obligations whose lapse raises an incident_overdue alert.
const (
	ObligationBreachNotification    = "breach_notification"
	ObligationNoticeAcknowledgement = "notice_acknowledgement"
	ObligationPostIncidentReport    = "post_incident_report"
	incidentOverdueAction           = "incident.overdue"
	incidentOverdueSubjectPrefix    = "incident:"
	incidentOverdueBreachSeverity   = strongroom.SeverityHigh
	incidentOverdueFollowUpSeverity = strongroom.SeverityMedium
)

// overdueObligation is one lapsed obligation of one incident.
type overdueObligation struct {
	inc        strongroom.Incident
	obligation string
	due        time.Time // the earliest lapsed deadline
	orgs       int       // organizations concerned (notices and acknowledgements)
}

// IncidentOverdueSubject is the subject of the alert about one obligation of
// one incident: "incident:ID:obligation".
func IncidentOverdueSubject(incidentID, obligation string) string {
	return incidentOverdueSubjectPrefix + incidentID + ":" + obligation
}

// AlertOverdueIncidents raises an incident_overdue alert for every lapsed
// obligation that has none yet: breach notices not sent to every affected
// organization by the notification deadline, breach notices left
// unacknowledged NoticeAcknowledgementWindow after they were sent, and
// post-incident reports not published by their due date. An obligation is
// alerted once: while its alert is open, acknowledged or after it is resolved,
// no second alert is raised (the overdue listing keeps showing the
// obligation until it is met). It returns the number of alerts raised. The
// trust jobs call it while holding their lease.
func (s *Service) AlertOverdueIncidents(ctx context.Context) (int, error) {
	now := s.clock()
	found, err := s.overdueObligations(ctx, now)
	if err != nil {
		return 0, err
	}
	sys := strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem, RequestID: "incident-alerts"})
	raised := 0
	for _, o := range found {
		a, err := s.raiseIncidentOverdue(sys, o, now)
		if err != nil {
			return raised, err
		}
		if a != nil {
			raised++
			s.obs.Alert(string(strongroom.AlertIncidentOverdue))
			s.NotifyAlert(ctx, a)
		}
	}
	return raised, nil
}

// overdueObligations finds the lapsed obligations at now, oldest deadline
// first.
func (s *Service) overdueObligations(ctx context.Context, now time.Time) ([]overdueObligation, error) {
	var out []overdueObligation
	// ackDue: per breach incident, the organizations notified long enough ago
	// that their acknowledgement is due.
	ackDue := map[string][]strongroom.IncidentOrg{}
	var breaches []strongroom.Incident
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		incs, err := tx.Incidents(ctx, time.Time{})
		if err != nil {
			return err
		}
		for _, in := range incs {
			if in.ReportDue != nil && in.ReportPublishedAt == nil && now.After(*in.ReportDue) {
				out = append(out, overdueObligation{inc: in, obligation: ObligationPostIncidentReport, due: *in.ReportDue})
			}
			if !in.Breach {
				continue
			}
			orgs, err := tx.IncidentOrgs(ctx, in.ID)
			if err != nil {
				return err
			}
			unsent := 0
			for _, o := range orgs {
				switch {
				case o.NotifiedAt == nil:
					unsent++
				case now.After(o.NotifiedAt.Add(NoticeAcknowledgementWindow)):
					ackDue[in.ID] = append(ackDue[in.ID], o)
				}
			}
			if in.NotifyBy != nil && now.After(*in.NotifyBy) && unsent > 0 {
				out = append(out, overdueObligation{inc: in, obligation: ObligationBreachNotification, due: *in.NotifyBy, orgs: unsent})
			}
			if len(ackDue[in.ID]) > 0 {
				breaches = append(breaches, in)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding overdue incident obligations: %w", err)
	}
	// Acknowledgements are the organizations' rows: each is read in a
	// transaction bound to its organization.
	for _, in := range breaches {
		o := overdueObligation{inc: in, obligation: ObligationNoticeAcknowledgement}
		for _, org := range ackDue[in.ID] {
			var pending bool
			err := s.store.Read(ctx, store.TenantScope(org.Org), func(tx *store.Tx) error {
				ns, err := tx.Notices(ctx)
				if err != nil {
					return err
				}
				for _, n := range ns {
					if n.IncidentID == in.ID && n.Kind == "breach" && n.AcknowledgedAt == nil {
						pending = true
					}
				}
				return nil
			})
			if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
				continue // the organization is gone (terminated and purged)
			}
			if err != nil {
				return nil, fmt.Errorf("reading breach notices of %s: %w", org.Org, err)
			}
			if pending {
				due := org.NotifiedAt.Add(NoticeAcknowledgementWindow)
				if o.orgs == 0 || due.Before(o.due) {
					o.due = due
				}
				o.orgs++
			}
		}
		if o.orgs > 0 {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].due.Before(out[j].due) })
	return out, nil
}

// raiseIncidentOverdue records the alert about o unless the obligation has
// one already; it returns the new alert, or nil. The check, the audit event
// and the alert are one platform transaction.
func (s *Service) raiseIncidentOverdue(ctx context.Context, o overdueObligation, now time.Time) (*strongroom.Alert, error) {
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	subject := IncidentOverdueSubject(o.inc.ID, o.obligation)
	severity, summary := incidentOverdueBreachSeverity, ""
	switch o.obligation {
	case ObligationBreachNotification:
		summary = fmt.Sprintf("breach notices of incident %q not sent to %d organization(s) by the deadline %s",
			o.inc.Title, o.orgs, o.due.Format(time.RFC3339))
	case ObligationNoticeAcknowledgement:
		severity = incidentOverdueFollowUpSeverity
		summary = fmt.Sprintf("breach notices of incident %q unacknowledged by %d organization(s) %s after they were sent",
			o.inc.Title, o.orgs, NoticeAcknowledgementWindow)
	case ObligationPostIncidentReport:
		severity = incidentOverdueFollowUpSeverity
		summary = fmt.Sprintf("post-incident report of incident %q not published by %s", o.inc.Title, o.due.Format(time.RFC3339))
	default:
		return nil, fmt.Errorf("service: unknown incident obligation %q", o.obligation)
	}
	var out *strongroom.Alert
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		out = nil
		_, err := tx.LatestAlert(ctx, strongroom.AlertIncidentOverdue, subject)
		switch {
		case err == nil:
			return nil // alerted already
		case strongroom.ErrorCode(err) != strongroom.ENOTFOUND:
			return err
		}
		e := strongroom.NewAuditEvent(strongroom.PrincipalFrom(ctx), tx.Tenant(), incidentOverdueAction, "incident", o.inc.ID, strongroom.ResultSuccess)
		e.Time = now
		meta := map[string]any{"obligation": o.obligation, "due": o.due, "alert": id}
		if o.obligation != ObligationPostIncidentReport {
			meta["organizations"] = o.orgs
		}
		if e.Metadata, err = json.Marshal(meta); err != nil {
			return fmt.Errorf("encoding audit metadata: %w", err)
		}
		if err := tx.AppendAudit(ctx, &e); err != nil {
			return err
		}
		a, isNew, err := tx.RecordAlert(ctx, id, store.AlertHit{Kind: strongroom.AlertIncidentOverdue, Severity: severity,
			Subject: subject, Summary: summary, Seqs: []int64{e.Seq}, First: now, Last: now})
		if err != nil {
			return err
		}
		if isNew {
			out = a
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("raising the %s alert of incident %s: %w", o.obligation, o.inc.ID, err)
	}
	return out, nil
}
