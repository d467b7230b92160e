-- Streaming the audit log to a SIEM (docs/audit-log.md, "Streaming to a
-- SIEM"). The streamer delivers sealed events in seq order to each configured
-- sink (a webhook, a file) and records here, per sink, the seq through which
-- the sink has received every sealed event. Global: no tenant, no row-level
-- security; a sink's name identifies its destination, never a secret.
CREATE TABLE audit_stream_cursors (
    sink       TEXT   NOT NULL PRIMARY KEY,
    seq        BIGINT NOT NULL CHECK (seq >= 0),
    updated_at BIGINT NOT NULL
);
GRANT SELECT, INSERT, UPDATE ON audit_stream_cursors TO strongroom_app;

-- The next events in global seq order after p_after, at most p_limit, as far
-- as they are final and sealed: (tenant, seq, sealed) in seq order, stopping
-- before the first event that is not sealed yet. An event without a seal below
-- a later seal of its own chain never will be sealed (it was inserted behind
-- the application: `audit verify` reports it); it is returned with sealed
-- false so the streamer can report and pass it, rather than wait forever.
--
-- Row-level security shows the application role one tenant at a time, and
-- the streamer must follow every tenant's events in one order. Like
-- audit_tenants_between (0004), this function runs as its owner, whose
-- chain_listing policies let it read audit_events and audit_seals across
-- tenants, and it returns tenant IDs and seqs only, never an event's content:
-- the streamer then reads each tenant's events and seals in a transaction
-- bound to that tenant, under its policies.
--
-- A sealed event at seq n means every seq ≤ n was final when it was sealed
-- (the sequencer never seals past its horizon), so the events returned are
-- all the events there will ever be up to the last seq returned.
CREATE FUNCTION audit_stream_next(p_after bigint, p_limit integer)
RETURNS TABLE (tenant text, seq bigint, sealed boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH nxt AS MATERIALIZED (
        SELECT e.tenant_id, e.seq,
            EXISTS (SELECT 1 FROM public.audit_seals s WHERE s.tenant_id = e.tenant_id AND s.seq = e.seq) AS sealed
        FROM public.audit_events e
        WHERE e.seq > p_after
        ORDER BY e.seq
        LIMIT least(greatest(p_limit, 1), 10000)
    ), pending AS (
        SELECT min(n.seq) AS seq FROM nxt n
        WHERE NOT n.sealed
          AND NOT EXISTS (SELECT 1 FROM public.audit_seals s WHERE s.tenant_id = n.tenant_id AND s.seq > n.seq)
    )
    SELECT n.tenant_id, n.seq, n.sealed FROM nxt n, pending p
    WHERE p.seq IS NULL OR n.seq < p.seq
    ORDER BY n.seq
$$;
REVOKE ALL ON FUNCTION audit_stream_next(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_stream_next(bigint, integer) TO strongroom_app;
