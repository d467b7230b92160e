-- Security monitoring (LOG-04; docs/audit-log.md, "Monitoring"). The monitor
-- reads the sealed audit log and raises alerts: brute force against an account,
-- credential stuffing from a network, mass reads by a principal, sign-ins from
-- a new device. Alerts about accounts and networks belong to the platform
-- tenant (operators see them); mass reads to the organization. One open alert
-- per (tenant, kind, subject) gathers further evidence while its window lasts.
-- evidence is a JSON array of audit seqs of the same tenant (at most 200);
-- last_seq is the newest seq counted, so that events seen again after a
-- restart are not counted twice.
CREATE TABLE alerts (
    tenant_id  TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('brute_force', 'credential_stuffing', 'mass_read', 'new_device')),
    severity   TEXT   NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    subject    TEXT   NOT NULL,
    summary    TEXT   NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    count      BIGINT NOT NULL CHECK (count >= 1),
    evidence   TEXT   NOT NULL,
    last_seq   BIGINT NOT NULL,
    status     TEXT   NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    status_by  TEXT   NOT NULL DEFAULT '',
    status_at  BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX alerts_subject ON alerts (tenant_id, kind, subject, status);

-- What the monitor learned of each principal's usual volume of reads: an
-- exponentially weighted mean of its records read per hour, over the hours
-- before open_hour (the hour being counted, whose count is rebuilt from the
-- audit log after a restart). principal is "user:ID" or "api_key:ID".
CREATE TABLE monitor_baselines (
    tenant_id  TEXT             NOT NULL,
    principal  TEXT             NOT NULL,
    open_hour  BIGINT           NOT NULL,
    mean       DOUBLE PRECISION NOT NULL CHECK (mean >= 0),
    hours      BIGINT           NOT NULL CHECK (hours >= 0),
    PRIMARY KEY (tenant_id, principal)
);

ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alerts
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE monitor_baselines ENABLE ROW LEVEL SECURITY;
ALTER TABLE monitor_baselines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON monitor_baselines
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

GRANT SELECT, INSERT, UPDATE ON alerts, monitor_baselines TO strongroom_app;
