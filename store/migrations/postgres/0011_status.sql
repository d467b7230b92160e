-- Public status page (INC-04; docs/trust.md "Status"). Every row is the
-- platform's (the platform tenant's id), like the rows of 0010_trust.
-- Times are Unix microseconds; day is the UTC day number (Unix days).

-- The latest probe result per component, and since when it has held.
CREATE TABLE status_components (
    tenant_id  TEXT    NOT NULL,
    component  TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    checked_at BIGINT NOT NULL,
    since      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, component)
);

-- Probe results aggregated per component and UTC day as they arrive (one
-- counter per state), so storage stays bounded: the prober deletes days older
-- than the history it shows.
CREATE TABLE status_days (
    tenant_id   TEXT    NOT NULL,
    component   TEXT    NOT NULL,
    day         BIGINT NOT NULL,
    operational BIGINT NOT NULL DEFAULT 0,
    degraded    BIGINT NOT NULL DEFAULT 0,
    outage      BIGINT NOT NULL DEFAULT 0,
    maintenance BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, component, day)
);

-- Scheduled maintenance windows; components is a JSON array of names.
CREATE TABLE status_maintenance (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    components   TEXT    NOT NULL,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    cancelled_at BIGINT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Status updates posted by operators (public text only).
CREATE TABLE status_updates (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    components TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX status_updates_created ON status_updates (tenant_id, created_at);

-- E-mail subscribers to status updates and maintenance: double opt-in.
CREATE TABLE status_subscribers (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    token_hash   BYTEA   NOT NULL UNIQUE,
    confirmed_at BIGINT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

-- Row-level security on every new table (the platform's rows included).
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['status_components', 'status_days', 'status_maintenance', 'status_updates', 'status_subscribers'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
            WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))$p$, t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    status_components, status_days, status_maintenance, status_updates, status_subscribers
TO strongroom_app;
