-- Streaming the audit log to a SIEM (docs/audit-log.md, "Streaming to a
-- SIEM"). The streamer delivers sealed events in seq order to each configured
-- sink (a webhook, a file) and records here, per sink, the seq through which
-- the sink has received every sealed event. Global: no tenant. A sink's name
-- identifies its destination, never a secret.
CREATE TABLE audit_stream_cursors (
    sink       TEXT    NOT NULL PRIMARY KEY,
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
