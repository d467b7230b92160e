-- Overdue incident obligations raise alerts (INC-02, INC-03; docs/trust.md):
-- the alert kind "incident_overdue" joins the monitor's kinds. SQLite cannot
-- change a CHECK constraint in place, so the table is rebuilt with every row
-- and its index; nothing refers to alerts by foreign key.
CREATE TABLE alerts_new (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('brute_force', 'credential_stuffing', 'mass_read', 'new_device', 'incident_overdue')),
    severity   TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    subject    TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    count      INTEGER NOT NULL CHECK (count >= 1),
    evidence   TEXT    NOT NULL,
    last_seq   INTEGER NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    status_by  TEXT    NOT NULL DEFAULT '',
    status_at  INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;
INSERT INTO alerts_new (tenant_id, id, kind, severity, subject, summary, first_seen, last_seen, count, evidence, last_seq, status, status_by, status_at)
    SELECT tenant_id, id, kind, severity, subject, summary, first_seen, last_seen, count, evidence, last_seq, status, status_by, status_at FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE INDEX alerts_subject ON alerts (tenant_id, kind, subject, status);
