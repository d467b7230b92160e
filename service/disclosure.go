package service

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/disclosure"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/incident"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/store"
)

// Responsible disclosure (INC-05): a public intake for vulnerability reports,
// rate limited per client address, with bounded attachments sealed at rest;
// an acknowledgement deadline in business days and reminders to operators; a
// status workflow with resolution deadlines by severity; public credit for
// reporters who want it.

// Limits of a vulnerability report. Attachments travel base64-encoded in the
// JSON body, so three of 256 KiB fit in the default 1 MiB body limit.
const (
	MaxReportTitle       = 200
	MaxReportText        = 20000
	MaxReportAttachments = 3
	MaxAttachmentBytes   = 256 << 10
	MaxAttachmentsBytes  = 512 << 10
	// ReportTokenPrefix starts a reporter's status token.
	ReportTokenPrefix = "srv_"
)

// ReportInput is a vulnerability report as sent.
type ReportInput struct {
	Title         string
	Description   string
	ReporterName  string
	ReporterEmail string
	// Credit asks for public credit under CreditName (or ReporterName).
	Credit      bool
	CreditName  string
	Attachments []AttachmentInput
}

// AttachmentInput is one attached file.
type AttachmentInput struct {
	Name        string
	ContentType string
	Data        []byte
}

// ReportReceipt is what the reporter gets back once: the report id, the
// secret status token, and when acknowledgement is due.
type ReportReceipt struct {
	ID     string
	Token  string
	AckDue time.Time
}

// reportSecret is the sealed part of a report.
type reportSecret struct {
	Description   string `json:"description"`
	ReporterName  string `json:"reporter_name,omitempty"`
	ReporterEmail string `json:"reporter_email,omitempty"`
}

func reportAD(id string) envelope.AD {
	return envelope.AD{Tenant: string(strongroom.PlatformTenant), Table: "vuln_reports", Row: id, Field: "sealed"}
}

func attachmentAD(id string, n int) envelope.AD {
	return envelope.AD{Tenant: string(strongroom.PlatformTenant), Table: "vuln_attachments", Row: id + "/" + strconv.Itoa(n), Field: "sealed"}
}

func validText(path, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" || !utf8.ValidString(v) || utf8.RuneCountInString(v) > max ||
		strings.ContainsFunc(v, func(r rune) bool { return isControl(r) && r != '\n' && r != '\t' && r != '\r' }) {
		return "", validation(path, "must be 1 to %d characters of text", max)
	}
	return v, nil
}

func (s *Service) validReport(in ReportInput) (ReportInput, error) {
	var err error
	out := ReportInput{Credit: in.Credit}
	if out.Title, err = validName("/title", in.Title, MaxReportTitle); err != nil {
		return out, err
	}
	if out.Description, err = validText("/description", in.Description, MaxReportText); err != nil {
		return out, err
	}
	if in.ReporterName != "" {
		if out.ReporterName, err = validName("/reporter_name", in.ReporterName, 100); err != nil {
			return out, err
		}
	}
	if in.ReporterEmail != "" {
		if out.ReporterEmail, err = NormalizeEmail("/reporter_email", in.ReporterEmail); err != nil {
			return out, err
		}
	}
	if in.Credit {
		name := in.CreditName
		if name == "" {
			name = in.ReporterName
		}
		if out.CreditName, err = validName("/credit_name", name, 100); err != nil {
			return out, err
		}
	} else if in.CreditName != "" {
		return out, validation("/credit_name", "set credit to true to be credited publicly")
	}
	if len(in.Attachments) > MaxReportAttachments {
		return out, validation("/attachments", "at most %d attachments", MaxReportAttachments)
	}
	total := 0
	for i, a := range in.Attachments {
		p := fmt.Sprintf("/attachments/%d", i)
		name, err := validName(p+"/name", a.Name, 200)
		if err != nil {
			return out, err
		}
		if strings.ContainsAny(name, `/\`) {
			return out, validation(p+"/name", "must be a file name without folders")
		}
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if _, _, err := mime.ParseMediaType(ct); err != nil || len(ct) > 100 || strings.ContainsFunc(ct, isControl) {
			return out, validation(p+"/content_type", "must be a media type such as text/plain")
		}
		if len(a.Data) == 0 || len(a.Data) > MaxAttachmentBytes {
			return out, validation(p+"/data", "must be 1 byte to %d KiB", MaxAttachmentBytes>>10)
		}
		total += len(a.Data)
		out.Attachments = append(out.Attachments, AttachmentInput{Name: name, ContentType: ct, Data: a.Data})
	}
	if total > MaxAttachmentsBytes {
		return out, validation("/attachments", "at most %d KiB in all", MaxAttachmentsBytes>>10)
	}
	return out, nil
}

// AdmitReport is the rate limit of the report intake per client address
// (IPv6: per /64), checked before the body is read: 429 with Retry-After.
func (s *Service) AdmitReport(ctx context.Context) error {
	p := strongroom.PrincipalFrom(ctx)
	if ok, wait := s.trust.reports.Allow("report:" + ipKey(p.IP)); !ok {
		s.obs.RateLimited("disclosure")
		return strongroom.RateLimited(wait, "too many reports from your address: wait before sending another")
	}
	return nil
}

// SubmitReport takes a vulnerability report from anyone (after AdmitReport).
// It is validated whole before anything is written, sealed at rest, and
// audited in the platform log without its contents.
func (s *Service) SubmitReport(ctx context.Context, in ReportInput) (*ReportReceipt, error) {
	in, err := s.validReport(in)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	token, hash, err := authn.NewToken(s.rand, ReportTokenPrefix)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	due, err := disclosure.AckDeadline(now, s.trust.cfg.AckDays, s.trust.cfg.TimeZone)
	if err != nil {
		return nil, err
	}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return nil, err
	}
	secret, err := json.Marshal(reportSecret{Description: in.Description, ReporterName: in.ReporterName, ReporterEmail: in.ReporterEmail})
	if err != nil {
		return nil, fmt.Errorf("encoding report: %w", err)
	}
	r := strongroom.VulnReport{ID: id, TokenHash: hash, Title: in.Title, Status: string(disclosure.New),
		CreditName: in.CreditName, Attachments: len(in.Attachments), ReceivedAt: now, AckDue: due}
	if r.Sealed, err = envelope.Seal(keys.Current, reportAD(id), secret, s.rand); err != nil {
		return nil, fmt.Errorf("sealing report: %w", err)
	}
	atts := make([]strongroom.VulnAttachment, len(in.Attachments))
	for i, a := range in.Attachments {
		atts[i] = strongroom.VulnAttachment{ReportID: id, N: i, Name: a.Name, ContentType: a.ContentType, Size: int64(len(a.Data))}
		if atts[i].Sealed, err = envelope.Seal(keys.Current, attachmentAD(id, i), a.Data, s.rand); err != nil {
			return nil, fmt.Errorf("sealing attachment: %w", err)
		}
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.CreateVulnReport(ctx, &r, atts); err != nil {
			return err
		}
		return audit(ctx, tx, "disclosure.report.create", "vuln_report", id,
			map[string]any{"attachments": len(atts), "credit": in.Credit, "ack_due": due})
	})
	if err != nil {
		return nil, err
	}
	return &ReportReceipt{ID: id, Token: token, AckDue: due}, nil
}

// ReportView is what a report's status shows: to its reporter (with the
// token) and in operator listings.
type ReportView struct {
	ID             string     `json:"id"`
	Title          string     `json:"title"`
	Status         string     `json:"status"`
	Severity       string     `json:"severity,omitempty"`
	ReceivedAt     time.Time  `json:"received_at"`
	AckDue         time.Time  `json:"acknowledgement_due"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	TriagedAt      *time.Time `json:"triaged_at,omitempty"`
	ResolutionDue  *time.Time `json:"resolution_due,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	Credit         bool       `json:"credit"`
	Attachments    int        `json:"attachments"`
	// AckOverdue is set while a new report is past its acknowledgement
	// deadline, or when it was acknowledged late.
	AckOverdue bool `json:"acknowledgement_overdue"`
}

func (s *Service) reportView(r *strongroom.VulnReport) ReportView {
	var acked time.Time
	if r.AcknowledgedAt != nil {
		acked = *r.AcknowledgedAt
	}
	return ReportView{ID: r.ID, Title: r.Title, Status: r.Status, Severity: r.Severity, ReceivedAt: r.ReceivedAt,
		AckDue: r.AckDue, AcknowledgedAt: r.AcknowledgedAt, TriagedAt: r.TriagedAt, ResolutionDue: r.ResolutionDue,
		ClosedAt: r.ClosedAt, Credit: r.CreditName != "", Attachments: r.Attachments,
		AckOverdue: incident.Overdue(r.AckDue, acked, s.clock())}
}

// ReportStatus shows a report's status to whoever holds its token. A wrong
// or malformed token answers ENOTFOUND. The read is audited.
func (s *Service) ReportStatus(ctx context.Context, token string) (*ReportView, error) {
	if !authn.WellFormed(token, ReportTokenPrefix) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "no such report")
	}
	var v ReportView
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		r, err := tx.VulnReportByToken(ctx, authn.HashToken(token))
		if err != nil {
			return strongroom.Errorf(strongroom.ENOTFOUND, "no such report")
		}
		v = s.reportView(r)
		return audit(ctx, tx, "disclosure.report.status", "vuln_report", r.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// ListReports lists reports for operators, newest first, optionally by
// status. Audited.
func (s *Service) ListReports(ctx context.Context, status string) ([]ReportView, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	if status != "" && !disclosure.Status(status).Valid() {
		return nil, validation("/status", "unknown status")
	}
	var out []ReportView
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		rs, err := tx.VulnReports(ctx, store.VulnReportFilter{Status: status}, 0)
		if err != nil {
			return err
		}
		out = make([]ReportView, 0, len(rs))
		for i := range rs {
			out = append(out, s.reportView(&rs[i]))
		}
		return audit(ctx, tx, "disclosure.report.list", "vuln_report", "", map[string]any{"status": status, "count": len(rs)})
	})
	return out, err
}

// ReportDetail is a report opened for an operator.
type ReportDetail struct {
	ReportView
	Description   string             `json:"description"`
	ReporterName  string             `json:"reporter_name,omitempty"`
	ReporterEmail string             `json:"reporter_email,omitempty"`
	CreditName    string             `json:"credit_name,omitempty"`
	Files         []AttachmentDetail `json:"files"`
}

// AttachmentDetail is an opened attachment.
type AttachmentDetail struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// GetReport opens one report for an operator. Audited.
func (s *Service) GetReport(ctx context.Context, id string) (*ReportDetail, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "report not found")
	}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return nil, err
	}
	var d ReportDetail
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		r, err := tx.VulnReport(ctx, id)
		if err != nil {
			return err
		}
		atts, err := tx.VulnAttachments(ctx, id)
		if err != nil {
			return err
		}
		d, err = openReport(keys, r, atts)
		if err != nil {
			return err
		}
		d.ReportView = s.reportView(r)
		return audit(ctx, tx, "disclosure.report.read", "vuln_report", id, nil)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func openReport(keys *keyring.TenantKeys, r *strongroom.VulnReport, atts []strongroom.VulnAttachment) (ReportDetail, error) {
	d := ReportDetail{CreditName: r.CreditName, Files: []AttachmentDetail{}}
	b, err := openSealed(keys, reportAD(r.ID), r.Sealed)
	if err != nil {
		return d, fmt.Errorf("opening report %s: %w", r.ID, err)
	}
	var sec reportSecret
	if err := json.Unmarshal(b, &sec); err != nil {
		return d, fmt.Errorf("decoding report %s: %w", r.ID, err)
	}
	d.Description, d.ReporterName, d.ReporterEmail = sec.Description, sec.ReporterName, sec.ReporterEmail
	for _, a := range atts {
		data, err := openSealed(keys, attachmentAD(r.ID, a.N), a.Sealed)
		if err != nil {
			return d, fmt.Errorf("opening attachment %d of report %s: %w", a.N, r.ID, err)
		}
		d.Files = append(d.Files, AttachmentDetail{Name: a.Name, ContentType: a.ContentType, Data: data})
	}
	return d, nil
}

// ReportUpdate moves a report on: to acknowledged, triaged (with a
// severity, which sets the resolution deadline), fixed or wont_fix.
type ReportUpdate struct {
	Status   string
	Severity string
}

// UpdateReport applies an operator's status change. Audited.
func (s *Service) UpdateReport(ctx context.Context, id string, in ReportUpdate) (*ReportView, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "report not found")
	}
	to := disclosure.Status(in.Status)
	if !to.Valid() {
		return nil, validation("/status", "must be acknowledged, triaged, fixed or wont_fix")
	}
	sev := incident.Severity(in.Severity)
	switch {
	case to == disclosure.Triaged && !sev.Valid():
		return nil, validation("/severity", "triage needs a severity: low, medium, high or critical")
	case to != disclosure.Triaged && in.Severity != "":
		return nil, validation("/severity", "a severity is set when triaging")
	}
	var v ReportView
	err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		r, err := tx.VulnReport(ctx, id)
		if err != nil {
			return err
		}
		from := disclosure.Status(r.Status)
		if err := disclosure.CheckTransition(from, to); err != nil {
			return err
		}
		now := s.clock()
		r.Status = string(to)
		switch to {
		case disclosure.Acknowledged:
			r.AcknowledgedAt = &now
		case disclosure.Triaged:
			due, err := s.trust.cfg.Resolution.ResolutionDeadline(r.ReceivedAt, sev, s.trust.cfg.TimeZone)
			if err != nil {
				return err
			}
			r.TriagedAt, r.Severity, r.ResolutionDue = &now, string(sev), &due
		default:
			r.ClosedAt = &now
		}
		if err := tx.UpdateVulnReport(ctx, r, string(from)); err != nil {
			return err
		}
		v = s.reportView(r)
		return audit(ctx, tx, "disclosure.report.update", "vuln_report", id,
			map[string]any{"from": from, "to": to, "severity": r.Severity})
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Credit is one public acknowledgement of a fixed report.
type Credit struct {
	Name    string    `json:"name"`
	FixedAt time.Time `json:"fixed_at"`
}

// Credits lists the public credits: reports fixed whose reporters asked for
// credit, newest first, without any detail of the report. Public data.
func (s *Service) Credits(ctx context.Context) ([]Credit, error) {
	out := []Credit{}
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		rs, err := tx.VulnReports(ctx, store.VulnReportFilter{Credited: true}, 1000)
		for _, r := range rs {
			if r.ClosedAt != nil {
				out = append(out, Credit{Name: r.CreditName, FixedAt: r.ClosedAt.Truncate(24 * time.Hour)})
			}
		}
		return err
	})
	return out, err
}

// RemindReports e-mails operators about new reports whose acknowledgement
// deadline is near (less than a quarter of the window left) or past, at most
// once a day per report, and records each reminder in the platform log. It
// returns how many reports were reminded of. Run it under a lease.
func (s *Service) RemindReports(ctx context.Context) (int, error) {
	now := s.clock()
	var due []strongroom.VulnReport
	var ops []strongroom.User
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		rs, err := tx.VulnReportsUnacknowledged(ctx)
		for _, r := range rs {
			if disclosure.ReminderDue(r.ReceivedAt, r.AckDue, now) && (r.RemindedAt == nil || now.Sub(*r.RemindedAt) >= 24*time.Hour) {
				due = append(due, r)
			}
		}
		return err
	})
	if err == nil && len(due) > 0 {
		err = s.store.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
			ops, err = tx.Operators(ctx)
			return err
		})
	}
	if err != nil || len(due) == 0 {
		return 0, err
	}
	sys := strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem})
	n := 0
	for i := range due {
		r := &due[i]
		r.RemindedAt = &now
		err := s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
			if err := tx.UpdateVulnReport(ctx, r, r.Status); err != nil {
				return err
			}
			return audit(sys, tx, "disclosure.report.remind", "vuln_report", r.ID,
				map[string]any{"ack_due": r.AckDue, "operators": len(ops)})
		})
		if strongroom.ErrorCode(err) == strongroom.ECONFLICT {
			continue // acknowledged meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
		state := "is due"
		if now.After(r.AckDue) {
			state = "was due"
		}
		for _, op := range ops {
			s.deliver(mail.Message{To: op.Email, Kind: "disclosure-reminder",
				Subject: "A vulnerability report awaits acknowledgement",
				Text: fmt.Sprintf("Vulnerability report %s, received %s, is not acknowledged yet.\nAcknowledgement %s by %s.\n\n%s/api/v1/operator/disclosure/reports/%s\n",
					r.ID, r.ReceivedAt.Format(time.RFC3339), state, r.AckDue.Format(time.RFC3339), s.baseURL, r.ID)})
		}
	}
	return n, nil
}
