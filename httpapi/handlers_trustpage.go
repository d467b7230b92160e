package httpapi

import (
	"bytes"
	"net/http"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/trust"
)

// The public trust page's machine-readable forms (issue 8, item 6): every
// claim with its source, and the security questionnaire answered from the
// same claims. The HTML page is the console's /trust (package web).

// trustCacheControl lets browsers and proxies keep the answer as long as the
// service keeps it (service.TrustPageCacheFor).
const trustCacheControl = "public, max-age=60"

// noQuery refuses query parameters on the trust resources: they take none, and
// refusing them keeps every request on the one cached answer.
func noQuery(r *http.Request) error {
	if r.URL.RawQuery != "" {
		return strongroom.Errorf(strongroom.EINVALID, "this resource takes no query parameters")
	}
	return nil
}

func (s *Server) trustJSON(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	p, err := s.svc.TrustPage(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", trustCacheControl)
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) trustQuestionnaire(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	p, err := s.svc.TrustPage(r.Context())
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := trust.WriteQuestionnaire(&b, p); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8; header=present")
	h.Set("Content-Disposition", `attachment; filename="strongroom-security-questionnaire.csv"`)
	h.Set("Cache-Control", trustCacheControl)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}
