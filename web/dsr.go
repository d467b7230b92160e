package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// Data-subject requests (LIF-02; docs/lifecycle.md): an Admin finds a
// person's records through the searchable fields, sees the matches and the
// deadline, and carries the request out — export, delete, restrict or lift —
// after confirming. The service audits every step.

// dsrIdentifiers is how many field/value pairs the request form offers.
const dsrIdentifiers = 3

type dsrListData struct {
	Base     string
	Items    []strongroom.DSR
	Kinds    []dsrKind
	Rows     []int
	Now      time.Time
	Searches []string // searchable fields of the organization's collections, as hints
}

type dsrKind struct{ Value, Label string }

var dsrKinds = []dsrKind{
	{strongroom.DSRExport, "Export: hand the records over as JSON"},
	{strongroom.DSRRestrict, "Restrict: hide the records from everyone but Admins"},
	{strongroom.DSRLift, "Lift: end a restriction"},
	{strongroom.DSRDelete, "Delete: erase the records"},
}

type dsrData struct {
	Base    string
	Request *strongroom.DSR
	Overdue bool
}

func dsrPath(org strongroom.TenantID) string {
	return "/orgs/" + url.PathEscape(string(org)) + "/requests"
}

func (c *Console) dsrListView(w http.ResponseWriter, r *http.Request) (*view, bool) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return nil, false
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	list, err := c.svc.DSRs(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	d := dsrListData{Base: dsrPath(org), Items: list, Kinds: dsrKinds, Now: time.Now()}
	for i := range dsrIdentifiers {
		d.Rows = append(d.Rows, i)
	}
	if colls, err := c.svc.Collections(ctx, org); err == nil {
		seen := map[string]bool{}
		for _, col := range colls {
			for _, f := range col.Searchable {
				if !seen[f] {
					seen[f] = true
					d.Searches = append(d.Searches, f)
				}
			}
		}
	}
	return &view{Title: "Data-subject requests · " + o.Organization.Name, Nav: "requests", Org: o, Wide: true, Data: d}, true
}

func (c *Console) dsrListPage(w http.ResponseWriter, r *http.Request) {
	v, ok := c.dsrListView(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "requests", v)
}

// createDSR opens a request from the form: a kind and up to dsrIdentifiers
// field/value pairs. Values are looked up as text, as the people's records
// hold e-mail addresses and names.
func (c *Console) createDSR(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	fail := func(err error) {
		v, ok := c.dsrListView(w, r)
		if !ok {
			return
		}
		v.Form = keep(r)
		c.fail(w, r, "requests", v, err)
	}
	if err := readForm(w, r); err != nil {
		fail(err)
		return
	}
	in := service.DSRInput{Kind: r.PostFormValue("kind")}
	for i := range dsrIdentifiers {
		f := strings.TrimSpace(r.PostFormValue("field" + strconv.Itoa(i)))
		val := r.PostFormValue("value" + strconv.Itoa(i))
		if f == "" && val == "" {
			continue
		}
		if f == "" {
			fail(fieldError("/field"+strconv.Itoa(i), "name the searchable field that holds this value"))
			return
		}
		if val == "" {
			fail(fieldError("/value"+strconv.Itoa(i), "is required"))
			return
		}
		b, _ := json.Marshal(val)
		in.Identifiers = append(in.Identifiers, service.Identifier{Field: f, Value: b})
	}
	if len(in.Identifiers) == 0 {
		fail(fieldError("/field0", "name at least one searchable field and the person's value in it"))
		return
	}
	d, err := c.svc.CreateDSR(ctx, org, in)
	if err != nil {
		fail(dsrFieldError(err))
		return
	}
	redirect(w, r, dsrPath(org)+"/"+url.PathEscape(d.ID), "dsr-opened")
}

// dsrFieldError puts the service's "/identifiers/N/field" messages beside
// the form's fieldN and valueN.
func dsrFieldError(err error) error {
	fields := strongroom.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	out := strongroom.Errorf(strongroom.EVALIDATION, "the form is not valid")
	for _, f := range fields {
		p := f.Path
		if rest, ok := strings.CutPrefix(p, "/identifiers/"); ok {
			if i, name, ok := strings.Cut(rest, "/"); ok {
				p = "/" + name + i
			} else {
				p = "/field0"
			}
		}
		if p == "/identifiers" {
			p = "/field0"
		}
		out.Fields = append(out.Fields, strongroom.FieldError{Path: p, Message: f.Message})
	}
	return out
}

func (c *Console) dsrPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	d, err := c.svc.DSR(ctx, org, r.PathValue("request"))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	v := &view{Title: "Data-subject request · " + o.Organization.Name, Nav: "requests", Org: o,
		Data: dsrData{Base: dsrPath(org), Request: d, Overdue: d.Status == strongroom.DSROpen && time.Now().After(d.Deadline)}}
	c.nameActors(ctx, v, org, access.DataSubjectRequests, d.RequestedBy)
	c.render(w, r, http.StatusOK, "request", v)
}

// executeDSR carries the request out once the Admin has ticked the
// confirmation. An export answers with the records as a JSON download.
func (c *Console) executeDSR(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	id := r.PathValue("request")
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		o, err := c.svc.Organization(ctx, org)
		if err != nil {
			c.errorPage(w, r, err)
			return
		}
		d, err := c.svc.DSR(ctx, org, id)
		if err != nil {
			c.errorPage(w, r, err)
			return
		}
		v := &view{Title: "Data-subject request · " + o.Organization.Name, Nav: "requests", Org: o,
			Data: dsrData{Base: dsrPath(org), Request: d}}
		c.nameActors(ctx, v, org, access.DataSubjectRequests, d.RequestedBy)
		c.fail(w, r, "request", v, fieldError("/confirm", "tick the box to confirm"))
		return
	}
	d, export, err := c.svc.ExecuteDSR(ctx, org, id)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	if d.Kind == strongroom.DSRExport {
		b, err := json.MarshalIndent(map[string]any{"request": d.ID, "records": export}, "", "  ")
		if err != nil {
			c.errorPage(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Disposition", `attachment; filename="data-subject-request-`+d.ID+`.json"`)
		_, _ = w.Write(b)
		return
	}
	redirect(w, r, dsrPath(org)+"/"+url.PathEscape(id), "dsr-done")
}
