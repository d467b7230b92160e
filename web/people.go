package web

import (
	"context"
	"strings"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// People named on a page (who opened a review, acknowledged a notice,
// published a policy change, requested a termination) are shown by e-mail
// address, not by account id: the handler resolves the ids it shows
// (namePeople) and the template writes {{$.Person .SomeoneBy}}.

// namePeople resolves ids for v.Person. A failure is logged and the page
// shows the ids: naming people is not worth refusing the page.
func (c *Console) namePeople(ctx context.Context, v *view, ids ...strongroom.UserID) {
	names, err := c.svc.Emails(ctx, ids...)
	if err != nil {
		c.log.Warn("console: naming the people on a page", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
		return
	}
	if v.People == nil {
		v.People = names
		return
	}
	for id, n := range names {
		v.People[id] = n
	}
}

// Person names an account for people: its e-mail address, "deleted
// account" when it no longer exists, or its id when it was not resolved. id
// is a strongroom.UserID, a pointer to one, or a string holding one.
func (v *view) Person(id any) string {
	var u strongroom.UserID
	switch x := id.(type) {
	case strongroom.UserID:
		u = x
	case *strongroom.UserID:
		if x != nil {
			u = *x
		}
	case string:
		u = strongroom.UserID(x)
	}
	if n, ok := v.People[u]; ok {
		return n
	}
	return string(u)
}

// Actors named on a page (who opened a data-subject request, who terminated
// the organization) are recorded as actor ids: a user, an API key, an
// operator or the system. The handler resolves them in the organization
// (nameActors) and the template writes {{template "actor" ($.Actor .SomeoneBy)}}:
// the member's e-mail address or the key's name beside the raw id, which is
// what the audit log is searched by.

// nameActors resolves actor ids of org for v.Actor; perm is the permission
// the page read them under. A failure is logged and the page shows the ids.
func (c *Console) nameActors(ctx context.Context, v *view, org strongroom.TenantID, perm access.Permission, ids ...string) {
	actors, err := c.svc.Actors(ctx, org, perm, ids...)
	if err != nil {
		c.log.Warn("console: naming the actors on a page", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
		return
	}
	if v.Actors == nil {
		v.Actors = actors
		return
	}
	for id, a := range actors {
		v.Actors[id] = a
	}
}

// actorView is an actor as the "actor" template shows it: Label (an e-mail
// address, an API key's name, "operator", "system"), the raw ID in a code
// element unless the label says all, and a Note for an actor the
// organization no longer knows.
type actorView struct {
	Label, ID, Note string
}

// Actor names an actor id resolved by nameActors; an id not resolved (the
// lookup failed) is shown as it is.
func (v *view) Actor(id string) actorView {
	a, ok := v.Actors[id]
	switch {
	case !ok:
		return actorView{ID: id}
	case a.Gone() && strings.HasPrefix(id, service.APIKeyActor):
		return actorView{ID: id, Note: "API key no longer exists"}
	case a.Gone():
		return actorView{ID: id, Note: "no longer a member"}
	case a.Kind == strongroom.PrincipalAPIKey:
		return actorView{Label: "API key “" + a.Name + "”", ID: id}
	case a.Name != "":
		return actorView{Label: a.Name, ID: id}
	case string(a.Kind) == id: // "system": the kind is the whole id
		return actorView{Label: id}
	}
	return actorView{Label: string(a.Kind), ID: id}
}
