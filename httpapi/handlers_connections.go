package httpapi

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// ConnectionCallbackPath is the redirect URI's path: every provider sends the
// Admin's browser back to the public URL followed by this path.
const ConnectionCallbackPath = "/api/v1/connections/callback"

type connectionJSON struct {
	ID          strongroom.ConnectionID     `json:"id"`
	Provider    string                      `json:"provider"`
	Status      strongroom.ConnectionStatus `json:"status"`
	Scopes      []string                    `json:"scopes"`
	ConnectedBy strongroom.UserID           `json:"connected_by"`
	Refreshable bool                        `json:"refreshable"`
	ExpiresAt   *time.Time                  `json:"expires_at"`
	CreatedAt   time.Time                   `json:"created_at"`
	UpdatedAt   time.Time                   `json:"updated_at"`
}

// toConnection shows a connection. It has no field for tokens: they never
// leave the service.
func toConnection(c strongroom.Connection) connectionJSON {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return connectionJSON{ID: c.ID, Provider: c.Provider, Status: c.Status, Scopes: scopes, ConnectedBy: c.ConnectedBy,
		Refreshable: c.Refreshable, ExpiresAt: c.ExpiresAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func connectionParam(r *http.Request) strongroom.ConnectionID {
	return strongroom.ConnectionID(r.PathValue("connection"))
}

type providerJSON struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Scopes      []string `json:"scopes"`
	Revocable   bool     `json:"revocable"`
}

func (s *Server) listConnectionProviders(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.svc.ConnectionProviders(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	out := make([]providerJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, providerJSON{Name: p.Name, DisplayName: p.DisplayName, Scopes: p.Scopes, Revocable: p.Revocable})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.svc.Connections(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	out := make([]connectionJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, toConnection(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) startConnection(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Provider string `json:"provider"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	start, err := s.svc.StartConnection(r.Context(), orgID(r), in.Provider)
	if err != nil {
		return err
	}
	// The URL carries the state, which completes a connection: not for caches.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"authorization_url": start.AuthorizationURL, "expires_at": start.ExpiresAt})
	return nil
}

func (s *Server) getConnection(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.Connection(r.Context(), orgID(r), connectionParam(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toConnection(*c))
	return nil
}

func (s *Server) refreshConnection(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.RefreshConnection(r.Context(), orgID(r), connectionParam(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toConnection(*c))
	return nil
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.Disconnect(r.Context(), orgID(r), connectionParam(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": string(connectionParam(r)), "revocation": d.Revocation})
	return nil
}

// callbackPage is what a browser sees after connecting.
var callbackPage = template.Must(template.New("connected").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connected · Strongroom</title></head>
<body><h1>Connected</h1>
<p>The organization is now connected to {{.Provider}} (connection {{.ID}}). You can close this window.</p>
</body></html>
`))

// connectionCallback is where a provider sends the Admin's browser back. It is
// public, like every redirect URI; the state it carries is what binds it to the
// organization and user that started the flow.
func (s *Server) connectionCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for _, k := range []string{"state", "code", "error"} {
		if len(q[k]) > 1 {
			return strongroom.Errorf(strongroom.EINVALID, "the %s parameter is repeated", k)
		}
	}
	if q.Get("state") == "" {
		return strongroom.Errorf(strongroom.EINVALID, "the callback carries no state")
	}
	c, err := s.svc.CompleteConnection(r.Context(), service.CallbackInput{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error")})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Location", "/api/v1/orgs/"+string(c.TenantID)+"/connections/"+string(c.ID))
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusCreated)
		_ = callbackPage.Execute(w, c) // the status is sent; a failed write has no one to tell
		return nil
	}
	writeJSON(w, http.StatusCreated, toConnection(*c))
	return nil
}
