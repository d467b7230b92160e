-- The tamper-evident audit log (LOG-02, docs/audit-log.md). Events are sealed
-- into per-tenant hash chains after they commit: audit_events itself is never
-- updated, so seals and checkpoints are rows of their own, append-only like the
-- events, with the same row-level security.

-- The sequencer seals an event only once every lower seq is final (committed or
-- never to commit). It relies on seq numbers being handed out in the order
-- nextval is called, which holds with CACHE 1 (the default, stated here because
-- a larger cache would hand each session a block of numbers).
ALTER TABLE audit_events ALTER COLUMN seq SET CACHE 1;
-- Which tenants have events in a range of seqs (audit_tenants_between).
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);

-- audit_seals: the chain hash of each sealed event (auditlog.Hash). A tenant's
-- seals cover a prefix of its events in seq order.
CREATE TABLE audit_seals (
    tenant_id TEXT   NOT NULL,
    seq       BIGINT NOT NULL,
    hash      BYTEA  NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (tenant_id, seq)
);

-- audit_checkpoints: signed statements of a chain's head at a seq (Ed25519,
-- auditlog.Checkpoint). Copies are also written to a folder outside the database.
CREATE TABLE audit_checkpoints (
    tenant_id TEXT   NOT NULL,
    seq       BIGINT NOT NULL,
    head      BYTEA  NOT NULL CHECK (length(head) = 32),
    signed_at BIGINT NOT NULL,
    key_id    TEXT   NOT NULL,
    signature BYTEA  NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_seals_no_change BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

ALTER TABLE audit_seals ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_seals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_seals
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_checkpoints
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));

-- Which tenants have chains. The sequencer and `audit verify` must find every
-- chain, but row-level security shows the application role one tenant at a
-- time. These two functions answer with tenant IDs only, never rows: they run
-- as their owner (the role running this migration), which alone may read the
-- three tables across tenants, through the SELECT policies below.
CREATE POLICY chain_listing ON audit_events FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY chain_listing ON audit_seals FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY chain_listing ON audit_checkpoints FOR SELECT TO CURRENT_USER USING (true);

-- Every tenant with events, seals or checkpoints (a skip scan of each primary key).
CREATE FUNCTION audit_chain_tenants() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE
    e(id) AS (
        (SELECT tenant_id FROM public.audit_events ORDER BY tenant_id LIMIT 1)
        UNION ALL
        SELECT (SELECT x.tenant_id FROM public.audit_events x WHERE x.tenant_id > e.id ORDER BY x.tenant_id LIMIT 1)
        FROM e WHERE e.id IS NOT NULL
    ),
    s(id) AS (
        (SELECT tenant_id FROM public.audit_seals ORDER BY tenant_id LIMIT 1)
        UNION ALL
        SELECT (SELECT x.tenant_id FROM public.audit_seals x WHERE x.tenant_id > s.id ORDER BY x.tenant_id LIMIT 1)
        FROM s WHERE s.id IS NOT NULL
    ),
    c(id) AS (
        (SELECT tenant_id FROM public.audit_checkpoints ORDER BY tenant_id LIMIT 1)
        UNION ALL
        SELECT (SELECT x.tenant_id FROM public.audit_checkpoints x WHERE x.tenant_id > c.id ORDER BY x.tenant_id LIMIT 1)
        FROM c WHERE c.id IS NOT NULL
    )
    SELECT id FROM e WHERE id IS NOT NULL
    UNION SELECT id FROM s WHERE id IS NOT NULL
    UNION SELECT id FROM c WHERE id IS NOT NULL
$$;

-- The tenants with events whose seq is in (after, through].
CREATE FUNCTION audit_tenants_between(p_after bigint, p_through bigint) RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT DISTINCT tenant_id FROM public.audit_events WHERE seq > p_after AND seq <= p_through
$$;

REVOKE ALL ON FUNCTION audit_chain_tenants(), audit_tenants_between(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_chain_tenants(), audit_tenants_between(bigint, bigint) TO strongroom_app;

-- Leases make background work run exactly once across replicas: the holder of
-- a name until expires_at (µs) does the work; another takes over after. Global:
-- no tenant, no row-level security.
CREATE TABLE leases (
    name       TEXT   NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

GRANT SELECT, INSERT ON audit_seals, audit_checkpoints TO strongroom_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON leases TO strongroom_app;
-- The sequencer reads the last seq handed out (pg_sequence_last_value).
DO $$
BEGIN
    EXECUTE format('GRANT SELECT ON SEQUENCE %s TO strongroom_app', pg_get_serial_sequence('public.audit_events', 'seq'));
END
$$;

-- The platform's checkpoint-signing key lives in the keyring with the data keys.
ALTER TABLE strongroom_keyring.tenant_keys DROP CONSTRAINT tenant_keys_kind_check;
ALTER TABLE strongroom_keyring.tenant_keys ADD CONSTRAINT tenant_keys_kind_check
    CHECK (kind IN ('data', 'index', 'shredded', 'signing'));
