package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/incident"
	"strongroom.dev/strongroom/service"
)

// Incidents and breach notification (INC-01..03): the operators' routes and
// the organizations' notices.

type incidentJSON struct {
	ID                string     `json:"id"`
	Title             string     `json:"title"`
	Kind              string     `json:"kind"`
	Breach            bool       `json:"personal_data_breach"`
	Severity          string     `json:"severity"`
	Phase             string     `json:"phase"`
	AwareAt           time.Time  `json:"aware_at"`
	NotifyBy          *time.Time `json:"notification_due,omitempty"`
	ResolvedAt        *time.Time `json:"resolved_at,omitempty"`
	ReportDue         *time.Time `json:"report_due,omitempty"`
	ReportPublishedAt *time.Time `json:"report_published_at,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

type incidentUpdateJSON struct {
	Seq    int64             `json:"seq"`
	Phase  string            `json:"phase"`
	Note   string            `json:"note"`
	Author strongroom.UserID `json:"author"`
	At     time.Time         `json:"at"`
}

type incidentOrgJSON struct {
	Org        strongroom.TenantID `json:"organization"`
	NotifiedAt *time.Time          `json:"notified_at,omitempty"`
}

func toIncident(in strongroom.Incident) incidentJSON {
	return incidentJSON{ID: in.ID, Title: in.Title, Kind: in.Kind, Breach: in.Breach, Severity: in.Severity, Phase: in.Phase,
		AwareAt: in.AwareAt, NotifyBy: in.NotifyBy, ResolvedAt: in.ResolvedAt, ReportDue: in.ReportDue,
		ReportPublishedAt: in.ReportPublishedAt, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt}
}

func writeIncident(w http.ResponseWriter, status int, d *service.IncidentDetail) {
	ups := make([]incidentUpdateJSON, 0, len(d.Updates))
	for _, u := range d.Updates {
		ups = append(ups, incidentUpdateJSON{Seq: u.Seq, Phase: u.Phase, Note: u.Note, Author: u.Author, At: u.At})
	}
	orgs := make([]incidentOrgJSON, 0, len(d.Orgs))
	for _, o := range d.Orgs {
		orgs = append(orgs, incidentOrgJSON{Org: o.Org, NotifiedAt: o.NotifiedAt})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]any{"incident": toIncident(d.Incident), "timeline": ups, "organizations": orgs})
}

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Title         string                `json:"title"`
		Kind          incident.Kind         `json:"kind"`
		Breach        bool                  `json:"personal_data_breach"`
		Severity      incident.Severity     `json:"severity"`
		AwareAt       *time.Time            `json:"aware_at"`
		Organizations []strongroom.TenantID `json:"organizations"`
		Note          string                `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.svc.CreateIncident(r.Context(), service.IncidentInput{Title: in.Title,
		Class:   incident.Classification{Kind: in.Kind, Breach: in.Breach, Severity: in.Severity},
		AwareAt: in.AwareAt, Orgs: in.Organizations, Note: in.Note})
	if err != nil {
		return err
	}
	writeIncident(w, http.StatusCreated, d)
	return nil
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) error {
	incs, err := s.svc.ListIncidents(r.Context())
	if err != nil {
		return err
	}
	out := make([]incidentJSON, 0, len(incs))
	for _, in := range incs {
		out = append(out, toIncident(in))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.GetIncident(r.Context(), r.PathValue("incident"))
	if err != nil {
		return err
	}
	writeIncident(w, http.StatusOK, d)
	return nil
}

func (s *Server) addIncidentUpdate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Phase string `json:"phase"`
		Note  string `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.svc.UpdateIncident(r.Context(), r.PathValue("incident"), service.IncidentUpdateInput{Phase: in.Phase, Note: in.Note})
	if err != nil {
		return err
	}
	writeIncident(w, http.StatusOK, d)
	return nil
}

func (s *Server) linkIncidentOrgs(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Organizations []strongroom.TenantID `json:"organizations"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.svc.LinkIncidentOrgs(r.Context(), r.PathValue("incident"), in.Organizations)
	if err != nil {
		return err
	}
	writeIncident(w, http.StatusOK, d)
	return nil
}

func (s *Server) notifyBreach(w http.ResponseWriter, r *http.Request) error {
	var in incident.Notice
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.svc.NotifyBreach(r.Context(), r.PathValue("incident"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) publishIncidentReport(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Report string `json:"report"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.PublishReport(r.Context(), r.PathValue("incident"), in.Report); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) overdueIncidents(w http.ResponseWriter, r *http.Request) error {
	out, err := s.svc.OverdueIncidents(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

type noticeJSON struct {
	ID             string             `json:"id"`
	IncidentID     string             `json:"incident_id"`
	Kind           string             `json:"kind"`
	Title          string             `json:"title"`
	Notice         *incident.Notice   `json:"notice,omitempty"`
	Report         string             `json:"report,omitempty"`
	Deadline       *time.Time         `json:"deadline,omitempty"`
	SentAt         time.Time          `json:"sent_at"`
	AcknowledgedAt *time.Time         `json:"acknowledged_at,omitempty"`
	AcknowledgedBy *strongroom.UserID `json:"acknowledged_by,omitempty"`
}

func toNotice(n strongroom.IncidentNotice) noticeJSON {
	out := noticeJSON{ID: n.ID, IncidentID: n.IncidentID, Kind: n.Kind, Title: n.Title, Deadline: n.Deadline, SentAt: n.SentAt,
		AcknowledgedAt: n.AcknowledgedAt, AcknowledgedBy: n.AcknowledgedBy}
	if n.Kind == "breach" {
		var c incident.Notice
		if json.Unmarshal([]byte(n.Contents), &c) == nil {
			out.Notice = &c
		}
	} else {
		out.Report = n.Contents
	}
	return out
}

func (s *Server) listNotices(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.svc.Notices(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	out := make([]noticeJSON, 0, len(ns))
	for _, n := range ns {
		out = append(out, toNotice(n))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) acknowledgeNotice(w http.ResponseWriter, r *http.Request) error {
	n, err := s.svc.AcknowledgeNotice(r.Context(), orgID(r), r.PathValue("notice"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toNotice(*n))
	return nil
}
