package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SealLag is how far the audit sequencer is behind sealing committed events
// into their chains (audit.Sequencer.Lag).
type SealLag struct {
	// Holding reports whether this process's sequencer holds the lease. Only
	// the holder seals, so only its figures are exported.
	Holding bool
	// Events is how many audit seq numbers were handed out but are not yet
	// sealed (an upper bound on PostgreSQL, where a rolled-back transaction
	// leaves its number unused).
	Events int64
	// Age is how long the oldest of them has waited, at least.
	Age time.Duration
}

var (
	leaseDesc = prometheus.NewDesc("audit_sequencer_lease_held",
		"1 when this process's audit sequencer holds the lease and seals; the seal-lag gauges come from the holder only.", nil, nil)
	lagEventsDesc = prometheus.NewDesc("audit_seal_lag_events",
		"Audit events committed (or seq numbers handed out) but not yet sealed into their hash chain.", nil, nil)
	lagSecondsDesc = prometheus.NewDesc("audit_seal_lag_seconds",
		"How long the oldest audit event not yet sealed has waited (0 when every event is sealed).", nil, nil)
)

// sealCollector reads the lag at each scrape.
type sealCollector struct{ lag func() SealLag }

func (c sealCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- leaseDesc
	ch <- lagEventsDesc
	ch <- lagSecondsDesc
}

func (c sealCollector) Collect(ch chan<- prometheus.Metric) {
	l := c.lag()
	held := 0.0
	if l.Holding {
		held = 1
	}
	ch <- prometheus.MustNewConstMetric(leaseDesc, prometheus.GaugeValue, held)
	if !l.Holding {
		return
	}
	ch <- prometheus.MustNewConstMetric(lagEventsDesc, prometheus.GaugeValue, float64(l.Events))
	ch <- prometheus.MustNewConstMetric(lagSecondsDesc, prometheus.GaugeValue, l.Age.Seconds())
}

// WatchAuditSeal exports the audit sequencer's lag, read from lag at every
// scrape (lag must be cheap and must not block on the sequencer's work). It
// may be called once.
func (r *Registry) WatchAuditSeal(lag func() SealLag) error {
	err := errors.New("metrics: the audit sequencer is already watched")
	r.sealOnce.Do(func() { err = r.reg.Register(sealCollector{lag: lag}) })
	return err
}
