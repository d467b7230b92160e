package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/status"
)

// The operators' side of the status page (INC-04; docs/trust.md "Status
// page"): the components as the probes see them with their 90-day uptime,
// the maintenance windows not ended yet (schedule one, cancel one), the
// status updates (post one) and how many addresses are subscribed. The
// service audits each read and change in the platform's log and e-mails
// confirmed subscribers about new windows and updates.

// statusUpdateStates are the states an operator may post, in the order a
// status update usually moves through them.
var statusUpdateStates = []string{"investigating", "identified", "monitoring", "resolved", "informational"}

// statusOpsLong names the fields that may be long: the texts shown on the
// page (the service allows 4,000 characters).
func statusOpsLong(name string) bool { return name == "body" }

type statusOpsData struct {
	Status      *statusPage
	Maintenance []statusOpsWindow
	Updates     []service.PublicUpdate
	Confirmed   int
	Pending     int
	Components  []statusOpsComponent
	States      []string
	// Form says which form the page's Form values and field messages belong
	// to ("maintenance" or "update"), so an error shows beside the right one.
	Form string
}

type statusOpsComponent struct {
	Name, Label string
}

// statusOpsWindow is a maintenance window as operators see it: with its
// state now (scheduled, in progress, cancelled).
type statusOpsWindow struct {
	strongroom.StatusMaintenance
	Labels []string
	State  string
}

// statusOpsView loads the page. form names the form being answered, for the
// messages beside its fields.
func (c *Console) statusOpsView(ctx context.Context, r *http.Request, form string) (*view, error) {
	pv, err := c.statusView(r)
	if err != nil {
		return nil, err
	}
	windows, err := c.svc.Maintenance(ctx)
	if err != nil {
		return nil, err
	}
	confirmed, pending, err := c.svc.StatusSubscribers(ctx)
	if err != nil {
		return nil, err
	}
	p := pv.Data.(*statusPage)
	d := statusOpsData{Status: p, Updates: p.Updates, Confirmed: confirmed, Pending: pending, States: statusUpdateStates, Form: form}
	for _, name := range status.Components {
		d.Components = append(d.Components, statusOpsComponent{Name: name, Label: status.ComponentLabel(name)})
	}
	now := time.Now()
	for _, w := range windows {
		ow := statusOpsWindow{StatusMaintenance: w, State: "scheduled"}
		switch {
		case w.CancelledAt != nil:
			ow.State = "cancelled"
		case !now.Before(w.StartsAt):
			ow.State = "in progress"
		}
		for _, c := range w.Components {
			ow.Labels = append(ow.Labels, status.ComponentLabel(c))
		}
		d.Maintenance = append(d.Maintenance, ow)
	}
	return &view{Title: "Status page", Nav: "opstatus", Wide: true, Data: d}, nil
}

func (c *Console) statusOpsPage(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	v, err := c.statusOpsView(ctx, r, "")
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "statusops", v)
}

// statusOpsForm runs one of the page's forms: a refusal shows the page
// again with the message beside its field and the typed values kept.
func (c *Console) statusOpsForm(form, flash string, do func(ctx context.Context, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, ok := c.enterOperator(w, r)
		if !ok {
			return
		}
		err := readFormLong(w, r, statusOpsLong)
		if err == nil {
			err = do(ctx, r)
		}
		if err != nil {
			v, verr := c.statusOpsView(ctx, r, form)
			if verr != nil {
				c.errorPage(w, r, verr)
				return
			}
			v.Form = keep(r)
			c.fail(w, r, "statusops", v, err)
			return
		}
		redirect(w, r, "/operator/status", flash)
	}
}

// formUTCTime reads a datetime-local input as UTC; an empty one is a
// missing value.
func formUTCTime(r *http.Request, name string) (time.Time, error) {
	s := strings.TrimSpace(r.PostFormValue(name))
	if s == "" {
		return time.Time{}, fieldError("/"+name, "is required")
	}
	v, err := auditTime(name, s)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fieldError("/"+name, "must be a date and time (UTC), such as 2026-03-14 15:09")
	}
	return t, nil
}

func (c *Console) createMaintenance(ctx context.Context, r *http.Request) error {
	if err := required(r, "title", "body"); err != nil {
		return err
	}
	start, err := formUTCTime(r, "starts_at")
	if err != nil {
		return err
	}
	end, err := formUTCTime(r, "ends_at")
	if err != nil {
		return err
	}
	_, err = c.svc.CreateMaintenance(ctx, service.MaintenanceInput{Title: r.PostFormValue("title"), Body: r.PostFormValue("body"),
		Components: r.PostForm["components"], StartsAt: start, EndsAt: end})
	return err
}

func (c *Console) cancelMaintenance(ctx context.Context, r *http.Request) error {
	return c.svc.CancelMaintenance(ctx, r.PathValue("maintenance"))
}

func (c *Console) postStatusUpdate(ctx context.Context, r *http.Request) error {
	if err := required(r, "title", "body"); err != nil {
		return err
	}
	_, err := c.svc.PostStatusUpdate(ctx, service.StatusUpdateInput{Title: r.PostFormValue("title"), Body: r.PostFormValue("body"),
		State: r.PostFormValue("state"), Components: r.PostForm["components"]})
	return err
}

// Checked reports whether a component's box was ticked in the form being
// shown again.
func (d statusOpsData) Checked(form url.Values, name string) bool {
	for _, v := range form["components"] {
		if v == name {
			return true
		}
	}
	return false
}
