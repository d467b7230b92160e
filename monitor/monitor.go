package monitor

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// LeaseName is the lease that makes one monitor run at a time across
// processes and replicas.
const LeaseName = "monitor"

// The monitor's two cursors in audit_stream_cursors: Cursor is the seq
// through which it has judged every sealed event; ReplayCursor is where a
// restarted monitor starts replaying, to rebuild its windows, the events it
// judged before (their detections are not raised again).
const (
	Cursor       = "monitor"
	ReplayCursor = "monitor.replay"
)

// Config configures a Monitor.
type Config struct {
	Store      *store.Store
	Thresholds Thresholds
	// Notify is told of each new alert once it is stored (the service e-mails
	// the organization's Admins or the operators); nil: nobody.
	Notify func(ctx context.Context, a *strongroom.Alert)
	// Raised counts new alerts by kind (metrics); nil: not counted.
	Raised       func(kind strongroom.AlertKind)
	Logger       *slog.Logger
	Now          func() time.Time // nil: time.Now (the lease's clock)
	Holder       string           // default: host, process and a random suffix
	LeaseTTL     time.Duration    // default 15s
	PollInterval time.Duration    // default 1s
	BatchSize    int              // events per read, 1 to 10000; default 1000
}

// Monitor runs the detector over the sealed audit log while it holds the
// lease. Run starts it.
type Monitor struct {
	st     *store.Store
	th     Thresholds
	notify func(context.Context, *strongroom.Alert)
	raised func(strongroom.AlertKind)
	log    *slog.Logger
	now    func() time.Time
	holder string
	ttl    time.Duration
	poll   time.Duration
	batch  int
}

// New returns a monitor; Run starts it.
func New(cfg Config) (*Monitor, error) {
	if cfg.Store == nil {
		return nil, errors.New("monitor: a store is required")
	}
	th := cfg.Thresholds.withDefaults()
	if err := th.Validate(); err != nil {
		return nil, fmt.Errorf("monitor thresholds: %w", err)
	}
	if cfg.BatchSize < 0 || cfg.BatchSize > 10000 {
		return nil, errors.New("monitor: a batch holds 1 to 10000 events")
	}
	m := &Monitor{st: cfg.Store, th: th, notify: cfg.Notify, raised: cfg.Raised, log: cfg.Logger, now: cfg.Now,
		holder: cfg.Holder, ttl: cfg.LeaseTTL, poll: cfg.PollInterval, batch: cfg.BatchSize}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.holder == "" {
		host, _ := os.Hostname()
		var b [6]byte
		_, _ = rand.Read(b[:])
		m.holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if m.ttl <= 0 {
		m.ttl = 15 * time.Second
	}
	if m.poll <= 0 {
		m.poll = time.Second
	}
	if m.batch == 0 {
		m.batch = 1000
	}
	return m, nil
}

// Run tries to take the lease every third of its lifetime and, holding it,
// judges the sealed audit log as it grows, until ctx ends. On return the lease
// is released.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.ttl / 3)
	defer t.Stop()
	var lastErr string
	for {
		ok, err := m.st.AcquireLease(ctx, LeaseName, m.holder, m.now(), m.ttl)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != lastErr:
			m.log.Warn("monitor: taking the lease", "err", err)
			lastErr = err.Error()
		case err == nil:
			lastErr = ""
		}
		if ok {
			if err := m.lead(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("monitor: stopped; will take the lease again", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mark notes where a batch started and the newest event time in it, so that
// the replay cursor can be kept a span behind the newest event.
type mark struct {
	before int64
	newest time.Time
}

// run is one holding of the lease: a fresh detector rebuilt by replay, then
// the live log.
type run struct {
	m      *Monitor
	d      *Detector
	marks  []mark
	cursor int64
}

// lead replays the window before the cursor into a new detector, then judges
// new events until ctx ends or the lease is lost; it releases the lease.
func (m *Monitor) lead(ctx context.Context) error {
	m.log.Info("monitor: holding the lease", "holder", m.holder)
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := m.st.ReleaseLease(rctx, LeaseName, m.holder); err != nil {
			m.log.Warn("monitor: releasing the lease", "err", err)
		}
	}()
	r, err := m.start(ctx)
	if err != nil {
		return err
	}
	renewAt := m.now().Add(m.ttl / 3)
	for {
		if now := m.now(); !now.Before(renewAt) {
			ok, err := m.st.AcquireLease(ctx, LeaseName, m.holder, now, m.ttl)
			if err != nil {
				return fmt.Errorf("renewing the lease: %w", err)
			}
			if !ok {
				return errors.New("lost the lease to another replica")
			}
			renewAt = now.Add(m.ttl / 3)
		}
		n, err := r.step(ctx)
		if err != nil {
			return err
		}
		if n < m.batch {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(m.poll):
			}
		}
	}
}

// Step takes the lease, starts as a restarted monitor does, judges every
// sealed event there is, and releases the lease: for tests and tools, which
// drive the monitor without its timers. It reports how many events it judged.
func (m *Monitor) Step(ctx context.Context) (int, error) {
	ok, err := m.st.AcquireLease(ctx, LeaseName, m.holder, m.now(), m.ttl)
	if err != nil || !ok {
		return 0, cmp.Or(err, errors.New("monitor: the lease is held by another"))
	}
	defer func() { _ = m.st.ReleaseLease(context.WithoutCancel(ctx), LeaseName, m.holder) }()
	r, err := m.start(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for {
		n, err := r.step(ctx)
		total += n
		if err != nil || n < m.batch {
			return total, err
		}
	}
}

// start begins a holding of the lease as a restarted monitor does: a new
// detector, its windows rebuilt by replaying the events before the cursor.
func (m *Monitor) start(ctx context.Context) (*run, error) {
	d, err := NewDetector(m.th)
	if err != nil {
		return nil, err
	}
	r := &run{m: m, d: d}
	if r.cursor, err = m.st.AuditStreamCursor(ctx, Cursor); err != nil {
		return nil, err
	}
	from, err := m.st.AuditStreamCursor(ctx, ReplayCursor)
	if err != nil {
		return nil, err
	}
	if err := r.replay(ctx, min(from, r.cursor)); err != nil {
		return nil, err
	}
	return r, nil
}

// replay feeds the events after from, through the cursor, to the detector
// without raising what they detect (that was done before the restart).
func (r *run) replay(ctx context.Context, from int64) error {
	after := from
	for after < r.cursor {
		page, err := r.m.st.SealedAuditEvents(ctx, after, min(r.m.batch, int(min(r.cursor-after, 10000))))
		if err != nil {
			return err
		}
		if page.Through <= after {
			return fmt.Errorf("monitor: the audit log before seq %d is not sealed", r.cursor)
		}
		if err := r.loadBaselines(ctx, page.Events); err != nil {
			return err
		}
		events := page.Events
		if i := slices.IndexFunc(events, func(e store.SealedAuditEvent) bool { return e.Seq > r.cursor }); i >= 0 {
			events = events[:i] // judged live, after the replay
		}
		for i := range events {
			r.d.Observe(&events[i].AuditEvent)
		}
		r.note(after, events)
		after = min(page.Through, r.cursor)
	}
	if after > from {
		r.m.log.Info("monitor: rebuilt its windows", "from_seq", from, "through_seq", after)
	}
	return nil
}

// note records a batch's mark and drops the marks that fell out of the span.
func (r *run) note(before int64, events []store.SealedAuditEvent) {
	if len(events) == 0 {
		return
	}
	newest := events[0].Time
	for _, e := range events {
		if e.Time.After(newest) {
			newest = e.Time
		}
	}
	r.marks = append(r.marks, mark{before: before, newest: newest})
	from := r.d.latest.Add(-r.m.th.span())
	i := 0
	for i < len(r.marks)-1 && r.marks[i].newest.Before(from) {
		i++
	}
	r.marks = r.marks[i:]
}

// step judges the next batch of sealed events: it records the alerts they
// raise and the baselines they changed, tells of new alerts, and moves the
// cursors on.
func (r *run) step(ctx context.Context) (int, error) {
	page, err := r.m.st.SealedAuditEvents(ctx, r.cursor, r.m.batch)
	if err != nil {
		return 0, err
	}
	if page.Through <= r.cursor {
		return 0, nil
	}
	if err := r.loadBaselines(ctx, page.Events); err != nil {
		return 0, err
	}
	var hits []Hit
	for i := range page.Events {
		hits = append(hits, r.d.Observe(&page.Events[i].AuditEvent)...)
	}
	fresh, err := r.record(ctx, merge(hits))
	if err != nil {
		return 0, err
	}
	if err := r.saveBaselines(ctx); err != nil {
		return 0, err
	}
	for _, a := range fresh {
		r.m.log.Info("monitor: alert raised", "kind", a.Kind, "severity", a.Severity, "tenant", a.TenantID, "alert", a.ID)
		if r.m.raised != nil {
			r.m.raised(a.Kind)
		}
		if r.m.notify != nil {
			r.m.notify(ctx, a)
		}
	}
	r.note(r.cursor, page.Events)
	r.cursor = page.Through
	replay := r.cursor
	if len(r.marks) > 0 {
		replay = r.marks[0].before
	}
	now := r.m.now()
	if err := r.m.st.AdvanceAuditStreamCursor(ctx, ReplayCursor, replay, now); err != nil {
		return 0, err
	}
	if err := r.m.st.AdvanceAuditStreamCursor(ctx, Cursor, r.cursor, now); err != nil {
		return 0, err
	}
	return len(page.Events) + len(page.Unsealable), nil
}

// merge folds a batch's hits into one per (tenant, kind, subject).
func merge(hits []Hit) []Hit {
	type key struct {
		t strongroom.TenantID
		k strongroom.AlertKind
		s string
	}
	by := map[key]int{}
	var out []Hit
	for _, h := range hits {
		k := key{h.Tenant, h.Kind, h.Subject}
		i, ok := by[k]
		if !ok {
			by[k] = len(out)
			h.Seqs = slices.Clone(h.Seqs)
			out = append(out, h)
			continue
		}
		o := &out[i]
		o.Seqs = slices.Compact(slices.Sorted(slices.Values(append(o.Seqs, h.Seqs...))))
		if h.First.Before(o.First) {
			o.First = h.First
		}
		if h.Last.After(o.Last) {
			o.Last = h.Last
		}
		o.Summary = h.Summary
		if h.Severity == strongroom.SeverityHigh {
			o.Severity = h.Severity
		}
	}
	return out
}

// record stores hits, one transaction per tenant, and returns the new alerts.
func (r *run) record(ctx context.Context, hits []Hit) ([]*strongroom.Alert, error) {
	byTenant := map[strongroom.TenantID][]Hit{}
	var tenants []strongroom.TenantID
	for _, h := range hits {
		if byTenant[h.Tenant] == nil {
			tenants = append(tenants, h.Tenant)
		}
		byTenant[h.Tenant] = append(byTenant[h.Tenant], h)
	}
	var fresh []*strongroom.Alert
	for _, t := range tenants {
		var made []*strongroom.Alert
		err := r.m.st.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			made = made[:0]
			for _, h := range byTenant[t] {
				id, err := uuid.NewV7()
				if err != nil {
					return fmt.Errorf("generating alert id: %w", err)
				}
				a, isNew, err := tx.RecordAlert(ctx, id.String(), h.AlertHit)
				if err != nil {
					return err
				}
				if isNew {
					made = append(made, a)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("recording alerts: %w", err)
		}
		fresh = append(fresh, made...)
	}
	return fresh, nil
}

// loadBaselines gives the detector the stored baselines of the principals in
// events it does not know yet.
func (r *run) loadBaselines(ctx context.Context, events []store.SealedAuditEvent) error {
	for _, k := range r.d.NeedBaselines(events) {
		var b store.Baseline
		var ok bool
		err := r.m.st.Read(ctx, store.TenantScope(k.Tenant), func(tx *store.Tx) error {
			var err error
			b, ok, err = tx.MonitorBaseline(ctx, k.Principal)
			return err
		})
		if err != nil {
			return err
		}
		r.d.SetBaseline(k, b, ok)
	}
	return nil
}

// saveBaselines stores the baselines that changed, one transaction per tenant.
func (r *run) saveBaselines(ctx context.Context) error {
	byTenant := map[strongroom.TenantID]map[string]store.Baseline{}
	for k, b := range r.d.DirtyBaselines() {
		if byTenant[k.Tenant] == nil {
			byTenant[k.Tenant] = map[string]store.Baseline{}
		}
		byTenant[k.Tenant][k.Principal] = b
	}
	for t, bs := range byTenant {
		err := r.m.st.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			for p, b := range bs {
				if err := tx.SaveMonitorBaseline(ctx, p, b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
