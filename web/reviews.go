package web

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/service"
)

// Access reviews (IAM-15; docs/trust.md "Access reviews"): an organization's
// Admins review its members, operators review the operator accounts. The
// same pages serve both: the campaigns with their progress and reminders,
// one campaign's entries (most privileged first) with keep or revoke each
// (a revoke asks for confirmation first: it removes the member at once),
// completing it, and the completed campaign's evidence as JSON or CSV. The
// service decides access and audits every read and change.

// reviewScope is whose access is reviewed: an organization, or the platform.
type reviewScope struct {
	Tenant strongroom.TenantID
	Base   string // the campaigns' path
	Org    *strongroom.OrgMembership
	Nav    string
	Name   string // what the reviewed accounts are called
}

// Operator reports whether the scope is the operators' review.
func (s reviewScope) Operator() bool { return s.Tenant == strongroom.PlatformTenant }

// enterReviews resolves the scope of a review page from its path and enters
// it (the organization with its policy, or the operator with MFA).
func (c *Console) enterReviews(w http.ResponseWriter, r *http.Request) (context.Context, reviewScope, bool) {
	if r.PathValue("org") == "" {
		ctx, ok := c.enterOperator(w, r)
		return ctx, reviewScope{Tenant: strongroom.PlatformTenant, Base: "/operator/access-reviews", Nav: "opreviews", Name: "operator accounts"}, ok
	}
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return nil, reviewScope{}, false
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, reviewScope{}, false
	}
	return ctx, reviewScope{Tenant: org, Base: "/orgs/" + url.PathEscape(string(org)) + "/access-reviews", Org: o, Nav: "reviews", Name: "members"}, true
}

func (s reviewScope) view(title string, data any) *view {
	if s.Org != nil {
		title += " · " + s.Org.Organization.Name
	}
	return &view{Title: title, Nav: s.Nav, Org: s.Org, Wide: true, Data: data}
}

type reviewsData struct {
	Scope reviewScope
	Items []reviewRow
}

type reviewRow struct {
	strongroom.ReviewCampaign
	Overdue bool
}

func (c *Console) reviewsPage(w http.ResponseWriter, r *http.Request) {
	ctx, sc, ok := c.enterReviews(w, r)
	if !ok {
		return
	}
	c.showReviews(w, r, ctx, sc, http.StatusOK, nil)
}

// showReviews renders the campaigns, with err (a refused "open a
// campaign") above the list when set.
func (c *Console) showReviews(w http.ResponseWriter, r *http.Request, ctx context.Context, sc reviewScope, status int, failed error) {
	list, err := c.svc.AccessReviews(ctx, sc.Tenant)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	d := reviewsData{Scope: sc}
	now := time.Now()
	for _, cp := range list {
		d.Items = append(d.Items, reviewRow{ReviewCampaign: cp, Overdue: cp.CompletedAt == nil && now.After(cp.DueAt)})
	}
	v := sc.view("Access reviews", d)
	var people []strongroom.UserID
	for _, cp := range list {
		people = append(people, cp.OpenedBy, cp.CompletedBy)
	}
	c.namePeople(ctx, v, people...)
	if failed != nil {
		c.fail(w, r, "reviews", v, failed)
		return
	}
	c.render(w, r, status, "reviews", v)
}

func (c *Console) openReview(w http.ResponseWriter, r *http.Request) {
	ctx, sc, ok := c.enterReviews(w, r)
	if !ok {
		return
	}
	err := readForm(w, r)
	var d *service.ReviewDetail
	if err == nil {
		d, err = c.svc.OpenAccessReview(ctx, sc.Tenant)
	}
	if err != nil {
		c.showReviews(w, r, ctx, sc, 0, err)
		return
	}
	redirect(w, r, sc.Base+"/"+url.PathEscape(d.ID), "review-opened")
}

type reviewData struct {
	Scope     reviewScope
	Review    *service.ReviewDetail
	Self      strongroom.UserID
	Clients   map[strongroom.ClientID]string // names of the organization's clients
	Undecided int                            // entries without a decision
	Overdue   bool
	// Confirm is the entry a revoke waits to be confirmed for, with the note
	// typed.
	Confirm *strongroom.ReviewEntry
	Note    string
	// SoleReviewer is set when the snapshot holds one reviewer (one Admin,
	// one operator): their own entry is recorded at completion as kept
	// without an independent review.
	SoleReviewer bool
}

// ClientName names a client assignment (the id when the client is gone).
func (d reviewData) ClientName(id strongroom.ClientID) string {
	if n, ok := d.Clients[id]; ok {
		return n
	}
	return string(id)
}

// LastActivity is the latest of an entry's last session and last API key use.
func (d reviewData) LastActivity(e strongroom.ReviewEntry) *time.Time {
	switch {
	case e.LastSessionAt == nil:
		return e.LastKeyUseAt
	case e.LastKeyUseAt == nil || e.LastSessionAt.After(*e.LastKeyUseAt):
		return e.LastSessionAt
	}
	return e.LastKeyUseAt
}

func (c *Console) reviewView(ctx context.Context, sc reviewScope, id string) (*view, *reviewData, error) {
	rv, err := c.svc.AccessReview(ctx, sc.Tenant, id, false)
	if err != nil {
		return nil, nil, err
	}
	d := &reviewData{Scope: sc, Review: rv, Self: strongroom.PrincipalFrom(ctx).UserID, Clients: map[strongroom.ClientID]string{},
		Overdue: rv.CompletedAt == nil && time.Now().After(rv.DueAt)}
	reviewers := 0
	for _, e := range rv.Entries {
		if e.Decision == "" {
			d.Undecided++
		}
		if e.Role == string(strongroom.RoleAdmin) || e.Role == "operator" {
			reviewers++
		}
	}
	d.SoleReviewer = reviewers <= 1
	if !sc.Operator() {
		cls, err := c.svc.Clients(ctx, sc.Tenant)
		if err != nil {
			return nil, nil, err
		}
		for _, cl := range cls {
			d.Clients[cl.ID] = cl.Name
		}
	}
	v := sc.view("Access review "+rv.OpenedAt.UTC().Format("2 Jan 2006"), d)
	people := []strongroom.UserID{rv.OpenedBy, rv.CompletedBy}
	for _, e := range rv.Entries {
		people = append(people, e.DecidedBy)
	}
	c.namePeople(ctx, v, people...)
	return v, d, nil
}

func (c *Console) reviewPage(w http.ResponseWriter, r *http.Request) {
	ctx, sc, ok := c.enterReviews(w, r)
	if !ok {
		return
	}
	v, _, err := c.reviewView(ctx, sc, r.PathValue("campaign"))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "review", v)
}

// decideReview keeps or revokes one entry. A revoke is only carried out
// with confirm=yes: without it the page asks, naming what the revoke does,
// and nothing is written.
func (c *Console) decideReview(w http.ResponseWriter, r *http.Request) {
	ctx, sc, ok := c.enterReviews(w, r)
	if !ok {
		return
	}
	id, user := r.PathValue("campaign"), strongroom.UserID(r.PathValue("user"))
	back := sc.Base + "/" + url.PathEscape(id)
	err := readForm(w, r)
	decision := r.PostFormValue("decision")
	// Ask before a revoke. (A decision on one's own entry goes straight to
	// the service, which refuses it.)
	if err == nil && decision == strongroom.ReviewRevoke && r.PostFormValue("confirm") != "yes" && user != strongroom.PrincipalFrom(ctx).UserID {
		v, d, err := c.reviewView(ctx, sc, id)
		if err != nil {
			c.errorPage(w, r, err)
			return
		}
		for i := range d.Review.Entries {
			if e := d.Review.Entries[i]; e.UserID == user && e.Decision == "" {
				d.Confirm = &d.Review.Entries[i]
			}
		}
		if d.Confirm == nil {
			c.errorPage(w, r, strongroom.Errorf(strongroom.ENOTFOUND, "no undecided entry for this account in the campaign"))
			return
		}
		d.Note = r.PostFormValue("note")
		v.Title = "Revoke access? · " + v.Title
		c.render(w, r, http.StatusOK, "reviewrevoke", v)
		return
	}
	if err == nil {
		_, err = c.svc.DecideAccessReview(ctx, sc.Tenant, id, user, decision, r.PostFormValue("note"))
	}
	if err != nil {
		c.stepUpOr(w, r, err, func() {
			v, _, verr := c.reviewView(ctx, sc, id)
			if verr != nil {
				c.errorPage(w, r, verr)
				return
			}
			v.Form = keep(r)
			v.Form.Set("user", string(user))
			c.fail(w, r, "review", v, err)
		})
		return
	}
	flash := "review-kept"
	if decision == strongroom.ReviewRevoke {
		flash = "review-revoked"
	}
	redirect(w, r, back, flash)
}

func (c *Console) completeReview(w http.ResponseWriter, r *http.Request) {
	ctx, sc, ok := c.enterReviews(w, r)
	if !ok {
		return
	}
	id := r.PathValue("campaign")
	err := readForm(w, r)
	if err == nil {
		_, err = c.svc.CompleteAccessReview(ctx, sc.Tenant, id)
	}
	if err != nil {
		v, _, verr := c.reviewView(ctx, sc, id)
		if verr != nil {
			c.errorPage(w, r, verr)
			return
		}
		c.fail(w, r, "review", v, err)
		return
	}
	redirect(w, r, sc.Base+"/"+url.PathEscape(id), "review-completed")
}

// exportReview downloads a campaign's evidence, in the API's JSON or CSV
// (format=csv). Audited as access_review.export.
func (c *Console) exportReview(w http.ResponseWriter, r *http.Request) {
	ctx, sc, ok := c.enterReviews(w, r)
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		c.errorPage(w, r, strongroom.Errorf(strongroom.EINVALID, "the format must be json or csv"))
		return
	}
	d, err := c.svc.AccessReview(ctx, sc.Tenant, r.PathValue("campaign"), true)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	var buf bytes.Buffer
	ct, ext := "application/json", "json"
	if format == "csv" {
		ct, ext = "text/csv; charset=utf-8", "csv"
		err = service.WriteReviewCSV(&buf, d)
	} else {
		err = httpapi.WriteReviewJSON(&buf, d)
	}
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="access-review-`+d.ID+"."+ext+`"`)
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(buf.Bytes()); err != nil && r.Context().Err() == nil {
		c.log.Warn("console: writing an access review export", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
	}
}
