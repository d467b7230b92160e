-- Public status page (INC-04; docs/trust.md "Status"). Every row is the
-- platform's (the platform tenant's id), like the rows of 0010_trust.
-- Times are Unix microseconds; day is the UTC day number (Unix days).

-- The latest probe result per component, and since when it has held.
CREATE TABLE status_components (
    tenant_id  TEXT    NOT NULL,
    component  TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    checked_at INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, component)
) STRICT;

-- Probe results aggregated per component and UTC day as they arrive (one
-- counter per state), so storage stays bounded: the prober deletes days older
-- than the history it shows.
CREATE TABLE status_days (
    tenant_id   TEXT    NOT NULL,
    component   TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    operational INTEGER NOT NULL DEFAULT 0,
    degraded    INTEGER NOT NULL DEFAULT 0,
    outage      INTEGER NOT NULL DEFAULT 0,
    maintenance INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, component, day)
) STRICT;

-- Scheduled maintenance windows; components is a JSON array of names.
CREATE TABLE status_maintenance (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    components   TEXT    NOT NULL,
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER NOT NULL,
    cancelled_at INTEGER,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

-- Status updates posted by operators (public text only).
CREATE TABLE status_updates (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    components TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX status_updates_created ON status_updates (tenant_id, created_at);

-- E-mail subscribers to status updates and maintenance: double opt-in.
CREATE TABLE status_subscribers (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    confirmed_at INTEGER,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
) STRICT;
