package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
)

// Clients (IAM-09): the organization's sub-accounts. Everyone sees the
// clients they may see (an Editor or Viewer limited to clients sees only
// those); Admins add, rename and delete them. Deleting asks first, on a page
// of its own, so the confirmation works without script. Which members are
// limited to which clients is set on the members page.

type clientsData struct {
	Clients   []strongroom.Client
	CanManage bool // clients.write
	// Assigned counts, per client, the members limited to it; shown when
	// ShowAssigned (members.read: Admins).
	Assigned     map[strongroom.ClientID]int
	ShowAssigned bool
}

func clientsPath(org strongroom.TenantID) string {
	return "/orgs/" + url.PathEscape(string(org)) + "/clients"
}

// clientsView loads the clients page; ok is false when an error page was
// written.
func (c *Console) clientsView(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID) (*view, bool) {
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	list, err := c.svc.Clients(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	d := clientsData{Clients: list, CanManage: can(ctx, access.ClientsWrite, org)}
	if can(ctx, access.MembersRead, org) {
		members, err := c.svc.Members(ctx, org)
		if err != nil {
			c.errorPage(w, r, err)
			return nil, false
		}
		d.Assigned, d.ShowAssigned = map[strongroom.ClientID]int{}, true
		for _, m := range members {
			for _, id := range m.Clients {
				d.Assigned[id]++
			}
		}
	}
	return &view{Title: "Clients · " + o.Organization.Name, Nav: "clients", Org: o, Data: d, Wide: true}, true
}

func (c *Console) clientsPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if v, ok := c.clientsView(w, r, ctx, org); ok {
		c.render(w, r, http.StatusOK, "clients", v)
	}
}

// clientAction runs one clients-page form: on a failure the page is shown
// again with the message beside the field (a rename's beside that client's),
// on success the browser goes back with flash.
func (c *Console) clientAction(flash string, act func(ctx context.Context, r *http.Request, org strongroom.TenantID) error) http.HandlerFunc {
	return c.formAction(orgFormPage{template: "clients", path: clientsPath, view: c.clientsView, rowParam: "client", rowField: "client"}, flash, act)
}

func (c *Console) createClient(ctx context.Context, r *http.Request, org strongroom.TenantID) error {
	if err := required(r, "name"); err != nil {
		return err
	}
	_, err := c.svc.CreateClient(ctx, org, r.PostFormValue("name"))
	return err
}

func (c *Console) renameClient(ctx context.Context, r *http.Request, org strongroom.TenantID) error {
	if err := required(r, "name"); err != nil {
		return err
	}
	_, err := c.svc.RenameClient(ctx, org, strongroom.ClientID(r.PathValue("client")), r.PostFormValue("name"))
	return err
}

type clientDeleteData struct {
	Client   *strongroom.Client
	Assigned []string // e-mail addresses of the members limited to it
}

// deleteClientView loads the confirmation page for deleting a client.
func (c *Console) deleteClientView(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID) (*view, bool) {
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	id := strongroom.ClientID(r.PathValue("client"))
	if !can(ctx, access.ClientsWrite, org) {
		c.errorPage(w, r, strongroom.Errorf(strongroom.EFORBIDDEN, "your role does not allow this"))
		return nil, false
	}
	cl, err := c.svc.Client(ctx, org, id)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	d := clientDeleteData{Client: cl}
	members, err := c.svc.Members(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	for _, m := range members {
		if slices.Contains(m.Clients, id) {
			d.Assigned = append(d.Assigned, m.Email)
		}
	}
	return &view{Title: "Delete " + cl.Name + " · Clients", Nav: "clients", Org: o, Data: d}, true
}

func (c *Console) deleteClientPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if v, ok := c.deleteClientView(w, r, ctx, org); ok {
		c.render(w, r, http.StatusOK, "clientdelete", v)
	}
}

// deleteClient deletes a client after the confirmation page. A client that
// still owns records is refused, and the page says so.
func (c *Console) deleteClient(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	if err := c.svc.DeleteClient(ctx, org, strongroom.ClientID(r.PathValue("client"))); err != nil {
		if v, ok := c.deleteClientView(w, r, ctx, org); ok {
			c.fail(w, r, "clientdelete", v, err)
		}
		return
	}
	redirect(w, r, clientsPath(org), "client-deleted")
}
