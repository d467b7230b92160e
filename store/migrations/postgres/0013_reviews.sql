-- Access reviews (IAM-15) and security-policy changes (INC-07); docs/trust.md.
--
-- A review campaign belongs to an organization, or to the platform tenant for
-- the review of operator accounts. Its entries are the snapshot taken when it
-- opened: who held which role, with which client assignments, and when each
-- was last active. Once completed_at is set nothing in the campaign changes
-- (the store refuses updates of completed campaigns). period is the schedule
-- period ("2026-10-01") of a scheduled campaign, or "manual:<id>", and is
-- unique per tenant so that one campaign opens per period however many
-- replicas run the scheduler. Times are Unix microseconds.
CREATE TABLE review_campaigns (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    period       TEXT    NOT NULL,
    opened_by    TEXT    NOT NULL,
    opened_at    BIGINT  NOT NULL,
    due_at       BIGINT  NOT NULL,
    reminded_at  BIGINT,
    completed_at BIGINT,
    completed_by TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, period)
);
CREATE INDEX review_campaigns_opened ON review_campaigns (tenant_id, opened_at);

-- One row per reviewed account. rank orders privileged accounts first
-- (Admins 0, Editors 1, Viewers 2; operators 0). clients is a JSON array of
-- client IDs. decision is NULL until a reviewer keeps or revokes the entry.
CREATE TABLE review_entries (
    tenant_id     TEXT    NOT NULL,
    campaign_id   TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'operator')),
    rank          BIGINT  NOT NULL,
    clients       TEXT    NOT NULL,
    last_session_at BIGINT,
    last_key_use_at BIGINT,
    decision      TEXT    CHECK (decision IN ('keep', 'revoke', 'keep_unreviewed')),
    decided_by    TEXT,
    decided_at    BIGINT,
    note          TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, campaign_id, user_id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES review_campaigns (tenant_id, id) ON DELETE CASCADE
);

-- Security-policy changes published by operators (platform rows), and each
-- organization's acknowledgement (the organization's rows).
CREATE TABLE policy_changes (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    summary      TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    effective_at BIGINT  NOT NULL,
    published_by TEXT    NOT NULL,
    published_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX policy_changes_published ON policy_changes (tenant_id, published_at);

CREATE TABLE policy_acks (
    tenant_id       TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    change_id       TEXT    NOT NULL,
    acknowledged_by TEXT    NOT NULL,
    acknowledged_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, change_id)
);

DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['review_campaigns', 'review_entries', 'policy_changes', 'policy_acks'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))
            WITH CHECK (tenant_id = NULLIF(current_setting('strongroom.tenant_id', true), ''))$p$, t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON review_campaigns, review_entries, policy_changes, policy_acks TO strongroom_app;
