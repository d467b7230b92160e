-- Connections (DAT-04): an organization's OAuth 2.0 grants to third-party
-- platforms, and the pending authorization requests that lead to them.
--
-- oauth_states holds one row per authorization request in flight: only the
-- SHA-256 of its state parameter, the user who started it, the provider and the
-- PKCE code verifier sealed with the tenant's data key. A row is deleted when
-- its callback arrives (single use) and is worthless after expires_at.
CREATE TABLE oauth_states (
    tenant_id  TEXT   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    state_hash BYTEA  NOT NULL,
    user_id    TEXT   NOT NULL,
    provider   TEXT   NOT NULL,
    verifier   BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, state_hash)
);
CREATE INDEX oauth_states_expiry ON oauth_states (tenant_id, expires_at);

-- connections.tokens is the sealed token set (access and refresh token, type,
-- expiry, scopes); nothing else in the row is secret. version guards token
-- updates (compare and set), so two replicas refreshing at once store one result.
CREATE TABLE connections (
    tenant_id    TEXT     NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           TEXT     NOT NULL,
    provider     TEXT     NOT NULL,
    status       TEXT     NOT NULL CHECK (status IN ('active', 'failed')),
    scopes       TEXT     NOT NULL,
    connected_by TEXT     NOT NULL,
    tokens       BYTEA    NOT NULL,
    key_id       BIGINT   NOT NULL,
    refreshable  SMALLINT NOT NULL CHECK (refreshable IN (0, 1)),
    expires_at   BIGINT,
    version      BIGINT   NOT NULL,
    created_at   BIGINT   NOT NULL,
    updated_at   BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX connections_key ON connections (tenant_id, key_id);

ALTER TABLE oauth_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE oauth_states FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON oauth_states
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE connections FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON connections
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_states, connections TO strongroom_app;
