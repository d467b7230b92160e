-- Backup runs: the progress of the backup being taken now and the result of
-- the last ones (issue 7; docs/operations.md, "Back up now"). A platform
-- table, like backups: it describes the installation, holds no tenant data,
-- and is read and written only in transactions bound to the platform tenant.
-- Times are Unix microseconds.
--
-- One row per run, by the schedule (started_by '') or by an operator
-- (started_by is the user's id). The running backup updates phase, the rows
-- and plaintext bytes written so far and updated_at every second or so (not
-- per row); rows_total is an estimate (the last successful backup's row
-- count, 0 when unknown). finished_at and outcome are set when it ends;
-- name is the archive's name, error why it failed.
--
-- At most one run is unfinished: the partial unique index below refuses a
-- second, on every replica. A run whose process died is found by its stale
-- updated_at and closed as failed before a new one starts.
--
-- Like leases, the table is state of the running installation, not data:
-- backups do not copy it (a restored store would otherwise hold a run that
-- never ends).
CREATE TABLE backup_runs (
    id          TEXT    NOT NULL PRIMARY KEY,
    trigger     TEXT    NOT NULL CHECK (trigger IN ('schedule', 'operator')),
    started_by  TEXT    NOT NULL DEFAULT '',
    location    TEXT    NOT NULL,
    started_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    phase       TEXT    NOT NULL,
    rows_done   BIGINT  NOT NULL DEFAULT 0,
    rows_total  BIGINT  NOT NULL DEFAULT 0,
    bytes_done  BIGINT  NOT NULL DEFAULT 0,
    bytes_total BIGINT  NOT NULL DEFAULT 0,
    finished_at BIGINT,
    outcome     TEXT    NOT NULL DEFAULT '' CHECK (outcome IN ('', 'succeeded', 'failed')),
    name        TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    CHECK ((finished_at IS NULL) = (outcome = ''))
);
CREATE UNIQUE INDEX backup_runs_one_running ON backup_runs (outcome) WHERE finished_at IS NULL;
CREATE INDEX backup_runs_started ON backup_runs (started_at);

-- Platform state, like backups: no row-level security; the store's methods
-- take it only in transactions bound to the platform tenant.
GRANT SELECT, INSERT, UPDATE ON backup_runs TO strongroom_app;
