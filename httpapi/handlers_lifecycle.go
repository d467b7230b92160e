package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// Data lifecycle (LIF-01, LIF-02): retention policies and data-subject
// requests.

func (s *Server) putRetention(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Retention json.RawMessage `json:"retention"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.Retention) == 0 {
		e := strongroom.Errorf(strongroom.EVALIDATION, "the request is not valid")
		e.Fields = []strongroom.FieldError{{Path: "/retention", Message: "is required (null follows the organization's default)"}}
		return e
	}
	var p *strongroom.RetentionPolicy
	if string(in.Retention) != "null" {
		p = &strongroom.RetentionPolicy{}
		if err := unmarshalStrict(in.Retention, p); err != nil {
			return err
		}
	}
	c, err := s.svc.SetCollectionRetention(r.Context(), orgID(r), collParam(r), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toCollection(*c))
	return nil
}

type dsrJSON struct {
	ID          string                `json:"id"`
	Kind        string                `json:"kind"`
	Status      string                `json:"status"`
	Fields      []string              `json:"fields"`
	Matches     []strongroom.DSRMatch `json:"matches"`
	RequestedBy string                `json:"requested_by"`
	CreatedAt   time.Time             `json:"created_at"`
	Deadline    time.Time             `json:"deadline"`
	CompletedAt *time.Time            `json:"completed_at"`
	Done        int                   `json:"done"`
	Overdue     bool                  `json:"overdue"`
}

func toDSR(d *strongroom.DSR, now time.Time) dsrJSON {
	m := d.Matches
	if m == nil {
		m = []strongroom.DSRMatch{}
	}
	return dsrJSON{ID: d.ID, Kind: d.Kind, Status: d.Status, Fields: d.Fields, Matches: m, RequestedBy: d.RequestedBy,
		CreatedAt: d.CreatedAt, Deadline: d.Deadline, CompletedAt: d.CompletedAt, Done: d.Done,
		Overdue: d.Status == strongroom.DSROpen && now.After(d.Deadline)}
}

func (s *Server) createDSR(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Kind        string            `json:"kind"`
		Identifiers []json.RawMessage `json:"identifiers"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	svcIn := service.DSRInput{Kind: in.Kind}
	for _, raw := range in.Identifiers {
		var id struct {
			Field string          `json:"field"`
			Value json.RawMessage `json:"value"`
		}
		if err := unmarshalStrict(raw, &id); err != nil {
			return err
		}
		svcIn.Identifiers = append(svcIn.Identifiers, service.Identifier{Field: id.Field, Value: id.Value})
	}
	d, err := s.svc.CreateDSR(r.Context(), orgID(r), svcIn)
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+d.ID)
	writeJSON(w, http.StatusCreated, toDSR(d, time.Now()))
	return nil
}

func (s *Server) listDSRs(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.svc.DSRs(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]dsrJSON, 0, len(ds))
	for i := range ds {
		out = append(out, toDSR(&ds[i], now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) getDSR(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.DSR(r.Context(), orgID(r), r.PathValue("dsr"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDSR(d, time.Now()))
	return nil
}

func (s *Server) executeDSR(w http.ResponseWriter, r *http.Request) error {
	d, recs, err := s.svc.ExecuteDSR(r.Context(), orgID(r), r.PathValue("dsr"))
	if err != nil {
		return err
	}
	out := map[string]any{"request": toDSR(d, time.Now())}
	if recs != nil {
		out["records"] = recs
		w.Header().Set("Cache-Control", "no-store")
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
