package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/disclosure"
	"strongroom.dev/strongroom/incident"
	"strongroom.dev/strongroom/ratelimit"
)

// TrustConfig configures incidents and breach notification, responsible
// disclosure and subprocessors (INC-01..03, INC-05, INC-06; docs/trust.md).
// Zero fields take the defaults named on each.
type TrustConfig struct {
	// SecurityTxt is served at /.well-known/security.txt; nil: not served
	// (404) because RFC 9116 requires a contact.
	SecurityTxt *disclosure.SecurityTxt
	// BreachWindow is the personal-data breach notification window: 24 h or
	// 72 h (default).
	BreachWindow time.Duration
	// AckDays is the acknowledgement window for vulnerability reports in
	// business days (default 5), counted in TimeZone (default UTC).
	AckDays  int
	TimeZone *time.Location
	// Resolution is the fix window by severity (default: critical 30 days,
	// high 60, medium 90, low 180).
	Resolution disclosure.ResolutionPolicy
	// ReportsPerHour and ReportsBurst bound vulnerability reports per client
	// address (default 10 an hour, burst 3).
	ReportsPerHour float64
	ReportsBurst   int
	// SubprocessorNoticeDays is how many days before a subprocessor change
	// takes effect subscribers must be told (default 30).
	SubprocessorNoticeDays int
}

// trustState is the Service's part for trust and incidents.
type trustState struct {
	cfg     TrustConfig
	reports *ratelimit.Limiter
}

func newTrustState(c TrustConfig, clock func() time.Time) (*trustState, error) {
	if c.BreachWindow == 0 {
		c.BreachWindow = incident.Window72h
	}
	if c.BreachWindow != incident.Window24h && c.BreachWindow != incident.Window72h {
		return nil, errors.New("breach notification window must be 24h or 72h")
	}
	if c.AckDays == 0 {
		c.AckDays = 5
	}
	if c.AckDays < 1 || c.AckDays > disclosure.MaxBusinessDays {
		return nil, fmt.Errorf("acknowledgement window must be 1..%d business days", disclosure.MaxBusinessDays)
	}
	if c.TimeZone == nil {
		c.TimeZone = time.UTC
	}
	if c.Resolution == nil {
		c.Resolution = disclosure.DefaultResolution()
	}
	if err := c.Resolution.Validate(); err != nil {
		return nil, err
	}
	if c.ReportsPerHour <= 0 {
		c.ReportsPerHour = 10
	}
	if c.ReportsBurst <= 0 {
		c.ReportsBurst = 3
	}
	if c.SubprocessorNoticeDays == 0 {
		c.SubprocessorNoticeDays = 30
	}
	if c.SubprocessorNoticeDays < 1 || c.SubprocessorNoticeDays > 365 {
		return nil, errors.New("subprocessor notice must be 1..365 days")
	}
	if c.SecurityTxt != nil {
		if err := c.SecurityTxt.Validate(); err != nil {
			return nil, err
		}
	}
	l, err := ratelimit.New(ratelimit.Config{Rate: c.ReportsPerHour / 3600, Burst: c.ReportsBurst, MaxKeys: 100_000, Clock: clock})
	if err != nil {
		return nil, fmt.Errorf("vulnerability report rate limit: %w", err)
	}
	return &trustState{cfg: c, reports: l}, nil
}

// SecurityTxt returns the RFC 9116 file at the current time (its Expires
// renews itself), or ENOTFOUND when none is configured.
func (s *Service) SecurityTxt() ([]byte, error) {
	if s.trust.cfg.SecurityTxt == nil {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "no security.txt is configured")
	}
	return s.trust.cfg.SecurityTxt.Render(s.now())
}

// TrustJobsLease is the lease under which one replica runs the trust jobs.
const TrustJobsLease = "trust-notifier"

// RunTrustJobs runs, every interval and only while holding the trust lease,
// the disclosure reminders, the subprocessor change announcements and the
// alerts of overdue incident obligations, until ctx ends. holder names this process.
func (s *Service) RunTrustJobs(ctx context.Context, interval time.Duration, holder string) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = s.store.ReleaseLease(context.WithoutCancel(ctx), TrustJobsLease, holder)
			return
		case <-t.C:
			s.TrustJobsOnce(ctx, interval, holder)
		}
	}
}

// TrustJobsOnce takes (or renews) the lease and, when held, runs each job
// once. Errors are logged and counted; the next run retries.
func (s *Service) TrustJobsOnce(ctx context.Context, interval time.Duration, holder string) bool {
	ok, err := s.store.AcquireLease(ctx, TrustJobsLease, holder, s.now(), 3*interval)
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			s.log.Error("acquiring the trust jobs lease", "err", err)
		}
		return false
	}
	s.runJob(ctx, "disclosure_reminders", "reminding operators of vulnerability reports", counted("reports", s.RemindReports))
	s.runJob(ctx, "subprocessor_notices", "announcing subprocessor changes", counted("changes", s.NotifySubprocessorChanges))
	s.runJob(ctx, "incident_overdue_alerts", "alerting overdue incident obligations", counted("alerts", s.AlertOverdueIncidents))
	return true
}
