package web

import (
	"fmt"
	"net/http"

	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/status"
)

// The public status page (INC-04): components, 90-day uptime bars,
// maintenance, updates, and the e-mail subscription with its confirm and
// unsubscribe pages (a link only shows a button: a mail scanner following
// the link changes nothing).

type statusPage struct {
	*service.PublicStatus
	Overall     string
	OverallKind string
	Rows        []statusRow
	Sent        bool
}

type statusRow struct {
	service.PublicComponent
	StateLabel string
	Uptime     string
	Days       []statusDay
	First      string
}

type statusDay struct {
	Class string
	Title string
}

func percent(f *float64) string {
	if f == nil {
		return "no data"
	}
	return fmt.Sprintf("%.2f%%", *f*100)
}

func (c *Console) statusView(r *http.Request) (*view, error) {
	st, err := c.svc.PublishedStatus(r.Context())
	if err != nil {
		return nil, err
	}
	p := &statusPage{PublicStatus: st, OverallKind: string(st.State)}
	switch st.State {
	case status.Operational:
		p.Overall = "All systems operational"
	case status.Maintenance:
		p.Overall = "Maintenance in progress"
	case status.Degraded:
		p.Overall = "Some systems are degraded"
	default:
		p.Overall = "Some systems are down"
	}
	for _, pc := range st.Components {
		row := statusRow{PublicComponent: pc, StateLabel: pc.State.Label(), Uptime: percent(pc.Uptime)}
		for _, d := range pc.History {
			row.Days = append(row.Days, statusDay{Class: string(d.State), Title: d.Date + ": " + d.State.Label() + ", " + percent(d.Uptime)})
		}
		if len(pc.History) > 0 {
			row.First = pc.History[0].Date
		}
		p.Rows = append(p.Rows, row)
	}
	return &view{Title: "Status", Nav: "status", Data: p}, nil
}

func (c *Console) statusPage(w http.ResponseWriter, r *http.Request) {
	v, err := c.statusView(r)
	if err != nil {
		c.fail(w, r, "error", &view{Title: "Status"}, err)
		return
	}
	w.Header().Set("Cache-Control", "max-age=30")
	c.render(w, r, http.StatusOK, "status", v)
}

func (c *Console) statusSubscribe(w http.ResponseWriter, r *http.Request) {
	v, err := c.statusView(r)
	if err != nil {
		c.fail(w, r, "error", &view{Title: "Status"}, err)
		return
	}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "status", v, err)
		return
	}
	v.Form = keep(r)
	if err := required(r, "email"); err != nil {
		c.fail(w, r, "status", v, err)
		return
	}
	if err := c.svc.SubscribeStatus(r.Context(), r.PostFormValue("email")); err != nil {
		c.fail(w, r, "status", v, err)
		return
	}
	v.Data.(*statusPage).Sent = true
	c.render(w, r, http.StatusOK, "status", v)
}

// Label is a component's name on the page.
func (p *statusPage) Label(c string) string { return status.ComponentLabel(c) }
