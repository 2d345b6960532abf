-- A drive's type is data: "personal" now, a site's "documentLibrary"
-- later. owner_id stays as the user of a personal drive, one each, and is
-- empty for drives that belong to no single user.
ALTER TABLE drives ADD COLUMN drive_type TEXT NOT NULL DEFAULT 'personal';
ALTER TABLE drives DROP CONSTRAINT drives_owner_id_key;
ALTER TABLE drives ALTER COLUMN owner_id DROP NOT NULL;
CREATE UNIQUE INDEX drives_personal ON drives (owner_id) WHERE drive_type = 'personal';
