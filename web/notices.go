package web

import (
	"encoding/json"
	"net/http"
	"net/url"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/incident"
)

// Breach notices and post-incident reports (INC-02): the operators send
// them; an organization's Admins read and acknowledge them here. While a
// breach notice is unacknowledged, every page of the organization shows a
// banner (view.PendingNotices, filled by render).

type noticesData struct {
	Base  string
	Items []strongroom.IncidentNotice
}

type noticeData struct {
	Base    string
	Notice  *strongroom.IncidentNotice
	Breach  *incident.Notice // the five required elements of a breach notice
	CanAck  bool
	Pending bool
}

func (c *Console) noticesPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	list, err := c.svc.Notices(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "notices", &view{Title: "Notices · " + o.Organization.Name, Nav: "notices", Org: o,
		Data: noticesData{Base: noticesPath(org), Items: list}})
}

// noticePage shows one notice. The service lists notices (audited as
// "notice.list"); there is no separate read of one.
func (c *Console) noticePage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	list, err := c.svc.Notices(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	id := r.PathValue("notice")
	var n *strongroom.IncidentNotice
	for i := range list {
		if list[i].ID == id {
			n = &list[i]
		}
	}
	if n == nil {
		c.errorPage(w, r, strongroom.Errorf(strongroom.ENOTFOUND, "notice not found"))
		return
	}
	d := noticeData{Base: noticesPath(org), Notice: n, CanAck: can(ctx, access.NoticesAck, org), Pending: n.AcknowledgedAt == nil}
	if n.Kind == "breach" {
		var b incident.Notice
		if json.Unmarshal([]byte(n.Contents), &b) == nil {
			d.Breach = &b
		}
	}
	v := &view{Title: n.Title + " · " + o.Organization.Name, Nav: "notices", Org: o, Data: d}
	if n.AcknowledgedBy != nil {
		c.namePeople(ctx, v, *n.AcknowledgedBy)
	}
	c.render(w, r, http.StatusOK, "notice", v)
}

func (c *Console) acknowledgeNotice(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	id := r.PathValue("notice")
	if _, err := c.svc.AcknowledgeNotice(ctx, org, id); err != nil {
		c.errorPage(w, r, err)
		return
	}
	redirect(w, r, noticesPath(org)+"/"+url.PathEscape(id), "notice-acknowledged")
}

func noticesPath(org strongroom.TenantID) string {
	return "/orgs/" + url.PathEscape(string(org)) + "/notices"
}

// pendingNotices counts the unacknowledged breach notices of the
// organization in view, for the banner; only Admins are told. A failure
// shows no banner and is logged: the page itself still works.
func (c *Console) pendingNotices(r *http.Request, v *view) int {
	if v.Org == nil || v.Org.Role != strongroom.RoleAdmin {
		return 0
	}
	org := v.Org.Organization.ID
	p, err := c.svc.EnterOrg(r.Context(), org)
	if err != nil {
		return 0
	}
	n, err := c.svc.PendingNotices(strongroom.WithPrincipal(r.Context(), p), org)
	if err != nil {
		c.log.Warn("console: counting breach notices", "err", err, "request_id", p.RequestID)
		return 0
	}
	return n
}
