-- A drive can have several owners (a site's library will), and owning one
-- is a row here rather than a column of the drive.
CREATE TABLE drive_owners (
    drive_id TEXT NOT NULL REFERENCES drives (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (drive_id, user_id)
);
CREATE INDEX drive_owners_user ON drive_owners (user_id);
INSERT INTO drive_owners (drive_id, user_id) SELECT id, owner_id FROM drives;
