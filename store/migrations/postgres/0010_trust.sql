-- Trust and incidents (INC-01..03, INC-05, INC-06; docs/trust.md).
--
-- Operator-owned rows (incidents, vulnerability reports, subprocessors and
-- their subscribers) carry the platform tenant's id, so row-level security
-- keeps them out of every organization-bound transaction; breach notices and
-- published post-incident reports are the affected organization's rows.
-- Times are Unix microseconds.

-- incidents: classification, phase, and the deadlines computed by package
-- incident when the row changes: notify_by (personal-data breach: aware_at
-- plus the 24 h or 72 h window), report_due (resolved_at plus 7 days).
CREATE TABLE incidents (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('availability', 'security')),
    breach       SMALLINT NOT NULL CHECK (breach IN (0, 1)),
    severity     TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    phase        TEXT    NOT NULL CHECK (phase IN ('identify', 'contain', 'eradicate', 'recover', 'review')),
    aware_at     BIGINT  NOT NULL,
    notify_by    BIGINT,
    resolved_at  BIGINT,
    report_due   BIGINT,
    report_published_at BIGINT,
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX incidents_created ON incidents (tenant_id, created_at);

-- The timeline: one row per phase change or note, in order.
CREATE TABLE incident_updates (
    tenant_id   TEXT    NOT NULL,
    incident_id TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,
    phase       TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, seq),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id) ON DELETE CASCADE
);

-- The organizations an incident affects, and when each was notified (a
-- breach notice sent) so that overdue notices are one query.
CREATE TABLE incident_orgs (
    tenant_id   TEXT    NOT NULL,
    incident_id TEXT    NOT NULL,
    org_id      TEXT    NOT NULL,
    notified_at BIGINT,
    PRIMARY KEY (tenant_id, incident_id, org_id),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id) ON DELETE CASCADE
);

-- Notices in an organization's console: kind 'breach' (contents: the JSON of
-- incident.Notice, every element required) or 'report' (the post-incident
-- report). Admins acknowledge them.
CREATE TABLE incident_notices (
    tenant_id       TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              TEXT    NOT NULL,
    incident_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('breach', 'report')),
    title           TEXT    NOT NULL,
    contents        TEXT    NOT NULL,
    deadline        BIGINT,
    sent_at         BIGINT  NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX incident_notices_sent ON incident_notices (tenant_id, sent_at);

-- Vulnerability reports (INC-05). token_hash: SHA-256 of the reporter's
-- status token. sealed: the report's text and the reporter's contact, sealed
-- with the platform data key; attachments likewise, one row each. credit_name
-- is published only when the reporter asked for credit.
CREATE TABLE vuln_reports (
    tenant_id         TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    token_hash        BYTEA  NOT NULL UNIQUE,
    title             TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('new', 'acknowledged', 'triaged', 'fixed', 'wont_fix')),
    severity          TEXT    CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    sealed            BYTEA  NOT NULL,
    credit_name       TEXT,
    attachments       BIGINT  NOT NULL,
    received_at       BIGINT  NOT NULL,
    ack_due           BIGINT  NOT NULL,
    acknowledged_at   BIGINT,
    triaged_at        BIGINT,
    resolution_due    BIGINT,
    closed_at         BIGINT,
    reminded_at       BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX vuln_reports_received ON vuln_reports (tenant_id, received_at);

CREATE TABLE vuln_attachments (
    tenant_id    TEXT    NOT NULL,
    report_id    TEXT    NOT NULL,
    n            BIGINT  NOT NULL,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    sealed       BYTEA  NOT NULL,
    PRIMARY KEY (tenant_id, report_id, n),
    FOREIGN KEY (tenant_id, report_id) REFERENCES vuln_reports (tenant_id, id) ON DELETE CASCADE
);

-- Subprocessors (INC-06). A row takes effect at effective_at and, when
-- ends_at is set, stops then; announced_at is when subscribers were told.
-- certifications and data_categories are JSON arrays of strings.
CREATE TABLE subprocessors (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    location        TEXT    NOT NULL,
    certifications  TEXT    NOT NULL,
    data_categories TEXT    NOT NULL,
    effective_at    BIGINT  NOT NULL,
    ends_at         BIGINT,
    announced_at    BIGINT,
    end_announced_at BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Subscribers to subprocessor changes: double opt-in (confirmed_at set when
-- the e-mailed link's token, stored as its SHA-256, comes back).
CREATE TABLE subprocessor_subscribers (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    token_hash   BYTEA  NOT NULL UNIQUE,
    confirmed_at BIGINT,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

-- Row-level security on every new table (the platform's rows included).
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['incidents', 'incident_updates', 'incident_orgs', 'incident_notices',
                             'vuln_reports', 'vuln_attachments', 'subprocessors', 'subprocessor_subscribers'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
            WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))$p$, t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    incidents, incident_updates, incident_orgs, incident_notices,
    vuln_reports, vuln_attachments, subprocessors, subprocessor_subscribers
TO strongroom_app;
