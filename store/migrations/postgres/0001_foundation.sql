-- Foundation: global identities, organizations (tenants), memberships, clients,
-- collections, records, searchable-field terms and the audit log.
-- Times are integer microseconds since the Unix epoch (UTC); IDs are UUIDv7 text.
-- Every tenant-owned table leads its primary key with tenant_id, has row-level
-- security enabled and forced, and a policy keyed on the transaction-local setting
-- strongroom.tenant_id. The server connects as a login role that is a member of
-- strongroom_app: it owns nothing, has no BYPASSRLS, and holds only the grants below.

DO $$
BEGIN
    CREATE ROLE strongroom_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- created by another database of this cluster, or concurrently
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO strongroom_app;

CREATE TABLE users (
    id                TEXT   NOT NULL PRIMARY KEY,
    email             TEXT   NOT NULL UNIQUE,
    password_hash     TEXT   NOT NULL,
    email_verified_at BIGINT,
    created_at        BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           TEXT   NOT NULL PRIMARY KEY,
    user_id      TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BYTEA  NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip           TEXT   NOT NULL,
    device_type  TEXT   NOT NULL,
    user_agent   TEXT   NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE organizations (
    id         TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    tenant_id  TEXT   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT   NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE clients (
    tenant_id  TEXT   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE client_assignments (
    tenant_id  TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX client_assignments_client ON client_assignments (tenant_id, client_id);

CREATE TABLE collections (
    tenant_id  TEXT   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    schema     TEXT   NOT NULL,
    searchable TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE records (
    tenant_id     TEXT   NOT NULL,
    collection_id TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    client_id     TEXT,
    version       BIGINT NOT NULL,
    data          BYTEA  NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
);
CREATE INDEX records_client ON records (tenant_id, client_id);

CREATE TABLE record_terms (
    tenant_id     TEXT  NOT NULL,
    collection_id TEXT  NOT NULL,
    field         TEXT  NOT NULL,
    term          BYTEA NOT NULL,
    record_id     TEXT  NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, field, term, record_id),
    FOREIGN KEY (tenant_id, collection_id, record_id) REFERENCES records (tenant_id, collection_id, id) ON DELETE CASCADE
);
CREATE INDEX record_terms_record ON record_terms (tenant_id, collection_id, record_id);

CREATE TABLE audit_events (
    tenant_id   TEXT   NOT NULL,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY,
    time        BIGINT NOT NULL,
    actor_type  TEXT   NOT NULL,
    actor_id    TEXT   NOT NULL,
    ip          TEXT   NOT NULL,
    device_type TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    target_type TEXT   NOT NULL,
    target_id   TEXT   NOT NULL,
    result      TEXT   NOT NULL CHECK (result IN ('success', 'failure', 'denied')),
    reason      TEXT   NOT NULL,
    request_id  TEXT   NOT NULL,
    metadata    TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- The audit log is append-only, for every role including the owner.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Row-level security on every tenant-owned table.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations
    USING (id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (id = NULLIF(current_setting('strongroom.tenant_id', true), ''));
-- A user-bound transaction may also read the organizations the user belongs to.
CREATE POLICY member_organizations ON organizations FOR SELECT
    USING (id IN (SELECT m.tenant_id FROM memberships m
                  WHERE m.user_id = NULLIF(current_setting('strongroom.user_id', true), '')));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));
-- A user-bound transaction may also read the user's own memberships.
CREATE POLICY own_memberships ON memberships FOR SELECT
    USING (user_id = NULLIF(current_setting('strongroom.user_id', true), ''));

ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
ALTER TABLE clients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON clients
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE client_assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE client_assignments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON client_assignments
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE collections ENABLE ROW LEVEL SECURITY;
ALTER TABLE collections FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON collections
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE records ENABLE ROW LEVEL SECURITY;
ALTER TABLE records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON records
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE record_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE record_terms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON record_terms
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

-- Grants: data manipulation only. The application role can neither alter nor own
-- anything, and can only append to the audit log.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    users, sessions, organizations, memberships, clients, client_assignments,
    collections, records, record_terms
TO strongroom_app;
GRANT SELECT, INSERT ON audit_events TO strongroom_app;
