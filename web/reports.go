package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"strongroom.dev/strongroom/disclosure"
	"strongroom.dev/strongroom/incident"
	"strongroom.dev/strongroom/service"
)

// Vulnerability reports (INC-05; docs/trust.md) for operators: the list with
// its deadlines, one report opened (audited), and its status moved on:
// acknowledged, triaged with a severity (which sets the resolution
// deadline), fixed or won't fix.

type reportsData struct {
	Items    []service.ReportView
	Status   string
	Statuses []disclosure.Status
	Now      time.Time
}

type reportData struct {
	Report     *service.ReportDetail
	Next       []disclosure.Status
	Severities []incident.Severity
	Now        time.Time
}

var reportStatuses = []disclosure.Status{disclosure.New, disclosure.Acknowledged, disclosure.Triaged, disclosure.Fixed, disclosure.WontFix}

func (c *Console) reportsPage(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	status := strings.TrimSpace(r.URL.Query().Get("status"))
	v := &view{Title: "Vulnerability reports", Nav: "reports", Wide: true, Form: url.Values{"status": {status}}}
	d := reportsData{Status: status, Statuses: reportStatuses, Now: time.Now()}
	v.Data = d
	list, err := c.svc.ListReports(ctx, status)
	if err != nil {
		c.fail(w, r, "reports", v, err)
		return
	}
	d.Items = list
	v.Data = d
	c.render(w, r, http.StatusOK, "reports", v)
}

func (c *Console) reportView(w http.ResponseWriter, r *http.Request) (*view, bool) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return nil, false
	}
	rep, err := c.svc.GetReport(ctx, r.PathValue("report"))
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	d := reportData{Report: rep, Now: time.Now(), Severities: []incident.Severity{incident.Low, incident.Medium, incident.High, incident.Critical}}
	for _, s := range reportStatuses {
		if disclosure.CheckTransition(disclosure.Status(rep.Status), s) == nil {
			d.Next = append(d.Next, s)
		}
	}
	return &view{Title: rep.Title + " · Vulnerability reports", Nav: "reports", Wide: true, Data: d}, true
}

func (c *Console) reportPage(w http.ResponseWriter, r *http.Request) {
	v, ok := c.reportView(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "report", v)
}

func (c *Console) updateReport(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	id := r.PathValue("report")
	err := readForm(w, r)
	if err == nil {
		_, err = c.svc.UpdateReport(ctx, id, service.ReportUpdate{Status: r.PostFormValue("status"), Severity: r.PostFormValue("severity")})
	}
	if err != nil {
		v, ok := c.reportView(w, r)
		if !ok {
			return
		}
		v.Form = keep(r)
		c.fail(w, r, "report", v, err)
		return
	}
	redirect(w, r, "/operator/reports/"+url.PathEscape(id), "report-updated")
}
