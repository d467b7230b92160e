package service

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/store"
)

// Access reviews (IAM-15; docs/trust.md "Access reviews"). A campaign
// snapshots who holds access — an organization's members with their role,
// client assignments and last activity, or the platform's operators — and
// reviewers keep or revoke each entry. Revoking goes through RemoveMember (or
// the operator revocation), so the change is the same audited change as
// anywhere else and the member's next request is refused. A reviewer never
// decides on their own entry; an organization's only Admin (the platform's
// only operator) is recorded at completion as keep_unreviewed, visible in the
// evidence, because nobody else could review them and removing them would
// leave the organization without an Admin. Completed campaigns never change.
// A scheduler opens one campaign per period per organization under a lease
// and e-mails reminders to the Admins (operators) while a campaign is open
// and near or past its due date.

// ReviewConfig configures access reviews. Zero fields take the defaults.
type ReviewConfig struct {
	// CadenceMonths is the scheduled campaigns' period in months: 1, 2, 3
	// (quarterly, the default), 4, 6 or 12. Periods start on the first day of
	// a month counted from January (UTC).
	CadenceMonths int
	// DueDays is how long reviewers have to complete a campaign (default 14).
	DueDays int
	// RemindDays is how many days before the due date reminders start
	// (default 3); they repeat at most daily until the campaign is completed.
	RemindDays int
}

func (c ReviewConfig) withDefaults() (ReviewConfig, error) {
	if c.CadenceMonths == 0 {
		c.CadenceMonths = 3
	}
	if c.CadenceMonths < 1 || 12%c.CadenceMonths != 0 {
		return c, errors.New("access review cadence must be 1, 2, 3, 4, 6 or 12 months")
	}
	if c.DueDays == 0 {
		c.DueDays = 14
	}
	if c.DueDays < 1 || c.DueDays > 90 {
		return c, errors.New("access review due period must be 1..90 days")
	}
	if c.RemindDays == 0 {
		c.RemindDays = 3
	}
	if c.RemindDays < 1 || c.RemindDays > c.DueDays {
		return c, errors.New("access review reminders must start 1 day to the due period before the due date")
	}
	return c, nil
}

// ReviewPeriod is the scheduled period containing t for a cadence in months:
// its first day, as "2006-01-02".
func ReviewPeriod(t time.Time, months int) string {
	t = t.UTC()
	m := (int(t.Month())-1)/months*months + 1
	return time.Date(t.Year(), time.Month(m), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

// ReviewDetail is a campaign with its entries, most privileged first.
type ReviewDetail struct {
	strongroom.ReviewCampaign
	Entries []strongroom.ReviewEntry
}

// Completed reports whether the campaign is closed.
func (d *ReviewDetail) Completed() bool { return d.CompletedAt != nil }

func (s *Service) authorizeReviews(ctx context.Context, org strongroom.TenantID) error {
	if org == strongroom.PlatformTenant {
		return s.operator(ctx)
	}
	return s.Authorize(ctx, access.AccessReviews, access.Resource{Tenant: org})
}

var roleRank = map[strongroom.Role]int{strongroom.RoleAdmin: 0, strongroom.RoleEditor: 1, strongroom.RoleViewer: 2}

// snapshot lists who holds access in tx's tenant now.
func snapshot(ctx context.Context, tx *store.Tx) ([]strongroom.ReviewEntry, error) {
	if tx.Tenant() == strongroom.PlatformTenant {
		return tx.OperatorAccounts(ctx)
	}
	ms, err := tx.Members(ctx)
	if err != nil {
		return nil, err
	}
	act, err := tx.MemberActivity(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]strongroom.ReviewEntry, 0, len(ms))
	for _, m := range ms {
		full, err := tx.Member(ctx, m.UserID)
		if err != nil {
			return nil, err
		}
		a := act[m.UserID]
		out = append(out, strongroom.ReviewEntry{UserID: m.UserID, Email: m.Email, Role: string(m.Role), Rank: roleRank[m.Role],
			Clients: full.Clients, LastSessionAt: a[0], LastKeyUseAt: a[1]})
	}
	return out, nil
}

// openCampaign takes the snapshot and inserts the campaign with its audit
// event, in one transaction. A campaign for the same period is ECONFLICT.
func (s *Service) openCampaign(ctx context.Context, org strongroom.TenantID, period string) (*ReviewDetail, error) {
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	if period == "" {
		period = "manual:" + id
	}
	now := s.clock()
	p := strongroom.PrincipalFrom(ctx)
	d := &ReviewDetail{ReviewCampaign: strongroom.ReviewCampaign{ID: id, Period: period, OpenedBy: p.UserID, OpenedAt: now,
		DueAt: now.Add(time.Duration(s.reviews.DueDays) * 24 * time.Hour)}}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if org != strongroom.PlatformTenant {
			// A terminated organization (in its return window, being purged
			// or purged) gets no new campaign: its members have no access left
			// to review, and a purge must not leave rows behind.
			open, err := tx.OrganizationOpen(ctx)
			if err != nil {
				return err
			}
			if !open {
				return strongroom.Errorf(strongroom.ECONFLICT, "the organization is terminated")
			}
		}
		entries, err := snapshot(ctx, tx)
		if err != nil {
			return err
		}
		if err := tx.CreateReviewCampaign(ctx, &d.ReviewCampaign, entries); err != nil {
			return err
		}
		if d.Entries, err = tx.ReviewEntries(ctx, id); err != nil {
			return err
		}
		return audit(ctx, tx, "access_review.open", "access_review", id, map[string]any{"period": period, "entries": len(d.Entries),
			"due_at": d.DueAt})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// OpenAccessReview opens a campaign now, outside the schedule. org is an
// organization, or strongroom.PlatformTenant for the operators' review.
func (s *Service) OpenAccessReview(ctx context.Context, org strongroom.TenantID) (*ReviewDetail, error) {
	if err := s.authorizeReviews(ctx, org); err != nil {
		return nil, err
	}
	return s.openCampaign(ctx, org, "")
}

// AccessReviews lists the campaigns, newest first, with their progress
// (entries and decisions). Audited.
func (s *Service) AccessReviews(ctx context.Context, org strongroom.TenantID) ([]strongroom.ReviewCampaign, error) {
	if err := s.authorizeReviews(ctx, org); err != nil {
		return nil, err
	}
	var out []strongroom.ReviewCampaign
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if out, err = tx.ReviewCampaigns(ctx); err != nil {
			return err
		}
		progress, err := tx.ReviewProgress(ctx)
		if err != nil {
			return err
		}
		for i := range out {
			p := progress[out[i].ID]
			out[i].Entries, out[i].Decided = p.Entries, p.Decided
		}
		return audit(ctx, tx, "access_review.list", "access_review", "", map[string]int{"count": len(out)})
	})
	return out, err
}

func loadReview(ctx context.Context, tx *store.Tx, id string) (*ReviewDetail, error) {
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "review campaign not found")
	}
	c, err := tx.ReviewCampaign(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &ReviewDetail{ReviewCampaign: *c}
	if d.Entries, err = tx.ReviewEntries(ctx, id); err != nil {
		return nil, err
	}
	return d, nil
}

// AccessReview returns a campaign with its entries, audited as
// access_review.read, or as access_review.export when export is set (the
// evidence download).
func (s *Service) AccessReview(ctx context.Context, org strongroom.TenantID, id string, export bool) (*ReviewDetail, error) {
	if err := s.authorizeReviews(ctx, org); err != nil {
		return nil, err
	}
	action := "access_review.read"
	if export {
		action = "access_review.export"
	}
	var d *ReviewDetail
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if d, err = loadReview(ctx, tx, id); err != nil {
			return err
		}
		return audit(ctx, tx, action, "access_review", id, map[string]any{"completed": d.Completed()})
	})
	return d, err
}

// MaxReviewNote bounds a decision's note, in characters.
const MaxReviewNote = 1000

// DecideAccessReview keeps or revokes one entry of an open campaign. A revoke
// first removes the membership (or operator status) through the usual,
// audited path — refused for the last Admin (operator), and then nothing is
// recorded — and then records the decision with its own audit event.
func (s *Service) DecideAccessReview(ctx context.Context, org strongroom.TenantID, id string, user strongroom.UserID, decision, note string) (*ReviewDetail, error) {
	if err := s.authorizeReviews(ctx, org); err != nil {
		return nil, err
	}
	if decision != strongroom.ReviewKeep && decision != strongroom.ReviewRevoke {
		return nil, validation("/decision", "must be keep or revoke")
	}
	note = strings.TrimSpace(note)
	if note != "" {
		var err error
		if note, err = validText("/note", note, MaxReviewNote); err != nil {
			return nil, err
		}
	}
	if !ValidID(string(user)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "review entry not found")
	}
	p := strongroom.PrincipalFrom(ctx)
	var d *ReviewDetail
	if err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		d, err = loadReview(ctx, tx, id)
		return err
	}); err != nil {
		return nil, err
	}
	var entry *strongroom.ReviewEntry
	for i := range d.Entries {
		if d.Entries[i].UserID == user {
			entry = &d.Entries[i]
		}
	}
	switch {
	case entry == nil:
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "review entry not found")
	case d.Completed():
		return nil, strongroom.Errorf(strongroom.ECONFLICT, "the campaign is completed and cannot change")
	case user == p.UserID:
		return nil, strongroom.Errorf(strongroom.EFORBIDDEN, "a reviewer cannot review their own access")
	case entry.Decision != "":
		return nil, strongroom.Errorf(strongroom.ECONFLICT, "the entry is decided already")
	}
	if decision == strongroom.ReviewRevoke {
		var err error
		if org == strongroom.PlatformTenant {
			err = s.revokeOperator(ctx, user)
		} else {
			err = s.RemoveMember(ctx, org, user)
		}
		// A member who left since the snapshot has no access to remove.
		if err != nil && strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
			return nil, err
		}
	}
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.DecideReviewEntry(ctx, id, user, decision, p.UserID, s.clock(), note); err != nil {
			return err
		}
		var err error
		if d, err = loadReview(ctx, tx, id); err != nil {
			return err
		}
		return audit(ctx, tx, "access_review.decide", "access_review", id, map[string]string{"user": string(user),
			"role": entry.Role, "decision": decision})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// revokeOperator withdraws an operator's status (the platform must keep
// one), audited in the platform log like the command-line revocation.
func (s *Service) revokeOperator(ctx context.Context, user strongroom.UserID) error {
	return s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		ops, err := tx.Operators(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, o := range ops {
			found = found || o.ID == user
		}
		if !found {
			return strongroom.Errorf(strongroom.ENOTFOUND, "operator not found")
		}
		if len(ops) <= 1 {
			return strongroom.Errorf(strongroom.ECONFLICT, "the platform must keep at least one operator")
		}
		if err := tx.SetOperator(ctx, user, false); err != nil {
			return err
		}
		return audit(ctx, tx, "operator.revoke", "user", string(user), map[string]string{"via": "access_review"})
	})
}

// CompleteAccessReview closes a campaign for good once every entry is
// decided. The reviewer's own entry, when they are the only Admin (the only
// operator), is recorded as keep_unreviewed: nobody else can review it.
func (s *Service) CompleteAccessReview(ctx context.Context, org strongroom.TenantID, id string) (*ReviewDetail, error) {
	if err := s.authorizeReviews(ctx, org); err != nil {
		return nil, err
	}
	p := strongroom.PrincipalFrom(ctx)
	var d *ReviewDetail
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if d, err = loadReview(ctx, tx, id); err != nil {
			return err
		}
		if d.Completed() {
			return strongroom.Errorf(strongroom.ECONFLICT, "the campaign is completed and cannot change")
		}
		reviewers, err := s.reviewerCount(ctx, tx)
		if err != nil {
			return err
		}
		now := s.clock()
		open, unreviewed := 0, 0
		for _, e := range d.Entries {
			if e.Decision != "" {
				continue
			}
			if e.UserID == p.UserID && reviewers <= 1 {
				if err := tx.DecideReviewEntry(ctx, id, e.UserID, strongroom.ReviewKeepUnreviewed, p.UserID, now,
					"the only reviewer cannot review their own access"); err != nil {
					return err
				}
				unreviewed++
				continue
			}
			open++
		}
		if open > 0 {
			return strongroom.Errorf(strongroom.ECONFLICT, "%d entries are not decided yet", open)
		}
		if err := tx.CompleteReviewCampaign(ctx, id, p.UserID, now); err != nil {
			return err
		}
		if d, err = loadReview(ctx, tx, id); err != nil {
			return err
		}
		kept, revoked := 0, 0
		for _, e := range d.Entries {
			switch e.Decision {
			case strongroom.ReviewKeep:
				kept++
			case strongroom.ReviewRevoke:
				revoked++
			}
		}
		return audit(ctx, tx, "access_review.complete", "access_review", id, map[string]int{"kept": kept, "revoked": revoked,
			"kept_unreviewed": unreviewed})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// reviewerCount is how many accounts may review in tx's tenant now: Admins,
// or operators.
func (s *Service) reviewerCount(ctx context.Context, tx *store.Tx) (int, error) {
	if tx.Tenant() == strongroom.PlatformTenant {
		ops, err := tx.Operators(ctx)
		return len(ops), err
	}
	return tx.CountAdmins(ctx)
}

// WriteReviewCSV writes a campaign's evidence as CSV, one row per entry.
// Cells that a spreadsheet would read as a formula are prefixed with '.
func WriteReviewCSV(w io.Writer, d *ReviewDetail) error {
	cw := csv.NewWriter(w)
	t := func(v *time.Time) string {
		if v == nil {
			return ""
		}
		return v.UTC().Format(time.RFC3339)
	}
	completed := t(d.CompletedAt)
	if err := cw.Write([]string{"campaign", "period", "opened_at", "due_at", "completed_at", "completed_by", "user_id", "email", "role",
		"clients", "last_session_at", "last_key_use_at", "decision", "decided_by", "decided_at", "note"}); err != nil {
		return fmt.Errorf("writing review CSV: %w", err)
	}
	for _, e := range d.Entries {
		clients := make([]string, len(e.Clients))
		for i, c := range e.Clients {
			clients[i] = string(c)
		}
		row := []string{d.ID, d.Period, t(&d.OpenedAt), t(&d.DueAt), completed, string(d.CompletedBy), string(e.UserID), e.Email, e.Role,
			strings.Join(clients, " "), t(e.LastSessionAt), t(e.LastKeyUseAt), e.Decision, string(e.DecidedBy), t(e.DecidedAt), e.Note}
		for i, c := range row {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				row[i] = "'" + c
			}
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("writing review CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing review CSV: %w", err)
	}
	return nil
}

// ReviewJobsLease makes one replica at a time run the access review
// scheduler and reminders.
const ReviewJobsLease = "access-reviews"

// RunReviewJobs runs ReviewJobsOnce every interval until ctx ends.
func (s *Service) RunReviewJobs(ctx context.Context, interval time.Duration, holder string) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = s.store.ReleaseLease(context.WithoutCancel(ctx), ReviewJobsLease, holder)
			return
		case <-t.C:
			s.ReviewJobsOnce(ctx, interval, holder)
		}
	}
}

// ReviewJobsOnce takes (or renews) the lease and, when held, opens the
// current period's campaign where it is missing and sends due reminders. It
// reports whether it held the lease. Errors are logged; the next run retries.
func (s *Service) ReviewJobsOnce(ctx context.Context, interval time.Duration, holder string) bool {
	ok, err := s.store.AcquireLease(ctx, ReviewJobsLease, holder, s.now(), 3*interval)
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			s.log.Error("acquiring the access review lease", "err", err)
		}
		return false
	}
	s.runJob(ctx, "access_reviews", "running access reviews", func(ctx context.Context) ([]any, error) {
		opened, reminded, err := s.runReviewJobs(ctx)
		if err != nil || opened+reminded == 0 {
			return nil, err
		}
		return []any{"opened", opened, "reminded", reminded}, nil
	})
	return true
}

func (s *Service) runReviewJobs(ctx context.Context) (opened, reminded int, err error) {
	orgs, err := s.store.OrganizationIDs(ctx)
	if err != nil {
		return 0, 0, err
	}
	sys := strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem})
	period := ReviewPeriod(s.clock(), s.reviews.CadenceMonths)
	var errs []error
	for _, org := range append([]strongroom.TenantID{strongroom.PlatformTenant}, orgs...) {
		if org != strongroom.PlatformTenant {
			// Terminated organizations are neither reviewed nor reminded,
			// from the termination on (openCampaign checks again in its
			// transaction).
			t, err := s.store.TerminationOf(ctx, org)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading the termination of %s: %w", org, err))
				continue
			}
			if t != nil && t.CancelledAt == nil {
				continue
			}
		}
		if org == strongroom.PlatformTenant {
			var n int
			if err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
				n, err = s.reviewerCount(ctx, tx)
				return err
			}); err != nil {
				errs = append(errs, err)
				continue
			}
			if n == 0 {
				continue
			}
		}
		_, err := s.openCampaign(sys, org, period)
		switch strongroom.ErrorCode(err) {
		case "":
			opened++
		case strongroom.ECONFLICT:
		default:
			errs = append(errs, fmt.Errorf("opening the access review of %s: %w", org, err))
		}
		n, err := s.remindReviewers(sys, org)
		reminded += n
		if err != nil {
			errs = append(errs, fmt.Errorf("reminding reviewers of %s: %w", org, err))
		}
	}
	return opened, reminded, errors.Join(errs...)
}

// remindReviewers e-mails the Admins (operators) about each open campaign
// that is due within RemindDays or overdue, at most once a day.
func (s *Service) remindReviewers(ctx context.Context, org strongroom.TenantID) (int, error) {
	now := s.clock()
	n := 0
	var to []string
	var due []strongroom.ReviewCampaign
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		cs, err := tx.ReviewCampaigns(ctx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.CompletedAt != nil || now.Before(c.DueAt.Add(-time.Duration(s.reviews.RemindDays)*24*time.Hour)) ||
				(c.RemindedAt != nil && now.Sub(*c.RemindedAt) < 24*time.Hour) {
				continue
			}
			if err := tx.MarkReviewReminded(ctx, c.ID, now); err != nil {
				return err
			}
			due = append(due, c)
		}
		if len(due) == 0 {
			return nil
		}
		if to, err = reviewerEmails(ctx, tx); err != nil {
			return err
		}
		for _, c := range due {
			if err := audit(ctx, tx, "access_review.remind", "access_review", c.ID, map[string]any{"due_at": c.DueAt,
				"overdue": now.After(c.DueAt), "recipients": len(to)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, c := range due {
		subject := "Access review due " + c.DueAt.Format(time.DateOnly)
		if now.After(c.DueAt) {
			subject = "Access review overdue since " + c.DueAt.Format(time.DateOnly)
		}
		link := s.baseURL + "/api/v1/orgs/" + string(org) + "/access-reviews/" + c.ID
		if org == strongroom.PlatformTenant {
			link = s.baseURL + "/api/v1/operator/access-reviews/" + c.ID
		}
		for _, a := range to {
			s.deliver(mail.Message{To: a, Kind: "access-review-reminder", Subject: subject,
				Text: fmt.Sprintf("An access review (campaign %s, opened %s) is waiting for your decisions: keep or revoke each account's access.\n\n%s\n",
					c.ID, c.OpenedAt.Format(time.DateOnly), link)})
		}
		n++
	}
	return n, nil
}

// reviewerEmails lists the addresses of the Admins (operators) of tx's tenant.
func reviewerEmails(ctx context.Context, tx *store.Tx) ([]string, error) {
	var out []string
	if tx.Tenant() == strongroom.PlatformTenant {
		ops, err := tx.Operators(ctx)
		for _, o := range ops {
			out = append(out, o.Email)
		}
		return out, err
	}
	ms, err := tx.Members(ctx)
	for _, m := range ms {
		if m.Role == strongroom.RoleAdmin {
			out = append(out, m.Email)
		}
	}
	return out, err
}
