-- Identity (IAM-01..07, IAM-10..14): operator accounts, session assurance and
-- lifetimes, e-mail and MFA challenges, MFA factors, recovery codes, federated
-- identities, organization settings, API keys and invitations.
-- Secrets are stored only as hashes (tokens, codes, recovery codes) or sealed
-- with the platform's data key (TOTP secrets, ceremony state).

ALTER TABLE users ADD COLUMN operator SMALLINT NOT NULL DEFAULT 0 CHECK (operator IN (0, 1));
ALTER TABLE users ADD COLUMN password_changed_at BIGINT;

-- aal: NIST SP 800-63B-4 authenticator assurance level the session reached (1
-- or 2); methods: how it was reached, e.g. "password,totp"; auth_time: the last
-- time the user proved who they are (step-up); idle_seconds: idle lifetime.
ALTER TABLE sessions ADD COLUMN aal SMALLINT NOT NULL DEFAULT 1 CHECK (aal IN (1, 2));
ALTER TABLE sessions ADD COLUMN methods TEXT NOT NULL DEFAULT 'password';
ALTER TABLE sessions ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN idle_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN os TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN browser TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN cookie SMALLINT NOT NULL DEFAULT 0 CHECK (cookie IN (0, 1));

-- One row per challenge in flight: e-mailed codes and links, the MFA step after
-- a first factor, password resets, OIDC and WebAuthn ceremonies. token_hash is
-- the SHA-256 of the bearer part (a link token or challenge id given to the
-- client); code_hash a keyed hash of a short code typed by the user; data the
-- sealed ceremony state. A row is deleted when used (single use) and is
-- worthless after expires_at or max attempts.
CREATE TABLE auth_challenges (
    id         TEXT   NOT NULL PRIMARY KEY,
    purpose    TEXT   NOT NULL,
    user_id    TEXT   REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT   NOT NULL,
    token_hash BYTEA  NOT NULL UNIQUE,
    code_hash  BYTEA,
    attempts   BIGINT NOT NULL,
    data       BYTEA,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_challenges_email ON auth_challenges (email, purpose);
CREATE INDEX auth_challenges_expiry ON auth_challenges (expires_at);

-- MFA factors: kind totp (secret = the sealed TOTP secret; last_step guards
-- replay) or webauthn (secret = the sealed credential; credential_id for
-- discoverable sign-in). confirmed_at is set once a first code proved enrolment.
CREATE TABLE mfa_factors (
    id            TEXT   NOT NULL PRIMARY KEY,
    user_id       TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT   NOT NULL CHECK (kind IN ('totp', 'webauthn')),
    name          TEXT   NOT NULL,
    credential_id BYTEA  UNIQUE,
    secret        BYTEA  NOT NULL,
    last_step     BIGINT NOT NULL,
    confirmed_at  BIGINT,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX mfa_factors_user ON mfa_factors (user_id);

CREATE TABLE recovery_codes (
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Federated accounts are keyed on (issuer, subject), never on e-mail alone.
CREATE TABLE federated_identities (
    issuer       TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    user_id      TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX federated_identities_user ON federated_identities (user_id);

-- Organization settings as one JSON document (typed in Go; unknown members
-- refused when written).
CREATE TABLE org_settings (
    tenant_id  TEXT   NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    settings   TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- API keys: prefix is the public part shown in lists; only the SHA-256 of the
-- whole key is stored. A rotated key keeps working until its expires_at (the
-- overlap window).
CREATE TABLE api_keys (
    tenant_id    TEXT   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    prefix       TEXT   NOT NULL UNIQUE,
    secret_hash  BYTEA  NOT NULL UNIQUE,
    role         TEXT   NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    client_id    TEXT,
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    rotated_to   TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE invitations (
    tenant_id   TEXT   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id          TEXT   NOT NULL,
    email       TEXT   NOT NULL,
    role        TEXT   NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    clients     TEXT   NOT NULL,
    token_hash  BYTEA  NOT NULL UNIQUE,
    invited_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT,
    revoked_at  BIGINT,
    PRIMARY KEY (tenant_id, id)
);

ALTER TABLE org_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON org_settings
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

-- The organization a presented API key or invitation token belongs to, found by
-- the SHA-256 of the token before the tenant is known. It answers only the
-- tenant id, and only to someone holding a valid token's hash. It runs as its
-- owner (the role running this migration), which is subject to the forced
-- policies above like everyone else and, with no tenant bound, would see no
-- row: these SELECT policies let the owner alone read the two tables across
-- tenants (as chain_listing does for audit_chain_tenants in 0004).
CREATE POLICY token_lookup ON api_keys FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY token_lookup ON invitations FOR SELECT TO CURRENT_USER USING (true);
CREATE FUNCTION token_tenant(p_kind text, p_hash bytea) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT tenant_id FROM public.api_keys WHERE p_kind = 'api_key' AND secret_hash = p_hash
    UNION ALL
    SELECT tenant_id FROM public.invitations WHERE p_kind = 'invitation' AND token_hash = p_hash
$$;
REVOKE ALL ON FUNCTION token_tenant(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION token_tenant(text, bytea) TO strongroom_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON auth_challenges, mfa_factors, recovery_codes,
    federated_identities, org_settings, api_keys, invitations TO strongroom_app;
