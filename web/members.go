package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// Members: the organization's people, their roles, invitations, and for
// Admins each member's sessions with "sign out everywhere". The service
// decides every action; the page only hides what the role cannot do.

type membersData struct {
	Members     []strongroom.Membership
	Invitations []strongroom.Invitation
	CanManage   bool // members.write
	CanInvite   bool // invitations.write
	Self        strongroom.UserID
	Roles       []strongroom.Role
	// Clients are the organization's clients (members.write only: the
	// assignment forms); ClientNames names them for the members' rows.
	Clients     []strongroom.Client
	ClientNames map[strongroom.ClientID]string
}

// assigned reports whether the member is limited to the client.
func (m membersData) Assigned(member strongroom.Membership, id strongroom.ClientID) bool {
	return slices.Contains(member.Clients, id)
}

var roles = []strongroom.Role{strongroom.RoleAdmin, strongroom.RoleEditor, strongroom.RoleViewer}

func can(ctx context.Context, perm access.Permission, org strongroom.TenantID) bool {
	return access.Decide(strongroom.PrincipalFrom(ctx), perm, access.Resource{Tenant: org}) == access.Allow
}

// membersView loads the members page; ok is false when an error page was
// written.
func (c *Console) membersView(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID) (*view, bool) {
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	list, err := c.svc.Members(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	d := membersData{Members: list, CanManage: can(ctx, access.MembersWrite, org), CanInvite: can(ctx, access.InvitationsWrite, org),
		Self: strongroom.PrincipalFrom(ctx).UserID, Roles: roles}
	if can(ctx, access.ClientsRead, org) {
		cl, err := c.svc.Clients(ctx, org)
		if err != nil {
			c.errorPage(w, r, err)
			return nil, false
		}
		d.ClientNames = make(map[strongroom.ClientID]string, len(cl))
		for _, x := range cl {
			d.ClientNames[x.ID] = x.Name
		}
		if d.CanManage || d.CanInvite {
			d.Clients = cl
		}
	}
	if can(ctx, access.InvitationsRead, org) {
		invs, err := c.svc.Invitations(ctx, org)
		if err != nil {
			c.errorPage(w, r, err)
			return nil, false
		}
		for _, inv := range invs {
			if inv.AcceptedAt == nil && inv.RevokedAt == nil {
				d.Invitations = append(d.Invitations, inv)
			}
		}
	}
	return &view{Title: "Members · " + o.Organization.Name, Nav: "members", Org: o, Data: d, Wide: true}, true
}

func (c *Console) membersPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if v, ok := c.membersView(w, r, ctx, org); ok {
		c.render(w, r, http.StatusOK, "members", v)
	}
}

func membersPath(org strongroom.TenantID) string {
	return "/orgs/" + url.PathEscape(string(org)) + "/members"
}

// memberAction runs one members-page form: on a failure the page is shown
// again with the messages beside that member's row (or a step-up is asked
// for), on success the browser goes back with flash.
func (c *Console) memberAction(flash string, act func(ctx context.Context, r *http.Request, org strongroom.TenantID) error) http.HandlerFunc {
	return c.formAction(orgFormPage{template: "members", path: membersPath, view: c.membersView, rowParam: "user", rowField: "member", stepUp: true}, flash, act)
}

func (c *Console) invite(ctx context.Context, r *http.Request, org strongroom.TenantID) error {
	if err := required(r, "email"); err != nil {
		return err
	}
	_, err := c.svc.Invite(ctx, org, service.InvitationInput{Email: r.PostFormValue("email"), Role: strongroom.Role(r.PostFormValue("role")),
		Clients: formClients(r)})
	return err
}

// maxFormClients bounds the client boxes one form may tick (the service
// allows 1,000 assignments; the form limit of 64 KiB holds them).
const maxFormClients = 1000

// formClients reads the ticked client boxes (client_ids, repeated).
func formClients(r *http.Request) []strongroom.ClientID {
	vals := r.PostForm["client_ids"]
	out := make([]strongroom.ClientID, 0, len(vals))
	for _, v := range vals {
		if v != "" {
			out = append(out, strongroom.ClientID(v))
		}
	}
	return out
}

// setMemberClients limits an Editor or Viewer to the ticked clients; none
// ticked lifts the limit (the member sees every client).
func (c *Console) setMemberClients(ctx context.Context, r *http.Request, org strongroom.TenantID) error {
	ids := formClients(r)
	if len(ids) > maxFormClients {
		return fieldError("/client_ids", fmt.Sprintf("at most %d clients", maxFormClients))
	}
	_, err := c.svc.SetMemberClients(ctx, org, strongroom.UserID(r.PathValue("user")), ids)
	return err
}

func (c *Console) revokeInvitation(ctx context.Context, r *http.Request, org strongroom.TenantID) error {
	return c.svc.RevokeInvitation(ctx, org, strongroom.InvitationID(r.PathValue("invitation")))
}

func (c *Console) setRole(ctx context.Context, r *http.Request, org strongroom.TenantID) error {
	role := strongroom.Role(r.PostFormValue("role"))
	if !role.Valid() {
		return fieldError("/role", "must be one of admin, editor, viewer")
	}
	_, err := c.svc.SetMemberRole(ctx, org, strongroom.UserID(r.PathValue("user")), role)
	return err
}

func (c *Console) removeMember(ctx context.Context, r *http.Request, org strongroom.TenantID) error {
	return c.svc.RemoveMember(ctx, org, strongroom.UserID(r.PathValue("user")))
}

// memberRemovePage asks before removing a member (the POST does it).
func (c *Console) memberRemovePage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if !can(ctx, access.MembersWrite, org) {
		c.errorPage(w, r, strongroom.Errorf(strongroom.EFORBIDDEN, "your role does not allow this"))
		return
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	m, err := c.svc.Member(ctx, org, strongroom.UserID(r.PathValue("user")))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "memberremove", &view{Title: "Remove " + m.Email, Nav: "members", Org: o, Data: m})
}

type memberSessionsData struct {
	Member   *strongroom.Membership
	Sessions []service.SessionInfo
}

func (c *Console) memberSessionsPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	user := strongroom.UserID(r.PathValue("user"))
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	m, err := c.svc.Member(ctx, org, user)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	list, err := c.svc.MemberSessions(ctx, org, user)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "membersessions", &view{Title: "Sessions of " + m.Email, Nav: "members", Org: o,
		Data: memberSessionsData{Member: m, Sessions: list}, Wide: true})
}

func (c *Console) endMemberSessions(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	user := strongroom.UserID(r.PathValue("user"))
	if _, err := c.svc.EndMemberSessions(ctx, org, user); err != nil {
		c.errorPage(w, r, err)
		return
	}
	if user == strongroom.PrincipalFrom(ctx).UserID {
		clearSession(w)
		redirect(w, r, "/signin", "signed-out")
		return
	}
	redirect(w, r, membersPath(org)+"/"+url.PathEscape(string(user))+"/sessions", "member-signed-out")
}
