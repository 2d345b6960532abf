-- The recycle bin. Deleting an item moves it, with what it holds, out of
-- the tree: the top item's parent_id becomes 'recycled/' || its id, which
-- no item has, so it leaves its folder's listing and frees its name there
-- (items_parent_name) while parent_id stays non-empty (empty means the
-- root). Only the top item carries the deleted_* columns; what is under it
-- keeps its parent and is in the bin because its ancestry no longer reaches
-- the drive's root. deleted_from and deleted_path are where it came from.
ALTER TABLE items ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN deleted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN deleted_from TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN deleted_path TEXT NOT NULL DEFAULT '';
-- A drive's bin, newest first; and what the sweep purges, oldest first.
CREATE INDEX items_bin ON items (drive_id, deleted_at, id) WHERE deleted_at > 0;
CREATE INDEX items_bin_age ON items (deleted_at) WHERE deleted_at > 0;

ALTER TABLE sharing_settings ADD COLUMN recycle_bin_retention_days INTEGER NOT NULL DEFAULT 93;
