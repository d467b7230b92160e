package service

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/certs"
	"strongroom.dev/strongroom/store"
	"strongroom.dev/strongroom/trust"
)

// The public trust page (issue 8, item 6): every claim is computed from the
// running system's settings and stored evidence, with its source named, and
// the answer is kept for TrustPageCacheFor so that /trust cannot be used to
// load the database.

// TLS modes of TrustPageConfig.TLSMode.
const (
	TLSModeOff   = "off"   // plain HTTP (development)
	TLSModeFiles = "files" // Strongroom terminates TLS with certificate files
	TLSModeACME  = "acme"  // Strongroom terminates TLS with ACME certificates
	TLSModeProxy = "proxy" // a trusted proxy terminates TLS (--tls-proxy)
)

// TrustPageConfig says what the trust page cannot read from the store: how
// the server was started.
type TrustPageConfig struct {
	// TLSMode is one of the TLSMode constants; "" is TLSModeOff.
	TLSMode string
	// MasterKeySource is the kind of master key source: "key file",
	// "environment variable", or the KMS kind ("hashivault", "awskms",
	// "gcpkms"); never a path, URL or key id.
	MasterKeySource string
	// HSTS is the Strict-Transport-Security policy the server sends; nil
	// when it sends none (plain HTTP).
	HSTS *certs.HSTS
	// Certificates describes the listener's certificates when Strongroom
	// terminates TLS (certs.Manager.Describe); nil otherwise. serve sets it
	// with SetCertificateSource once the certificate source exists.
	Certificates func() certs.Status
}

// TrustActiveUserDays is the window of "active users" on the trust page: a
// user with a session seen in the past 90 days.
const TrustActiveUserDays = 90

// SetCertificateSource gives the trust page the listener's certificate
// source (serve calls it before it starts serving).
func (s *Service) SetCertificateSource(describe func() certs.Status) {
	s.trustPage.mu.Lock()
	defer s.trustPage.mu.Unlock()
	s.trustPage.cfg.Certificates = describe
	s.trustPage.page = nil
}

// TrustPageCacheFor is how long a computed trust page is served before it is
// computed again.
const TrustPageCacheFor = time.Minute

// OperatorMinAAL is the authentication assurance level operator work needs
// (EnterOperator): a second factor.
const OperatorMinAAL = 2

type trustPageState struct {
	cfg  TrustPageConfig
	mu   sync.Mutex
	page *trust.Page
}

// TrustPage returns the public trust page, computed at most once per
// TrustPageCacheFor. Public facts only (counts, ages, settings); no access
// decision and no audit event, like the other public pages.
func (s *Service) TrustPage(ctx context.Context) (*trust.Page, error) {
	tp := s.trustPage
	tp.mu.Lock()
	defer tp.mu.Unlock()
	now := s.clock()
	if tp.page != nil && now.Sub(tp.page.GeneratedAt) < TrustPageCacheFor && !now.Before(tp.page.GeneratedAt) {
		return tp.page, nil
	}
	p, err := s.computeTrustPage(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("computing the trust page: %w", err)
	}
	tp.page = p
	return p, nil
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func (s *Service) computeTrustPage(ctx context.Context, now time.Time) (*trust.Page, error) {
	p := &trust.Page{GeneratedAt: now}
	add := func(c trust.Claim) { p.Claims = append(p.Claims, c) }

	// Transport.
	cfg := s.trustPage.cfg
	mode := cfg.TLSMode
	if mode == "" {
		mode = TLSModeOff
	}
	modeAnswer := map[string]string{
		TLSModeOff:   "No: the server speaks plain HTTP (development mode)",
		TLSModeFiles: "Yes: Strongroom terminates TLS with the operator's certificate",
		TLSModeACME:  "Yes: Strongroom terminates TLS with certificates obtained through ACME",
		TLSModeProxy: "Yes: TLS is terminated by a trusted proxy in front of Strongroom; HSTS is sent",
	}[mode]
	add(trust.Claim{ID: "tls.mode", Section: "Encryption in transit", Question: "Is all traffic encrypted in transit with TLS?",
		Answer: modeAnswer, Value: mode, Source: "setting: --tls-cert/--tls-key, --acme-domains, --tls-proxy"})
	pol := certs.ServerTLSConfig()
	if mode == TLSModeFiles || mode == TLSModeACME {
		suites := certs.IntermediateCipherSuites()
		names := make([]string, len(suites))
		for i, id := range suites {
			names[i] = tls.CipherSuiteName(id)
		}
		add(trust.Claim{ID: "tls.min_version", Section: "Encryption in transit", Question: "What is the minimum TLS version accepted?",
			Answer: tls.VersionName(pol.MinVersion), Value: tls.VersionName(pol.MinVersion), Source: "certs.ServerTLSConfig (the listener's TLS policy)"})
		add(trust.Claim{ID: "tls.cipher_suites", Section: "Encryption in transit", Question: "Which TLS 1.2 cipher suites are accepted?",
			Answer: strings.Join(names, ", ") + " (TLS 1.3: Go's AEAD suites)", Value: names, Source: "certs.IntermediateCipherSuites (Mozilla intermediate profile)"})
	} else {
		why := "not applicable: TLS is not enabled"
		if mode == TLSModeProxy {
			why = "set by the trusted proxy that terminates TLS, not by Strongroom"
		}
		add(trust.Claim{ID: "tls.min_version", Section: "Encryption in transit", Question: "What is the minimum TLS version accepted?",
			Answer: why, Value: nil, Source: "setting: --tls-proxy / no TLS configured"})
		add(trust.Claim{ID: "tls.cipher_suites", Section: "Encryption in transit", Question: "Which TLS 1.2 cipher suites are accepted?",
			Answer: why, Value: nil, Source: "setting: --tls-proxy / no TLS configured"})
	}

	s.trustTransport(now, mode, add)

	// Encryption at rest.
	ks, err := s.store.KeyringStats(ctx)
	if err != nil {
		return nil, err
	}
	add(trust.Claim{ID: "at_rest.algorithm", Section: "Encryption at rest", Question: "Is customer data encrypted at rest, and with what?",
		Answer: "Yes: AES-256-GCM envelope encryption with a data key per organization, wrapped by a master key", Value: "AES-256-GCM",
		Source: "package envelope (the only cipher records are sealed with)"})
	src := cfg.MasterKeySource
	if src == "" {
		src = "unknown"
	}
	add(trust.Claim{ID: "at_rest.master_key_source", Section: "Encryption at rest", Question: "Where is the master key kept?",
		Answer: src, Value: src, Source: "setting: --master-key-file, --master-key-env or --kms"})
	ageClaim := func(id, q string, at time.Time, what string) {
		c := trust.Claim{ID: id, Section: "Encryption at rest", Question: q, Source: "keyring: " + what}
		if at.IsZero() {
			c.Answer = "no data keys yet"
		} else {
			c.Answer, c.Value = trust.Age(now.Sub(at)), int(now.Sub(at)/(24*time.Hour))
		}
		add(c)
	}
	ageClaim("at_rest.oldest_key_age_days", "How old is the oldest data key in use (days)?", ks.OldestCurrent, "creation time of the oldest current data key")
	ageClaim("at_rest.newest_key_age_days", "How old is the newest data key (days)?", ks.NewestData, "creation time of the newest data key (a rotation resets it)")

	// Authentication.
	methods := []string{"authenticator app (TOTP)", "recovery codes"}
	if s.passkeys != nil {
		methods = append(methods, "security keys and passkeys (WebAuthn)")
	}
	add(trust.Claim{ID: "mfa.methods", Section: "Authentication", Question: "Is multi-factor authentication available, and which factors?",
		Answer: "Yes: " + strings.Join(methods, ", "), Value: methods, Source: "setting: --public-url (passkeys need an https URL or localhost); TOTP and recovery codes always"})
	add(trust.Claim{ID: "mfa.operator_enforced", Section: "Authentication", Question: "Must staff (operators) use a second factor?",
		Answer: fmt.Sprintf("Yes: every operator action needs a session at assurance level %d (a second factor)", OperatorMinAAL), Value: OperatorMinAAL >= 2,
		Source: "service.OperatorMinAAL, checked by service.EnterOperator"})

	if err := s.trustAccess(ctx, now, add); err != nil {
		return nil, err
	}

	// Backups.
	if err := s.trustBackups(ctx, now, add); err != nil {
		return nil, err
	}

	// Audit log.
	var cp *store.AuditCheckpoint
	var verified *store.AuditLink
	err = s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if cp, err = tx.LastAuditCheckpoint(ctx); err != nil {
			return err
		}
		verified, err = lastVerification(ctx, tx, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	c := trust.Claim{ID: "audit.last_checkpoint", Section: "Audit log", Question: "When was the audit chain last sealed under a signed checkpoint?",
		Answer: "no checkpoint yet", Source: "audit checkpoints: the platform chain's newest signed checkpoint (the sequencer verifies a chain before signing it)"}
	if cp != nil {
		c.Answer, c.Value = day(cp.SignedAt), cp.SignedAt.UTC()
	}
	add(c)
	c = trust.Claim{ID: "audit.last_verified", Section: "Audit log", Question: "When were the audit chains last verified end to end?",
		Answer: "not verified in the past year", Source: "audit log: the newest 'audit.verify' event ('strongroom audit verify' records each run)"}
	if verified != nil {
		ok := verified.Event.Result == strongroom.ResultSuccess
		res := "passed"
		if !ok {
			res = "found problems"
		}
		c.Answer = day(verified.Event.Time) + ", " + res
		c.Value = map[string]any{"at": verified.Event.Time.UTC(), "ok": ok}
	}
	add(c)

	// Retention.
	lc := s.lifecycle
	add(trust.Claim{ID: "retention.audit_min_days", Section: "Retention and deletion", Question: "How long are audit logs kept at least?",
		Answer: fmt.Sprintf("%d days (organizations may keep them longer)", lc.AuditRetentionMinDays), Value: lc.AuditRetentionMinDays, Source: "setting: --audit-retention-min-days"})
	dsr := int(lc.DSRDeadline / (24 * time.Hour))
	add(trust.Claim{ID: "retention.dsr_deadline_days", Section: "Retention and deletion", Question: "How soon are data-subject requests carried out?",
		Answer: fmt.Sprintf("within %d days", dsr), Value: dsr, Source: "setting: --dsr-deadline"})
	tw := int(lc.TerminationWindow / (24 * time.Hour))
	add(trust.Claim{ID: "retention.termination_window_days", Section: "Retention and deletion", Question: "What happens to data after termination?",
		Answer: fmt.Sprintf("returned on request for %d days, then crypto-shredded (backups included)", tw), Value: tw, Source: "setting: --termination-window"})

	// Subprocessors.
	sp, err := s.PublishedSubprocessors(ctx)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, e := range sp.Current {
		names = append(names, fmt.Sprintf("%s (%s, %s)", e.Name, e.Purpose, e.Location))
	}
	ans := "none"
	if len(names) > 0 {
		ans = strings.Join(names, "; ")
	}
	add(trust.Claim{ID: "subprocessors.current", Section: "Subprocessors", Question: "Which subprocessors process customer data?",
		Answer: ans, Value: sp.Current, Source: "subprocessor list (operators' entries in effect now; /subprocessors.json)"})
	var ups []string
	for _, u := range sp.Upcoming {
		ups = append(ups, fmt.Sprintf("%s %s on %s", u.Change, u.Entry.Name, u.EffectiveAt.UTC().Format(time.DateOnly)))
	}
	ans = "none announced"
	if len(ups) > 0 {
		ans = strings.Join(ups, "; ")
	}
	add(trust.Claim{ID: "subprocessors.upcoming", Section: "Subprocessors", Question: fmt.Sprintf("Are customers told of subprocessor changes in advance (%d days' notice)?", sp.NoticeDays),
		Answer: ans, Value: sp.Upcoming, Source: "subprocessor list (announced changes); setting: --subprocessor-notice-days"})

	// Disclosure and incidents.
	c = trust.Claim{ID: "disclosure.security_txt", Section: "Vulnerability disclosure", Question: "Is there a security contact (RFC 9116 security.txt)?",
		Answer: "no: no security contact is configured", Source: "setting: --security-contacts, --security-txt-expires, --security-txt-signing-key"}
	if st := s.trust.cfg.SecurityTxt; st != nil {
		exp := st.Expires(s.now())
		c.Answer = "Yes: /.well-known/security.txt, expires " + exp.UTC().Format(time.DateOnly)
		var signed any
		if st.Signer != nil {
			signed = st.Signer.Fingerprint()
			c.Answer += ", clear-signed with the OpenPGP key " + st.Signer.Fingerprint()
		}
		c.Value = map[string]any{"present": true, "expires": exp.UTC(), "contacts": len(st.Contacts), "signed_by": signed}
	}
	add(c)
	year := now.AddDate(-1, 0, 0)
	ds, err := s.DisclosureSummary(ctx, year)
	if err != nil {
		return nil, err
	}
	c = trust.Claim{ID: "disclosure.time_to_acknowledge", Section: "Vulnerability disclosure",
		Question: fmt.Sprintf("How fast are vulnerability reports acknowledged (target: %d business days)?", s.trust.cfg.AckDays),
		Answer:   "no reports acknowledged in the past 12 months", Source: "vulnerability reports received in the past 12 months (receipt and acknowledgement times)"}
	if ds.Acknowledged > 0 {
		c.Answer = fmt.Sprintf("median %s; %d of %d acknowledged reports on time; %d reports received, %d fixed",
			ds.MedianAck.Round(time.Minute), ds.AckOnTime, ds.Acknowledged, ds.Reports, ds.Fixed)
	}
	c.Value = map[string]any{"reports": ds.Reports, "acknowledged": ds.Acknowledged, "acknowledged_on_time": ds.AckOnTime,
		"median_seconds": int64(ds.MedianAck / time.Second), "fixed": ds.Fixed}
	add(c)
	is, err := s.IncidentSummary(ctx, year)
	if err != nil {
		return nil, err
	}
	add(trust.Claim{ID: "incidents.last_12_months", Section: "Incidents", Question: "How many incidents and personal-data breaches were there in the past 12 months, and were notices on time?",
		Answer: fmt.Sprintf("%d incidents, %d personal-data breaches; %d of %d breach notices on time, %d overdue; %d of %d post-incident reports on time",
			is.Incidents, is.Breaches, is.NoticesOnTime, is.NoticesSent, is.NoticesOverdue, is.ReportsOnTime, is.ReportsPublished),
		Value:  is,
		Source: fmt.Sprintf("incident records of the past 12 months; breach window setting --breach-notification-window (%s)", s.trust.cfg.BreachWindow)})
	if err := s.trustPolicy(ctx, add); err != nil {
		return nil, err
	}
	return p, nil
}

// trustTransport adds the HSTS and certificate claims.
func (s *Service) trustTransport(now time.Time, mode string, add func(trust.Claim)) {
	cfg := s.trustPage.cfg
	c := trust.Claim{ID: "tls.hsts", Section: "Encryption in transit", Question: "Is HTTP Strict Transport Security (HSTS) sent, and with what policy?",
		Answer: "No: the server speaks plain HTTP (development mode)", Value: map[string]any{"enabled": false},
		Source: "setting: --hsts-max-age-days, --hsts-include-subdomains, --hsts-preload (the Strict-Transport-Security header sent with TLS or --tls-proxy)"}
	if h := cfg.HSTS; h != nil {
		days := int(h.MaxAge / (24 * time.Hour))
		parts := []string{fmt.Sprintf("max-age %d days", days)}
		if h.IncludeSubDomains {
			parts = append(parts, "subdomains included")
		}
		if h.Preload {
			parts = append(parts, "preload requested")
		}
		c.Answer = "Yes: " + strings.Join(parts, ", ") + " (" + h.Value() + ")"
		c.Value = map[string]any{"enabled": true, "max_age_seconds": int64(h.MaxAge / time.Second),
			"include_subdomains": h.IncludeSubDomains, "preload": h.Preload}
	}
	add(c)

	c = trust.Claim{ID: "tls.certificate", Section: "Encryption in transit", Question: "When does the TLS certificate expire, and is it renewed automatically?",
		Source: "certificate source (certs: the certificates in use, --acme-domains or --tls-cert)"}
	switch {
	case mode == TLSModeProxy:
		c.Answer = "managed by the trusted proxy that terminates TLS, not by Strongroom"
	case cfg.Certificates == nil || (mode != TLSModeFiles && mode != TLSModeACME):
		c.Answer = "not applicable: TLS is not enabled"
	default:
		st := cfg.Certificates()
		auto := st.Mode == certs.ModeACME
		renewal := "renewed by the operator (certificate files, reloaded when replaced)"
		if auto {
			renewal = "renewed automatically through ACME, 30 days before expiry"
		}
		var first *certs.CertificateStatus
		for i := range st.Certificates {
			if first == nil || st.Certificates[i].NotAfter.Before(first.NotAfter) {
				first = &st.Certificates[i]
			}
		}
		v := map[string]any{"automatic_renewal": auto, "expires": nil, "days_to_expiry": nil}
		if first == nil {
			c.Answer = "no certificate obtained yet; " + renewal
		} else {
			v["expires"], v["days_to_expiry"] = first.NotAfter.UTC(), first.DaysToExpiry
			c.Answer = fmt.Sprintf("expires %s (%d days from now); %s", first.NotAfter.UTC().Format(time.DateOnly), first.DaysToExpiry, renewal)
		}
		c.Value = v
	}
	add(c)
}

// share is n of total as a whole percentage, rounded down; nil without a
// total.
func share(n, total int) any {
	if total == 0 {
		return nil
	}
	return n * 100 / total
}

// trustAccess adds the MFA adoption and access review claims: platform-wide
// counts, never a tenant or a user.
func (s *Service) trustAccess(ctx context.Context, now time.Time, add func(trust.Claim)) error {
	months := s.reviews.CadenceMonths
	cur, err := time.Parse(time.DateOnly, ReviewPeriod(now, months))
	if err != nil {
		return fmt.Errorf("review period: %w", err)
	}
	prev := cur.AddDate(0, -months, 0)
	agg, err := s.store.TrustAggregates(ctx, now.Add(-TrustActiveUserDays*24*time.Hour), prev)
	if err != nil {
		return err
	}
	c := trust.Claim{ID: "mfa.orgs_enforcing", Section: "Authentication", Question: "What share of customer organizations require MFA of their members?",
		Answer: "no organizations yet", Source: "organization settings: 'MFA required' (count across organizations)"}
	if agg.Orgs > 0 {
		c.Answer = fmt.Sprintf("%d%% (%d of %d organizations)", share(agg.OrgsMFARequired, agg.Orgs), agg.OrgsMFARequired, agg.Orgs)
	}
	c.Value = map[string]any{"organizations": agg.Orgs, "enforcing": agg.OrgsMFARequired, "percent": share(agg.OrgsMFARequired, agg.Orgs)}
	add(c)
	c = trust.Claim{ID: "mfa.users_enrolled", Section: "Authentication", Question: fmt.Sprintf("What share of active users (signed in within %d days) have a second factor?", TrustActiveUserDays),
		Answer: "no active users", Source: "sessions seen in the window and confirmed second factors (TOTP or WebAuthn), counted across users"}
	if agg.ActiveUsers > 0 {
		c.Answer = fmt.Sprintf("%d%% (%d of %d active users)", share(agg.ActiveUsersMFA, agg.ActiveUsers), agg.ActiveUsersMFA, agg.ActiveUsers)
	}
	c.Value = map[string]any{"active_users": agg.ActiveUsers, "with_mfa": agg.ActiveUsersMFA, "percent": share(agg.ActiveUsersMFA, agg.ActiveUsers)}
	add(c)

	var op *time.Time
	err = s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		cs, err := tx.ReviewCampaigns(ctx)
		for _, c := range cs {
			if c.CompletedAt != nil && (op == nil || c.CompletedAt.After(*op)) {
				op = c.CompletedAt
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	c = trust.Claim{ID: "access_review.last_completed", Section: "Authentication",
		Question: fmt.Sprintf("When were privileged accounts last reviewed (reviews every %d months)?", months),
		Source:   "access review campaigns: the operators' newest completed review and organizations' completed reviews (counts only); setting: --access-review-cadence-months"}
	parts := []string{"operator accounts: never reviewed", "organizations: no completed review yet"}
	v := map[string]any{"operators": nil, "organizations_last": nil, "organizations_reviewed": agg.OrgsReviewed, "organizations": agg.Orgs,
		"since": prev.UTC()}
	if op != nil {
		parts[0] = "operator accounts: " + day(*op)
		v["operators"] = op.UTC()
	}
	if !agg.LastOrgReview.IsZero() {
		parts[1] = "organizations: last " + day(agg.LastOrgReview)
		v["organizations_last"] = agg.LastOrgReview.UTC()
	}
	parts[1] += fmt.Sprintf("; %d of %d completed one since %s", agg.OrgsReviewed, agg.Orgs, prev.Format(time.DateOnly))
	c.Answer = strings.Join(parts, "; ")
	c.Value = v
	add(c)
	return nil
}

// trustPolicy adds the last security-policy change.
func (s *Service) trustPolicy(ctx context.Context, add func(trust.Claim)) error {
	var last *strongroom.PolicyChange
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		cs, err := tx.PolicyChanges(ctx)
		if len(cs) > 0 {
			last = &cs[0]
		}
		return err
	})
	if err != nil {
		return err
	}
	c := trust.Claim{ID: "policy.last_change", Section: "Security policy", Question: "When did the security policy last change, and are customers told?",
		Answer: "no change published", Source: "published security-policy changes (operators; each e-mailed to every organization's Admins)"}
	if last != nil {
		c.Answer = fmt.Sprintf("%s: %q, effective %s; every organization's Admins were notified", day(last.PublishedAt), last.Title, last.EffectiveAt.UTC().Format(time.DateOnly))
		var link any
		if last.URL != "" {
			link = last.URL
			c.Answer += " (" + last.URL + ")"
		}
		c.Value = map[string]any{"published": last.PublishedAt.UTC(), "effective": last.EffectiveAt.UTC(), "title": last.Title, "url": link}
	}
	add(c)
	return nil
}

// trustBackups adds the backup claims from the backup and drill records
// (the platform tables backups and backup_drills): the newest successful
// backup, and the newest successful drill. Records of backups taken by the
// backup command count when the server schedules none.
func (s *Service) trustBackups(ctx context.Context, now time.Time, add func(trust.Claim)) error {
	b := trust.Claim{ID: "backup.last", Section: "Backups", Question: "Are backups taken, encrypted, and when was the last one?",
		Answer: "not configured", Source: "backup records (table backups): the newest successful backup; setting --backup-to"}
	d := trust.Claim{ID: "backup.last_drill", Section: "Backups", Question: "Are restores tested, and when did the last restore drill succeed?",
		Answer: "not configured", Source: "restore drill records (table backup_drills): the newest successful drill"}
	var last *store.BackupRecord
	var drill *store.DrillRecord
	err := s.store.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if last, err = tx.LastBackup(ctx, store.OutcomeSucceeded); err != nil {
			return err
		}
		drill, err = tx.LastDrill(ctx, store.OutcomeSucceeded)
		return err
	})
	if err != nil {
		return fmt.Errorf("reading backup records: %w", err)
	}
	if s.backupLocation != "" {
		b.Answer, d.Answer = "configured; no backup yet", "configured; no successful drill yet"
	}
	if last != nil {
		b.Answer = fmt.Sprintf("encrypted (age), last %s (%s ago)", day(last.StartedAt), trust.Age(now.Sub(last.StartedAt)))
		b.Value = last.StartedAt.UTC()
	}
	if drill != nil {
		d.Answer = fmt.Sprintf("last successful drill %s (%s ago): %d tables, %d audit chains verified", day(drill.StartedAt),
			trust.Age(now.Sub(drill.StartedAt)), drill.Tables, drill.Chains)
		d.Value = drill.StartedAt.UTC()
	} else if last != nil && s.backupLocation == "" {
		d.Answer = "no successful drill yet"
	}
	add(b)
	add(d)
	return nil
}

// lastVerification finds the newest audit.verify event of the bound (platform)
// log in the past year: it looks in growing windows back from now, so the usual
// case (a run in the past day) reads little, and pages through a window to its
// end, since the query answers oldest first.
func lastVerification(ctx context.Context, tx *store.Tx, now time.Time) (*store.AuditLink, error) {
	const limit = 1000
	for _, back := range []time.Duration{24 * time.Hour, 30 * 24 * time.Hour, 366 * 24 * time.Hour} {
		var last *store.AuditLink
		q := store.AuditQuery{Action: "audit.verify", From: now.Add(-back), Limit: limit}
		for {
			links, err := tx.QueryAuditEvents(ctx, q)
			if err != nil {
				return nil, err
			}
			if n := len(links); n > 0 {
				last = &links[n-1]
				q.After = last.Seq
			}
			if len(links) < limit {
				break
			}
		}
		if last != nil {
			return last, nil
		}
	}
	return nil, nil
}
