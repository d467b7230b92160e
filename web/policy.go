package web

import (
	"net/http"
	"net/url"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// Security-policy changes (INC-07; docs/trust.md "Policy changes"):
// operators publish a change (title, summary, effective date, the text
// and/or a link) and list the past ones; every organization's Admins are
// e-mailed, and read and acknowledge the changes here. Published changes
// are never edited: a correction is a new change.

// policyLong names the publish form's long fields: the summary and the text
// (the service allows 2,000 and 50,000 characters; the 64 KiB form limit
// still holds).
func policyLong(name string) bool { return name == "summary" || name == "body" }

type policyOpsData struct {
	Items []strongroom.PolicyChange
	Now   time.Time
}

func (c *Console) policyOpsView(w http.ResponseWriter, r *http.Request) (*view, bool) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return nil, false
	}
	list, err := c.svc.OperatorPolicyChanges(ctx)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	v := &view{Title: "Policy changes", Nav: "oppolicy", Wide: true, Data: policyOpsData{Items: list, Now: time.Now()}}
	people := make([]strongroom.UserID, 0, len(list))
	for _, pc := range list {
		people = append(people, pc.PublishedBy)
	}
	c.namePeople(ctx, v, people...)
	return v, true
}

func (c *Console) policyOpsPage(w http.ResponseWriter, r *http.Request) {
	if v, ok := c.policyOpsView(w, r); ok {
		c.render(w, r, http.StatusOK, "policyops", v)
	}
}

func (c *Console) publishPolicy(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	err := readFormLong(w, r, policyLong)
	if err == nil {
		err = required(r, "title", "summary")
	}
	var at time.Time
	if err == nil {
		at, err = formDate(r, "effective_at")
	}
	if err == nil {
		_, _, err = c.svc.PublishPolicyChange(ctx, service.PolicyChangeInput{Title: r.PostFormValue("title"), Summary: r.PostFormValue("summary"),
			Body: r.PostFormValue("body"), URL: r.PostFormValue("url"), EffectiveAt: at})
	}
	if err != nil {
		v, ok := c.policyOpsView(w, r)
		if !ok {
			return
		}
		v.Form = keep(r)
		c.fail(w, r, "policyops", v, err)
		return
	}
	redirect(w, r, "/operator/policy-changes", "policy-published")
}

type policyData struct {
	Base   string
	Items  []strongroom.PolicyChange
	Change *strongroom.PolicyChange
	CanAck bool
}

func policyPath(org strongroom.TenantID) string {
	return "/orgs/" + url.PathEscape(string(org)) + "/policy-changes"
}

// orgPolicyChanges loads the organization's view of the changes (audited
// as policy.list) for the list and the detail page; ok is false when an
// error page was written.
func (c *Console) orgPolicyChanges(w http.ResponseWriter, r *http.Request) (*view, *policyData, bool) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return nil, nil, false
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, nil, false
	}
	list, err := c.svc.PolicyChanges(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, nil, false
	}
	d := &policyData{Base: policyPath(org), Items: list, CanAck: can(ctx, access.NoticesAck, org)}
	return &view{Title: "Policy changes · " + o.Organization.Name, Nav: "policy", Org: o, Data: d}, d, true
}

func (c *Console) policyChangesPage(w http.ResponseWriter, r *http.Request) {
	if v, _, ok := c.orgPolicyChanges(w, r); ok {
		c.render(w, r, http.StatusOK, "policychanges", v)
	}
}

// policyChangePage shows one change. The service lists the changes with the
// organization's acknowledgements (audited); there is no separate read.
func (c *Console) policyChangePage(w http.ResponseWriter, r *http.Request) {
	v, d, ok := c.orgPolicyChanges(w, r)
	if !ok {
		return
	}
	id := r.PathValue("change")
	for i := range d.Items {
		if d.Items[i].ID == id {
			d.Change = &d.Items[i]
		}
	}
	if d.Change == nil {
		c.errorPage(w, r, strongroom.Errorf(strongroom.ENOTFOUND, "policy change not found"))
		return
	}
	v.Title = d.Change.Title + " · " + v.Title
	c.namePeople(r.Context(), v, d.Change.AcknowledgedBy)
	c.render(w, r, http.StatusOK, "policychange", v)
}

func (c *Console) acknowledgePolicy(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	id := r.PathValue("change")
	if _, err := c.svc.AcknowledgePolicyChange(ctx, org, id); err != nil {
		c.errorPage(w, r, err)
		return
	}
	redirect(w, r, policyPath(org)+"/"+url.PathEscape(id), "policy-acknowledged")
}
