-- Overdue incident obligations raise alerts (INC-02, INC-03; docs/trust.md):
-- the alert kind "incident_overdue" joins the monitor's kinds. The trust page
-- reads platform-wide aggregates through trust_org_aggregates (below).
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check
    CHECK (kind IN ('brute_force', 'credential_stuffing', 'mass_read', 'new_device', 'incident_overdue'));

-- The trust page's platform-wide aggregates (IAM-07, IAM-15; docs/trust.md):
-- how many organizations require MFA and how many completed an access review,
-- counts and one date only, never a tenant's id or name. Row-level security
-- shows one tenant at a time, so this function, running as its owner (the role
-- running this migration), counts across tenants; the SELECT policies let the
-- owner alone read the two tables across tenants (as organization_ids in 0009).
CREATE POLICY trust_aggregates ON org_settings FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY trust_aggregates ON review_campaigns FOR SELECT TO CURRENT_USER USING (true);
CREATE FUNCTION trust_org_aggregates(reviewed_since bigint, platform text)
RETURNS TABLE (orgs bigint, mfa_required bigint, reviewed bigint, last_review bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT (SELECT count(*) FROM public.organizations),
           (SELECT count(*) FROM public.org_settings s JOIN public.organizations o ON o.id = s.tenant_id
             WHERE (s.settings::jsonb ->> 'mfa_required') = 'true'),
           (SELECT count(DISTINCT c.tenant_id) FROM public.review_campaigns c
             WHERE c.tenant_id <> platform AND c.completed_at >= reviewed_since),
           (SELECT max(c.completed_at) FROM public.review_campaigns c WHERE c.tenant_id <> platform)
$$;
REVOKE ALL ON FUNCTION trust_org_aggregates(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trust_org_aggregates(bigint, text) TO strongroom_app;
