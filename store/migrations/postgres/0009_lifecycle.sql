-- Data lifecycle (LIF-01, LIF-02; docs/lifecycle.md): per-collection retention
-- policies, restricted records, the retention sweeper's resumable progress and
-- data-subject requests.

-- A collection's own retention policy as JSON ({"days":…,"from":…,"field":…});
-- NULL follows the organization's default (org_settings).
ALTER TABLE collections ADD COLUMN retention TEXT;

-- A restricted record (data-subject request) is hidden from everyone but
-- Admins and excluded from processing (retention, lists, exports by others).
ALTER TABLE records ADD COLUMN restricted SMALLINT NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1));
-- Retention walks a collection by creation and update time.
CREATE INDEX records_created ON records (tenant_id, collection_id, created_at);
CREATE INDEX records_updated ON records (tenant_id, collection_id, updated_at);

-- A retention sweep of one collection in progress: the last record id it
-- looked at, how many it deleted so far and when it started. The row is
-- written in the same transaction as each batch's deletions, so a sweep that
-- is interrupted resumes where it stopped; it is deleted when the sweep of the
-- collection ends (and the sweep's audit event is written with its counts).
CREATE TABLE retention_sweeps (
    tenant_id     TEXT   NOT NULL,
    collection_id TEXT   NOT NULL,
    after_id      TEXT   NOT NULL,
    examined      BIGINT NOT NULL,
    deleted       BIGINT NOT NULL,
    cutoff        BIGINT NOT NULL,
    started_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, collection_id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, id) ON DELETE CASCADE
);

-- Data-subject requests. The values identifying the person are never stored:
-- fields holds the searchable field names only, matches the records found
-- ([{collection, collection_id, record_id, client_id}]).
CREATE TABLE dsr_requests (
    tenant_id    TEXT   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           TEXT   NOT NULL,
    kind         TEXT   NOT NULL CHECK (kind IN ('export', 'delete', 'restrict', 'lift')),
    status       TEXT   NOT NULL CHECK (status IN ('open', 'completed')),
    fields       TEXT   NOT NULL,
    matches      TEXT   NOT NULL,
    requested_by TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    deadline     BIGINT NOT NULL,
    completed_at BIGINT,
    done         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX dsr_requests_deadline ON dsr_requests (status, deadline);

ALTER TABLE retention_sweeps ENABLE ROW LEVEL SECURITY;
ALTER TABLE retention_sweeps FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON retention_sweeps
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE dsr_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE dsr_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dsr_requests
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

-- The retention sweeper visits every organization. Row-level security shows one
-- tenant at a time, so this function, running as its owner (the role running
-- this migration), lists organization IDs only; the SELECT policy lets the
-- owner alone read them across tenants (as token_lookup does in 0005).
CREATE POLICY organization_listing ON organizations FOR SELECT TO CURRENT_USER USING (true);
CREATE FUNCTION organization_ids() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT id FROM public.organizations ORDER BY id
$$;
REVOKE ALL ON FUNCTION organization_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION organization_ids() TO strongroom_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON retention_sweeps, dsr_requests TO strongroom_app;

-- Tenant exports (portability, LIF-02): one row per export, with its progress,
-- which the Admin can poll while the archive streams to them. The archive is
-- never stored.
CREATE TABLE export_jobs (
    tenant_id    TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    requested_by TEXT    NOT NULL,
    encryption   TEXT    NOT NULL CHECK (encryption IN ('passphrase', 'recipient')),
    started_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    collections  BIGINT NOT NULL DEFAULT 0,
    records      BIGINT NOT NULL DEFAULT 0,
    records_total BIGINT NOT NULL DEFAULT 0,
    bytes        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);

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
    requested_at BIGINT NOT NULL,
    purge_after  BIGINT NOT NULL,
    cancelled_at BIGINT,
    purged_at    BIGINT,
    certificate  TEXT,
    token_hash   BYTEA    NOT NULL UNIQUE
);
CREATE INDEX terminations_due ON terminations (purge_after);

ALTER TABLE export_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE export_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON export_jobs
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));
GRANT SELECT, INSERT, UPDATE, DELETE ON export_jobs TO strongroom_app;
-- terminations is read on every request to an organization (is it
-- terminated?) and by operators across tenants: no row-level security, like
-- leases; it holds no tenant data beyond the organization's name.
GRANT SELECT, INSERT, UPDATE ON terminations TO strongroom_app;
