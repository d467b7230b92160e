-- Status and subprocessor subscriptions are one double-opt-in mechanism
-- (docs/trust.md): one table with the topic replaces status_subscribers and
-- subprocessor_subscribers. Every row moves with its id, address, token hash
-- (links in messages already sent keep working), confirmation and creation
-- time. The id is unique per topic (the old tables were separate).
CREATE TABLE subscriptions (
    tenant_id    TEXT    NOT NULL,
    topic        TEXT    NOT NULL CHECK (topic IN ('status', 'subprocessors')),
    id           TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    token_hash   BYTEA   NOT NULL UNIQUE,
    confirmed_at BIGINT,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, topic, id),
    UNIQUE (tenant_id, topic, email)
);
INSERT INTO subscriptions (tenant_id, topic, id, email, token_hash, confirmed_at, created_at)
    SELECT tenant_id, 'status', id, email, token_hash, confirmed_at, created_at FROM status_subscribers;
INSERT INTO subscriptions (tenant_id, topic, id, email, token_hash, confirmed_at, created_at)
    SELECT tenant_id, 'subprocessors', id, email, token_hash, confirmed_at, created_at FROM subprocessor_subscribers;
DROP TABLE status_subscribers;
DROP TABLE subprocessor_subscribers;

-- Row-level security and grants as the two tables had: platform rows, the
-- tenant bound by the transaction.
ALTER TABLE subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON subscriptions
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));
GRANT SELECT, INSERT, UPDATE, DELETE ON subscriptions TO strongroom_app;
