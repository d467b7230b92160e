-- Audit-event retention (docs/audit-log.md, "Retention and pruning"). Before a
-- chain's oldest events are deleted, a prune marker is signed: a checkpoint at
-- the prune point under its own label (auditlog.Checkpoint.Prune), kept here
-- and in the checkpoint folder. Verification starts the chain from its newest
-- valid marker. Markers are append-only like the checkpoints.
CREATE TABLE audit_prune_markers (
    tenant_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    head      BLOB    NOT NULL CHECK (length(head) = 32),
    signed_at INTEGER NOT NULL,
    key_id    TEXT    NOT NULL,
    signature BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER audit_prune_markers_no_update BEFORE UPDATE ON audit_prune_markers
BEGIN
    SELECT RAISE(ABORT, 'audit prune markers are append-only');
END;
CREATE TRIGGER audit_prune_markers_no_delete BEFORE DELETE ON audit_prune_markers
BEGIN
    SELECT RAISE(ABORT, 'audit prune markers are append-only');
END;
CREATE TRIGGER audit_prune_markers_no_replace BEFORE INSERT ON audit_prune_markers
WHEN EXISTS (SELECT 1 FROM audit_prune_markers WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit prune markers are append-only');
END;

-- Deleting events, seals and checkpoints stays refused, except events at or
-- below a stored prune marker of the same chain, and seals and checkpoints
-- below it (the seal at the marker stays: the sequencer extends it). The trigger cannot check the
-- marker's signature: `audit verify` does, and a deletion below a marker that
-- does not verify is reported as missing events.
DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_prune_markers m WHERE m.tenant_id = OLD.tenant_id AND m.seq >= OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
DROP TRIGGER audit_seals_no_delete;
CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals
WHEN NOT EXISTS (SELECT 1 FROM audit_prune_markers m WHERE m.tenant_id = OLD.tenant_id AND m.seq > OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit seals are append-only');
END;
DROP TRIGGER audit_checkpoints_no_delete;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
WHEN NOT EXISTS (SELECT 1 FROM audit_prune_markers m WHERE m.tenant_id = OLD.tenant_id AND m.seq > OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;

-- A termination purge deletes the organization's rows in bounded batches, one
-- transaction each; the rows deleted so far, per table (JSON), are saved with
-- each batch so the deletion certificate's counts stay exact across restarts.
ALTER TABLE terminations ADD COLUMN purge_progress TEXT NOT NULL DEFAULT '{}';
