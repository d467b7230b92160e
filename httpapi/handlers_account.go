package httpapi

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"strongroom.dev/strongroom"
)

//go:embed openapi.json
var openapiJSON []byte

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Ready(ctx); err != nil {
		s.log.Warn("readiness check failed", "err", err)
		return strongroom.Errorf(strongroom.EUNAVAILABLE, "the store is not reachable")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiJSON)
	return nil
}

type userJSON struct {
	ID            strongroom.UserID `json:"id"`
	Email         string            `json:"email"`
	EmailVerified bool              `json:"email_verified"`
	CreatedAt     time.Time         `json:"created_at"`
}

func toUser(u strongroom.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerifiedAt != nil, CreatedAt: u.CreatedAt}
}

type orgJSON struct {
	ID        strongroom.TenantID `json:"id"`
	Name      string              `json:"name"`
	Role      strongroom.Role     `json:"role"`
	CreatedAt time.Time           `json:"created_at"`
}

func toOrg(o strongroom.OrgMembership) orgJSON {
	return orgJSON{ID: o.Organization.ID, Name: o.Organization.Name, Role: o.Role, CreatedAt: o.Organization.CreatedAt}
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	me, err := s.svc.Me(r.Context())
	if err != nil {
		return err
	}
	orgs := make([]orgJSON, 0, len(me.Organizations))
	for _, o := range me.Organizations {
		orgs = append(orgs, toOrg(o))
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": toUser(me.User), "organizations": orgs})
	return nil
}
