-- Records remember which data-key version sealed their payload, so that key
-- rotation can find the rows still under an older key without opening them.
ALTER TABLE records ADD COLUMN key_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX records_key ON records (tenant_id, key_id);

-- The keyring lives apart from tenant data, in its own schema: backups of data
-- dump the public schema only, so they never contain a data key. Keys are
-- wrapped by the master key (KEK) named by kek_id.
CREATE SCHEMA strongroom_keyring;
GRANT USAGE ON SCHEMA strongroom_keyring TO strongroom_app;
CREATE TABLE strongroom_keyring.tenant_keys (
    tenant_id  TEXT   NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('data', 'index', 'shredded')),
    version    BIGINT NOT NULL,
    kek_id     TEXT   NOT NULL,
    wrapped    BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, version)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON strongroom_keyring.tenant_keys TO strongroom_app;
