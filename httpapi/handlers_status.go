package httpapi

import (
	"net/http"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// The public status page (INC-04): /status.json, the Atom feed,
// subscriptions; the operators' maintenance windows and status updates. The
// HTML page /status is the console's (package web).

func (s *Server) statusJSON(w http.ResponseWriter, r *http.Request) error {
	out, err := s.svc.PublishedStatus(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "max-age=30")
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) statusFeed(w http.ResponseWriter, r *http.Request) error {
	out, err := s.svc.StatusFeed(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write(out)
	return nil
}

func (s *Server) subscribeStatus(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.SubscribeStatus(r.Context(), in.Email); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "check your e-mail to confirm"})
	return nil
}

func (s *Server) confirmStatusSubscription(w http.ResponseWriter, r *http.Request) error {
	return s.subscriptionToken(w, r, func(t string) error { return s.svc.ConfirmStatusSubscription(r.Context(), t) })
}

func (s *Server) unsubscribeStatus(w http.ResponseWriter, r *http.Request) error {
	return s.subscriptionToken(w, r, func(t string) error { return s.svc.UnsubscribeStatus(r.Context(), t) })
}

type maintenanceJSON struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Body        string     `json:"body"`
	Components  []string   `json:"components"`
	StartsAt    time.Time  `json:"starts_at"`
	EndsAt      time.Time  `json:"ends_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

func toMaintenance(m strongroom.StatusMaintenance) maintenanceJSON {
	return maintenanceJSON{ID: m.ID, Title: m.Title, Body: m.Body, Components: m.Components, StartsAt: m.StartsAt, EndsAt: m.EndsAt,
		CancelledAt: m.CancelledAt, CreatedAt: m.CreatedAt}
}

func (s *Server) listMaintenance(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.svc.Maintenance(r.Context())
	if err != nil {
		return err
	}
	out := make([]maintenanceJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMaintenance(m))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

// maintenanceIn is the body that schedules a window and, whole, replaces one.
type maintenanceIn struct {
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	Components []string  `json:"components"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
}

func decodeMaintenance(r *http.Request) (service.MaintenanceInput, error) {
	var in maintenanceIn
	if err := decodeJSON(r, &in); err != nil {
		return service.MaintenanceInput{}, err
	}
	return service.MaintenanceInput{Title: in.Title, Body: in.Body, Components: in.Components, StartsAt: in.StartsAt, EndsAt: in.EndsAt}, nil
}

func (s *Server) createMaintenance(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeMaintenance(r)
	if err != nil {
		return err
	}
	m, err := s.svc.CreateMaintenance(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toMaintenance(*m))
	return nil
}

func (s *Server) updateMaintenance(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeMaintenance(r)
	if err != nil {
		return err
	}
	m, err := s.svc.UpdateMaintenance(r.Context(), r.PathValue("maintenance"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMaintenance(*m))
	return nil
}

func (s *Server) cancelMaintenance(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.CancelMaintenance(r.Context(), r.PathValue("maintenance")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postStatusUpdate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Title      string   `json:"title"`
		Body       string   `json:"body"`
		State      string   `json:"state"`
		Components []string `json:"components"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.svc.PostStatusUpdate(r.Context(), service.StatusUpdateInput{Title: in.Title, Body: in.Body, State: in.State, Components: in.Components})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": u.ID, "title": u.Title, "body": u.Body, "state": u.State,
		"components": u.Components, "posted_at": u.CreatedAt})
	return nil
}
