package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"strongroom.dev/strongroom"
)

// Termination (LIF-03): the platform table terminations, the purge of a
// tenant's data and the export jobs' progress.

// Termination is an organization's termination.
type Termination struct {
	Tenant      strongroom.TenantID
	Name        string
	RequestedBy string
	RequestedAt time.Time
	PurgeAfter  time.Time
	CancelledAt *time.Time
	PurgedAt    *time.Time
	Certificate []byte // the signed deletion certificate (JSON) once purged
}

// Active reports whether the organization is terminated and not yet purged.
func (t *Termination) Active() bool { return t != nil && t.CancelledAt == nil && t.PurgedAt == nil }

const terminationColumns = "tenant_id, name, requested_by, requested_at, purge_after, cancelled_at, purged_at, certificate"

func scanTermination(row interface{ Scan(...any) error }) (*Termination, error) {
	var t Termination
	var req, purge int64
	var cancelled, purged sql.NullInt64
	var cert sql.NullString
	if err := row.Scan(&t.Tenant, &t.Name, &t.RequestedBy, &req, &purge, &cancelled, &purged, &cert); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "termination not found")
		}
		return nil, fmt.Errorf("reading termination: %w", err)
	}
	t.RequestedAt, t.PurgeAfter = fromMicros(req), fromMicros(purge)
	if cancelled.Valid {
		c := fromMicros(cancelled.Int64)
		t.CancelledAt = &c
	}
	if purged.Valid {
		p := fromMicros(purged.Int64)
		t.PurgedAt = &p
	}
	if cert.Valid {
		t.Certificate = []byte(cert.String)
	}
	return &t, nil
}

// TerminationOf returns an organization's termination, or nil when it was
// never terminated. It reads the platform table and needs no tenant binding.
func (s *Store) TerminationOf(ctx context.Context, tenant strongroom.TenantID) (*Termination, error) {
	t, err := scanTermination(s.read.QueryRowContext(ctx, "SELECT "+terminationColumns+" FROM terminations WHERE tenant_id = $1", string(tenant)))
	if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		return nil, nil
	}
	return t, err
}

// OrganizationOpen reports whether the bound organization exists and has no
// termination in force (in its return window, being purged or purged), read
// in the transaction, so that a job writing to the organization sees a
// termination or purge committed before it.
func (tx *Tx) OrganizationOpen(ctx context.Context) (bool, error) {
	t, err := tx.tenant()
	if err != nil {
		return false, err
	}
	var open bool
	err = tx.q.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1) AND "+
		"NOT EXISTS (SELECT 1 FROM terminations WHERE tenant_id = $1 AND cancelled_at IS NULL)", string(t)).Scan(&open)
	if err != nil {
		return false, fmt.Errorf("reading whether the organization is open: %w", err)
	}
	return open, nil
}

// TerminationByToken returns the termination whose certificate token has the
// given SHA-256.
func (s *Store) TerminationByToken(ctx context.Context, hash []byte) (*Termination, error) {
	return scanTermination(s.read.QueryRowContext(ctx, "SELECT "+terminationColumns+" FROM terminations WHERE token_hash = $1", hash))
}

// Terminations lists every termination, newest first (operators).
func (s *Store) Terminations(ctx context.Context, limit int) ([]Termination, error) {
	return list(ctx, s.read, "terminations", scanTermination,
		"SELECT "+terminationColumns+" FROM terminations ORDER BY requested_at DESC LIMIT $1", limit)
}

// DueTerminations lists the active terminations whose window ended at now.
func (s *Store) DueTerminations(ctx context.Context, now time.Time) ([]Termination, error) {
	return list(ctx, s.read, "terminations", scanTermination,
		"SELECT "+terminationColumns+` FROM terminations
		 WHERE purge_after <= $1 AND cancelled_at IS NULL AND purged_at IS NULL ORDER BY purge_after`, micros(now))
}

// Terminate records the termination of the bound tenant. An organization
// already terminated is ECONFLICT; one whose earlier termination was
// cancelled is terminated anew.
func (tx *Tx) Terminate(ctx context.Context, t *Termination, tokenHash []byte) error {
	tenant, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "INSERT INTO terminations (tenant_id, name, requested_by, requested_at, purge_after, token_hash) "+
		`VALUES ($1, $2, $3, $4, $5, $6)
		 ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name, requested_by = excluded.requested_by,
		 requested_at = excluded.requested_at, purge_after = excluded.purge_after, token_hash = excluded.token_hash,
		 cancelled_at = NULL
		 WHERE terminations.cancelled_at IS NOT NULL`,
		string(tenant), t.Name, t.RequestedBy, micros(t.RequestedAt), micros(t.PurgeAfter), tokenHash)
	if err != nil {
		return fmt.Errorf("recording termination: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return strongroom.Errorf(strongroom.ECONFLICT, "the organization is already terminated")
	}
	t.Tenant = tenant
	return nil
}

// CancelTermination ends the bound tenant's active termination; none is
// ENOTFOUND.
func (tx *Tx) CancelTermination(ctx context.Context, at time.Time) error {
	tenant, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE terminations SET cancelled_at = $1 WHERE tenant_id = $2 AND cancelled_at IS NULL AND purged_at IS NULL",
		micros(at), string(tenant))
	return affectedOne(res, err, "termination")
}

// purgeOrder lists the tenant's tables, children before parents; the audit
// log (audit_events, audit_seals, audit_checkpoints) is not among them.
var purgeOrder = []string{"record_terms", "record_files", "records", "retention_sweeps", "dsr_requests", "export_jobs", "collections",
	"review_entries", "review_campaigns", "policy_acks", "client_assignments", "api_keys", "connections", "oauth_states", "invitations", "memberships", "clients", "org_settings"}

// RetainedTables are the tenant's tables a purge keeps: the append-only audit
// log and its chain (pruned later, after the legal minimum: docs/audit-log.md).
var RetainedTables = []string{"audit_events", "audit_seals", "audit_checkpoints", "audit_prune_markers"}

// purgeKeys are the primary keys of purgeOrder's tables, by which a batch
// picks its rows (the same on both engines).
var purgeKeys = map[string]string{
	"record_terms": "tenant_id, collection_id, field, term, record_id", "records": "tenant_id, collection_id, id",
	"record_files":     "tenant_id, collection_id, record_id, id",
	"retention_sweeps": "tenant_id, collection_id", "dsr_requests": "tenant_id, id", "export_jobs": "tenant_id, id",
	"collections": "tenant_id, id", "client_assignments": "tenant_id, user_id, client_id", "api_keys": "tenant_id, id",
	"connections": "tenant_id, id", "oauth_states": "tenant_id, state_hash", "invitations": "tenant_id, id",
	"memberships": "tenant_id, user_id", "clients": "tenant_id, id", "org_settings": "tenant_id",
	"review_entries": "tenant_id, campaign_id, user_id", "review_campaigns": "tenant_id, id", "policy_acks": "tenant_id, change_id",
}

// purgeProgress reads the rows a purge of the bound tenant has deleted so far,
// per table; ENOTFOUND unless the tenant's termination awaits its purge.
func (tx *Tx) purgeProgress(ctx context.Context) (map[string]int64, error) {
	tenant, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	var raw string
	err = tx.q.QueryRowContext(ctx, "SELECT purge_progress FROM terminations WHERE tenant_id = $1 AND purged_at IS NULL AND cancelled_at IS NULL",
		string(tenant)).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "no termination awaits its purge")
	}
	if err != nil {
		return nil, fmt.Errorf("reading the purge's progress: %w", err)
	}
	progress := map[string]int64{}
	if err := json.Unmarshal([]byte(raw), &progress); err != nil {
		return nil, fmt.Errorf("reading the purge's progress: %w", err)
	}
	return progress, nil
}

// PurgeTenantBatch deletes at most limit (1 to 10000) of the bound tenant's
// rows, from the first table of the purge order that still has some, and
// saves the count with the termination in the same transaction. done is true
// once every table PurgeTenant empties is empty; PurgeTenant then finishes.
// The termination must await its purge (else ENOTFOUND). A batch of
// memberships also deletes the accounts it leaves without any (see
// deleteOrphanedAccounts), counted as "accounts", and returns them so that
// the caller audits each in the same transaction.
func (tx *Tx) PurgeTenantBatch(ctx context.Context, limit int) (done bool, accounts []strongroom.UserID, err error) {
	tenant, err := tx.tenant()
	if err != nil {
		return false, nil, err
	}
	if err := tx.mustWrite(); err != nil {
		return false, nil, err
	}
	limit = min(max(limit, 1), 10000)
	progress, err := tx.purgeProgress(ctx)
	if err != nil {
		return false, nil, err
	}
	for _, table := range purgeOrder {
		key, ok := purgeKeys[table]
		if !ok {
			return false, nil, fmt.Errorf("store: the purge has no key for table %s", table)
		}
		var n int64
		if table == "memberships" {
			if n, accounts, err = tx.purgeMemberships(ctx, tenant, limit); err != nil {
				return false, nil, err
			}
		} else {
			res, err := tx.exec(ctx, "DELETE FROM "+table+" WHERE ("+key+") IN (SELECT "+key+" FROM "+table+
				" WHERE tenant_id = $1 LIMIT $2)", string(tenant), limit)
			if err != nil {
				return false, nil, fmt.Errorf("purging %s: %w", table, err)
			}
			if n, err = res.RowsAffected(); err != nil {
				return false, nil, fmt.Errorf("purging %s: %w", table, err)
			}
		}
		if n == 0 {
			continue
		}
		progress[table] += n
		if len(accounts) > 0 {
			progress[DeletedAccounts] += int64(len(accounts))
		}
		b, err := json.Marshal(progress)
		if err != nil {
			return false, nil, err
		}
		res, err := tx.exec(ctx, "UPDATE terminations SET purge_progress = $1 WHERE tenant_id = $2 AND purged_at IS NULL AND cancelled_at IS NULL",
			string(b), string(tenant))
		if err := affectedOne(res, err, "termination"); err != nil {
			return false, nil, err
		}
		return false, accounts, nil
	}
	return true, nil, nil
}

// DeletedAccounts is the deletion certificate's count of the accounts a
// purge deleted (users, not a tenant table).
const DeletedAccounts = "accounts"

// purgeMemberships deletes the tenant's memberships (at most limit; all when
// limit is 0), then the accounts left with none (deleteOrphanedAccounts). It
// returns the memberships deleted and the accounts deleted.
func (tx *Tx) purgeMemberships(ctx context.Context, tenant strongroom.TenantID, limit int) (int64, []strongroom.UserID, error) {
	q, args := "DELETE FROM memberships WHERE tenant_id = $1 RETURNING user_id", []any{string(tenant)}
	if limit > 0 {
		q = "DELETE FROM memberships WHERE (tenant_id, user_id) IN (SELECT tenant_id, user_id FROM memberships WHERE tenant_id = $1 LIMIT $2) RETURNING user_id"
		args = append(args, limit)
	}
	rows, err := tx.q.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, nil, fmt.Errorf("purging memberships: %w", err)
	}
	var users []strongroom.UserID
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return 0, nil, fmt.Errorf("purging memberships: %w", err)
		}
		users = append(users, strongroom.UserID(u))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("purging memberships: %w", err)
	}
	accounts, err := tx.deleteOrphanedAccounts(ctx, users)
	if err != nil {
		return 0, nil, err
	}
	return int64(len(users)), accounts, nil
}

// deleteOrphanedAccounts deletes those of users (whose memberships in the
// purged organization were just deleted) that belong to no organization now
// and are not operators, and returns them, sorted. An account with no
// organization that was never in the purged one is never among users: it is
// kept (it may be joining one). The account's sessions, factors, recovery
// codes, challenges and federated identities go with it (ON DELETE CASCADE).
//
// On PostgreSQL the transaction sees only the purged organization's
// memberships, so account_has_membership (migration 0015) answers whether any
// other remains; the account's row is locked first, so that a membership
// being added elsewhere at the same time either commits before the check
// (and the account is kept) or waits and then fails on its foreign key.
func (tx *Tx) deleteOrphanedAccounts(ctx context.Context, users []strongroom.UserID) ([]strongroom.UserID, error) {
	slices.Sort(users)
	users = slices.Compact(users)
	var deleted []strongroom.UserID
	for _, u := range users {
		q := "DELETE FROM users WHERE id = $1 AND operator = 0 AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1)"
		if tx.s.engine == Postgres {
			var id string
			err := tx.q.QueryRowContext(ctx, "SELECT id FROM users WHERE id = $1 FOR UPDATE", string(u)).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("locking an account: %w", err)
			}
			q = "DELETE FROM users WHERE id = $1 AND operator = 0 AND NOT account_has_membership($1)"
		}
		res, err := tx.exec(ctx, q, string(u))
		if err != nil {
			return nil, fmt.Errorf("deleting an account left without organization: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("deleting an account left without organization: %w", err)
		}
		if n == 1 {
			deleted = append(deleted, u)
		}
	}
	return deleted, nil
}

// PurgeTenant finishes a purge: it deletes whatever PurgeTenantBatch left of
// the bound tenant's rows (all of them, when no batch ran) and its
// organization, and returns the rows deleted per table, batches included, and
// the rows kept per retained table. It marks the termination purged with the
// certificate (built by certify from the counts) in the same transaction. It
// returns the accounts it deleted itself (memberships left to it; see
// PurgeTenantBatch), for the caller to audit in the same transaction.
func (tx *Tx) PurgeTenant(ctx context.Context, at time.Time, certify func(deleted, retained map[string]int64) ([]byte, error)) ([]strongroom.UserID, error) {
	tenant, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	if err := tx.mustWrite(); err != nil {
		return nil, err
	}
	deleted, err := tx.purgeProgress(ctx)
	if err != nil {
		return nil, err
	}
	var accounts []strongroom.UserID
	for _, table := range purgeOrder {
		if table == "memberships" {
			n, acc, err := tx.purgeMemberships(ctx, tenant, 0)
			if err != nil {
				return nil, err
			}
			deleted[table] += n
			deleted[DeletedAccounts] += int64(len(acc))
			accounts = acc
			continue
		}
		res, err := tx.exec(ctx, "DELETE FROM "+table+" WHERE tenant_id = $1", string(tenant))
		if err != nil {
			return nil, fmt.Errorf("purging %s: %w", table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("purging %s: %w", table, err)
		}
		deleted[table] += n
	}
	if _, ok := deleted[DeletedAccounts]; !ok {
		deleted[DeletedAccounts] = 0 // stated even when none: the certificate says accounts were considered
	}
	res, err := tx.exec(ctx, "DELETE FROM organizations WHERE id = $1", string(tenant))
	if err != nil {
		return nil, fmt.Errorf("purging the organization: %w", err)
	}
	if deleted["organizations"], err = res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("purging the organization: %w", err)
	}
	retained := map[string]int64{}
	for _, table := range RetainedTables {
		var n int64
		if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1", string(tenant)).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting %s: %w", table, err)
		}
		retained[table] = n
	}
	cert, err := certify(deleted, retained)
	if err != nil {
		return nil, err
	}
	res, err = tx.exec(ctx, "UPDATE terminations SET purged_at = $1, certificate = $2 WHERE tenant_id = $3 AND purged_at IS NULL AND cancelled_at IS NULL",
		micros(at), string(cert), string(tenant))
	if err := affectedOne(res, err, "termination"); err != nil {
		return nil, err
	}
	return accounts, nil
}

// TenantRowCounts counts the bound tenant's rows in every table a purge
// deletes (tests and the certificate's cross-check).
func (tx *Tx) TenantRowCounts(ctx context.Context) (map[string]int64, error) {
	tenant, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, table := range append(append([]string{}, purgeOrder...), RetainedTables...) {
		var n int64
		if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1", string(tenant)).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting %s: %w", table, err)
		}
		out[table] = n
	}
	var n int64
	if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM organizations WHERE id = $1", string(tenant)).Scan(&n); err != nil {
		return nil, fmt.Errorf("counting organizations: %w", err)
	}
	out["organizations"] = n
	return out, nil
}

// ExportJob is a tenant export's progress.
type ExportJob struct {
	ID           string
	Status       string // running, completed, failed
	RequestedBy  string
	Encryption   string // passphrase or recipient
	StartedAt    time.Time
	UpdatedAt    time.Time
	FinishedAt   *time.Time
	Collections  int64
	Records      int64
	RecordsTotal int64
	Bytes        int64
}

const exportJobColumns = "id, status, requested_by, encryption, started_at, updated_at, finished_at, collections, records, records_total, bytes"

func scanExportJob(row interface{ Scan(...any) error }) (*ExportJob, error) {
	var j ExportJob
	var started, updated int64
	var finished sql.NullInt64
	if err := row.Scan(&j.ID, &j.Status, &j.RequestedBy, &j.Encryption, &started, &updated, &finished,
		&j.Collections, &j.Records, &j.RecordsTotal, &j.Bytes); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "export not found")
		}
		return nil, fmt.Errorf("reading export: %w", err)
	}
	j.StartedAt, j.UpdatedAt = fromMicros(started), fromMicros(updated)
	if finished.Valid {
		f := fromMicros(finished.Int64)
		j.FinishedAt = &f
	}
	return &j, nil
}

// SaveExportJob inserts or updates an export's progress.
func (tx *Tx) SaveExportJob(ctx context.Context, j *ExportJob) error {
	tenant, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "INSERT INTO export_jobs (tenant_id, "+exportJobColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (tenant_id, id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
		finished_at = excluded.finished_at, collections = excluded.collections, records = excluded.records,
		records_total = excluded.records_total, bytes = excluded.bytes`,
		string(tenant), j.ID, j.Status, j.RequestedBy, j.Encryption, micros(j.StartedAt), micros(j.UpdatedAt), nullMicros(j.FinishedAt),
		j.Collections, j.Records, j.RecordsTotal, j.Bytes)
	if err != nil {
		return fmt.Errorf("saving export progress: %w", err)
	}
	return nil
}

// ExportJob returns one export of the bound tenant.
func (tx *Tx) ExportJob(ctx context.Context, id string) (*ExportJob, error) {
	tenant, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanExportJob(tx.q.QueryRowContext(ctx, "SELECT "+exportJobColumns+" FROM export_jobs WHERE tenant_id = $1 AND id = $2", string(tenant), id))
}

// ExportJobs returns the bound tenant's most recent exports, newest first
// (ids are time-ordered), at most limit.
func (tx *Tx) ExportJobs(ctx context.Context, limit int) ([]ExportJob, error) {
	tenant, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx, "SELECT "+exportJobColumns+" FROM export_jobs WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
		string(tenant), limit)
	if err != nil {
		return nil, fmt.Errorf("listing exports: %w", err)
	}
	defer rows.Close()
	var out []ExportJob
	for rows.Next() {
		j, err := scanExportJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing exports: %w", err)
	}
	return out, nil
}

// CountTenantRecords counts the bound tenant's records (all collections).
func (tx *Tx) CountTenantRecords(ctx context.Context) (int64, error) {
	tenant, err := tx.tenant()
	if err != nil {
		return 0, err
	}
	var n int64
	if err := tx.q.QueryRowContext(ctx, "SELECT count(*) FROM records WHERE tenant_id = $1", string(tenant)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting records: %w", err)
	}
	return n, nil
}
