package service

import (
	"context"
	"slices"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// Facts for the public trust page (issue 8, item 6): computed from the stored
// incidents and reports, never from prose. They hold counts and durations
// only, nothing about any organization or reporter, so they need no access
// decision; the page that shows them decides what is public.

// IncidentSummary summarizes the incidents opened since a time (INC-01..03).
type IncidentSummary struct {
	Since     time.Time `json:"since"`
	Incidents int       `json:"incidents"`
	Breaches  int       `json:"personal_data_breaches"`
	// Notices sent to affected organizations, and how many by the deadline.
	NoticesSent   int `json:"notices_sent"`
	NoticesOnTime int `json:"notices_on_time"`
	// Organizations still owed a notice past the deadline.
	NoticesOverdue int `json:"notices_overdue"`
	// Post-incident reports published, and how many within 7 days.
	ReportsPublished int `json:"reports_published"`
	ReportsOnTime    int `json:"reports_on_time"`
}

// IncidentSummary counts the incidents created since since.
func (s *Service) IncidentSummary(ctx context.Context, since time.Time) (*IncidentSummary, error) {
	now := s.clock()
	sum := &IncidentSummary{Since: since.UTC()}
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		incs, err := tx.Incidents(ctx, since)
		if err != nil {
			return err
		}
		for _, in := range incs {
			sum.Incidents++
			if in.ReportPublishedAt != nil {
				sum.ReportsPublished++
				if in.ReportDue != nil && !in.ReportPublishedAt.After(*in.ReportDue) {
					sum.ReportsOnTime++
				}
			}
			if !in.Breach || in.NotifyBy == nil {
				continue
			}
			sum.Breaches++
			orgs, err := tx.IncidentOrgs(ctx, in.ID)
			if err != nil {
				return err
			}
			for _, o := range orgs {
				switch {
				case o.NotifiedAt != nil:
					sum.NoticesSent++
					if !o.NotifiedAt.After(*in.NotifyBy) {
						sum.NoticesOnTime++
					}
				case now.After(*in.NotifyBy):
					sum.NoticesOverdue++
				}
			}
		}
		return nil
	})
	return sum, err
}

// DisclosureSummary summarizes the vulnerability reports received since a
// time (INC-05).
type DisclosureSummary struct {
	Since        time.Time `json:"since"`
	Reports      int       `json:"reports"`
	Acknowledged int       `json:"acknowledged"`
	AckOnTime    int       `json:"acknowledged_on_time"`
	// MedianAck is the median time from receipt to acknowledgement of the
	// acknowledged reports (0 when none).
	MedianAck time.Duration `json:"median_time_to_acknowledge"`
	Fixed     int           `json:"fixed"`
}

// DisclosureSummary counts the reports received since since.
func (s *Service) DisclosureSummary(ctx context.Context, since time.Time) (*DisclosureSummary, error) {
	sum := &DisclosureSummary{Since: since.UTC()}
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		rs, err := tx.VulnReports(ctx, store.VulnReportFilter{Since: since}, 0)
		var acks []time.Duration
		for _, r := range rs {
			sum.Reports++
			if r.AcknowledgedAt != nil {
				sum.Acknowledged++
				acks = append(acks, r.AcknowledgedAt.Sub(r.ReceivedAt))
				if !r.AcknowledgedAt.After(r.AckDue) {
					sum.AckOnTime++
				}
			}
			if r.Status == "fixed" {
				sum.Fixed++
			}
		}
		if n := len(acks); n > 0 {
			slices.Sort(acks)
			sum.MedianAck = acks[n/2]
			if n%2 == 0 {
				sum.MedianAck = (acks[n/2-1] + acks[n/2]) / 2
			}
		}
		return err
	})
	return sum, err
}
