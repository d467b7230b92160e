package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// Collections: the list, creating one (name, JSON Schema, searchable
// fields), and a collection's schema.

type collectionsData struct {
	Collections []strongroom.Collection
	CanCreate   bool
	Example     string
}

// exampleSchema fills an empty schema field: a small, valid start.
const exampleSchema = `{
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "email": {"type": "string"},
    "plan": {"enum": ["free", "pro"]},
    "active": {"type": "boolean"}
  },
  "required": ["name"]
}`

func orgPath(org strongroom.TenantID) string { return "/orgs/" + url.PathEscape(string(org)) }

func collPath(org strongroom.TenantID, coll string) string {
	return orgPath(org) + "/collections/" + url.PathEscape(coll)
}

func (c *Console) collectionsView(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID) (*view, bool) {
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	list, err := c.svc.Collections(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	return &view{Title: "Collections · " + o.Organization.Name, Nav: "collections", Org: o, Wide: true,
		Data: collectionsData{Collections: list, CanCreate: can(ctx, access.CollectionsWrite, org), Example: exampleSchema}}, true
}

func (c *Console) collectionsPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if v, ok := c.collectionsView(w, r, ctx, org); ok {
		c.render(w, r, http.StatusOK, "collections", v)
	}
}

func (c *Console) createCollection(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	err := readFormLong(w, r, func(name string) bool { return name == "schema" })
	var coll *strongroom.Collection
	if err == nil {
		err = required(r, "name", "schema")
	}
	if err == nil {
		in := service.CollectionInput{Name: strings.TrimSpace(r.PostFormValue("name")), Schema: []byte(r.PostFormValue("schema")),
			Searchable: strings.FieldsFunc(r.PostFormValue("searchable"), func(r rune) bool {
				return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
			})}
		coll, err = c.svc.CreateCollection(ctx, org, in)
	}
	if err != nil {
		c.stepUpOr(w, r, err, func() {
			if v, ok := c.collectionsView(w, r, ctx, org); ok {
				v.Form = keep(r)
				c.fail(w, r, "collections", v, err)
			}
		})
		return
	}
	redirect(w, r, collPath(org, coll.Name), "collection-created")
}

type schemaData struct {
	Collection *strongroom.Collection
	Schema     string
	Props      []schemaProp
}

func (c *Console) schemaPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	o, coll, ok := c.loadCollection(w, r, ctx, org)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "schema", &view{Title: coll.Name + " schema · " + o.Organization.Name, Nav: "collections", Org: o,
		Data: schemaData{Collection: coll, Schema: indentJSON(coll.Schema), Props: schemaProps(coll.Schema)}})
}

// loadCollection loads the organization and the collection in the path.
func (c *Console) loadCollection(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID) (*strongroom.OrgMembership, *strongroom.Collection, bool) {
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, nil, false
	}
	coll, err := c.svc.Collection(ctx, org, r.PathValue("coll"))
	if err != nil {
		c.errorPage(w, r, err)
		return nil, nil, false
	}
	return o, coll, true
}

func indentJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}
