package web

import (
	"context"

	"strongroom.dev/strongroom"
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
