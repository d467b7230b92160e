package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// Data lifecycle (LIF-01, LIF-02): retention policies, the sweeper's resumable
// progress, restricted records and data-subject requests.

// OrganizationIDs lists every organization (the retention sweeper visits
// each). On PostgreSQL, where row-level security shows one tenant at a time,
// the function organization_ids answers IDs only (migration 0009).
func (s *Store) OrganizationIDs(ctx context.Context) ([]strongroom.TenantID, error) {
	q := "SELECT t FROM organization_ids() AS t ORDER BY 1"
	if s.engine == SQLite {
		q = "SELECT id FROM organizations ORDER BY id"
	}
	return s.tenantList(ctx, q)
}

// SetCollectionRetention sets a collection's own retention policy (nil: the
// organization's default).
func (tx *Tx) SetCollectionRetention(ctx context.Context, coll strongroom.CollectionID, p *strongroom.RetentionPolicy) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	var v any
	if p != nil {
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encoding retention policy: %w", err)
		}
		v = string(b)
	}
	res, err := tx.exec(ctx, "UPDATE collections SET retention = $1 WHERE tenant_id = $2 AND id = $3", v, string(t), string(coll))
	return affectedOne(res, err, "collection")
}

// RetentionSweep is a sweep of one collection in progress.
type RetentionSweep struct {
	Collection strongroom.CollectionID
	After      strongroom.RecordID // the last record looked at ("" before the first)
	Examined   int64
	Deleted    int64
	Cutoff     time.Time // records whose anchor is before it are expired
	StartedAt  time.Time
}

// RetentionSweepState returns the sweep of coll in progress, or nil.
func (tx *Tx) RetentionSweepState(ctx context.Context, coll strongroom.CollectionID) (*RetentionSweep, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	sw := RetentionSweep{Collection: coll}
	var after string
	var cutoff, started int64
	err = tx.q.QueryRowContext(ctx,
		"SELECT after_id, examined, deleted, cutoff, started_at FROM retention_sweeps WHERE tenant_id = $1 AND collection_id = $2",
		string(t), string(coll)).Scan(&after, &sw.Examined, &sw.Deleted, &cutoff, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading retention sweep: %w", err)
	}
	sw.After, sw.Cutoff, sw.StartedAt = strongroom.RecordID(after), fromMicros(cutoff), fromMicros(started)
	return &sw, nil
}

// SaveRetentionSweep records a sweep's progress.
func (tx *Tx) SaveRetentionSweep(ctx context.Context, sw *RetentionSweep) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx,
		`INSERT INTO retention_sweeps (tenant_id, collection_id, after_id, examined, deleted, cutoff, started_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)
		 ON CONFLICT (tenant_id, collection_id) DO UPDATE SET after_id = excluded.after_id,
		 examined = excluded.examined, deleted = excluded.deleted`,
		string(t), string(sw.Collection), string(sw.After), sw.Examined, sw.Deleted, micros(sw.Cutoff), micros(sw.StartedAt))
	if err != nil {
		return fmt.Errorf("saving retention sweep: %w", err)
	}
	return nil
}

// EndRetentionSweep forgets a finished sweep.
func (tx *Tx) EndRetentionSweep(ctx context.Context, coll strongroom.CollectionID) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "DELETE FROM retention_sweeps WHERE tenant_id = $1 AND collection_id = $2", string(t), string(coll)); err != nil {
		return fmt.Errorf("ending retention sweep: %w", err)
	}
	return nil
}

// RetentionBatch lists up to limit unrestricted records of coll after the
// record after, in ID order. With from "created" or "updated" only records
// whose creation or last update is before cutoff are listed; with any other
// from every record is (the caller reads the anchor from the data). It also
// returns the last ID it scanned, so that the next batch starts after it.
func (tx *Tx) RetentionBatch(ctx context.Context, coll strongroom.CollectionID, after strongroom.RecordID, from string, cutoff time.Time, limit int) ([]strongroom.Record, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	a := &args{}
	q := "SELECT " + recordColumns + " FROM records WHERE tenant_id = " + a.add(string(t)) +
		" AND collection_id = " + a.add(string(coll)) + " AND id > " + a.add(string(after)) + " AND restricted = 0"
	switch from {
	case strongroom.RetainFromCreated:
		q += " AND created_at < " + a.add(micros(cutoff))
	case strongroom.RetainFromUpdated:
		q += " AND updated_at < " + a.add(micros(cutoff))
	}
	q += " ORDER BY id LIMIT " + a.add(limit)
	return list(ctx, tx.q, "records to expire", func(row interface{ Scan(...any) error }) (*strongroom.Record, error) {
		return scanRecord(t, row)
	}, q, a.vals...)
}

// DeleteExpiredRecords deletes the given records of coll, each only if it
// is still at the version read and not restricted (a record changed or
// restricted since it was judged expired is left for the next sweep), and
// returns how many it deleted (their terms go with them).
func (tx *Tx) DeleteExpiredRecords(ctx context.Context, coll strongroom.CollectionID, recs []strongroom.Record) (int64, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range recs {
		res, err := tx.exec(ctx,
			"DELETE FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id = $3 AND version = $4 AND restricted = 0",
			string(t), string(coll), string(r.ID), r.Version)
		if err != nil {
			return n, fmt.Errorf("deleting record: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, fmt.Errorf("deleting record: %w", err)
		}
		n += k
	}
	return n, nil
}

// SetRecordRestricted restricts a record or lifts its restriction.
func (tx *Tx) SetRecordRestricted(ctx context.Context, coll strongroom.CollectionID, id strongroom.RecordID, restricted bool) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	v := 0
	if restricted {
		v = 1
	}
	res, err := tx.exec(ctx, "UPDATE records SET restricted = $1 WHERE tenant_id = $2 AND collection_id = $3 AND id = $4",
		v, string(t), string(coll), string(id))
	return affectedOne(res, err, "record")
}

const dsrColumns = "id, kind, status, fields, matches, requested_by, created_at, deadline, completed_at, done"

func scanDSR(t strongroom.TenantID) func(row interface{ Scan(...any) error }) (*strongroom.DSR, error) {
	return func(row interface{ Scan(...any) error }) (*strongroom.DSR, error) {
		d := strongroom.DSR{TenantID: t}
		var fields, matches string
		var created, deadline int64
		var completed sql.NullInt64
		var done int64
		if err := row.Scan(&d.ID, &d.Kind, &d.Status, &fields, &matches, &d.RequestedBy, &created, &deadline, &completed, &done); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, strongroom.Errorf(strongroom.ENOTFOUND, "data-subject request not found")
			}
			return nil, fmt.Errorf("reading data-subject request: %w", err)
		}
		if err := json.Unmarshal([]byte(fields), &d.Fields); err != nil {
			return nil, fmt.Errorf("decoding data-subject request fields: %w", err)
		}
		if err := json.Unmarshal([]byte(matches), &d.Matches); err != nil {
			return nil, fmt.Errorf("decoding data-subject request matches: %w", err)
		}
		d.CreatedAt, d.Deadline, d.Done = fromMicros(created), fromMicros(deadline), int(done)
		if completed.Valid {
			c := fromMicros(completed.Int64)
			d.CompletedAt = &c
		}
		return &d, nil
	}
}

// CreateDSR stores a data-subject request.
func (tx *Tx) CreateDSR(ctx context.Context, d *strongroom.DSR) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	fields, err := json.Marshal(d.Fields)
	if err != nil {
		return fmt.Errorf("encoding data-subject request: %w", err)
	}
	matches, err := json.Marshal(d.Matches)
	if err != nil {
		return fmt.Errorf("encoding data-subject request: %w", err)
	}
	_, err = tx.exec(ctx, "INSERT INTO dsr_requests ("+dsrColumns+`, tenant_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.ID, d.Kind, d.Status, string(fields), string(matches), d.RequestedBy, micros(d.CreatedAt), micros(d.Deadline),
		nullMicros(d.CompletedAt), d.Done, string(t))
	if err != nil {
		return fmt.Errorf("inserting data-subject request: %w", err)
	}
	d.TenantID = t
	return nil
}

// DSR returns one data-subject request of the bound tenant.
func (tx *Tx) DSR(ctx context.Context, id string) (*strongroom.DSR, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanDSR(t)(tx.q.QueryRowContext(ctx, "SELECT "+dsrColumns+" FROM dsr_requests WHERE tenant_id = $1 AND id = $2", string(t), id))
}

// DSRs lists the bound tenant's data-subject requests, newest first.
func (tx *Tx) DSRs(ctx context.Context, limit int) ([]strongroom.DSR, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "data-subject requests", scanDSR(t),
		"SELECT "+dsrColumns+" FROM dsr_requests WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2", string(t), limit)
}

// CompleteDSR marks an open request completed; a request that is no longer
// open is EPRECONDITION.
func (tx *Tx) CompleteDSR(ctx context.Context, id string, done int, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx,
		"UPDATE dsr_requests SET status = $1, done = $2, completed_at = $3 WHERE tenant_id = $4 AND id = $5 AND status = $6",
		strongroom.DSRCompleted, done, micros(at), string(t), id, strongroom.DSROpen)
	if err := affectedOne(res, err, "data-subject request"); err != nil {
		if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			return strongroom.Errorf(strongroom.EPRECONDITION, "the request was already carried out")
		}
		return err
	}
	return nil
}

// DeleteRecordsByID deletes the listed records of coll whatever their version
// or restriction (a data-subject deletion) and returns how many it deleted.
func (tx *Tx) DeleteRecordsByID(ctx context.Context, coll strongroom.CollectionID, ids []strongroom.RecordID) (int64, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, id := range ids {
		res, err := tx.exec(ctx, "DELETE FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id = $3",
			string(t), string(coll), string(id))
		if err != nil {
			return n, fmt.Errorf("deleting record: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, fmt.Errorf("deleting record: %w", err)
		}
		n += k
	}
	return n, nil
}
