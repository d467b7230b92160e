package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"strongroom.dev/strongroom"
)

// Term is one searchable-field index entry of a record: the field's dotted path
// and an opaque term derived from its value (computed by the caller; the store
// never sees how).
type Term struct {
	Field string
	Term  []byte
}

// RecordQuery selects records of one collection.
type RecordQuery struct {
	Collection strongroom.CollectionID
	Visibility strongroom.Visibility
	// Terms must all match (equality filters on searchable fields).
	Terms []Term
	// After is the cursor: only records with a greater ID are returned.
	After strongroom.RecordID
	Limit int
}

const recordColumns = "collection_id, id, client_id, version, data, key_id, created_at, updated_at, restricted"

func scanRecord(t strongroom.TenantID, row interface{ Scan(...any) error }) (*strongroom.Record, error) {
	r := strongroom.Record{TenantID: t}
	var client sql.NullString
	var created, updated, restricted int64
	if err := row.Scan(&r.CollectionID, &r.ID, &client, &r.Version, &r.Data, &r.KeyID, &created, &updated, &restricted); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "record not found")
		}
		return nil, fmt.Errorf("reading record: %w", err)
	}
	if client.Valid {
		c := strongroom.ClientID(client.String)
		r.ClientID = &c
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	r.Restricted = restricted != 0
	return &r, nil
}

func nullClient(c *strongroom.ClientID) any {
	if c == nil {
		return nil
	}
	return string(*c)
}

// ErrUnknownClient is returned when a record names a client that does not exist
// in the bound organization.
var ErrUnknownClient = strongroom.Errorf(strongroom.ENOTFOUND, "client not found")

// CreateRecord inserts a record and its terms. An unknown client is ErrUnknownClient.
func (tx *Tx) CreateRecord(ctx context.Context, r *strongroom.Record, terms []Term) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx,
		`INSERT INTO records (tenant_id, collection_id, id, client_id, version, data, key_id, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		string(t), string(r.CollectionID), string(r.ID), nullClient(r.ClientID), r.Version, r.Data, r.KeyID,
		micros(r.CreatedAt), micros(r.UpdatedAt))
	if isForeignKeyViolation(err) {
		return ErrUnknownClient
	}
	if err != nil {
		return fmt.Errorf("inserting record: %w", err)
	}
	r.TenantID = t
	return tx.insertTerms(ctx, t, r, terms)
}

func (tx *Tx) insertTerms(ctx context.Context, t strongroom.TenantID, r *strongroom.Record, terms []Term) error {
	for _, term := range terms {
		if _, err := tx.exec(ctx,
			"INSERT INTO record_terms (tenant_id, collection_id, field, term, record_id) VALUES ($1, $2, $3, $4, $5)",
			string(t), string(r.CollectionID), term.Field, term.Term, string(r.ID)); err != nil {
			return fmt.Errorf("inserting record term: %w", err)
		}
	}
	return nil
}

// Record returns one record if vis allows it; otherwise, as when it is missing,
// ENOTFOUND.
func (tx *Tx) Record(ctx context.Context, coll strongroom.CollectionID, id strongroom.RecordID, vis strongroom.Visibility) (*strongroom.Record, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	r, err := scanRecord(t, tx.q.QueryRowContext(ctx,
		"SELECT "+recordColumns+" FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id = $3",
		string(t), string(coll), string(id)))
	if err != nil {
		return nil, err
	}
	if !vis.Allows(r.ClientID) || (r.Restricted && !vis.Restricted) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "record not found")
	}
	return r, nil
}

// UpdateRecord replaces a record's data and client, bumps its version, and
// replaces its terms. The record must be at version r.Version-1 (optimistic
// concurrency); the caller reads it first and checks visibility and If-Match.
func (tx *Tx) UpdateRecord(ctx context.Context, r *strongroom.Record, terms []Term) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx,
		`UPDATE records SET client_id = $1, version = $2, data = $3, key_id = $4, updated_at = $5
		 WHERE tenant_id = $6 AND collection_id = $7 AND id = $8 AND version = $9`,
		nullClient(r.ClientID), r.Version, r.Data, r.KeyID, micros(r.UpdatedAt),
		string(t), string(r.CollectionID), string(r.ID), r.Version-1)
	if isForeignKeyViolation(err) {
		return ErrUnknownClient
	}
	if err := affectedOne(res, err, "record"); err != nil {
		if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			return strongroom.Errorf(strongroom.EPRECONDITION, "the record was changed concurrently")
		}
		return err
	}
	if _, err := tx.exec(ctx, "DELETE FROM record_terms WHERE tenant_id = $1 AND collection_id = $2 AND record_id = $3",
		string(t), string(r.CollectionID), string(r.ID)); err != nil {
		return fmt.Errorf("deleting record terms: %w", err)
	}
	return tx.insertTerms(ctx, t, r, terms)
}

// DeleteRecord removes a record at the given version (its terms go with it).
func (tx *Tx) DeleteRecord(ctx context.Context, coll strongroom.CollectionID, id strongroom.RecordID, version int64) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "DELETE FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id = $3 AND version = $4",
		string(t), string(coll), string(id), version)
	if err := affectedOne(res, err, "record"); err != nil {
		if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			return strongroom.Errorf(strongroom.EPRECONDITION, "the record was changed concurrently")
		}
		return err
	}
	return nil
}

// Records lists records in ID order (creation order: IDs are UUIDv7).
func (tx *Tx) Records(ctx context.Context, q RecordQuery) ([]strongroom.Record, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	a := &args{}
	tp, cp := a.add(string(t)), a.add(string(q.Collection))
	s := "SELECT " + recordColumns + " FROM records WHERE tenant_id = " + tp + " AND collection_id = " + cp
	if q.After != "" {
		s += " AND id > " + a.add(string(q.After))
	}
	if !q.Visibility.Restricted {
		s += " AND restricted = 0"
	}
	if !q.Visibility.All {
		s += " AND (client_id IS NULL OR client_id IN (" + a.list(q.Visibility.Clients) + "))"
	}
	for _, term := range q.Terms {
		s += " AND id IN (SELECT record_id FROM record_terms WHERE tenant_id = " + tp +
			" AND collection_id = " + cp + " AND field = " + a.add(term.Field) + " AND term = " + a.add(term.Term) + ")"
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	s += " ORDER BY id LIMIT " + a.add(limit)
	rows, err := tx.q.QueryContext(ctx, s, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("listing records: %w", err)
	}
	defer rows.Close()
	var out []strongroom.Record
	for rows.Next() {
		r, err := scanRecord(t, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// CountRecords counts the records of a collection (all clients).
func (tx *Tx) CountRecords(ctx context.Context, coll strongroom.CollectionID) (int64, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	var n int64
	if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM records WHERE tenant_id = $1 AND collection_id = $2",
		string(t), string(coll)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting records: %w", err)
	}
	return n, nil
}

// RecordsSealedBefore lists up to limit records of the bound tenant whose
// payload is sealed with a key version older than keyID, in (collection, id)
// order after the given position: the work list of key rotation.
func (tx *Tx) RecordsSealedBefore(ctx context.Context, keyID uint32, afterColl strongroom.CollectionID, afterID strongroom.RecordID, limit int) ([]strongroom.Record, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx,
		"SELECT "+recordColumns+` FROM records WHERE tenant_id = $1 AND key_id < $2
		 AND (collection_id > $3 OR (collection_id = $3 AND id > $4))
		 ORDER BY collection_id, id LIMIT $5`,
		string(t), keyID, string(afterColl), string(afterID), limit)
	if err != nil {
		return nil, fmt.Errorf("listing records to reseal: %w", err)
	}
	defer rows.Close()
	var out []strongroom.Record
	for rows.Next() {
		r, err := scanRecord(t, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// ResealRecord replaces a record's sealed payload and key version without
// changing its version or times (the content is the same). It changes nothing
// if the record was updated since it was read (its version differs).
func (tx *Tx) ResealRecord(ctx context.Context, r *strongroom.Record) (bool, error) {
	t, err := tx.tenant()
	if err != nil {
		return false, err
	}
	res, err := tx.exec(ctx,
		"UPDATE records SET data = $1, key_id = $2 WHERE tenant_id = $3 AND collection_id = $4 AND id = $5 AND version = $6",
		r.Data, r.KeyID, string(t), string(r.CollectionID), string(r.ID), r.Version)
	if err != nil {
		return false, fmt.Errorf("resealing record: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("resealing record: %w", err)
	}
	return n == 1, nil
}

// CountRecordsSealedBefore counts the bound tenant's records still sealed with
// a key version older than keyID (rotation progress).
func (tx *Tx) CountRecordsSealedBefore(ctx context.Context, keyID uint32) (int64, error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	var n int64
	if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM records WHERE tenant_id = $1 AND key_id < $2",
		string(t), keyID).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting records to reseal: %w", err)
	}
	return n, nil
}
