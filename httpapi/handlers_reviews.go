package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// Access reviews (IAM-15) of an organization's members and of the
// platform's operators, and security-policy changes (INC-07).

type reviewCampaignJSON struct {
	ID          string     `json:"id"`
	Period      string     `json:"period"`
	Status      string     `json:"status"` // open or completed
	OpenedBy    string     `json:"opened_by,omitempty"`
	OpenedAt    time.Time  `json:"opened_at"`
	DueAt       time.Time  `json:"due_at"`
	RemindedAt  *time.Time `json:"reminded_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	CompletedBy string     `json:"completed_by,omitempty"`
}

type reviewEntryJSON struct {
	UserID        string     `json:"user_id"`
	Email         string     `json:"email"`
	Role          string     `json:"role"`
	Clients       []string   `json:"client_ids"`
	LastSessionAt *time.Time `json:"last_session_at"`
	LastKeyUseAt  *time.Time `json:"last_api_key_use_at"`
	Decision      *string    `json:"decision"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	Note          string     `json:"note,omitempty"`
}

type reviewDetailJSON struct {
	reviewCampaignJSON
	Entries []reviewEntryJSON `json:"entries"`
}

func toReviewCampaign(c strongroom.ReviewCampaign) reviewCampaignJSON {
	status := "open"
	if c.CompletedAt != nil {
		status = "completed"
	}
	return reviewCampaignJSON{ID: c.ID, Period: c.Period, Status: status, OpenedBy: string(c.OpenedBy), OpenedAt: c.OpenedAt, DueAt: c.DueAt,
		RemindedAt: c.RemindedAt, CompletedAt: c.CompletedAt, CompletedBy: string(c.CompletedBy)}
}

func toReviewDetail(d *service.ReviewDetail) reviewDetailJSON {
	out := reviewDetailJSON{reviewCampaignJSON: toReviewCampaign(d.ReviewCampaign), Entries: make([]reviewEntryJSON, 0, len(d.Entries))}
	for _, e := range d.Entries {
		j := reviewEntryJSON{UserID: string(e.UserID), Email: e.Email, Role: e.Role, Clients: []string{}, LastSessionAt: e.LastSessionAt,
			LastKeyUseAt: e.LastKeyUseAt, DecidedBy: string(e.DecidedBy), DecidedAt: e.DecidedAt, Note: e.Note}
		for _, c := range e.Clients {
			j.Clients = append(j.Clients, string(c))
		}
		if e.Decision != "" {
			dec := e.Decision
			j.Decision = &dec
		}
		out.Entries = append(out.Entries, j)
	}
	return out
}

// WriteReviewJSON writes a campaign's evidence as the export route answers
// it, for the console's download of the same evidence.
func WriteReviewJSON(w io.Writer, d *service.ReviewDetail) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toReviewDetail(d)); err != nil {
		return fmt.Errorf("writing review JSON: %w", err)
	}
	return nil
}

// reviewTenant is the reviewed tenant of a route: the organization in the
// path, or the platform for /api/v1/operator/access-reviews.
func reviewTenant(r *http.Request) strongroom.TenantID {
	if o := orgID(r); o != "" {
		return o
	}
	return strongroom.PlatformTenant
}

func (s *Server) listAccessReviews(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.svc.AccessReviews(r.Context(), reviewTenant(r))
	if err != nil {
		return err
	}
	out := make([]reviewCampaignJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, toReviewCampaign(c))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) openAccessReview(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.OpenAccessReview(r.Context(), reviewTenant(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toReviewDetail(d))
	return nil
}

func (s *Server) getAccessReview(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.AccessReview(r.Context(), reviewTenant(r), r.PathValue("campaign"), false)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, toReviewDetail(d))
	return nil
}

func (s *Server) decideAccessReview(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Decision string `json:"decision"`
		Note     string `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.svc.DecideAccessReview(r.Context(), reviewTenant(r), r.PathValue("campaign"), strongroom.UserID(r.PathValue("user")), in.Decision, in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toReviewDetail(d))
	return nil
}

func (s *Server) completeAccessReview(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.CompleteAccessReview(r.Context(), reviewTenant(r), r.PathValue("campaign"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toReviewDetail(d))
	return nil
}

// exportAccessReview answers the campaign as evidence: JSON (default) or
// CSV with ?format=csv.
func (s *Server) exportAccessReview(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return strongroom.Errorf(strongroom.EINVALID, "format must be json or csv")
	}
	d, err := s.svc.AccessReview(r.Context(), reviewTenant(r), r.PathValue("campaign"), true)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if format == "csv" {
		var buf bytes.Buffer
		if err := service.WriteReviewCSV(&buf, d); err != nil {
			return err
		}
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="access-review-`+d.ID+`.csv"`)
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(buf.Bytes())
		return err
	}
	h.Set("Content-Disposition", `attachment; filename="access-review-`+d.ID+`.json"`)
	writeJSON(w, http.StatusOK, toReviewDetail(d))
	return nil
}

type policyChangeJSON struct {
	ID             string     `json:"id"`
	Title          string     `json:"title"`
	Summary        string     `json:"summary"`
	Body           string     `json:"body,omitempty"`
	URL            string     `json:"url,omitempty"`
	EffectiveAt    time.Time  `json:"effective_at"`
	PublishedAt    time.Time  `json:"published_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
}

func toPolicyChange(c strongroom.PolicyChange) policyChangeJSON {
	return policyChangeJSON{ID: c.ID, Title: c.Title, Summary: c.Summary, Body: c.Body, URL: c.URL, EffectiveAt: c.EffectiveAt,
		PublishedAt: c.PublishedAt, AcknowledgedAt: c.AcknowledgedAt, AcknowledgedBy: string(c.AcknowledgedBy)}
}

func writePolicyChanges(w http.ResponseWriter, cs []strongroom.PolicyChange) {
	out := make([]policyChangeJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, toPolicyChange(c))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) publishPolicyChange(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Title       string    `json:"title"`
		Summary     string    `json:"summary"`
		Body        string    `json:"body"`
		URL         string    `json:"url"`
		EffectiveAt time.Time `json:"effective_at"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, n, err := s.svc.PublishPolicyChange(r.Context(), service.PolicyChangeInput{Title: in.Title, Summary: in.Summary, Body: in.Body,
		URL: in.URL, EffectiveAt: in.EffectiveAt})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"change": toPolicyChange(*c), "organizations_notified": n})
	return nil
}

func (s *Server) operatorPolicyChanges(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.svc.OperatorPolicyChanges(r.Context())
	if err != nil {
		return err
	}
	writePolicyChanges(w, cs)
	return nil
}

func (s *Server) listPolicyChanges(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.svc.PolicyChanges(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	writePolicyChanges(w, cs)
	return nil
}

func (s *Server) acknowledgePolicyChange(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.AcknowledgePolicyChange(r.Context(), orgID(r), r.PathValue("change"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPolicyChange(*c))
	return nil
}
