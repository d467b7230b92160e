package httpapi

import (
	"net/http"
	"time"

	"strongroom.dev/strongroom"
)

func orgID(r *http.Request) strongroom.TenantID { return strongroom.TenantID(r.PathValue("org")) }

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request) error {
	o, err := s.svc.Organization(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toOrg(*o))
	return nil
}

type memberJSON struct {
	UserID    strongroom.UserID     `json:"user_id"`
	Email     string                `json:"email"`
	Role      strongroom.Role       `json:"role"`
	ClientIDs []strongroom.ClientID `json:"client_ids"`
	CreatedAt time.Time             `json:"created_at"`
}

func toMember(m strongroom.Membership) memberJSON {
	c := m.Clients
	if c == nil {
		c = []strongroom.ClientID{}
	}
	return memberJSON{UserID: m.UserID, Email: m.Email, Role: m.Role, ClientIDs: c, CreatedAt: m.CreatedAt}
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.svc.Members(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	out := make([]memberJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMember(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string          `json:"email"`
		Role  strongroom.Role `json:"role"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	m, err := s.svc.AddMember(r.Context(), orgID(r), in.Email, in.Role)
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+string(m.UserID))
	writeJSON(w, http.StatusCreated, toMember(*m))
	return nil
}

func userParam(r *http.Request) strongroom.UserID { return strongroom.UserID(r.PathValue("user")) }

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.svc.Member(r.Context(), orgID(r), userParam(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMember(*m))
	return nil
}

func (s *Server) patchMember(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Role strongroom.Role `json:"role"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	m, err := s.svc.SetMemberRole(r.Context(), orgID(r), userParam(r), in.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMember(*m))
	return nil
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.RemoveMember(r.Context(), orgID(r), userParam(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) putMemberClients(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ClientIDs []strongroom.ClientID `json:"client_ids"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.ClientIDs == nil {
		e := strongroom.Errorf(strongroom.EVALIDATION, "the request is not valid")
		e.Fields = []strongroom.FieldError{{Path: "/client_ids", Message: "is required (an empty list removes every limit)"}}
		return e
	}
	m, err := s.svc.SetMemberClients(r.Context(), orgID(r), userParam(r), in.ClientIDs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMember(*m))
	return nil
}

type clientJSON struct {
	ID        strongroom.ClientID `json:"id"`
	Name      string              `json:"name"`
	CreatedAt time.Time           `json:"created_at"`
}

func toClient(c strongroom.Client) clientJSON {
	return clientJSON{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt}
}

func clientParam(r *http.Request) strongroom.ClientID {
	return strongroom.ClientID(r.PathValue("client"))
}

func (s *Server) listClients(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.svc.Clients(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	out := make([]clientJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, toClient(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

type clientInput struct {
	Name string `json:"name"`
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request) error {
	var in clientInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.svc.CreateClient(r.Context(), orgID(r), in.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+string(c.ID))
	writeJSON(w, http.StatusCreated, toClient(*c))
	return nil
}

func (s *Server) getClient(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.Client(r.Context(), orgID(r), clientParam(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toClient(*c))
	return nil
}

func (s *Server) patchClient(w http.ResponseWriter, r *http.Request) error {
	var in clientInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.svc.RenameClient(r.Context(), orgID(r), clientParam(r), in.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toClient(*c))
	return nil
}

func (s *Server) deleteClient(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteClient(r.Context(), orgID(r), clientParam(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
