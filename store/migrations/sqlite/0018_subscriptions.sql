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
    token_hash   BLOB    NOT NULL UNIQUE,
    confirmed_at INTEGER,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, topic, id),
    UNIQUE (tenant_id, topic, email)
) STRICT;
INSERT INTO subscriptions (tenant_id, topic, id, email, token_hash, confirmed_at, created_at)
    SELECT tenant_id, 'status', id, email, token_hash, confirmed_at, created_at FROM status_subscribers;
INSERT INTO subscriptions (tenant_id, topic, id, email, token_hash, confirmed_at, created_at)
    SELECT tenant_id, 'subprocessors', id, email, token_hash, confirmed_at, created_at FROM subprocessor_subscribers;
DROP TABLE status_subscribers;
DROP TABLE subprocessor_subscribers;
