-- Foundation: global identities, organizations (tenants), memberships, clients,
-- collections, records, searchable-field terms and the audit log.
-- Times are integer microseconds since the Unix epoch (UTC); IDs are UUIDv7 text.
-- Every tenant-owned table leads its primary key with tenant_id.

CREATE TABLE users (
    id                TEXT    NOT NULL PRIMARY KEY,
    email             TEXT    NOT NULL UNIQUE,
    password_hash     TEXT    NOT NULL,
    email_verified_at INTEGER,
    created_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ip           TEXT    NOT NULL,
    device_type  TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE organizations (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    tenant_id  TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE clients (
    tenant_id  TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE client_assignments (
    tenant_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX client_assignments_client ON client_assignments (tenant_id, client_id);

CREATE TABLE collections (
    tenant_id  TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    schema     TEXT    NOT NULL,
    searchable TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE records (
    tenant_id     TEXT    NOT NULL,
    collection_id TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    client_id     TEXT,
    version       INTEGER NOT NULL,
    data          BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX records_client ON records (tenant_id, client_id);

CREATE TABLE record_terms (
    tenant_id     TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    field         TEXT NOT NULL,
    term          BLOB NOT NULL,
    record_id     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, field, term, record_id),
    FOREIGN KEY (tenant_id, collection_id, record_id) REFERENCES records (tenant_id, collection_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX record_terms_record ON record_terms (tenant_id, collection_id, record_id);

CREATE TABLE audit_events (
    tenant_id   TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    time        INTEGER NOT NULL,
    actor_type  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    ip          TEXT    NOT NULL,
    device_type TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    result      TEXT    NOT NULL CHECK (result IN ('success', 'failure', 'denied')),
    reason      TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);

-- The audit log is append-only: the store refuses to change or remove an event.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
-- INSERT OR REPLACE removes the conflicting row without delete triggers (unless
-- recursive_triggers is on), so an insert that would collide is refused first.
CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
