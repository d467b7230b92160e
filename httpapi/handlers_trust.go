package httpapi

import (
	"net/http"

	"strongroom.dev/strongroom/service"
)

// Responsible disclosure (INC-05): security.txt, the public report intake
// and status, public credits, and the operators' report handling.

func (s *Server) securityTxt(w http.ResponseWriter, r *http.Request) error {
	b, err := s.svc.SecurityTxt()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

type attachmentJSON struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"` // base64
}

func (s *Server) submitReport(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.AdmitReport(r.Context()); err != nil {
		return err
	}
	var in struct {
		Title         string           `json:"title"`
		Description   string           `json:"description"`
		ReporterName  string           `json:"reporter_name"`
		ReporterEmail string           `json:"reporter_email"`
		Credit        bool             `json:"credit"`
		CreditName    string           `json:"credit_name"`
		Attachments   []attachmentJSON `json:"attachments"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ri := service.ReportInput{Title: in.Title, Description: in.Description, ReporterName: in.ReporterName,
		ReporterEmail: in.ReporterEmail, Credit: in.Credit, CreditName: in.CreditName}
	for _, a := range in.Attachments {
		ri.Attachments = append(ri.Attachments, service.AttachmentInput{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
	}
	rec, err := s.svc.SubmitReport(r.Context(), ri)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"id": rec.ID, "token": rec.Token, "acknowledgement_due": rec.AckDue})
	return nil
}

func (s *Server) reportStatus(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.svc.ReportStatus(r.Context(), in.Token)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) disclosureCredits(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.svc.Credits(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{"items": cs})
	return nil
}

func (s *Server) listReports(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.svc.ListReports(r.Context(), r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []service.ReportView{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": rs})
	return nil
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.GetReport(r.Context(), r.PathValue("report"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) patchReport(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status   string `json:"status"`
		Severity string `json:"severity"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.svc.UpdateReport(r.Context(), r.PathValue("report"), service.ReportUpdate{Status: in.Status, Severity: in.Severity})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
