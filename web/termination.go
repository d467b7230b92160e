package web

import (
	"context"
	"net/http"
	"net/url"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// Termination (LIF-03; docs/lifecycle.md): an Admin ends the organization by
// typing its name; during the return window its members lose access, its
// Admins keep this page (status, cancel) and the export; then the purge
// destroys its data and issues a deletion certificate.

type terminationData struct {
	Base   string
	Status *service.TerminationStatus
	Token  string // the certificate token, shown once right after terminating
}

func terminationPath(org strongroom.TenantID) string {
	return "/orgs/" + url.PathEscape(string(org)) + "/termination"
}

func (c *Console) terminationView(w http.ResponseWriter, r *http.Request) (*view, strongroom.TenantID, bool) {
	_, v, org, ok := c.terminationViewCtx(w, r)
	return v, org, ok
}

// terminationViewCtx is terminationView that also returns the organization's
// context from c.enterOrg.
func (c *Console) terminationViewCtx(w http.ResponseWriter, r *http.Request) (context.Context, *view, strongroom.TenantID, bool) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return nil, nil, "", false
	}
	st, err := c.svc.Termination(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, nil, "", false
	}
	v := &view{Title: "Terminate the organization", Nav: "settings", Data: terminationData{Base: terminationPath(org), Status: st}}
	if o, err := c.svc.Organization(ctx, org); err == nil { // not during the return window
		v.Org = o
	}
	if !st.None {
		c.nameActors(ctx, v, org, access.OrgTerminate, st.RequestedBy)
	}
	return ctx, v, org, true
}

func (c *Console) terminationPage(w http.ResponseWriter, r *http.Request) {
	v, _, ok := c.terminationView(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "termination", v)
}

func (c *Console) terminate(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	err := readForm(w, r)
	var st *service.TerminationStatus
	if err == nil {
		st, err = c.svc.TerminateOrg(ctx, org, service.TerminationInput{Confirm: r.PostFormValue("confirm")})
	}
	if err != nil {
		c.stepUpOr(w, r, err, func() {
			v, _, ok := c.terminationView(w, r)
			if !ok {
				return
			}
			v.Form = keep(r)
			c.fail(w, r, "termination", v, err)
		})
		return
	}
	// The certificate token is shown once, on this answer: no redirect.
	v := &view{Title: "Organization terminated", Data: terminationData{Base: terminationPath(org), Status: st, Token: st.Token}}
	c.nameActors(ctx, v, org, access.OrgTerminate, st.RequestedBy)
	c.render(w, r, http.StatusOK, "termination", v)
}

func (c *Console) cancelTermination(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	err := readForm(w, r)
	if err == nil {
		err = c.svc.CancelTermination(ctx, org)
	}
	if err != nil {
		c.stepUpOr(w, r, err, func() { c.errorPage(w, r, err) })
		return
	}
	redirect(w, r, terminationPath(org), "termination-cancelled")
}
