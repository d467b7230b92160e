// Package monitor detects attacks and unusual access in the audit log (LOG-04)
// and raises alerts: brute force against one account, credential stuffing
// across accounts from one network, and mass reads or exports by one principal
// far beyond its usual volume. (Sign-ins from a new device or network are
// noticed where the session opens, in package service, which e-mails the user
// and records a low-severity alert.)
//
// Detector is the pure logic: sliding windows over events in the order of the
// log, judged by the events' own times, so that replaying the same events
// gives the same state. Monitor runs a Detector over the sealed audit stream
// under a lease, stores alerts and baselines, and hands new alerts to a
// notifier. docs/audit-log.md ("Monitoring") describes the detections, their
// thresholds, and what survives a restart.
package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/ratelimit"
	"strongroom.dev/strongroom/store"
)

// Thresholds configure the detections. Zero fields take the defaults of
// DefaultThresholds.
type Thresholds struct {
	// BruteForceFailures failed sign-ins against one account within
	// BruteForceWindow, from any networks, raise a brute-force alert.
	BruteForceFailures int
	BruteForceWindow   time.Duration
	// Failed sign-ins against StuffingAccounts different accounts from one
	// network (/24 IPv4, /64 IPv6) within StuffingWindow raise a
	// credential-stuffing alert.
	StuffingAccounts int
	StuffingWindow   time.Duration
	// A principal that reads more than MassReadFactor times its usual volume
	// for MassReadWindow, and more than MassReadFloor records, raises a
	// mass-read alert. Its usual volume is the exponentially weighted mean of
	// its records read per hour, each hour weighing BaselineAlpha.
	MassReadFactor float64
	MassReadFloor  int
	MassReadWindow time.Duration
	BaselineAlpha  float64
}

// DefaultThresholds are the documented defaults (README, docs/audit-log.md).
func DefaultThresholds() Thresholds {
	return Thresholds{
		BruteForceFailures: 10, BruteForceWindow: 15 * time.Minute,
		StuffingAccounts: 20, StuffingWindow: 15 * time.Minute,
		MassReadFactor: 10, MassReadFloor: 500, MassReadWindow: time.Hour, BaselineAlpha: 0.1,
	}
}

// withDefaults fills zero fields.
func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds()
	if t.BruteForceFailures == 0 {
		t.BruteForceFailures = d.BruteForceFailures
	}
	if t.BruteForceWindow == 0 {
		t.BruteForceWindow = d.BruteForceWindow
	}
	if t.StuffingAccounts == 0 {
		t.StuffingAccounts = d.StuffingAccounts
	}
	if t.StuffingWindow == 0 {
		t.StuffingWindow = d.StuffingWindow
	}
	if t.MassReadFactor == 0 {
		t.MassReadFactor = d.MassReadFactor
	}
	if t.MassReadFloor == 0 {
		t.MassReadFloor = d.MassReadFloor
	}
	if t.MassReadWindow == 0 {
		t.MassReadWindow = d.MassReadWindow
	}
	if t.BaselineAlpha == 0 {
		t.BaselineAlpha = d.BaselineAlpha
	}
	return t
}

// Validate refuses thresholds that cannot work (after defaults are applied).
func (t Thresholds) Validate() error {
	t = t.withDefaults()
	var errs []error
	if t.BruteForceFailures < 2 || t.BruteForceFailures > 10000 {
		errs = append(errs, errors.New("brute-force failures must be 2 to 10000"))
	}
	if t.StuffingAccounts < 2 || t.StuffingAccounts > 10000 {
		errs = append(errs, errors.New("credential-stuffing accounts must be 2 to 10000"))
	}
	for name, w := range map[string]time.Duration{"brute-force": t.BruteForceWindow, "credential-stuffing": t.StuffingWindow,
		"mass-read": t.MassReadWindow} {
		if w < time.Minute || w > 24*time.Hour {
			errs = append(errs, fmt.Errorf("the %s window must be 1m to 24h", name))
		}
	}
	if t.MassReadFactor < 1 || t.MassReadFactor > 1e6 || math.IsNaN(t.MassReadFactor) {
		errs = append(errs, errors.New("the mass-read factor must be 1 to 1000000"))
	}
	if t.MassReadFloor < 1 {
		errs = append(errs, errors.New("the mass-read floor must be at least 1"))
	}
	if !(t.BaselineAlpha > 0 && t.BaselineAlpha <= 1) {
		errs = append(errs, errors.New("the baseline weight must be in (0, 1]"))
	}
	return errors.Join(errs...)
}

// span is how far back the detector's windows reach: what a restart replays.
func (t Thresholds) span() time.Duration {
	return max(t.BruteForceWindow, t.StuffingWindow, t.MassReadWindow, time.Hour)
}

// Hit is a detection: an alert to record in Tenant's alerts.
type Hit struct {
	Tenant strongroom.TenantID
	store.AlertHit
}

// PrincipalKey names a principal whose reads are counted.
type PrincipalKey struct {
	Tenant    strongroom.TenantID
	Principal string // "user:ID", "api_key:ID"
}

// stamp is one evidence event.
type stamp struct {
	at      time.Time
	seq     int64
	account string // credential stuffing: the account tried ("" unknown)
}

// maxKeys bounds each detection's memory under a flood of distinct accounts,
// networks or principals: past it, the keys with the oldest activity go.
const maxKeys = 100000

// massEvidence is how many of a principal's latest reads a mass-read alert
// names as evidence.
const massEvidence = 50

// buckets divide the mass-read window: the window slides by a 60th of itself.
const buckets = 60

// readState is one principal's reading: the sliding window in buckets, the
// latest reads as evidence, and its baseline.
type readState struct {
	bucket  [buckets]struct{ idx, n int64 }
	recent  []stamp
	last    time.Time
	base    store.Baseline
	count   int64 // records read in base.OpenHour
	loaded  bool
	dirty   bool
	hasBase bool
}

// Detector holds the sliding windows. It is not safe for concurrent use.
type Detector struct {
	th       Thresholds
	brute    map[string][]stamp // account → its latest failures
	stuffing map[string][]stamp // network → its latest failures, one per account
	reads    map[PrincipalKey]*readState
	latest   time.Time
	swept    time.Time
}

// NewDetector returns a detector with th (zero fields: defaults).
func NewDetector(th Thresholds) (*Detector, error) {
	th = th.withDefaults()
	if err := th.Validate(); err != nil {
		return nil, err
	}
	return &Detector{th: th, brute: map[string][]stamp{}, stuffing: map[string][]stamp{}, reads: map[PrincipalKey]*readState{}}, nil
}

// Thresholds returns the detector's thresholds, defaults filled in.
func (d *Detector) Thresholds() Thresholds { return d.th }

// Observe takes the next event of the log and returns what it detects.
func (d *Detector) Observe(e *strongroom.AuditEvent) []Hit {
	if e.Time.After(d.latest) {
		d.latest = e.Time
	}
	var hits []Hit
	if isSignInFailure(e) {
		if h, ok := d.bruteForce(e); ok {
			hits = append(hits, h)
		}
		if h, ok := d.credentialStuffing(e); ok {
			hits = append(hits, h)
		}
	}
	if k, n, ok := readVolume(e); ok {
		if h, ok := d.massRead(k, n, e); ok {
			hits = append(hits, h)
		}
	}
	if d.latest.Sub(d.swept) > time.Minute {
		d.sweep()
	}
	return hits
}

// isSignInFailure: a failed attempt to authenticate (password, code, link,
// second factor, passkey, step-up). Those are recorded in the platform log
// with the account tried as the target, when it exists.
func isSignInFailure(e *strongroom.AuditEvent) bool {
	return e.Result == strongroom.ResultFailure && strings.HasPrefix(e.Action, "auth.")
}

// trim drops stamps older than from, and the oldest beyond keep.
func trim(s []stamp, from time.Time, keep int) []stamp {
	i := 0
	for i < len(s) && s[i].at.Before(from) {
		i++
	}
	if len(s)-i > keep {
		i = len(s) - keep
	}
	return slices.Delete(s, 0, i)
}

// bounds returns the earliest and latest times of s (not empty): events come
// in seq order, which on PostgreSQL may differ a little from time order.
func bounds(s []stamp) (first, last time.Time) {
	first, last = s[0].at, s[0].at
	for _, x := range s[1:] {
		if x.at.Before(first) {
			first = x.at
		}
		if x.at.After(last) {
			last = x.at
		}
	}
	return first, last
}

func seqs(s []stamp) []int64 {
	out := make([]int64, len(s))
	for i, x := range s {
		out[i] = x.seq
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (d *Detector) bruteForce(e *strongroom.AuditEvent) (Hit, bool) {
	account := e.TargetID
	if e.TargetType != "user" || account == "" {
		return Hit{}, false // an unknown address: nothing to protect, and not recorded
	}
	n, w := d.th.BruteForceFailures, d.th.BruteForceWindow
	s := trim(append(d.brute[account], stamp{at: e.Time, seq: e.Seq}), e.Time.Add(-w), n)
	d.brute[account] = s
	if len(s) < n {
		return Hit{}, false
	}
	first, last := bounds(s)
	return Hit{Tenant: strongroom.PlatformTenant, AlertHit: store.AlertHit{
		Kind: strongroom.AlertBruteForce, Severity: strongroom.SeverityMedium, Subject: account,
		Summary: fmt.Sprintf("%d or more failed sign-ins against one account within %s", n, w),
		Seqs:    seqs(s), First: first, Last: last, Window: w,
	}}, true
}

func (d *Detector) credentialStuffing(e *strongroom.AuditEvent) (Hit, bool) {
	network := ratelimit.Network(e.IP)
	if network == ratelimit.Invalid {
		return Hit{}, false
	}
	account := ""
	if e.TargetType == "user" {
		account = e.TargetID
	}
	m, w := d.th.StuffingAccounts, d.th.StuffingWindow
	s := d.stuffing[network]
	if account != "" { // one stamp per known account: its latest failure
		s = slices.DeleteFunc(s, func(x stamp) bool { return x.account == account })
	}
	s = trim(append(s, stamp{at: e.Time, seq: e.Seq, account: account}), e.Time.Add(-w), m)
	d.stuffing[network] = s
	if len(s) < m {
		return Hit{}, false
	}
	first, last := bounds(s)
	return Hit{Tenant: strongroom.PlatformTenant, AlertHit: store.AlertHit{
		Kind: strongroom.AlertCredentialStuffing, Severity: strongroom.SeverityHigh, Subject: network,
		Summary: fmt.Sprintf("failed sign-ins against %d or more accounts from network %s within %s", m, network, w),
		Seqs:    seqs(s), First: first, Last: last, Window: w,
	}}, true
}

// readVolume says whose reads an event records and how many records: one for
// a record read, the records returned for a list, the events exported or shown
// for an export or an audit query.
func readVolume(e *strongroom.AuditEvent) (PrincipalKey, int64, bool) {
	if e.Result != strongroom.ResultSuccess || e.TenantID == strongroom.PlatformTenant || e.ActorID == "" ||
		(e.ActorType != strongroom.PrincipalUser && e.ActorType != strongroom.PrincipalAPIKey) {
		return PrincipalKey{}, 0, false
	}
	switch {
	case e.Action == "record.read", e.Action == "record.list", e.Action == "audit.read", strings.HasSuffix(e.Action, ".export"):
	default:
		return PrincipalKey{}, 0, false
	}
	k := PrincipalKey{Tenant: e.TenantID, Principal: string(e.ActorType) + ":" + e.ActorID}
	var meta struct {
		Records  []json.RawMessage `json:"records"`
		Events   *int64            `json:"events"`
		Returned *int64            `json:"returned"`
	}
	n := int64(1)
	if json.Unmarshal(e.Metadata, &meta) == nil {
		switch {
		case meta.Records != nil:
			n = int64(len(meta.Records))
		case meta.Events != nil:
			n = *meta.Events
		case meta.Returned != nil:
			n = *meta.Returned
		}
	}
	return k, min(max(n, 0), 1<<40), true
}

// NeedBaselines lists the principals among events whose baselines the detector
// has not been given yet (SetBaseline).
func (d *Detector) NeedBaselines(events []store.SealedAuditEvent) []PrincipalKey {
	var out []PrincipalKey
	for i := range events {
		k, _, ok := readVolume(&events[i].AuditEvent)
		if !ok {
			continue
		}
		if r := d.reads[k]; (r == nil || !r.loaded) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// SetBaseline gives the detector a principal's stored baseline (ok false:
// none stored yet).
func (d *Detector) SetBaseline(k PrincipalKey, b store.Baseline, ok bool) {
	r := d.reads[k]
	if r == nil {
		r = &readState{}
		d.reads[k] = r
	}
	r.loaded, r.hasBase = true, ok
	if ok && (b.OpenHour.After(r.base.OpenHour) || r.base.OpenHour.IsZero()) {
		r.base, r.count = b, 0
	}
}

// DirtyBaselines returns the baselines changed since the last call, to store.
func (d *Detector) DirtyBaselines() map[PrincipalKey]store.Baseline {
	out := map[PrincipalKey]store.Baseline{}
	for k, r := range d.reads {
		if r.dirty {
			out[k] = r.base
			r.dirty = false
		}
	}
	return out
}

// roll closes the hours before hour: each folds its count into the mean (an
// hour without reads counts 0).
func (d *Detector) roll(r *readState, hour time.Time) {
	if !r.hasBase {
		r.base, r.hasBase, r.count, r.dirty = store.Baseline{OpenHour: hour}, true, 0, true
		return
	}
	if !hour.After(r.base.OpenHour) {
		return
	}
	a := d.th.BaselineAlpha
	r.base.Mean = a*float64(r.count) + (1-a)*r.base.Mean
	if empty := int64(hour.Sub(r.base.OpenHour)/time.Hour) - 1; empty > 0 {
		r.base.Mean *= math.Pow(1-a, float64(empty))
		r.base.Hours += empty
	}
	r.base.Hours++
	r.base.OpenHour, r.count, r.dirty = hour, 0, true
}

// Usual is a principal's usual records read per hour: the exponentially
// weighted mean of its closed hours, corrected for starting from zero (divided
// by the weight its hours carry, 1 - (1-α)^hours), so that a principal seen
// for two hours has the average of those two rather than a fifth of it. 0
// before its first hour closes.
func (d *Detector) Usual(b store.Baseline) float64 {
	if b.Hours <= 0 {
		return 0
	}
	return b.Mean / (1 - math.Pow(1-d.th.BaselineAlpha, float64(b.Hours)))
}

// Expected is the volume a principal with a usual hourly volume reads in the
// mass-read window without an alert: MassReadFactor times its usual volume for
// that long, and at least MassReadFloor.
func (d *Detector) Expected(usual float64) float64 {
	return max(float64(d.th.MassReadFloor), d.th.MassReadFactor*usual*d.th.MassReadWindow.Hours())
}

func (d *Detector) massRead(k PrincipalKey, n int64, e *strongroom.AuditEvent) (Hit, bool) {
	r := d.reads[k]
	if r == nil {
		r = &readState{loaded: true} // no baseline given: a new principal
		d.reads[k] = r
	}
	hour := e.Time.UTC().Truncate(time.Hour)
	d.roll(r, hour)
	if !hour.Before(r.base.OpenHour) { // hours before were counted into the stored mean
		r.count += n
	}
	w := d.th.MassReadWindow
	width := int64(w / buckets)
	idx := e.Time.UnixNano() / width
	b := &r.bucket[idx%buckets]
	if b.idx != idx {
		b.idx, b.n = idx, 0
	}
	b.n += n
	var sum int64
	for _, x := range r.bucket {
		if x.idx > idx-buckets && x.idx <= idx {
			sum += x.n
		}
	}
	r.recent = trim(append(r.recent, stamp{at: e.Time, seq: e.Seq}), e.Time.Add(-w), massEvidence)
	if e.Time.After(r.last) {
		r.last = e.Time
	}
	usual := d.Usual(r.base)
	limit := d.Expected(usual)
	if float64(sum) <= limit {
		return Hit{}, false
	}
	first, last := bounds(r.recent)
	return Hit{Tenant: k.Tenant, AlertHit: store.AlertHit{
		Kind: strongroom.AlertMassRead, Severity: strongroom.SeverityHigh, Subject: k.Principal,
		Summary: fmt.Sprintf("%d records read within %s; usual volume %.1f per hour, alert above %.0f", sum, w, usual, limit),
		Seqs:    seqs(r.recent), First: first, Last: last, Window: w,
	}}, true
}

// sweep forgets accounts, networks and principals without activity within
// their window (a principal's baseline is rolled and kept dirty first, so it
// is stored), and the oldest beyond maxKeys.
func (d *Detector) sweep() {
	d.swept = d.latest
	sweepStamps(d.brute, d.latest.Add(-d.th.BruteForceWindow))
	sweepStamps(d.stuffing, d.latest.Add(-d.th.StuffingWindow))
	from := d.latest.Add(-max(d.th.MassReadWindow, 2*time.Hour))
	for k, r := range d.reads {
		if r.last.Before(from) && !r.dirty {
			delete(d.reads, k)
		}
	}
	if len(d.reads) > maxKeys {
		keys := make([]PrincipalKey, 0, len(d.reads))
		for k, r := range d.reads {
			if !r.dirty {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, func(a, b PrincipalKey) int { return d.reads[a].last.Compare(d.reads[b].last) })
		for _, k := range keys[:max(0, min(len(keys), len(d.reads)-maxKeys))] {
			delete(d.reads, k)
		}
	}
}

func sweepStamps(m map[string][]stamp, from time.Time) {
	for k, s := range m {
		if len(s) == 0 || s[len(s)-1].at.Before(from) {
			delete(m, k)
		}
	}
	if len(m) <= maxKeys {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return m[a][len(m[a])-1].at.Compare(m[b][len(m[b])-1].at) })
	for _, k := range keys[:len(m)-maxKeys] {
		delete(m, k)
	}
}
