-- What each backup and drill held beyond rows (docs/operations.md, "Backup
-- records"): the archive's layout ('logical' or 'sqlite-file'; '' for rows
-- written before this migration, and for failed attempts) and its file
-- blobs: how many, their bytes, and how many files had no blob when the
-- backup copied them. A drill records the blobs it verified (count and
-- bytes) and the files the backup listed without a blob. Existing rows keep
-- zero counts: the index files beside their archives still hold them.
ALTER TABLE backups ADD COLUMN layout TEXT NOT NULL DEFAULT '' CHECK (layout IN ('', 'logical', 'sqlite-file'));
ALTER TABLE backups ADD COLUMN blob_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backups ADD COLUMN blob_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backups ADD COLUMN blobs_missing INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backup_drills ADD COLUMN blob_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backup_drills ADD COLUMN blob_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backup_drills ADD COLUMN blobs_missing INTEGER NOT NULL DEFAULT 0;
