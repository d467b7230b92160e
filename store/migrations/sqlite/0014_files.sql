-- Files attached to records (DAT-02, DAT-05, LIF-01; docs/files.md).
--
-- One row per file: its metadata. The content is a blob in the blob store
-- (a folder or an S3-compatible bucket), named "<tenant_id>/<id>" and sealed
-- as an envelope stream under the tenant's data key key_id, bound to tenant,
-- record and file. The row is committed after the blob is written, in the
-- transaction of the file's audit event; a blob without a row (a crash in
-- between, or a file whose record was deleted: the rows cascade) is removed
-- by the orphan sweeper. name is sanitised and at most 255 bytes;
-- content_type is what the server sniffed, never what the uploader claimed;
-- sha256 is of the plaintext. Times are Unix microseconds.
CREATE TABLE record_files (
    tenant_id     TEXT    NOT NULL,
    collection_id TEXT    NOT NULL,
    record_id     TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL CHECK (size >= 0),
    sha256        BLOB    NOT NULL CHECK (length(sha256) = 32),
    key_id        INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, record_id, id),
    FOREIGN KEY (tenant_id, collection_id, record_id) REFERENCES records (tenant_id, collection_id, id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX record_files_id ON record_files (tenant_id, id);
