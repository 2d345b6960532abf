-- As 0007_drive_type.postgres.sql; SQLite changes a column's constraints by
-- rebuilding the table (foreign keys are off while migrations run).
CREATE TABLE drives_new (
    id         TEXT PRIMARY KEY,
    drive_type TEXT NOT NULL DEFAULT 'personal',
    owner_id   TEXT REFERENCES users (id) ON DELETE CASCADE,
    root_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO drives_new (id, drive_type, owner_id, root_id, created_at)
    SELECT id, 'personal', owner_id, root_id, created_at FROM drives;
DROP TABLE drives;
ALTER TABLE drives_new RENAME TO drives;
CREATE UNIQUE INDEX drives_personal ON drives (owner_id) WHERE drive_type = 'personal';
