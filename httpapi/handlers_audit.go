package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/service"
)

// The audit log's query and export (docs/audit-log.md, "Query and export").

// auditQueryParams are the query parameters of an audit query.
var auditQueryParams = []string{"from", "to", "actor", "action", "result", "target", "limit", "cursor"}

// queryParams parses the query string strictly: a malformed one, a parameter
// not in known, or one given twice is EINVALID naming it.
func queryParams(r *http.Request, known ...string) (url.Values, error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, strongroom.Errorf(strongroom.EINVALID, "the query string is malformed")
	}
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		shown := name
		if len(shown) > 64 {
			shown = shown[:64] + "…"
		}
		switch {
		case !slices.Contains(known, name):
			if len(known) == 0 {
				return nil, strongroom.Errorf(strongroom.EINVALID, "query parameter %q: this route takes no query parameters", shown)
			}
			return nil, strongroom.Errorf(strongroom.EINVALID, "query parameter %q is not known here: use %s", shown, strings.Join(known, ", "))
		case len(vals[name]) > 1:
			return nil, strongroom.Errorf(strongroom.EINVALID, "query parameter %q is given more than once", shown)
		}
	}
	return vals, nil
}

func auditQueryInput(r *http.Request) (service.AuditQueryInput, error) {
	q, err := queryParams(r, auditQueryParams...)
	if err != nil {
		return service.AuditQueryInput{}, err
	}
	return service.AuditQueryInput{From: q.Get("from"), To: q.Get("to"), Actor: q.Get("actor"), Action: q.Get("action"),
		Result: q.Get("result"), Target: q.Get("target"), Limit: q.Get("limit"), Cursor: q.Get("cursor")}, nil
}

func writeAuditPage(w http.ResponseWriter, page *service.AuditPage) {
	items := make([]audit.EventJSON, 0, len(page.Items))
	for _, it := range page.Items {
		items = append(items, audit.NewEventJSON(&it.Event, it.Seal))
	}
	var next *string
	if page.NextCursor != "" {
		next = &page.NextCursor
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

func (s *Server) queryAudit(w http.ResponseWriter, r *http.Request) error {
	in, err := auditQueryInput(r)
	if err != nil {
		return err
	}
	page, err := s.svc.AuditEvents(r.Context(), orgID(r), in)
	if err != nil {
		return err
	}
	writeAuditPage(w, page)
	return nil
}

func (s *Server) queryPlatformAudit(w http.ResponseWriter, r *http.Request) error {
	in, err := auditQueryInput(r)
	if err != nil {
		return err
	}
	page, err := s.svc.PlatformAuditEvents(r.Context(), in)
	if err != nil {
		return err
	}
	writeAuditPage(w, page)
	return nil
}

// exportWriteTimeout is how long one write of an export may take: the
// deadline moves on with each write, so a large export is not cut off by the
// server's overall write timeout, and a stalled reader still is.
const exportWriteTimeout = time.Minute

// deadlineWriter extends the response's write deadline before each write.
type deadlineWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(exportWriteTimeout)) // not every writer has deadlines (tests)
	return d.w.Write(p)
}

func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	x, err := s.svc.ExportAudit(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/jsonl")
	h.Set("Cache-Control", "no-store")
	stamp := strings.NewReplacer(":", "", "-", "").Replace(x.Header().ExportedAt[:19])
	h.Set("Content-Disposition", `attachment; filename="audit-`+string(orgID(r))+"-"+stamp+`Z.jsonl"`)
	w.WriteHeader(http.StatusOK)
	if err := x.Write(r.Context(), deadlineWriter{w: w, rc: http.NewResponseController(w)}); err != nil {
		if r.Context().Err() == nil {
			s.log.ErrorContext(context.WithoutCancel(r.Context()), "writing an audit export", "err", err,
				"request_id", requestID(r.Context()), "org", orgID(r))
		}
		// The status is sent: abort the response so the client sees it cut
		// off (net/http's sanctioned way), never a complete-looking file.
		// VerifyExport refuses a cut-off export.
		panic(http.ErrAbortHandler)
	}
	return nil
}
