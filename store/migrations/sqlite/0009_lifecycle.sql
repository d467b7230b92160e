-- Data lifecycle (LIF-01, LIF-02; docs/lifecycle.md): per-collection retention
-- policies, restricted records, the retention sweeper's resumable progress and
-- data-subject requests.

-- A collection's own retention policy as JSON ({"days":…,"from":…,"field":…});
-- NULL follows the organization's default (org_settings).
ALTER TABLE collections ADD COLUMN retention TEXT;

-- A restricted record (data-subject request) is hidden from everyone but
-- Admins and excluded from processing (retention, lists, exports by others).
ALTER TABLE records ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1));
-- Retention walks a collection by creation and update time.
CREATE INDEX records_created ON records (tenant_id, collection_id, created_at);
CREATE INDEX records_updated ON records (tenant_id, collection_id, updated_at);

-- A retention sweep of one collection in progress: the last record id it
-- looked at, how many it deleted so far and when it started. The row is
-- written in the same transaction as each batch's deletions, so a sweep that
-- is interrupted resumes where it stopped; it is deleted when the sweep of the
-- collection ends (and the sweep's audit event is written with its counts).
CREATE TABLE retention_sweeps (
    tenant_id     TEXT    NOT NULL,
    collection_id TEXT    NOT NULL,
    after_id      TEXT    NOT NULL,
    examined      INTEGER NOT NULL,
    deleted       INTEGER NOT NULL,
    cutoff        INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, collection_id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Data-subject requests. The values identifying the person are never stored:
-- fields holds the searchable field names only, matches the records found
-- ([{collection, collection_id, record_id, client_id}]).
CREATE TABLE dsr_requests (
    tenant_id    TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('export', 'delete', 'restrict', 'lift')),
    status       TEXT    NOT NULL CHECK (status IN ('open', 'completed')),
    fields       TEXT    NOT NULL,
    matches      TEXT    NOT NULL,
    requested_by TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    deadline     INTEGER NOT NULL,
    completed_at INTEGER,
    done         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX dsr_requests_deadline ON dsr_requests (status, deadline);

-- Tenant exports (portability, LIF-02): one row per export, with its progress,
-- which the Admin can poll while the archive streams to them. The archive is
-- never stored.
CREATE TABLE export_jobs (
    tenant_id    TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    requested_by TEXT    NOT NULL,
    encryption   TEXT    NOT NULL CHECK (encryption IN ('passphrase', 'recipient')),
    started_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    collections  INTEGER NOT NULL DEFAULT 0,
    records      INTEGER NOT NULL DEFAULT 0,
    records_total INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;

-- Terminations (LIF-03): a platform table, kept after the organization's data
-- is gone. While purged_at and cancelled_at are NULL the organization is
-- terminated: only its Admins reach it, to export and to cancel, until
-- purge_after; then the purge job deletes its data, destroys its keys and
-- stores the signed deletion certificate here. token_hash is the SHA-256 of
-- the token the former Admin may fetch the certificate with.
CREATE TABLE terminations (
    tenant_id    TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    requested_by TEXT    NOT NULL,
    requested_at INTEGER NOT NULL,
    purge_after  INTEGER NOT NULL,
    cancelled_at INTEGER,
    purged_at    INTEGER,
    certificate  TEXT,
    token_hash   BLOB    NOT NULL UNIQUE
) STRICT;
CREATE INDEX terminations_due ON terminations (purge_after);
