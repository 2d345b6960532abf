-- The start-up sweep asks which content keys metadata uses, a batch at a time.
CREATE INDEX IF NOT EXISTS items_blob_key ON items (blob_key);
CREATE INDEX IF NOT EXISTS item_versions_blob_key ON item_versions (blob_key);
