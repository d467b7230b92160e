-- The tamper-evident audit log (LOG-02, docs/audit-log.md). Events are sealed
-- into per-tenant hash chains after they commit: audit_events itself is never
-- updated, so seals and checkpoints are rows of their own, append-only like the
-- events.
--
-- audit_seals: the chain hash of each sealed event (auditlog.Hash). A tenant's
-- seals cover a prefix of its events in seq order.
CREATE TABLE audit_seals (
    tenant_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    hash      BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (tenant_id, seq)
) STRICT, WITHOUT ROWID;

-- audit_checkpoints: signed statements of a chain's head at a seq (Ed25519,
-- auditlog.Checkpoint). Copies are also written to a folder outside the database.
CREATE TABLE audit_checkpoints (
    tenant_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    head      BLOB    NOT NULL CHECK (length(head) = 32),
    signed_at INTEGER NOT NULL,
    key_id    TEXT    NOT NULL,
    signature BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER audit_seals_no_update BEFORE UPDATE ON audit_seals
BEGIN
    SELECT RAISE(ABORT, 'audit seals are append-only');
END;
CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals
BEGIN
    SELECT RAISE(ABORT, 'audit seals are append-only');
END;
CREATE TRIGGER audit_seals_no_replace BEFORE INSERT ON audit_seals
WHEN EXISTS (SELECT 1 FROM audit_seals WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit seals are append-only');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
CREATE TRIGGER audit_checkpoints_no_replace BEFORE INSERT ON audit_checkpoints
WHEN EXISTS (SELECT 1 FROM audit_checkpoints WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;

-- Leases make background work run exactly once across processes: the holder
-- of a name until expires_at (µs) does the work; another takes over after.
CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
