package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/filter"
	"strongroom.dev/strongroom/retention"
	"strongroom.dev/strongroom/store"
)

// Data lifecycle (LIF-01, LIF-02; docs/lifecycle.md): retention policies and
// their sweeper, and data-subject requests.

// LifecycleConfig configures retention and data-subject requests.
type LifecycleConfig struct {
	// AuditRetentionMinDays is the legal minimum an organization's audit
	// retention may be set to (0: any); default 365.
	AuditRetentionMinDays int
	// DSRDeadline is the time a data-subject request has to be carried out;
	// default 30 days.
	DSRDeadline time.Duration
	// TerminationWindow is the return window after an organization is
	// terminated (LIF-03); default 30 days.
	TerminationWindow time.Duration
}

func (c LifecycleConfig) withDefaults() LifecycleConfig {
	if c.AuditRetentionMinDays == 0 {
		c.AuditRetentionMinDays = 365
	}
	if c.AuditRetentionMinDays < 0 {
		c.AuditRetentionMinDays = 0
	}
	if c.DSRDeadline <= 0 {
		c.DSRDeadline = 30 * 24 * time.Hour
	}
	if c.TerminationWindow <= 0 {
		c.TerminationWindow = 30 * 24 * time.Hour
	}
	return c
}

// retentionError turns a policy's validation failure into a field error under
// prefix.
func retentionError(prefix string, err error) error {
	var fe *retention.FieldError
	if errors.As(err, &fe) {
		return validation(prefix+fe.Path, "%s", fe.Message)
	}
	return err
}

// validLifecycleSettings checks the retention members of organization
// settings: a well-formed default policy, and audit retention 0 (forever) or
// at least the legal minimum.
func (s *Service) validLifecycleSettings(in *strongroom.OrgSettings) error {
	if in.DefaultRetention != nil {
		if err := retention.Validate(*in.DefaultRetention); err != nil {
			return retentionError("/default_retention", err)
		}
		if !in.DefaultRetention.Active() {
			in.DefaultRetention = nil
		}
	}
	d := in.AuditRetentionDays
	if d < 0 || d > retention.MaxDays || (d != 0 && d < s.lifecycle.AuditRetentionMinDays) {
		return validation("/audit_retention_days", "must be 0 (keep forever) or %d to %d days (the legal minimum is %d)",
			s.lifecycle.AuditRetentionMinDays, retention.MaxDays, s.lifecycle.AuditRetentionMinDays)
	}
	return nil
}

// SetCollectionRetention sets a collection's own retention policy; nil
// returns it to the organization's default. Audited with the old and new
// policies.
func (s *Service) SetCollectionRetention(ctx context.Context, org strongroom.TenantID, name string, p *strongroom.RetentionPolicy) (*strongroom.Collection, error) {
	if err := s.Authorize(ctx, access.CollectionsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if p != nil {
		if err := retention.Validate(*p); err != nil {
			return nil, retentionError("", err)
		}
	}
	c, err := s.collection(ctx, org, name)
	if err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.SetCollectionRetention(ctx, c.ID, p); err != nil {
			return err
		}
		return audit(ctx, tx, "collection.retention.update", "collection", string(c.ID),
			map[string]any{"name": name, "old": c.Retention, "new": p})
	})
	s.colls.del(collKey{org, name})
	if err != nil {
		return nil, err
	}
	out := c.Collection
	out.Retention = p
	return &out, nil
}

// RetentionLease is the lease that makes one retention sweeper run at a time
// across replicas.
const RetentionLease = "retention-sweeper"

// SweepOptions tune one retention sweep.
type SweepOptions struct {
	Holder    string        // who sweeps (the lease holder); required
	LeaseTTL  time.Duration // default 5 minutes; renewed after every batch
	BatchSize int           // records looked at per transaction; default 500
	// AfterBatch, when set, runs after each committed batch; an error stops
	// the sweep there (tests use it to interrupt one).
	AfterBatch func() error
}

// SweepReport says what a sweep did.
type SweepReport struct {
	Ran         bool // false: another holder has the lease
	Collections int  // collection sweeps finished
	Examined    int64
	Deleted     int64
}

// SweepRetention deletes the records whose retention has run out, in every
// organization, in bounded batches, as the holder of RetentionLease (another
// holder's sweep in progress makes it return Ran false at once). Each
// collection's progress is saved with each batch's deletions, so a sweep that
// stops for any reason resumes where it stopped; when a collection's sweep
// ends, one audit event by the system actor records its counts. Restricted
// records are never deleted by retention.
func (s *Service) SweepRetention(ctx context.Context, opt SweepOptions) (SweepReport, error) {
	var rep SweepReport
	if opt.Holder == "" {
		return rep, errors.New("retention sweep: a holder is required")
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 5 * time.Minute
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	ok, err := s.store.AcquireLease(ctx, RetentionLease, opt.Holder, s.now(), opt.LeaseTTL)
	if err != nil || !ok {
		return rep, err
	}
	rep.Ran = true
	ctx = strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem, RequestID: "retention"})
	tenants, err := s.store.OrganizationIDs(ctx)
	if err != nil {
		return rep, err
	}
	for _, t := range tenants {
		if err := s.sweepTenant(ctx, t, opt, &rep); err != nil {
			return rep, fmt.Errorf("retention sweep of %s: %w", t, err)
		}
	}
	return rep, s.store.ReleaseLease(ctx, RetentionLease, opt.Holder)
}

func (s *Service) sweepTenant(ctx context.Context, t strongroom.TenantID, opt SweepOptions, rep *SweepReport) error {
	var settings *strongroom.OrgSettings
	var colls []strongroom.Collection
	err := s.store.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		var err error
		if settings, err = tx.OrgSettings(ctx); err != nil {
			return err
		}
		colls, err = tx.Collections(ctx)
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range colls {
		p := retention.Effective(c.Retention, settings.DefaultRetention)
		if err := s.sweepCollection(ctx, t, c, p, opt, rep); err != nil {
			return fmt.Errorf("collection %s: %w", c.ID, err)
		}
	}
	return nil
}

func (s *Service) sweepCollection(ctx context.Context, t strongroom.TenantID, c strongroom.Collection, p strongroom.RetentionPolicy,
	opt SweepOptions, rep *SweepReport) error {
	var sw *store.RetentionSweep
	err := s.store.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		var err error
		sw, err = tx.RetentionSweepState(ctx, c.ID)
		return err
	})
	if err != nil {
		return err
	}
	if sw == nil {
		if !p.Active() {
			return nil
		}
		now := s.clock()
		sw = &store.RetentionSweep{Collection: c.ID, Cutoff: retention.Cutoff(p, now), StartedAt: now}
	}
	for {
		if !p.Active() {
			// The policy was withdrawn during an interrupted sweep: end it.
			return s.endSweep(ctx, t, c, p, sw, rep)
		}
		var batch []strongroom.Record
		err := s.store.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			var err error
			batch, err = tx.RetentionBatch(ctx, c.ID, sw.After, p.From, sw.Cutoff, opt.BatchSize)
			return err
		})
		if err != nil {
			return err
		}
		expired, err := s.expired(ctx, t, p, sw.Cutoff, batch)
		if err != nil {
			return err
		}
		last := len(batch) < opt.BatchSize
		err = s.store.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			n, err := tx.DeleteExpiredRecords(ctx, c.ID, expired)
			if err != nil {
				return err
			}
			sw.Deleted += n
			sw.Examined += int64(len(batch))
			if len(batch) > 0 {
				sw.After = batch[len(batch)-1].ID
			}
			if last {
				if err := tx.EndRetentionSweep(ctx, c.ID); err != nil {
					return err
				}
				return auditSweep(ctx, tx, c, p, sw)
			}
			return tx.SaveRetentionSweep(ctx, sw)
		})
		if err != nil {
			return err
		}
		if last {
			rep.Collections++
			rep.Examined += sw.Examined
			rep.Deleted += sw.Deleted
			return nil
		}
		if opt.AfterBatch != nil {
			if err := opt.AfterBatch(); err != nil {
				return err
			}
		}
		ok, err := s.store.AcquireLease(ctx, RetentionLease, opt.Holder, s.now(), opt.LeaseTTL)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("lost the retention lease to another replica")
		}
	}
}

func (s *Service) endSweep(ctx context.Context, t strongroom.TenantID, c strongroom.Collection, p strongroom.RetentionPolicy,
	sw *store.RetentionSweep, rep *SweepReport) error {
	return s.store.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		if err := tx.EndRetentionSweep(ctx, c.ID); err != nil {
			return err
		}
		rep.Collections++
		return auditSweep(ctx, tx, c, p, sw)
	})
}

func auditSweep(ctx context.Context, tx *store.Tx, c strongroom.Collection, p strongroom.RetentionPolicy, sw *store.RetentionSweep) error {
	return audit(ctx, tx, "retention.sweep", "collection", string(c.ID), map[string]any{
		"collection": c.Name, "policy": p, "cutoff": sw.Cutoff, "started_at": sw.StartedAt,
		"examined": sw.Examined, "deleted": sw.Deleted,
	})
}

// expired picks the records of a batch that are expired: every one for a
// created or updated policy (the store selected by time); for a field policy,
// those whose date in the data is before the cutoff (the batch is decrypted to
// read it).
func (s *Service) expired(ctx context.Context, t strongroom.TenantID, p strongroom.RetentionPolicy, cutoff time.Time,
	batch []strongroom.Record) ([]strongroom.Record, error) {
	if p.From != strongroom.RetainFromField || len(batch) == 0 {
		return batch, nil
	}
	keys, err := s.keys.Keys(ctx, t)
	if err != nil {
		return nil, err
	}
	var out []strongroom.Record
	for _, r := range batch {
		plain := r
		if err := s.open(keys, &plain); err != nil {
			return nil, err
		}
		anchor, err := retention.Anchor(p.Field, plain.Data)
		if errors.Is(err, retention.ErrNoAnchor) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if retention.Expired(anchor, cutoff) {
			out = append(out, r)
		}
	}
	return out, nil
}

// RunRetention sweeps every interval until ctx ends, as holder ("": this
// process, named by host, process id and a random suffix).
func (s *Service) RunRetention(ctx context.Context, holder string, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	if holder == "" {
		holder = processHolder()
	}
	runEvery(ctx, interval, func() {
		s.runJob(ctx, "retention_sweeper", "retention sweep", func(ctx context.Context) ([]any, error) {
			rep, err := s.SweepRetention(ctx, SweepOptions{Holder: holder})
			if err != nil || rep.Deleted == 0 {
				return nil, err
			}
			return []any{"collections", rep.Collections, "examined", rep.Examined, "deleted", rep.Deleted}, nil
		})
	})
}

// processHolder names this process as a lease holder: host, process id and a
// random suffix.
func processHolder() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Identifier is one way to find a data subject: a searchable field and the
// value it holds for them (for example email = "ada@example.com").
type Identifier struct {
	Field string
	Value json.RawMessage
}

// DSRInput opens a data-subject request.
type DSRInput struct {
	Kind        string
	Identifiers []Identifier
}

// Limits of data-subject requests.
const (
	maxDSRIdentifiers = 10
	maxDSRMatches     = 10000
)

// CreateDSR opens a data-subject request: it finds every record referring to
// the person through the blind index of searchable fields, across all
// collections (nothing is decrypted to search), and records what it found
// with a deadline. The identifying values are not stored or audited: only the
// field names and the records found.
func (s *Service) CreateDSR(ctx context.Context, org strongroom.TenantID, in DSRInput) (*strongroom.DSR, error) {
	if err := s.Authorize(ctx, access.DataSubjectRequests, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	switch in.Kind {
	case strongroom.DSRExport, strongroom.DSRDelete, strongroom.DSRRestrict, strongroom.DSRLift:
	default:
		return nil, validation("/kind", "must be export, delete, restrict or lift")
	}
	if len(in.Identifiers) == 0 || len(in.Identifiers) > maxDSRIdentifiers {
		return nil, validation("/identifiers", "must list 1 to %d searchable fields and values", maxDSRIdentifiers)
	}
	type ident struct {
		field string
		canon []byte
	}
	var ids []ident
	var fields []string
	for i, id := range in.Identifiers {
		if !fieldPath.MatchString(id.Field) {
			return nil, validation(fmt.Sprintf("/identifiers/%d/field", i), "must be a field path such as email")
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(id.Value))
		if err != nil {
			return nil, validation(fmt.Sprintf("/identifiers/%d/value", i), "must be a JSON value")
		}
		canon, ok := filter.Canonical(v)
		if !ok {
			return nil, validation(fmt.Sprintf("/identifiers/%d/value", i), "must be a string, number or boolean")
		}
		ids = append(ids, ident{id.Field, canon})
		fields = append(fields, id.Field)
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, err
	}
	did, err := s.newID()
	if err != nil {
		return nil, err
	}
	now := s.clock()
	d := &strongroom.DSR{ID: did, Kind: in.Kind, Status: strongroom.DSROpen, Fields: fields, Matches: []strongroom.DSRMatch{},
		RequestedBy: actorID(ctx), CreatedAt: now, Deadline: now.Add(s.lifecycle.DSRDeadline)}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		colls, err := tx.Collections(ctx)
		if err != nil {
			return err
		}
		seen := map[strongroom.RecordID]bool{}
		for _, c := range colls {
			for _, id := range ids {
				if !containsString(c.Searchable, id.field) {
					continue
				}
				tm := store.Term{Field: id.field, Term: term(keys, c.ID, id.field, id.canon)}
				var after strongroom.RecordID
				for {
					recs, err := tx.Records(ctx, store.RecordQuery{Collection: c.ID, After: after, Limit: 1000, Terms: []store.Term{tm},
						Visibility: strongroom.Visibility{All: true, Restricted: true}})
					if err != nil {
						return err
					}
					for _, r := range recs {
						if !seen[r.ID] {
							seen[r.ID] = true
							d.Matches = append(d.Matches, strongroom.DSRMatch{Collection: c.Name, ID: c.ID, RecordID: r.ID, ClientID: r.ClientID})
						}
					}
					if len(d.Matches) > maxDSRMatches {
						return strongroom.Errorf(strongroom.EINVALID, "more than %d records match: narrow the request", maxDSRMatches)
					}
					if len(recs) < 1000 {
						break
					}
					after = recs[len(recs)-1].ID
				}
			}
		}
		if err := tx.CreateDSR(ctx, d); err != nil {
			return err
		}
		return audit(ctx, tx, "dsr.create", "dsr", did, map[string]any{"kind": d.Kind, "fields": fields,
			"records": matchIDs(d.Matches), "deadline": d.Deadline})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func matchIDs(ms []strongroom.DSRMatch) []strongroom.RecordID {
	out := make([]strongroom.RecordID, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.RecordID)
	}
	return out
}

// actorID names the principal in ctx for records that keep who did something.
func actorID(ctx context.Context) string {
	p := strongroom.PrincipalFrom(ctx)
	switch {
	case p.UserID != "":
		return string(p.UserID)
	case p.APIKey != nil:
		return APIKeyActor + string(p.APIKey.ID)
	}
	return string(p.Kind)
}

// DSRs lists an organization's data-subject requests, newest first.
func (s *Service) DSRs(ctx context.Context, org strongroom.TenantID) ([]strongroom.DSR, error) {
	if err := s.Authorize(ctx, access.DataSubjectRequests, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	var out []strongroom.DSR
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		out, err = tx.DSRs(ctx, 1000)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, s.auditRead(ctx, org, "dsr.list", "organization", string(org), map[string]any{"requests": len(out)})
}

// DSR returns one data-subject request.
func (s *Service) DSR(ctx context.Context, org strongroom.TenantID, id string) (*strongroom.DSR, error) {
	if err := s.Authorize(ctx, access.DataSubjectRequests, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "data-subject request not found")
	}
	var d *strongroom.DSR
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		d, err = tx.DSR(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, s.auditRead(ctx, org, "dsr.read", "dsr", id, nil)
}

// DSRRecord is one record handed over by an export request.
type DSRRecord struct {
	Collection string               `json:"collection"`
	ID         strongroom.RecordID  `json:"id"`
	ClientID   *strongroom.ClientID `json:"client_id"`
	Data       json.RawMessage      `json:"data"`
	CreatedAt  time.Time            `json:"created_at"`
	UpdatedAt  time.Time            `json:"updated_at"`
	// Files are the record's files (metadata; their content is downloaded
	// through the file API, or taken from the organization export).
	Files []DSRFile `json:"files"`
}

// DSRFile is a file of an exported record.
type DSRFile struct {
	ID          strongroom.FileID `json:"id"`
	Name        string            `json:"name"`
	ContentType string            `json:"content_type"`
	Size        int64             `json:"size"`
	SHA256      string            `json:"sha256"`
	CreatedAt   time.Time         `json:"created_at"`
}

// ExecuteDSR carries out an open data-subject request on the records it
// found (those deleted since are skipped) and completes it, in one
// transaction with its audit event (the evidence: which records, what was
// done). An export returns the records, decrypted.
func (s *Service) ExecuteDSR(ctx context.Context, org strongroom.TenantID, id string) (*strongroom.DSR, []DSRRecord, error) {
	if err := s.Authorize(ctx, access.DataSubjectRequests, access.Resource{Tenant: org}); err != nil {
		return nil, nil, err
	}
	if !ValidID(id) {
		return nil, nil, strongroom.Errorf(strongroom.ENOTFOUND, "data-subject request not found")
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, nil, err
	}
	all := strongroom.Visibility{All: true, Restricted: true}
	var d *strongroom.DSR
	var export []DSRRecord
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if d, err = tx.DSR(ctx, id); err != nil {
			return err
		}
		if d.Status != strongroom.DSROpen {
			return strongroom.Errorf(strongroom.EPRECONDITION, "the request was already carried out")
		}
		var done []strongroom.RecordID
		for _, m := range d.Matches {
			r, err := tx.Record(ctx, m.ID, m.RecordID, all)
			if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
				continue // deleted since the request was opened
			}
			if err != nil {
				return err
			}
			switch d.Kind {
			case strongroom.DSRExport:
				if err := s.open(keys, r); err != nil {
					return err
				}
				fs, err := tx.Files(ctx, m.ID, r.ID)
				if err != nil {
					return err
				}
				files := make([]DSRFile, 0, len(fs))
				for _, f := range fs {
					files = append(files, DSRFile{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size,
						SHA256: hex.EncodeToString(f.SHA256), CreatedAt: f.CreatedAt})
				}
				export = append(export, DSRRecord{Collection: m.Collection, ID: r.ID, ClientID: r.ClientID,
					Data: json.RawMessage(r.Data), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Files: files})
			case strongroom.DSRDelete:
				if _, err := tx.DeleteRecordsByID(ctx, m.ID, []strongroom.RecordID{r.ID}); err != nil {
					return err
				}
			case strongroom.DSRRestrict, strongroom.DSRLift:
				if err := tx.SetRecordRestricted(ctx, m.ID, r.ID, d.Kind == strongroom.DSRRestrict); err != nil {
					return err
				}
			}
			done = append(done, r.ID)
		}
		now := s.clock()
		if err := tx.CompleteDSR(ctx, id, len(done), now); err != nil {
			return err
		}
		d.Status, d.Done, d.CompletedAt = strongroom.DSRCompleted, len(done), &now
		if done == nil {
			done = []strongroom.RecordID{}
		}
		return audit(ctx, tx, "dsr."+d.Kind, "dsr", id, map[string]any{"records": done, "count": len(done),
			"deadline": d.Deadline, "on_time": !now.After(d.Deadline)})
	})
	if err != nil {
		return nil, nil, err
	}
	if export == nil && d.Kind == strongroom.DSRExport {
		export = []DSRRecord{}
	}
	return d, export, nil
}
