-- Audit-event retention (docs/audit-log.md, "Retention and pruning"). Before a
-- chain's oldest events are deleted, a prune marker is signed: a checkpoint at
-- the prune point under its own label (auditlog.Checkpoint.Prune), kept here
-- and in the checkpoint folder. Verification starts the chain from its newest
-- valid marker. Markers are append-only like the checkpoints.
CREATE TABLE audit_prune_markers (
    tenant_id TEXT   NOT NULL,
    seq       BIGINT NOT NULL,
    head      BYTEA  NOT NULL CHECK (length(head) = 32),
    signed_at BIGINT NOT NULL,
    key_id    TEXT   NOT NULL,
    signature BYTEA  NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE TRIGGER audit_prune_markers_no_change BEFORE UPDATE OR DELETE ON audit_prune_markers
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_prune_markers_no_truncate BEFORE TRUNCATE ON audit_prune_markers
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
ALTER TABLE audit_prune_markers ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_prune_markers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_prune_markers
    USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''));
CREATE POLICY chain_listing ON audit_prune_markers FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT ON audit_prune_markers TO strongroom_app;

-- The application role still has no DELETE privilege on the audit tables, and
-- the append-only triggers still refuse every UPDATE, TRUNCATE and DELETE, to
-- every role, with one exception: a DELETE run by the tables' owner while
-- audit_prune (below) has set strongroom.audit_prune to the row's tenant, of a
-- row at or below one of that tenant's stored prune markers (seals and
-- checkpoints: strictly below, so the chain keeps its seal at the marker, which
-- the sequencer extends). The application reaches it only through audit_prune.
CREATE OR REPLACE FUNCTION audit_prune_allowed(p_table regclass, p_tenant text, p_seq bigint) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT current_setting('strongroom.audit_prune', true) = p_tenant
       AND current_user = (SELECT c.relowner::regrole::name FROM pg_class c WHERE c.oid = p_table)
       AND EXISTS (SELECT 1 FROM public.audit_prune_markers m WHERE m.tenant_id = p_tenant
                   AND (m.seq > p_seq OR (m.seq = p_seq AND p_table = 'public.audit_events'::regclass)))
$$;
REVOKE ALL ON FUNCTION audit_prune_allowed(regclass, text, bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' AND public.audit_prune_allowed(TG_RELID, OLD.tenant_id, OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME IN ('audit_seals', 'audit_checkpoints')
       AND public.audit_prune_allowed(TG_RELID, OLD.tenant_id, OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;

-- audit_prune deletes at most p_limit events (at or below), seals and
-- checkpoints (below) each of the bound tenant's chain and its newest stored
-- prune marker, as the owner. It takes no seq from the caller: what it may delete is decided by the
-- markers, which the application can only append, and which `audit verify`
-- checks against the signing key (a forged marker fails there, and the
-- events it let be deleted are reported missing).
CREATE FUNCTION audit_prune(p_tenant text, p_limit integer,
    OUT events bigint, OUT seals bigint, OUT checkpoints bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    through bigint;
BEGIN
    events := 0; seals := 0; checkpoints := 0;
    IF p_tenant IS NULL OR p_tenant IS DISTINCT FROM NULLIF(current_setting('strongroom.tenant_id', true), '') THEN
        RAISE EXCEPTION 'audit_prune: not the bound tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION 'audit_prune: limit out of range' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT max(m.seq) INTO through FROM public.audit_prune_markers m WHERE m.tenant_id = p_tenant;
    IF through IS NULL THEN
        RETURN;
    END IF;
    PERFORM set_config('strongroom.audit_prune', p_tenant, true);
    DELETE FROM public.audit_events e WHERE e.tenant_id = p_tenant AND e.seq IN
        (SELECT x.seq FROM public.audit_events x WHERE x.tenant_id = p_tenant AND x.seq <= through ORDER BY x.seq LIMIT p_limit);
    GET DIAGNOSTICS events = ROW_COUNT;
    DELETE FROM public.audit_seals e WHERE e.tenant_id = p_tenant AND e.seq IN
        (SELECT x.seq FROM public.audit_seals x WHERE x.tenant_id = p_tenant AND x.seq < through ORDER BY x.seq LIMIT p_limit);
    GET DIAGNOSTICS seals = ROW_COUNT;
    DELETE FROM public.audit_checkpoints e WHERE e.tenant_id = p_tenant AND e.seq IN
        (SELECT x.seq FROM public.audit_checkpoints x WHERE x.tenant_id = p_tenant AND x.seq < through ORDER BY x.seq LIMIT p_limit);
    GET DIAGNOSTICS checkpoints = ROW_COUNT;
    PERFORM set_config('strongroom.audit_prune', '', true);
END
$$;
REVOKE ALL ON FUNCTION audit_prune(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_prune(text, integer) TO strongroom_app;

-- Chains are listed with their markers too: a chain pruned to its marker with
-- no event since is still a chain.
CREATE OR REPLACE FUNCTION audit_chain_tenants() RETURNS SETOF text
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
    UNION SELECT DISTINCT tenant_id FROM public.audit_prune_markers
$$;

-- A termination purge deletes the organization's rows in bounded batches, one
-- transaction each; the rows deleted so far, per table (JSON), are saved with
-- each batch so the deletion certificate's counts stay exact across restarts.
ALTER TABLE terminations ADD COLUMN purge_progress TEXT NOT NULL DEFAULT '{}';
