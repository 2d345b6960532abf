-- Manage access shows when each person last opened a link: the newest
-- access record of (link, person) is one index probe, not a scan of the
-- link's records. Only records about a link carry its id, as in
-- audit_sharing, so appending other records costs nothing more.
CREATE INDEX audit_sharing_user ON audit_records (unique_sharing_id, user_id, creation_time) WHERE unique_sharing_id <> '';
-- Shared by me lists the links a user made.
CREATE INDEX links_created_by ON links (created_by);
