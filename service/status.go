package service

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/status"
	"strongroom.dev/strongroom/store"
)

// The public status page (INC-04): probes run on a schedule under a lease,
// their results are stored as each component's current state and counted per
// UTC day (bounded storage: 90 days of counters); operators schedule
// maintenance and post updates; anyone may read /status and subscribe.

// StatusConfig configures the status page's probes. Zero fields take the
// defaults named on each.
type StatusConfig struct {
	// Probes by component name (status.Components). The storage probe
	// defaults to a round-trip query and the sign-in probe to hashing and
	// verifying a password with the service's hasher; a component without a
	// probe is shown as not monitored.
	Probes map[string]status.Probe
	// Interval between probe runs (default 1 minute); a result older than
	// three intervals is shown as not monitored (the prober stopped).
	Interval time.Duration
	// Timeout of one probe (default 10 s).
	Timeout time.Duration
}

func (c StatusConfig) withDefaults() (StatusConfig, error) {
	if c.Interval == 0 {
		c.Interval = time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Interval < time.Second || c.Interval > time.Hour {
		return c, errors.New("status probe interval must be 1s..1h")
	}
	if c.Timeout <= 0 || c.Timeout > c.Interval && c.Interval >= 10*time.Second {
		return c, errors.New("status probe timeout must be positive and shorter than the interval")
	}
	for k := range c.Probes {
		if !status.ValidComponent(k) {
			return c, errors.New("unknown status component " + k)
		}
	}
	return c, nil
}

// statusState is the Service's part for the status page.
type statusState struct {
	StatusConfig
	mu     sync.Mutex
	probes map[string]status.Probe
}

func newStatusState(c StatusConfig) (*statusState, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	st := &statusState{StatusConfig: c, probes: map[string]status.Probe{}}
	for k, p := range c.Probes {
		st.probes[k] = p
	}
	return st, nil
}

// SetStatusProbe sets (or, with nil, removes) the probe of a component; serve
// sets the API probe once it knows its listening address.
func (s *Service) SetStatusProbe(component string, p status.Probe) error {
	if !status.ValidComponent(component) {
		return errors.New("unknown status component " + component)
	}
	s.status.mu.Lock()
	defer s.status.mu.Unlock()
	s.status.probes[component] = p
	return nil
}

// probe returns the probe of component c (nil: not monitored).
func (s *Service) probe(c string) status.Probe {
	s.status.mu.Lock()
	p := s.status.probes[c]
	s.status.mu.Unlock()
	if p != nil {
		return p
	}
	switch c {
	case status.Storage:
		return status.Timed(status.Func(s.store.Ping, "answering", "the database is not answering"), status.SlowAfter)
	case status.SignIn:
		return status.Timed(status.Func(func(context.Context) error {
			h, err := s.hasher.Hash("status-probe-password")
			if err != nil {
				return err
			}
			return s.hasher.Verify(h, "status-probe-password")
		}, "accepting sign-ins", "passwords cannot be checked"), status.SlowAfter)
	}
	return nil
}

// StatusProbeLease is the lease under which one replica probes.
const StatusProbeLease = "status-prober"

// RunStatusProbes probes every interval (StatusConfig.Interval) while holding
// the status lease, until ctx ends. holder names this process.
func (s *Service) RunStatusProbes(ctx context.Context, holder string) {
	t := time.NewTicker(s.status.Interval)
	defer t.Stop()
	for {
		if _, err := s.StatusProbesOnce(ctx, holder); err != nil && ctx.Err() == nil {
			s.log.Error("probing status components", "err", err)
		}
		select {
		case <-ctx.Done():
			_ = s.store.ReleaseLease(context.WithoutCancel(ctx), StatusProbeLease, holder)
			return
		case <-t.C:
		}
	}
}

// StatusProbesOnce takes (or renews) the lease and, when held, runs every
// probe once and stores the results; it reports whether it probed.
func (s *Service) StatusProbesOnce(ctx context.Context, holder string) (bool, error) {
	ok, err := s.store.AcquireLease(ctx, StatusProbeLease, holder, s.now(), 3*s.status.Interval)
	if err != nil || !ok {
		return false, err
	}
	start := time.Now()
	err = s.ProbeStatus(ctx)
	s.obs.Job("status_probes", time.Since(start), err)
	return true, err
}

// ProbeStatus runs every component's probe (concurrently, each within the
// timeout), applies the maintenance windows in effect, and stores the
// results in one platform transaction. A change of a component's state is
// recorded in the platform audit log (status.component.change).
func (s *Service) ProbeStatus(ctx context.Context) error {
	results := make([]status.Result, len(status.Components))
	var wg sync.WaitGroup
	for i, c := range status.Components {
		p := s.probe(c)
		if p == nil {
			results[i] = status.Result{State: status.NotMonitored, Detail: "not monitored"}
			continue
		}
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, s.status.Timeout)
			defer cancel()
			r := p(pctx)
			if !r.State.Valid() {
				r = status.Result{State: status.Outage, Detail: "the probe gave no answer"}
			}
			results[i] = r
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err // shutting down: the probes' failures say nothing
	}
	now := s.clock()
	sys := strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem})
	return s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		prev, err := tx.StatusComponents(ctx)
		if err != nil {
			return err
		}
		was := map[string]string{}
		for _, c := range prev {
			was[c.Component] = c.State
		}
		windows, err := tx.MaintenanceEndingAfter(ctx, now)
		if err != nil {
			return err
		}
		for i, c := range status.Components {
			r := results[i]
			if r.State != status.NotMonitored && inMaintenance(windows, c, now) != nil {
				r.State = status.Maintenance
			}
			if err := tx.RecordStatus(ctx, strongroom.StatusComponent{Component: c, State: string(r.State), Detail: r.Detail, CheckedAt: now},
				status.Day(now)); err != nil {
				return err
			}
			if was[c] != string(r.State) {
				if err := audit(sys, tx, "status.component.change", "status_component", c,
					map[string]string{"from": was[c], "to": string(r.State)}); err != nil {
					return err
				}
			}
		}
		return tx.PruneStatusDays(ctx, status.Day(now)-status.HistoryDays)
	})
}

// inMaintenance returns the window (not cancelled, in effect at now) that
// covers component c, or nil.
func inMaintenance(ws []strongroom.StatusMaintenance, c string, now time.Time) *strongroom.StatusMaintenance {
	for i, w := range ws {
		if w.CancelledAt != nil || now.Before(w.StartsAt) || !now.Before(w.EndsAt) {
			continue
		}
		for _, k := range w.Components {
			if k == c {
				return &ws[i]
			}
		}
	}
	return nil
}

// PublicStatus is the status page's content (/status and /status.json).
type PublicStatus struct {
	State       status.State        `json:"state"`
	Components  []PublicComponent   `json:"components"`
	Maintenance []PublicMaintenance `json:"maintenance"`
	Updates     []PublicUpdate      `json:"updates"`
	GeneratedAt time.Time           `json:"generated_at"`
}

// PublicComponent is one component with its 90-day history.
type PublicComponent struct {
	Name      string       `json:"name"`
	Label     string       `json:"label"`
	State     status.State `json:"state"`
	Detail    string       `json:"detail"`
	Since     *time.Time   `json:"since,omitempty"`
	CheckedAt *time.Time   `json:"checked_at,omitempty"`
	// Uptime over the days with data, as a fraction (nil: no data).
	Uptime  *float64    `json:"uptime_90d"`
	History []PublicDay `json:"history"`
}

// PublicDay is one day of a component's history.
type PublicDay struct {
	Date   string       `json:"date"` // YYYY-MM-DD, UTC
	State  status.State `json:"state"`
	Uptime *float64     `json:"uptime,omitempty"`
}

// PublicMaintenance is a maintenance window in effect or to come.
type PublicMaintenance struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	Components []string  `json:"components"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Active     bool      `json:"active"`
}

// PublicUpdate is a posted status update.
type PublicUpdate struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	State      string    `json:"state"`
	Components []string  `json:"components"`
	PostedAt   time.Time `json:"posted_at"`
}

// updatesShown bounds the updates on the page and in the feed.
const (
	updatesShown = 50
	updatesDays  = 30
)

// PublishedStatus is the status page at the current time. Public data: not
// audited.
func (s *Service) PublishedStatus(ctx context.Context) (*PublicStatus, error) {
	now := s.clock()
	out := &PublicStatus{GeneratedAt: now, Components: []PublicComponent{}, Maintenance: []PublicMaintenance{}, Updates: []PublicUpdate{}}
	var comps []strongroom.StatusComponent
	var days []strongroom.StatusDay
	var windows []strongroom.StatusMaintenance
	var updates []strongroom.StatusUpdate
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if comps, err = tx.StatusComponents(ctx); err != nil {
			return err
		}
		if days, err = tx.StatusDays(ctx, status.Day(now)-status.HistoryDays+1); err != nil {
			return err
		}
		if windows, err = tx.MaintenanceEndingAfter(ctx, now); err != nil {
			return err
		}
		updates, err = tx.StatusUpdates(ctx, now.AddDate(0, 0, -updatesDays), updatesShown)
		return err
	})
	if err != nil {
		return nil, err
	}
	cur := map[string]strongroom.StatusComponent{}
	for _, c := range comps {
		cur[c.Component] = c
	}
	counts := map[string]map[int64]status.Counts{}
	for _, d := range days {
		if counts[d.Component] == nil {
			counts[d.Component] = map[int64]status.Counts{}
		}
		counts[d.Component][d.Day] = status.Counts{Operational: d.Operational, Degraded: d.Degraded, Outage: d.Outage, Maintenance: d.Maintenance}
	}
	var states []status.State
	for _, name := range status.Components {
		pc := PublicComponent{Name: name, Label: status.ComponentLabel(name), State: status.NotMonitored, Detail: "no probe result yet", History: []PublicDay{}}
		if c, ok := cur[name]; ok {
			since, checked := c.Since, c.CheckedAt
			pc.Since, pc.CheckedAt = &since, &checked
			pc.State, pc.Detail = status.State(c.State), c.Detail
			if now.Sub(c.CheckedAt) > 3*s.status.Interval {
				pc.State, pc.Detail = status.NotMonitored, "no recent probe result"
			}
		}
		hist, up, ok := status.History(counts[name], now, status.HistoryDays)
		if ok {
			pc.Uptime = &up
		}
		for _, h := range hist {
			pc.History = append(pc.History, PublicDay{Date: h.Date.Format(time.DateOnly), State: h.State, Uptime: h.Uptime})
		}
		states = append(states, pc.State)
		out.Components = append(out.Components, pc)
	}
	out.State = status.Worst(states...)
	for _, w := range windows {
		if w.CancelledAt != nil {
			continue
		}
		out.Maintenance = append(out.Maintenance, PublicMaintenance{ID: w.ID, Title: w.Title, Body: w.Body, Components: w.Components,
			StartsAt: w.StartsAt, EndsAt: w.EndsAt, Active: !now.Before(w.StartsAt)})
	}
	for _, u := range updates {
		out.Updates = append(out.Updates, publicUpdate(u))
	}
	return out, nil
}

func publicUpdate(u strongroom.StatusUpdate) PublicUpdate {
	return PublicUpdate{ID: u.ID, Title: u.Title, Body: u.Body, State: u.State, Components: u.Components, PostedAt: u.CreatedAt}
}

// StatusFeed is the Atom feed of the status updates and maintenance windows
// announced in the last 30 days (at most 50 of each), newest first.
func (s *Service) StatusFeed(ctx context.Context) ([]byte, error) {
	now := s.clock()
	var updates []strongroom.StatusUpdate
	var windows []strongroom.StatusMaintenance
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if updates, err = tx.StatusUpdates(ctx, now.AddDate(0, 0, -updatesDays), updatesShown); err != nil {
			return err
		}
		windows, err = tx.RecentMaintenance(ctx, now.AddDate(0, 0, -updatesDays), updatesShown)
		return err
	})
	if err != nil {
		return nil, err
	}
	var entries []status.Entry
	for _, u := range updates {
		entries = append(entries, status.Entry{ID: "update-" + u.ID, Title: u.Title + " (" + u.State + ")", Summary: u.Body,
			Updated: u.CreatedAt, Link: s.baseURL + "/status#update-" + u.ID})
	}
	for _, w := range windows {
		title := "Maintenance: " + w.Title
		if w.CancelledAt != nil {
			title += " (cancelled)"
		}
		entries = append(entries, status.Entry{ID: "maintenance-" + w.ID, Title: title,
			Summary: w.StartsAt.Format(time.RFC3339) + " to " + w.EndsAt.Format(time.RFC3339) + ". " + w.Body,
			Updated: w.CreatedAt, Link: s.baseURL + "/status#maintenance-" + w.ID})
	}
	sortEntries(entries)
	return status.Feed(s.baseURL, s.issuer, entries)
}

func sortEntries(es []status.Entry) {
	slices.SortStableFunc(es, func(a, b status.Entry) int { return b.Updated.Compare(a.Updated) })
}
