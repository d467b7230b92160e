package httpapi

import (
	"net/http"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// Subprocessors (INC-06): the public list and subscriptions, and the
// operators' management.

type subprocessorJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Purpose        string     `json:"purpose"`
	Location       string     `json:"location"`
	Certifications []string   `json:"certifications"`
	DataCategories []string   `json:"data_categories"`
	EffectiveAt    time.Time  `json:"effective_at"`
	EndsAt         *time.Time `json:"ends_at,omitempty"`
	AnnouncedAt    *time.Time `json:"announced_at,omitempty"`
	EndAnnouncedAt *time.Time `json:"end_announced_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
}

func toSubprocessor(sp strongroom.Subprocessor) subprocessorJSON {
	return subprocessorJSON{ID: sp.ID, Name: sp.Name, Purpose: sp.Purpose, Location: sp.Location, Certifications: sp.Certifications,
		DataCategories: sp.DataCategories, EffectiveAt: sp.EffectiveAt, EndsAt: sp.EndsAt, AnnouncedAt: sp.AnnouncedAt,
		EndAnnouncedAt: sp.EndAnnouncedAt, CreatedAt: sp.CreatedAt}
}

func (s *Server) publicSubprocessors(w http.ResponseWriter, r *http.Request) error {
	out, err := s.svc.PublishedSubprocessors(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) subscribeSubprocessors(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.SubscribeSubprocessors(r.Context(), in.Email); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "check your e-mail to confirm"})
	return nil
}

func (s *Server) subscriptionToken(w http.ResponseWriter, r *http.Request, fn func(token string) error) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := fn(in.Token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) confirmSubscription(w http.ResponseWriter, r *http.Request) error {
	return s.subscriptionToken(w, r, func(t string) error { return s.svc.ConfirmSubscription(r.Context(), t) })
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	return s.subscriptionToken(w, r, func(t string) error { return s.svc.Unsubscribe(r.Context(), t) })
}

func (s *Server) listSubprocessors(w http.ResponseWriter, r *http.Request) error {
	sps, err := s.svc.Subprocessors(r.Context())
	if err != nil {
		return err
	}
	out := make([]subprocessorJSON, 0, len(sps))
	for _, sp := range sps {
		out = append(out, toSubprocessor(sp))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) createSubprocessor(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name           string    `json:"name"`
		Purpose        string    `json:"purpose"`
		Location       string    `json:"location"`
		Certifications []string  `json:"certifications"`
		DataCategories []string  `json:"data_categories"`
		EffectiveAt    time.Time `json:"effective_at"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sp, err := s.svc.CreateSubprocessor(r.Context(), service.SubprocessorInput{Name: in.Name, Purpose: in.Purpose, Location: in.Location,
		Certifications: in.Certifications, DataCategories: in.DataCategories, EffectiveAt: in.EffectiveAt})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toSubprocessor(*sp))
	return nil
}

func (s *Server) endSubprocessor(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		EndsAt time.Time `json:"ends_at"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sp, err := s.svc.EndSubprocessor(r.Context(), r.PathValue("subprocessor"), in.EndsAt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSubprocessor(*sp))
	return nil
}
