package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
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

type exportJobJSON struct {
	ID           string     `json:"id"`
	Status       string     `json:"status"`
	RequestedBy  string     `json:"requested_by"`
	Encryption   string     `json:"encryption"`
	StartedAt    time.Time  `json:"started_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	Collections  int64      `json:"collections"`
	Records      int64      `json:"records"`
	RecordsTotal int64      `json:"records_total"`
	Bytes        int64      `json:"bytes"`
}

func toExportJob(j *store.ExportJob) exportJobJSON {
	return exportJobJSON{ID: j.ID, Status: j.Status, RequestedBy: j.RequestedBy, Encryption: j.Encryption, StartedAt: j.StartedAt,
		UpdatedAt: j.UpdatedAt, FinishedAt: j.FinishedAt, Collections: j.Collections, Records: j.Records,
		RecordsTotal: j.RecordsTotal, Bytes: j.Bytes}
}

func (s *Server) exportOrg(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Passphrase string `json:"passphrase"`
		Recipient  string `json:"recipient"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	x, err := s.svc.ExportOrg(r.Context(), orgID(r), service.ExportInput{Passphrase: in.Passphrase, Recipient: in.Recipient})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Export-Id", x.Job.ID)
	h.Set("Location", "/api/v1/orgs/"+string(orgID(r))+"/exports/"+x.Job.ID)
	stamp := x.Job.StartedAt.UTC().Format("20060102T150405Z")
	h.Set("Content-Disposition", `attachment; filename="strongroom-`+string(orgID(r))+"-"+stamp+`.zip.age"`)
	w.WriteHeader(http.StatusOK)
	if err := x.Write(r.Context(), deadlineWriter{w: w, rc: http.NewResponseController(w)}); err != nil {
		if r.Context().Err() == nil {
			s.log.ErrorContext(context.WithoutCancel(r.Context()), "writing an organization export", "err", err,
				"request_id", requestID(r.Context()), "org", orgID(r))
		}
		panic(http.ErrAbortHandler) // cut off, never a complete-looking archive
	}
	return nil
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request) error {
	j, err := s.svc.ExportJob(r.Context(), orgID(r), r.PathValue("export"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toExportJob(j))
	return nil
}

type terminationJSON struct {
	Organization strongroom.TenantID `json:"organization"`
	Name         string              `json:"name"`
	RequestedBy  string              `json:"requested_by"`
	RequestedAt  time.Time           `json:"requested_at"`
	PurgeAfter   time.Time           `json:"purge_after"`
	CancelledAt  *time.Time          `json:"cancelled_at"`
	PurgedAt     *time.Time          `json:"purged_at"`
	Status       string              `json:"status"`
	// CertificateToken is shown once, when the organization is terminated.
	CertificateToken string `json:"certificate_token,omitempty"`
}

func toTermination(t *service.TerminationStatus) terminationJSON {
	status := "terminated"
	switch {
	case t.None:
		status = "none"
	case t.PurgedAt != nil:
		status = "purged"
	case t.CancelledAt != nil:
		status = "cancelled"
	}
	return terminationJSON{Organization: t.Tenant, Name: t.Name, RequestedBy: t.RequestedBy, RequestedAt: t.RequestedAt,
		PurgeAfter: t.PurgeAfter, CancelledAt: t.CancelledAt, PurgedAt: t.PurgedAt, Status: status, CertificateToken: t.Token}
}

func (s *Server) terminate(w http.ResponseWriter, r *http.Request, org strongroom.TenantID) error {
	var in struct {
		Confirm string `json:"confirm"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.svc.TerminateOrg(r.Context(), org, service.TerminationInput{Confirm: in.Confirm})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusAccepted, toTermination(t))
	return nil
}

// tenantParam is the organization an operator route names.
func tenantParam(r *http.Request) strongroom.TenantID {
	return strongroom.TenantID(r.PathValue("tenant"))
}

func (s *Server) terminateOrg(w http.ResponseWriter, r *http.Request) error {
	return s.terminate(w, r, orgID(r))
}

func (s *Server) operatorTerminate(w http.ResponseWriter, r *http.Request) error {
	return s.terminate(w, r, tenantParam(r))
}

func (s *Server) getTermination(w http.ResponseWriter, r *http.Request) error {
	t, err := s.svc.Termination(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTermination(t))
	return nil
}

func (s *Server) cancelTermination(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.CancelTermination(r.Context(), orgID(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) operatorCancelTermination(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.CancelTermination(r.Context(), tenantParam(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) operatorTerminations(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.svc.Terminations(r.Context())
	if err != nil {
		return err
	}
	out := make([]terminationJSON, 0, len(ts))
	for i := range ts {
		out = append(out, toTermination(&ts[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func writeCertificate(w http.ResponseWriter, cert []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(cert)
}

func (s *Server) operatorCertificate(w http.ResponseWriter, r *http.Request) error {
	cert, err := s.svc.DeletionCertificate(r.Context(), tenantParam(r), "")
	if err != nil {
		return err
	}
	writeCertificate(w, cert)
	return nil
}

func (s *Server) certificateByToken(w http.ResponseWriter, r *http.Request) error {
	tok := r.PathValue("token")
	if len(tok) != 47 || tok[:4] != "srd_" {
		return strongroom.Errorf(strongroom.ENOTFOUND, "no deletion certificate for this token")
	}
	cert, err := s.svc.DeletionCertificate(r.Context(), "", tok)
	if err != nil {
		return err
	}
	writeCertificate(w, cert)
	return nil
}
