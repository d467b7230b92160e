-- Records remember which data-key version sealed their payload, so that key
-- rotation can find the rows still under an older key without opening them.
ALTER TABLE records ADD COLUMN key_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX records_key ON records (tenant_id, key_id);
