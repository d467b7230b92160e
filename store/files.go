package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"strongroom.dev/strongroom"
)

const fileColumns = "collection_id, record_id, id, name, content_type, size, sha256, key_id, created_by, created_at"

func scanFile(t strongroom.TenantID, row interface{ Scan(...any) error }) (*strongroom.File, error) {
	f := strongroom.File{TenantID: t}
	var created int64
	var keyID int64
	if err := row.Scan(&f.CollectionID, &f.RecordID, &f.ID, &f.Name, &f.ContentType, &f.Size, &f.SHA256, &keyID,
		&f.CreatedBy, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "file not found")
		}
		return nil, fmt.Errorf("reading file: %w", err)
	}
	f.KeyID = uint32(keyID)
	f.CreatedAt = fromMicros(created)
	return &f, nil
}

// CreateFile inserts a file's metadata. The record must exist (the caller has
// read it in this transaction, checking visibility); a record deleted in the
// meantime is ENOTFOUND.
func (tx *Tx) CreateFile(ctx context.Context, f *strongroom.File) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx,
		`INSERT INTO record_files (tenant_id, collection_id, record_id, id, name, content_type, size, sha256, key_id, created_by, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		string(t), string(f.CollectionID), string(f.RecordID), string(f.ID), f.Name, f.ContentType, f.Size, f.SHA256,
		int64(f.KeyID), f.CreatedBy, micros(f.CreatedAt))
	if isForeignKeyViolation(err) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "record not found")
	}
	if err != nil {
		return fmt.Errorf("inserting file: %w", err)
	}
	f.TenantID = t
	return nil
}

// File returns one file of a record; a missing one is ENOTFOUND. The caller
// checks that the principal may see the record.
func (tx *Tx) File(ctx context.Context, coll strongroom.CollectionID, rec strongroom.RecordID, id strongroom.FileID) (*strongroom.File, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanFile(t, tx.q.QueryRowContext(ctx,
		"SELECT "+fileColumns+" FROM record_files WHERE tenant_id = $1 AND collection_id = $2 AND record_id = $3 AND id = $4",
		string(t), string(coll), string(rec), string(id)))
}

// Files lists a record's files in creation order (IDs are UUIDv7).
func (tx *Tx) Files(ctx context.Context, coll strongroom.CollectionID, rec strongroom.RecordID) ([]strongroom.File, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return tx.queryFiles(ctx, t,
		"SELECT "+fileColumns+" FROM record_files WHERE tenant_id = $1 AND collection_id = $2 AND record_id = $3 ORDER BY id",
		string(t), string(coll), string(rec))
}

// FilesAfter lists the organization's files after the given ID, in ID order,
// at most limit (exports walk them in pages).
func (tx *Tx) FilesAfter(ctx context.Context, after strongroom.FileID, limit int) ([]strongroom.File, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return tx.queryFiles(ctx, t,
		"SELECT "+fileColumns+" FROM record_files WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
		string(t), string(after), limit)
}

func (tx *Tx) queryFiles(ctx context.Context, t strongroom.TenantID, query string, args ...any) ([]strongroom.File, error) {
	rows, err := tx.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing files: %w", err)
	}
	defer rows.Close()
	var out []strongroom.File
	for rows.Next() {
		f, err := scanFile(t, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing files: %w", err)
	}
	return out, nil
}

// DeleteFile removes a file's metadata; a missing one is ENOTFOUND.
func (tx *Tx) DeleteFile(ctx context.Context, coll strongroom.CollectionID, rec strongroom.RecordID, id strongroom.FileID) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "DELETE FROM record_files WHERE tenant_id = $1 AND collection_id = $2 AND record_id = $3 AND id = $4",
		string(t), string(coll), string(rec), string(id))
	return affectedOne(res, err, "file")
}

// filesExistChunk bounds the IDs of one FilesExist query (SQLite allows
// 32766 parameters, PostgreSQL 65535).
const filesExistChunk = 1000

// FilesExist reports which of ids are the IDs of files of the bound
// organization (the orphan sweeper asks before deleting blobs), in one query
// per 1,000 IDs.
func (tx *Tx) FilesExist(ctx context.Context, ids []strongroom.FileID) (map[strongroom.FileID]bool, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	out := make(map[strongroom.FileID]bool, len(ids))
	for _, id := range ids {
		out[id] = false
	}
	for chunk := range slices.Chunk(ids, filesExistChunk) {
		var q strings.Builder
		q.WriteString("SELECT id FROM record_files WHERE tenant_id = $1 AND id IN (")
		args := make([]any, 0, len(chunk)+1)
		args = append(args, string(t))
		for i, id := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString("$" + strconv.Itoa(i+2))
			args = append(args, string(id))
		}
		q.WriteByte(')')
		rows, err := tx.q.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("looking up files: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("looking up files: %w", err)
			}
			out[strongroom.FileID(id)] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("looking up files: %w", err)
		}
	}
	return out, nil
}

// fileQuotaLockClass is the first key of the PostgreSQL advisory locks that
// serialize each organization's quota checks (the second is the hash of
// the organization's ID).
const fileQuotaLockClass = 740_613_121

// LockFileUsage serializes, until the write transaction ends, the
// transactions of the bound organization that check its file quota and add
// a file, so that two concurrent uploads cannot both fit under the quota
// and exceed it together. On PostgreSQL it takes a transaction-scoped
// advisory lock keyed by the organization (which needs no privilege on any
// table); writes run at READ COMMITTED, so FileUsage after it sees every
// file the lock's previous holder committed. On SQLite every write already
// runs in the one writer's transaction, after the writes before it, so there
// is nothing to lock.
func (tx *Tx) LockFileUsage(ctx context.Context) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	if err := tx.mustWrite(); err != nil {
		return err
	}
	if tx.s.engine != Postgres {
		return nil
	}
	if _, err := tx.q.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", int32(fileQuotaLockClass), string(t)); err != nil {
		return fmt.Errorf("locking the file quota: %w", err)
	}
	return nil
}

// FileUsage returns the number of the organization's files and their total
// size in bytes (for the per-organization quota).
func (tx *Tx) FileUsage(ctx context.Context) (count, bytes int64, err error) {
	t, err := tx.tenant()
	if err != nil {
		return 0, 0, err
	}
	if err := tx.q.QueryRowContext(ctx, "SELECT count(*), COALESCE(SUM(size), 0) FROM record_files WHERE tenant_id = $1",
		string(t)).Scan(&count, &bytes); err != nil {
		return 0, 0, fmt.Errorf("summing files: %w", err)
	}
	return count, bytes, nil
}
