package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/status"
)

// Editing a maintenance window (docs/trust.md "Status page"): a form
// pre-filled with the window, reached from its Edit action on the operators'
// status page. A window that has started keeps its start: the form shows it
// read-only and the service refuses another one.

// formMinute is the layout of a datetime-local input's value.
const formMinute = "2006-01-02T15:04"

type maintenanceEditData struct {
	Window     statusOpsWindow
	Components []statusOpsComponent
	// Started: the window is in progress, its start cannot change.
	Started bool
}

// Checked reports whether a component's box is ticked in the form shown.
func (d maintenanceEditData) Checked(form url.Values, name string) bool {
	return statusOpsData{}.Checked(form, name)
}

// editableWindow finds a window not ended yet (the service's audited list
// of them) that is not cancelled.
func (c *Console) editableWindow(ctx context.Context, id string) (*strongroom.StatusMaintenance, error) {
	windows, err := c.svc.Maintenance(ctx)
	if err != nil {
		return nil, err
	}
	for i := range windows {
		if w := &windows[i]; w.ID == id {
			if w.CancelledAt != nil {
				return nil, strongroom.Errorf(strongroom.ECONFLICT, "the maintenance window is cancelled")
			}
			return w, nil
		}
	}
	return nil, strongroom.Errorf(strongroom.ENOTFOUND, "maintenance window not found (it may have ended)")
}

// maintenanceEditView is the form for w, filled with its values.
func maintenanceEditView(w *strongroom.StatusMaintenance, now time.Time) *view {
	d := maintenanceEditData{Window: statusOpsWindow{StatusMaintenance: *w, State: "scheduled"}, Started: !now.Before(w.StartsAt)}
	if d.Started {
		d.Window.State = "in progress"
	}
	for _, name := range status.Components {
		d.Components = append(d.Components, statusOpsComponent{Name: name, Label: status.ComponentLabel(name)})
	}
	for _, c := range w.Components {
		d.Window.Labels = append(d.Window.Labels, status.ComponentLabel(c))
	}
	form := url.Values{"title": {w.Title}, "body": {w.Body}, "components": w.Components,
		"starts_at": {w.StartsAt.UTC().Format(formMinute)}, "ends_at": {w.EndsAt.UTC().Format(formMinute)}}
	return &view{Title: "Edit maintenance: " + w.Title, Nav: "opstatus", Form: form, Data: d}
}

func (c *Console) maintenanceEditPage(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	win, err := c.editableWindow(ctx, r.PathValue("maintenance"))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "maintenanceedit", maintenanceEditView(win, time.Now()))
}

// formWindowTime reads a time of the edit form. A value the form was
// filled with (the window's time to the minute) stands for the window's
// exact time, so saving without touching a time written over the API to
// the second does not move it.
func formWindowTime(r *http.Request, name string, stored time.Time) (time.Time, error) {
	if r.PostFormValue(name) == stored.UTC().Format(formMinute) {
		return stored, nil
	}
	return formUTCTime(r, name)
}

func (c *Console) updateMaintenance(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	win, err := c.editableWindow(ctx, r.PathValue("maintenance"))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	readErr := readFormLong(w, r, statusOpsLong)
	err = readErr
	if err == nil {
		err = required(r, "title", "body")
	}
	var start, end time.Time
	if err == nil {
		start, err = formWindowTime(r, "starts_at", win.StartsAt)
	}
	if err == nil {
		end, err = formWindowTime(r, "ends_at", win.EndsAt)
	}
	if err == nil {
		_, err = c.svc.UpdateMaintenance(ctx, win.ID, service.MaintenanceInput{Title: r.PostFormValue("title"), Body: r.PostFormValue("body"),
			Components: r.PostForm["components"], StartsAt: start, EndsAt: end})
	}
	if err != nil {
		v := maintenanceEditView(win, time.Now())
		if readErr == nil { // else the window's values: the form could not be read
			v.Form = keep(r)
		}
		c.fail(w, r, "maintenanceedit", v, err)
		return
	}
	redirect(w, r, "/operator/status", "maintenance-updated")
}
