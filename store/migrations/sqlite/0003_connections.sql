-- Connections (DAT-04): an organization's OAuth 2.0 grants to third-party
-- platforms, and the pending authorization requests that lead to them.
--
-- oauth_states holds one row per authorization request in flight: only the
-- SHA-256 of its state parameter, the user who started it, the provider and the
-- PKCE code verifier sealed with the tenant's data key. A row is deleted when
-- its callback arrives (single use) and is worthless after expires_at.
CREATE TABLE oauth_states (
    tenant_id  TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    state_hash BLOB    NOT NULL,
    user_id    TEXT    NOT NULL,
    provider   TEXT    NOT NULL,
    verifier   BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, state_hash)
) STRICT, WITHOUT ROWID;
CREATE INDEX oauth_states_expiry ON oauth_states (tenant_id, expires_at);

-- connections.tokens is the sealed token set (access and refresh token, type,
-- expiry, scopes); nothing else in the row is secret. version guards token
-- updates (compare and set).
CREATE TABLE connections (
    tenant_id    TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    provider     TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('active', 'failed')),
    scopes       TEXT    NOT NULL,
    connected_by TEXT    NOT NULL,
    tokens       BLOB    NOT NULL,
    key_id       INTEGER NOT NULL,
    refreshable  INTEGER NOT NULL CHECK (refreshable IN (0, 1)),
    expires_at   INTEGER,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX connections_key ON connections (tenant_id, key_id);
