package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/incident"
	"strongroom.dev/strongroom/service"
)

// Incidents (INC-01, INC-02; docs/trust.md) for operators signed in with MFA:
// open one with its classification, follow it through the phases with notes,
// link the affected organizations, send the breach notice with its five
// elements, and publish the post-incident report. The service audits every
// read and change in the platform's log.

// incidentLong names the incident forms' fields that may be long (notes, the
// notice's elements, the report); the 64 KiB form limit still holds.
func incidentLong(name string) bool {
	switch name {
	case "note", "organizations", "nature", "data_affected", "likely_impact", "mitigation", "contact", "report":
		return true
	}
	return false
}

type incidentsData struct {
	Items      []strongroom.Incident
	Kinds      []incident.Kind
	Severities []incident.Severity
	Now        time.Time
}

type incidentData struct {
	Incident *service.IncidentDetail
	Next     string // the phase after the current one, "" in Review
	// Unnotified counts the linked organizations the breach notice has not
	// reached yet: the notice form shows while there are any.
	Unnotified int
	Now        time.Time
}

func incidentsView(items []strongroom.Incident) *view {
	return &view{Title: "Incidents", Nav: "incidents", Wide: true, Data: incidentsData{Items: items, Now: time.Now(),
		Kinds: []incident.Kind{incident.Security, incident.Availability}, Severities: []incident.Severity{incident.Low, incident.Medium, incident.High, incident.Critical}}}
}

func (c *Console) incidentsPage(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	list, err := c.svc.ListIncidents(ctx)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "incidents", incidentsView(list))
}

func (c *Console) createIncident(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	fail := func(err error) {
		list, lerr := c.svc.ListIncidents(ctx)
		if lerr != nil {
			c.errorPage(w, r, lerr)
			return
		}
		v := incidentsView(list)
		v.Form = keep(r)
		c.fail(w, r, "incidents", v, err)
	}
	if err := readFormLong(w, r, incidentLong); err != nil {
		fail(err)
		return
	}
	in := service.IncidentInput{Title: r.PostFormValue("title"), Note: r.PostFormValue("note"),
		Class: incident.Classification{Kind: incident.Kind(r.PostFormValue("kind")), Severity: incident.Severity(r.PostFormValue("severity")),
			Breach: r.PostFormValue("personal_data_breach") == "on"}}
	if s := strings.TrimSpace(r.PostFormValue("aware_at")); s != "" {
		t, err := auditTime("aware_at", s)
		if err != nil {
			fail(err)
			return
		}
		at, _ := time.Parse(time.RFC3339, t)
		in.AwareAt = &at
	}
	in.Orgs = orgList(r.PostFormValue("organizations"))
	d, err := c.svc.CreateIncident(ctx, in)
	if err != nil {
		fail(err)
		return
	}
	redirect(w, r, "/operator/incidents/"+url.PathEscape(d.ID), "incident-opened")
}

// orgList reads organization ids, one a line (or separated by commas or
// spaces).
func orgList(s string) []strongroom.TenantID {
	var out []strongroom.TenantID
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t' }) {
		out = append(out, strongroom.TenantID(f))
	}
	return out
}

func (c *Console) incidentView(ctx context.Context, id string) (*view, error) {
	d, err := c.svc.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	next, _ := incident.Phase(d.Phase).Next()
	data := incidentData{Incident: d, Next: string(next), Now: time.Now()}
	for _, o := range d.Orgs {
		if o.NotifiedAt == nil {
			data.Unnotified++
		}
	}
	return &view{Title: d.Title + " · Incidents", Nav: "incidents", Wide: true, Data: data}, nil
}

func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	v, err := c.incidentView(ctx, r.PathValue("incident"))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "incident", v)
}

// incidentForm runs one of the incident page's forms; a refusal shows the
// page again with the message beside the field and the typed text kept.
func (c *Console) incidentForm(flash string, do func(ctx context.Context, id string, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, ok := c.enterOperator(w, r)
		if !ok {
			return
		}
		id := r.PathValue("incident")
		err := readFormLong(w, r, incidentLong)
		if err == nil {
			err = do(ctx, id, r)
		}
		if err != nil {
			v, verr := c.incidentView(ctx, id)
			if verr != nil {
				c.errorPage(w, r, verr)
				return
			}
			v.Form = keep(r)
			c.fail(w, r, "incident", v, err)
			return
		}
		redirect(w, r, "/operator/incidents/"+url.PathEscape(id), flash)
	}
}

func (c *Console) updateIncident(ctx context.Context, id string, r *http.Request) error {
	_, err := c.svc.UpdateIncident(ctx, id, service.IncidentUpdateInput{Phase: r.PostFormValue("phase"), Note: r.PostFormValue("note")})
	return err
}

func (c *Console) linkIncidentOrgs(ctx context.Context, id string, r *http.Request) error {
	_, err := c.svc.LinkIncidentOrgs(ctx, id, orgList(r.PostFormValue("organizations")))
	return err
}

func (c *Console) notifyBreach(ctx context.Context, id string, r *http.Request) error {
	_, err := c.svc.NotifyBreach(ctx, id, incident.Notice{Nature: r.PostFormValue("nature"), DataAffected: r.PostFormValue("data_affected"),
		LikelyImpact: r.PostFormValue("likely_impact"), Mitigation: r.PostFormValue("mitigation"), Contact: r.PostFormValue("contact")})
	return err
}

func (c *Console) publishReport(ctx context.Context, id string, r *http.Request) error {
	return c.svc.PublishReport(ctx, id, r.PostFormValue("report"))
}
