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
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER NOT NULL,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    error           TEXT    NOT NULL DEFAULT '',
    engine          TEXT    NOT NULL DEFAULT '',
    schema_version  INTEGER NOT NULL DEFAULT 0,
    table_count INTEGER NOT NULL DEFAULT 0,
    row_count   INTEGER NOT NULL DEFAULT 0,
    plain_bytes     INTEGER NOT NULL DEFAULT 0,
    archive_bytes   INTEGER NOT NULL DEFAULT 0,
    archive_sha256  TEXT    NOT NULL DEFAULT '',
    manifest_sha256 TEXT    NOT NULL DEFAULT '',
    restored_at     INTEGER,
    PRIMARY KEY (location, name)
) STRICT;
CREATE INDEX backups_started ON backups (started_at);

-- One row per restore drill: the backup it restored ('' when none could be
-- opened), how long it took, what it verified (tables, rows, audit chains and
-- events) and its outcome: succeeded, failed (a check failed) or error (the
-- drill could not run). id is the drill's name (strongroom-drill-TIME).
CREATE TABLE backup_drills (
    id          TEXT    NOT NULL PRIMARY KEY,
    location    TEXT    NOT NULL,
    backup      TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'error')),
    table_count INTEGER NOT NULL DEFAULT 0,
    row_count   INTEGER NOT NULL DEFAULT 0,
    chains      INTEGER NOT NULL DEFAULT 0,
    events      INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX backup_drills_started ON backup_drills (started_at);
