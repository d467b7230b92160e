package web

import (
	"context"
	"net/http"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
)

// A collection's own retention policy (LIF-01), on its own page linked from
// the collection: keep records for N days from their creation, last change
// or a date field, or follow the organization's default.

type retentionData struct {
	Collection *strongroom.Collection
	Policy     strongroom.RetentionPolicy // the collection's own, zero when none
	Own        bool                       // the collection has its own policy
	Default    *strongroom.RetentionPolicy
	CanWrite   bool
}

func (c *Console) retentionView(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID) (*view, bool) {
	o, coll, ok := c.loadCollection(w, r, ctx, org)
	if !ok {
		return nil, false
	}
	d := retentionData{Collection: coll, CanWrite: can(ctx, access.CollectionsWrite, org)}
	if coll.Retention != nil {
		d.Policy, d.Own = *coll.Retention, true
	}
	if set, err := c.svc.OrgSettings(ctx, org); err == nil {
		d.Default = set.DefaultRetention
	}
	return &view{Title: "Retention of " + coll.Name + " · " + o.Organization.Name, Nav: "collections", Org: o, Data: d}, true
}

func (c *Console) retentionPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	v, ok := c.retentionView(w, r, ctx, org)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "retention", v)
}

func (c *Console) saveRetention(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	name := r.PathValue("coll")
	err := readForm(w, r)
	var p *strongroom.RetentionPolicy
	if err == nil && r.PostFormValue("mode") != "default" {
		var pol strongroom.RetentionPolicy
		if pol, err = retentionFromForm(r); err == nil {
			p = &pol // 0 days: the collection's own "keep", overriding the default
		}
	}
	if err == nil {
		_, err = c.svc.SetCollectionRetention(ctx, org, name, p)
	}
	if err != nil {
		v, ok := c.retentionView(w, r, ctx, org)
		if !ok {
			return
		}
		v.Form = keep(r)
		c.fail(w, r, "retention", v, err)
		return
	}
	redirect(w, r, collPath(org, name)+"/retention", "retention-saved")
}
