package httpapi

import (
	"net/http"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/service"
)

// Security alerts (docs/audit-log.md, "Monitoring"): an organization's under
// /orgs/{org}/alerts (Admins), the platform's under /operator/alerts.

var alertQueryParams = []string{"status", "kind", "limit", "cursor"}

type alertJSON struct {
	ID        string                   `json:"id"`
	Kind      strongroom.AlertKind     `json:"kind"`
	Severity  strongroom.AlertSeverity `json:"severity"`
	Subject   string                   `json:"subject"`
	Summary   string                   `json:"summary"`
	FirstSeen time.Time                `json:"first_seen"`
	LastSeen  time.Time                `json:"last_seen"`
	Count     int64                    `json:"count"`
	Evidence  []int64                  `json:"evidence_seqs"`
	Status    strongroom.AlertStatus   `json:"status"`
	StatusBy  *string                  `json:"status_by"`
	StatusAt  *time.Time               `json:"status_at"`
}

func newAlertJSON(a *strongroom.Alert) alertJSON {
	j := alertJSON{ID: a.ID, Kind: a.Kind, Severity: a.Severity, Subject: a.Subject, Summary: a.Summary,
		FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Count: a.Count, Evidence: a.Evidence, Status: a.Status, StatusAt: a.StatusAt}
	if j.Evidence == nil {
		j.Evidence = []int64{}
	}
	if a.StatusBy != "" {
		by := a.StatusBy
		j.StatusBy = &by
	}
	return j
}

func alertQueryInput(r *http.Request) (service.AlertQueryInput, error) {
	q, err := queryParams(r, alertQueryParams...)
	if err != nil {
		return service.AlertQueryInput{}, err
	}
	return service.AlertQueryInput{Status: q.Get("status"), Kind: q.Get("kind"), Limit: q.Get("limit"), Cursor: q.Get("cursor")}, nil
}

func writeAlertPage(w http.ResponseWriter, page *service.AlertPage) {
	items := make([]alertJSON, 0, len(page.Items))
	for i := range page.Items {
		items = append(items, newAlertJSON(&page.Items[i]))
	}
	var next *string
	if page.NextCursor != "" {
		next = &page.NextCursor
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

func writeAlertDetail(w http.ResponseWriter, d *service.AlertDetail) {
	events := make([]audit.EventJSON, 0, len(d.Events))
	for i := range d.Events {
		events = append(events, audit.NewEventJSON(&d.Events[i], nil))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		alertJSON
		Events []audit.EventJSON `json:"evidence"`
	}{newAlertJSON(&d.Alert), events})
}

// emptyBody refuses a body other than nothing or an empty JSON object: the
// alert actions take no input.
func emptyBody(r *http.Request) error {
	b, err := readBody(r)
	if err != nil || len(b) == 0 {
		return err
	}
	if err := checkJSONType(r); err != nil {
		return err
	}
	var in struct{}
	return unmarshalStrict(b, &in)
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	in, err := alertQueryInput(r)
	if err != nil {
		return err
	}
	page, err := s.svc.Alerts(r.Context(), orgID(r), in)
	if err != nil {
		return err
	}
	writeAlertPage(w, page)
	return nil
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	d, err := s.svc.Alert(r.Context(), orgID(r), r.PathValue("alert"))
	if err != nil {
		return err
	}
	writeAlertDetail(w, d)
	return nil
}

func (s *Server) alertAction(status strongroom.AlertStatus) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := emptyBody(r); err != nil {
			return err
		}
		a, err := s.svc.SetAlertStatus(r.Context(), orgID(r), r.PathValue("alert"), status)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, newAlertJSON(a))
		return nil
	}
}

func (s *Server) listPlatformAlerts(w http.ResponseWriter, r *http.Request) error {
	in, err := alertQueryInput(r)
	if err != nil {
		return err
	}
	page, err := s.svc.PlatformAlerts(r.Context(), in)
	if err != nil {
		return err
	}
	writeAlertPage(w, page)
	return nil
}

func (s *Server) getPlatformAlert(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	d, err := s.svc.PlatformAlert(r.Context(), r.PathValue("alert"))
	if err != nil {
		return err
	}
	writeAlertDetail(w, d)
	return nil
}

func (s *Server) platformAlertAction(status strongroom.AlertStatus) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := emptyBody(r); err != nil {
			return err
		}
		a, err := s.svc.SetPlatformAlertStatus(r.Context(), r.PathValue("alert"), status)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, newAlertJSON(a))
		return nil
	}
}
