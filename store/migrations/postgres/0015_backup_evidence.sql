-- Backup and restore-drill evidence (LIF-05, LIF-06; docs/operations.md,
-- "Backup records"), and the check behind deleting the accounts a termination
-- purge leaves without any organization (LIF-03; docs/lifecycle.md).
--
-- Platform tables, like terminations: they describe the installation, not an
-- organization, and hold no tenant data. Times are Unix microseconds.
--
-- One row per backup attempt, written when the attempt ends (never while it
-- runs): a backup's archive therefore never holds its own row, and a store
-- restored from it holds rows only about earlier backups (the restore adds
-- the restored one, with restored_at). A backup is named by its location and
-- its archive's name, which survive the store being restored; location is
-- the folder or bucket URL with no credentials or query. manifest_sha256 is
-- the SHA-256 of the archive's manifest (every table's row count and
-- checksum), archive_sha256 that of the encrypted archive.
CREATE TABLE backups (
    location        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    started_at      BIGINT  NOT NULL,
    finished_at     BIGINT  NOT NULL,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    error           TEXT    NOT NULL DEFAULT '',
    engine          TEXT    NOT NULL DEFAULT '',
    schema_version  BIGINT  NOT NULL DEFAULT 0,
    table_count BIGINT  NOT NULL DEFAULT 0,
    row_count   BIGINT  NOT NULL DEFAULT 0,
    plain_bytes     BIGINT  NOT NULL DEFAULT 0,
    archive_bytes   BIGINT  NOT NULL DEFAULT 0,
    archive_sha256  TEXT    NOT NULL DEFAULT '',
    manifest_sha256 TEXT    NOT NULL DEFAULT '',
    restored_at     BIGINT,
    PRIMARY KEY (location, name)
);
CREATE INDEX backups_started ON backups (started_at);

-- One row per restore drill: the backup it restored ('' when none could be
-- opened), how long it took, what it verified (tables, rows, audit chains and
-- events) and its outcome: succeeded, failed (a check failed) or error (the
-- drill could not run). id is the drill's name (strongroom-drill-TIME).
CREATE TABLE backup_drills (
    id          TEXT    NOT NULL PRIMARY KEY,
    location    TEXT    NOT NULL,
    backup      TEXT    NOT NULL,
    started_at  BIGINT  NOT NULL,
    duration_us BIGINT  NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'error')),
    table_count BIGINT  NOT NULL DEFAULT 0,
    row_count   BIGINT  NOT NULL DEFAULT 0,
    chains      BIGINT  NOT NULL DEFAULT 0,
    events      BIGINT  NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX backup_drills_started ON backup_drills (started_at);

-- Platform evidence, read by operators and the trust page and written by the
-- backup schedule and commands: no row-level security, like terminations; the
-- store's methods take them only in transactions bound to the platform tenant.
GRANT SELECT, INSERT, UPDATE ON backups, backup_drills TO strongroom_app;

-- Whether an account still belongs to any organization. The termination
-- purge deletes an account whose last membership it removed, but row-level
-- security shows its transaction the purged organization's memberships only.
-- This function answers yes or no and nothing else; it runs as its owner (the
-- role running this migration), which alone may read memberships across
-- organizations, through the SELECT policy below.
CREATE POLICY account_membership_check ON memberships FOR SELECT TO CURRENT_USER USING (true);
CREATE FUNCTION account_has_membership(p_user text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM public.memberships WHERE user_id = p_user)
$$;
REVOKE ALL ON FUNCTION account_has_membership(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION account_has_membership(text) TO strongroom_app;
