package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"strongroom.dev/strongroom"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type      string                  `json:"type"`
	Title     string                  `json:"title"`
	Status    int                     `json:"status"`
	Detail    string                  `json:"detail,omitempty"`
	Instance  string                  `json:"instance,omitempty"`
	RequestID string                  `json:"request_id,omitempty"`
	Errors    []strongroom.FieldError `json:"errors,omitempty"`
}

var codeStatus = map[string]int{
	strongroom.EINVALID:      http.StatusBadRequest,
	strongroom.EUNAUTHORIZED: http.StatusUnauthorized,
	strongroom.EFORBIDDEN:    http.StatusForbidden,
	strongroom.ENOTFOUND:     http.StatusNotFound,
	strongroom.ECONFLICT:     http.StatusConflict,
	strongroom.EPRECONDITION: http.StatusPreconditionFailed,
	strongroom.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	strongroom.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	strongroom.EVALIDATION:   http.StatusUnprocessableEntity,
	strongroom.ERATELIMIT:    http.StatusTooManyRequests,
	strongroom.EMFAREQUIRED:  http.StatusForbidden,
	strongroom.EMFAENROLL:    http.StatusForbidden,
	strongroom.ESTEPUP:       http.StatusForbidden,
	strongroom.EEMAILSTEP:    http.StatusForbidden,
	strongroom.EUNAVAILABLE:  http.StatusServiceUnavailable,
	strongroom.EINTERNAL:     http.StatusInternalServerError,
}

// ProblemTypeBase prefixes problem type URIs; the docs describe each code.
const ProblemTypeBase = "https://strongroom.dev/problems/"

// writeError turns err into a problem response. Internal causes are logged with
// the request ID and never sent.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := strongroom.ErrorCode(err)
	status, ok := codeStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := Problem{
		Type:      ProblemTypeBase + code,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    strongroom.ErrorMessage(err),
		Instance:  r.URL.Path,
		RequestID: requestID(r.Context()),
		Errors:    strongroom.ErrorFields(err),
	}
	if d := strongroom.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", p.RequestID,
			"method", r.Method, "route", r.Pattern)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// StatusOf is the HTTP status that answers err (the console uses it for its
// pages, so both speak the same codes).
func StatusOf(err error) int {
	if status, ok := codeStatus[strongroom.ErrorCode(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}
