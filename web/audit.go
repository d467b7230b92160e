package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// The audit log viewer (LOG-01, LOG-02): an organization's Admins read its
// log with filters and cursor paging and download the signed export;
// operators read the platform's log. Each page read is audited by the service
// ("audit.read"), each export ("audit.export").

// auditPageSize is how many events a page of the viewer shows.
const auditPageSize = 50

// auditFilters are the viewer's filters, named as the query parameters of
// the page (and of the JSON API).
var auditFilters = []string{"from", "to", "actor", "action", "result", "target"}

type auditData struct {
	Base       string // the page's path, without a query
	Export     string // the export's path ("" on the platform's log)
	Items      []auditRow
	Next, Prev string
	Paged      bool
	Filtered   bool
	Results    []string
}

type auditRow struct {
	service.AuditItem
	Metadata string // the event's metadata as indented JSON
}

// Filter returns the viewer's URL with one filter set, for the links that
// narrow the log to an actor, action or target.
func (d auditData) Filter(name, value string) string {
	return d.Base + "?" + url.Values{name: {value}}.Encode()
}

// Since returns the viewer's URL for the events of the last hours.
func (d auditData) Since(hours int) string {
	from := time.Now().UTC().Add(-time.Duration(hours) * time.Hour).Truncate(time.Minute)
	return d.Filter("from", from.Format("2006-01-02T15:04"))
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	if !can(ctx, access.AuditRead, org) { // a clear page, before any query
		c.errorPage(w, r, strongroom.Errorf(strongroom.EFORBIDDEN, "only Admins read the audit log"))
		return
	}
	base := "/orgs/" + url.PathEscape(string(org)) + "/audit"
	v := &view{Title: "Audit log · " + o.Organization.Name, Nav: "audit", Org: o, Wide: true}
	c.showAudit(w, r, v, auditData{Base: base, Export: base + "/export"}, func(in service.AuditQueryInput) (*service.AuditPage, error) {
		return c.svc.AuditEvents(ctx, org, in)
	})
}

func (c *Console) platformAuditPage(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	v := &view{Title: "Platform audit log", Nav: "op-audit", Wide: true}
	c.showAudit(w, r, v, auditData{Base: "/operator/audit"}, func(in service.AuditQueryInput) (*service.AuditPage, error) {
		return c.svc.PlatformAuditEvents(ctx, in)
	})
}

// showAudit reads the filters from the URL, queries one page and renders it.
// A filter the service refuses is shown beside its field.
func (c *Console) showAudit(w http.ResponseWriter, r *http.Request, v *view, d auditData,
	query func(service.AuditQueryInput) (*service.AuditPage, error)) {
	q := r.URL.Query()
	d.Results = []string{string(strongroom.ResultSuccess), string(strongroom.ResultFailure), string(strongroom.ResultDenied)}
	v.Form = url.Values{}
	for _, f := range auditFilters {
		if s := strings.TrimSpace(q.Get(f)); s != "" {
			v.Form.Set(f, s)
			d.Filtered = true
		}
	}
	cursor := q.Get("cursor")
	prev := q["prev"]
	if len(prev) > maxPrev {
		prev = prev[len(prev)-maxPrev:]
	}
	d.Paged = cursor != ""
	v.Data = d
	in := service.AuditQueryInput{Actor: v.Form.Get("actor"), Action: v.Form.Get("action"), Result: v.Form.Get("result"),
		Target: v.Form.Get("target"), Cursor: cursor, Limit: strconv.Itoa(auditPageSize)}
	var err error
	for _, f := range auditFilters {
		if utf8.RuneCountInString(v.Form.Get(f)) > maxFieldRunes {
			err = fieldError("/"+f, "is too long")
		}
	}
	if err == nil {
		in.From, err = auditTime("from", v.Form.Get("from"))
	}
	if err == nil {
		in.To, err = auditTime("to", v.Form.Get("to"))
	}
	var page *service.AuditPage
	if err == nil {
		page, err = query(in)
	}
	if err != nil {
		c.fail(w, r, "audit", v, auditFieldError(err))
		return
	}
	link := func(cursor string, prev []string) string {
		u := url.Values{}
		for _, f := range auditFilters {
			if s := v.Form.Get(f); s != "" {
				u.Set(f, s)
			}
		}
		if cursor != "" {
			u.Set("cursor", cursor)
		}
		for _, p := range prev {
			u.Add("prev", p)
		}
		if len(u) == 0 {
			return d.Base
		}
		return d.Base + "?" + u.Encode()
	}
	if page.NextCursor != "" {
		d.Next = link(page.NextCursor, append(append([]string{}, prev...), cursor))
	}
	if cursor != "" {
		back := ""
		if len(prev) > 0 {
			back = prev[len(prev)-1]
			prev = prev[:len(prev)-1]
		}
		d.Prev = link(back, prev)
	}
	for _, it := range page.Items {
		d.Items = append(d.Items, auditRow{AuditItem: it, Metadata: metadataText(it.Event.Metadata)})
	}
	v.Data = d
	c.render(w, r, http.StatusOK, "audit", v)
}

// auditTime turns the time filter's text into the RFC 3339 time the service
// reads. The form's date-time inputs send "2026-03-14T15:09" (read as UTC);
// an RFC 3339 time typed or linked is passed on as it is.
func auditTime(name, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339), nil
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return s, nil
	}
	return "", fieldError("/"+name, "must be a date and time (UTC), such as 2026-03-14 15:09")
}

// auditFieldError puts a refused query parameter beside its field: the
// service names it as `query parameter "actor": …`. A refused cursor means
// a page link that was tampered with or outlived its query.
func auditFieldError(err error) error {
	if strongroom.ErrorCode(err) != strongroom.EINVALID {
		return err
	}
	msg := strongroom.ErrorMessage(err)
	rest, ok := strings.CutPrefix(msg, `query parameter "`)
	if !ok {
		return err
	}
	name, text, ok := strings.Cut(rest, `": `)
	if !ok {
		return err
	}
	if name == "cursor" || name == "limit" {
		return strongroom.Errorf(strongroom.EINVALID, "this page link is not valid: start again from the first page")
	}
	return fieldError("/"+name, text)
}

// exportAudit streams the organization's signed audit export (JSON Lines)
// as a download. It needs a recent sign-in; without one the browser goes to
// the step-up page and comes back to the viewer.
func (c *Console) exportAudit(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	x, err := c.svc.ExportAudit(ctx, org)
	if err != nil {
		if strongroom.ErrorCode(err) == strongroom.ESTEPUP {
			next := "/orgs/" + url.PathEscape(string(org)) + "/audit"
			redirect(w, r, "/account/step-up?next="+url.QueryEscape(next), "")
			return
		}
		c.errorPage(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jsonl")
	h.Set("Cache-Control", "no-store")
	stamp := strings.NewReplacer(":", "", "-", "").Replace(x.Header().ExportedAt[:19])
	h.Set("Content-Disposition", `attachment; filename="audit-`+string(org)+"-"+stamp+`Z.jsonl"`)
	w.WriteHeader(http.StatusOK)
	if err := x.Write(ctx, newDeadlineWriter(w)); err != nil {
		if r.Context().Err() == nil {
			c.log.Error("console: writing an audit export", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
		}
		// The status is sent: cut the response off, so the download is seen
		// as incomplete (verification refuses a cut export).
		panic(http.ErrAbortHandler)
	}
}

// enterOperator checks that the signed-in user is an operator with MFA and
// returns the context to call the service with. An operator without a
// second factor is sent to enrol one.
func (c *Console) enterOperator(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	p, err := c.svc.EnterOperator(r.Context())
	if err != nil {
		if strongroom.ErrorCode(err) == strongroom.EMFAENROLL {
			redirect(w, r, "/account/mfa", "mfa-enrol")
			return nil, false
		}
		c.errorPage(w, r, err)
		return nil, false
	}
	return strongroom.WithPrincipal(r.Context(), p), true
}

// metadataText is an event's metadata as the viewer shows it: indented
// JSON, or nothing for an empty object.
func metadataText(b []byte) string {
	if s := strings.TrimSpace(string(b)); s == "" || s == "{}" || s == "null" {
		return ""
	}
	return indentJSON(b)
}

// operatorContext is enterOperator for code that has already answered
// nothing yet and only needs the operator's context (or the refusal).
func (c *Console) operatorContext(r *http.Request) (context.Context, error) {
	p, err := c.svc.EnterOperator(r.Context())
	if err != nil {
		return nil, err
	}
	return strongroom.WithPrincipal(r.Context(), p), nil
}
