-- Identity (IAM-01..07, IAM-10..14): operator accounts, session assurance and
-- lifetimes, e-mail and MFA challenges, MFA factors, recovery codes, federated
-- identities, organization settings, API keys and invitations.
-- Secrets are stored only as hashes (tokens, codes, recovery codes) or sealed
-- with the platform's data key (TOTP secrets, ceremony state).

ALTER TABLE users ADD COLUMN operator INTEGER NOT NULL DEFAULT 0 CHECK (operator IN (0, 1));
ALTER TABLE users ADD COLUMN password_changed_at INTEGER;

-- aal: NIST SP 800-63B-4 authenticator assurance level the session reached (1
-- or 2); methods: how it was reached, e.g. "password,totp"; auth_time: the last
-- time the user proved who they are (step-up); idle_seconds: idle lifetime.
ALTER TABLE sessions ADD COLUMN aal INTEGER NOT NULL DEFAULT 1 CHECK (aal IN (1, 2));
ALTER TABLE sessions ADD COLUMN methods TEXT NOT NULL DEFAULT 'password';
ALTER TABLE sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN idle_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN os TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN browser TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN cookie INTEGER NOT NULL DEFAULT 0 CHECK (cookie IN (0, 1));

-- One row per challenge in flight: e-mailed codes and links, the MFA step after
-- a first factor, password resets, OIDC and WebAuthn ceremonies. token_hash is
-- the SHA-256 of the bearer part (a link token or challenge id given to the
-- client); code_hash a keyed hash of a short code typed by the user; data the
-- sealed ceremony state. A row is deleted when used (single use) and is
-- worthless after expires_at or max attempts.
CREATE TABLE auth_challenges (
    id         TEXT    NOT NULL PRIMARY KEY,
    purpose    TEXT    NOT NULL,
    user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    token_hash BLOB    NOT NULL UNIQUE,
    code_hash  BLOB,
    attempts   INTEGER NOT NULL,
    data       BLOB,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_challenges_email ON auth_challenges (email, purpose);
CREATE INDEX auth_challenges_expiry ON auth_challenges (expires_at);

-- MFA factors: kind totp (secret = the sealed TOTP secret; last_step guards
-- replay) or webauthn (secret = the sealed credential; credential_id for
-- discoverable sign-in). confirmed_at is set once a first code proved enrolment.
CREATE TABLE mfa_factors (
    id            TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('totp', 'webauthn')),
    name          TEXT    NOT NULL,
    credential_id BLOB    UNIQUE,
    secret        BLOB    NOT NULL,
    last_step     INTEGER NOT NULL,
    confirmed_at  INTEGER,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) STRICT;
CREATE INDEX mfa_factors_user ON mfa_factors (user_id);

CREATE TABLE recovery_codes (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;

-- Federated accounts are keyed on (issuer, subject), never on e-mail alone.
CREATE TABLE federated_identities (
    issuer       TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT, WITHOUT ROWID;
CREATE INDEX federated_identities_user ON federated_identities (user_id);

-- Organization settings as one JSON document (typed in Go; unknown members
-- refused when written).
CREATE TABLE org_settings (
    tenant_id  TEXT    NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    settings   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- API keys: prefix is the public part shown in lists; only the SHA-256 of the
-- whole key is stored. A rotated key keeps working until its expires_at (the
-- overlap window).
CREATE TABLE api_keys (
    tenant_id    TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL UNIQUE,
    secret_hash  BLOB    NOT NULL UNIQUE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    client_id    TEXT,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    rotated_to   TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE invitations (
    tenant_id   TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    clients     TEXT    NOT NULL,
    token_hash  BLOB    NOT NULL UNIQUE,
    invited_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    accepted_by TEXT,
    revoked_at  INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;
