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

// Subprocessors (INC-06) are platform rows; their subscribers are the
// "subprocessors" topic of the subscriptions (subscriptions.go).

const subprocessorColumns = "id, name, purpose, location, certifications, data_categories, effective_at, ends_at, " +
	"announced_at, end_announced_at, created_at, updated_at"

// CreateSubprocessor inserts a subprocessor.
func (tx *Tx) CreateSubprocessor(ctx context.Context, sp *strongroom.Subprocessor) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	certs, err := json.Marshal(sp.Certifications)
	if err != nil {
		return fmt.Errorf("encoding certifications: %w", err)
	}
	cats, err := json.Marshal(sp.DataCategories)
	if err != nil {
		return fmt.Errorf("encoding data categories: %w", err)
	}
	_, err = tx.exec(ctx, "INSERT INTO subprocessors (tenant_id, "+subprocessorColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		string(t), sp.ID, sp.Name, sp.Purpose, sp.Location, string(certs), string(cats), micros(sp.EffectiveAt), nullMicros(sp.EndsAt),
		nullMicros(sp.AnnouncedAt), nullMicros(sp.EndAnnouncedAt), micros(sp.CreatedAt), micros(sp.UpdatedAt))
	if err != nil {
		return fmt.Errorf("inserting subprocessor: %w", err)
	}
	return nil
}

func scanSubprocessor(row interface{ Scan(...any) error }) (*strongroom.Subprocessor, error) {
	var sp strongroom.Subprocessor
	var certs, cats string
	var eff, created, updated int64
	var ends, ann, endAnn sql.NullInt64
	err := row.Scan(&sp.ID, &sp.Name, &sp.Purpose, &sp.Location, &certs, &cats, &eff, &ends, &ann, &endAnn, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "subprocessor not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading subprocessor: %w", err)
	}
	if err := json.Unmarshal([]byte(certs), &sp.Certifications); err != nil {
		return nil, fmt.Errorf("decoding certifications: %w", err)
	}
	if err := json.Unmarshal([]byte(cats), &sp.DataCategories); err != nil {
		return nil, fmt.Errorf("decoding data categories: %w", err)
	}
	sp.EffectiveAt, sp.CreatedAt, sp.UpdatedAt = fromMicros(eff), fromMicros(created), fromMicros(updated)
	sp.EndsAt, sp.AnnouncedAt, sp.EndAnnouncedAt = optMicros(ends), optMicros(ann), optMicros(endAnn)
	return &sp, nil
}

// Subprocessor returns one subprocessor.
func (tx *Tx) Subprocessor(ctx context.Context, id string) (*strongroom.Subprocessor, error) {
	return platformRow(ctx, tx, scanSubprocessor, "SELECT "+subprocessorColumns+" FROM subprocessors WHERE tenant_id = $1 AND id = $2", id)
}

// Subprocessors lists every subprocessor row, by effective date then name.
func (tx *Tx) Subprocessors(ctx context.Context) ([]strongroom.Subprocessor, error) {
	return platformList(ctx, tx, "subprocessors", scanSubprocessor,
		"SELECT "+subprocessorColumns+" FROM subprocessors WHERE tenant_id = $1 ORDER BY effective_at, name, id")
}

// EndSubprocessor sets when a subprocessor stops (once: ECONFLICT after).
func (tx *Tx) EndSubprocessor(ctx context.Context, id string, at, now time.Time) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE subprocessors SET ends_at = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 AND ends_at IS NULL",
		micros(at), micros(now), string(t), id)
	if err != nil {
		return fmt.Errorf("ending subprocessor: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return fmt.Errorf("ending subprocessor: %w", err)
		}
		return strongroom.Errorf(strongroom.ECONFLICT, "the subprocessor's end is set already")
	}
	return nil
}

// MarkSubprocessorAnnounced records that subscribers were told of the
// subprocessor's start (end false) or end (end true); false if it had been.
func (tx *Tx) MarkSubprocessorAnnounced(ctx context.Context, id string, end bool, at time.Time) (bool, error) {
	t, err := tx.platform()
	if err != nil {
		return false, err
	}
	col := "announced_at"
	if end {
		col = "end_announced_at"
	}
	res, err := tx.exec(ctx, "UPDATE subprocessors SET "+col+" = $1 WHERE tenant_id = $2 AND id = $3 AND "+col+" IS NULL",
		micros(at), string(t), id)
	if err != nil {
		return false, fmt.Errorf("marking subprocessor announced: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("marking subprocessor announced: %w", err)
	}
	return n == 1, nil
}
