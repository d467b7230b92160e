package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"strongroom.dev/strongroom"
)

// CreateCollection inserts a collection into the bound organization. A duplicate
// name is ECONFLICT.
func (tx *Tx) CreateCollection(ctx context.Context, c *strongroom.Collection) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	searchable, err := json.Marshal(c.Searchable)
	if err != nil {
		return fmt.Errorf("encoding searchable fields: %w", err)
	}
	_, err = tx.exec(ctx,
		"INSERT INTO collections (tenant_id, id, name, schema, searchable, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
		string(t), string(c.ID), c.Name, string(c.Schema), string(searchable), micros(c.CreatedAt))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "a collection with this name already exists")
	}
	if err != nil {
		return fmt.Errorf("inserting collection: %w", err)
	}
	c.TenantID = t
	return nil
}

const collectionColumns = "id, name, schema, searchable, created_at, retention"

func scanCollection(t strongroom.TenantID, row interface{ Scan(...any) error }) (*strongroom.Collection, error) {
	c := strongroom.Collection{TenantID: t}
	var schema, searchable string
	var retention sql.NullString
	var created int64
	if err := row.Scan(&c.ID, &c.Name, &schema, &searchable, &created, &retention); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "collection not found")
		}
		return nil, fmt.Errorf("reading collection: %w", err)
	}
	c.Schema = []byte(schema)
	if err := json.Unmarshal([]byte(searchable), &c.Searchable); err != nil {
		return nil, fmt.Errorf("decoding searchable fields: %w", err)
	}
	c.CreatedAt = fromMicros(created)
	if retention.Valid {
		c.Retention = &strongroom.RetentionPolicy{}
		if err := json.Unmarshal([]byte(retention.String), c.Retention); err != nil {
			return nil, fmt.Errorf("decoding retention policy: %w", err)
		}
	}
	return &c, nil
}

// CollectionByName returns a collection of the bound organization.
func (tx *Tx) CollectionByName(ctx context.Context, name string) (*strongroom.Collection, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanCollection(t, tx.q.QueryRowContext(ctx,
		"SELECT "+collectionColumns+" FROM collections WHERE tenant_id = $1 AND name = $2", string(t), name))
}

// Collections lists the collections of the bound organization.
func (tx *Tx) Collections(ctx context.Context) ([]strongroom.Collection, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx,
		"SELECT "+collectionColumns+" FROM collections WHERE tenant_id = $1 ORDER BY name", string(t))
	if err != nil {
		return nil, fmt.Errorf("listing collections: %w", err)
	}
	defer rows.Close()
	var out []strongroom.Collection
	for rows.Next() {
		c, err := scanCollection(t, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// DeleteCollection removes a collection with all its records.
func (tx *Tx) DeleteCollection(ctx context.Context, id strongroom.CollectionID) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "DELETE FROM collections WHERE tenant_id = $1 AND id = $2", string(t), string(id))
	return affectedOne(res, err, "collection")
}
