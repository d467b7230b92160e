package web

import (
	"net/http"
	"net/url"
	"strings"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// Security alerts (LOG-04): an organization's Admins list, read, acknowledge
// and resolve its alerts; operators those of the platform (sign-in attacks).
// The service audits every list, read and change.

type alertsData struct {
	Base       string // the list's path
	Items      []strongroom.Alert
	Status     string
	Kind       string
	Statuses   []strongroom.AlertStatus
	Kinds      []strongroom.AlertKind
	Next, Prev string
	Paged      bool
	CanWrite   bool
}

type alertData struct {
	Base     string
	Detail   *service.AlertDetail
	CanWrite bool
}

// alertScope is the organization's alerts or the platform's: the pages are
// the same, the service calls differ.
type alertScope struct {
	base   string
	kinds  []strongroom.AlertKind // the kinds raised in this scope (docs/audit-log.md, "Monitoring")
	view   *view
	write  bool
	list   func(service.AlertQueryInput) (*service.AlertPage, error)
	read   func(id string) (*service.AlertDetail, error)
	change func(id string, st strongroom.AlertStatus) error
}

func (c *Console) orgAlerts(w http.ResponseWriter, r *http.Request) (*alertScope, bool) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return nil, false
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	if !can(ctx, access.AlertsRead, org) {
		c.errorPage(w, r, strongroom.Errorf(strongroom.EFORBIDDEN, "only Admins read the organization's alerts"))
		return nil, false
	}
	return &alertScope{
		base:  "/orgs/" + url.PathEscape(string(org)) + "/alerts",
		kinds: []strongroom.AlertKind{strongroom.AlertMassRead},
		view:  &view{Title: "Alerts · " + o.Organization.Name, Nav: "alerts", Org: o, Wide: true},
		write: can(ctx, access.AlertsWrite, org),
		list: func(in service.AlertQueryInput) (*service.AlertPage, error) {
			return c.svc.Alerts(ctx, org, in)
		},
		read: func(id string) (*service.AlertDetail, error) { return c.svc.Alert(ctx, org, id) },
		change: func(id string, st strongroom.AlertStatus) error {
			_, err := c.svc.SetAlertStatus(ctx, org, id, st)
			return err
		},
	}, true
}

func (c *Console) platformAlerts(w http.ResponseWriter, r *http.Request) (*alertScope, bool) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return nil, false
	}
	return &alertScope{
		base:  "/operator/alerts",
		kinds: []strongroom.AlertKind{strongroom.AlertBruteForce, strongroom.AlertCredentialStuffing, strongroom.AlertNewDevice, strongroom.AlertIncidentOverdue},
		view:  &view{Title: "Platform alerts", Nav: "op-alerts", Wide: true},
		write: true,
		list: func(in service.AlertQueryInput) (*service.AlertPage, error) {
			return c.svc.PlatformAlerts(ctx, in)
		},
		read: func(id string) (*service.AlertDetail, error) { return c.svc.PlatformAlert(ctx, id) },
		change: func(id string, st strongroom.AlertStatus) error {
			_, err := c.svc.SetPlatformAlertStatus(ctx, id, st)
			return err
		},
	}, true
}

// alertsList serves the list page of a scope.
func (c *Console) alertsList(scope func(http.ResponseWriter, *http.Request) (*alertScope, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := scope(w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		d := alertsData{Base: s.base, Status: strings.TrimSpace(q.Get("status")), Kind: strings.TrimSpace(q.Get("kind")),
			Statuses: []strongroom.AlertStatus{strongroom.AlertOpen, strongroom.AlertAcknowledged, strongroom.AlertResolved},
			Kinds:    s.kinds, CanWrite: s.write}
		cursor := q.Get("cursor")
		prev := q["prev"]
		if len(prev) > maxPrev {
			prev = prev[len(prev)-maxPrev:]
		}
		d.Paged = cursor != ""
		v := s.view
		v.Form = url.Values{"status": {d.Status}, "kind": {d.Kind}}
		v.Data = d
		page, err := s.list(service.AlertQueryInput{Status: d.Status, Kind: d.Kind, Cursor: cursor})
		if err != nil {
			c.fail(w, r, "alerts", v, auditFieldError(err))
			return
		}
		link := func(cursor string, prev []string) string {
			u := url.Values{}
			if d.Status != "" {
				u.Set("status", d.Status)
			}
			if d.Kind != "" {
				u.Set("kind", d.Kind)
			}
			if cursor != "" {
				u.Set("cursor", cursor)
			}
			for _, p := range prev {
				u.Add("prev", p)
			}
			if len(u) == 0 {
				return d.Base
			}
			return d.Base + "?" + u.Encode()
		}
		if page.NextCursor != "" {
			d.Next = link(page.NextCursor, append(append([]string{}, prev...), cursor))
		}
		if cursor != "" {
			back := ""
			if len(prev) > 0 {
				back = prev[len(prev)-1]
				prev = prev[:len(prev)-1]
			}
			d.Prev = link(back, prev)
		}
		d.Items = page.Items
		v.Data = d
		c.render(w, r, http.StatusOK, "alerts", v)
	}
}

// alertPage serves one alert with its evidence.
func (c *Console) alertPage(scope func(http.ResponseWriter, *http.Request) (*alertScope, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := scope(w, r)
		if !ok {
			return
		}
		d, err := s.read(r.PathValue("alert"))
		if err != nil {
			c.errorPage(w, r, err)
			return
		}
		v := s.view
		v.Title = alertKindLabel(d.Alert.Kind) + " · " + v.Title
		v.Data = alertData{Base: s.base, Detail: d, CanWrite: s.write}
		if d.Alert.StatusBy != "" {
			c.namePeople(r.Context(), v, strongroom.UserID(d.Alert.StatusBy))
		}
		c.render(w, r, http.StatusOK, "alert", v)
	}
}

// alertAction acknowledges or resolves an alert and returns to it.
func (c *Console) alertAction(scope func(http.ResponseWriter, *http.Request) (*alertScope, bool), st strongroom.AlertStatus) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := scope(w, r)
		if !ok {
			return
		}
		if err := readForm(w, r); err != nil {
			c.errorPage(w, r, err)
			return
		}
		id := r.PathValue("alert")
		if err := s.change(id, st); err != nil {
			c.errorPage(w, r, err)
			return
		}
		flash := "alert-acknowledged"
		if st == strongroom.AlertResolved {
			flash = "alert-resolved"
		}
		redirect(w, r, s.base+"/"+url.PathEscape(id), flash)
	}
}

var alertKindLabels = map[strongroom.AlertKind]string{
	strongroom.AlertBruteForce:         "Brute force",
	strongroom.AlertCredentialStuffing: "Credential stuffing",
	strongroom.AlertMassRead:           "Mass read",
	strongroom.AlertNewDevice:          "New device",
	strongroom.AlertIncidentOverdue:    "Incident obligation overdue",
}

func alertKindLabel(k strongroom.AlertKind) string {
	if l, ok := alertKindLabels[k]; ok {
		return l
	}
	return string(k)
}
