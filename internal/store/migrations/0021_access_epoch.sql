-- The access epoch counts committed changes other than access records.
-- Every such transaction raises it, in the statement that advances the
-- chain head, so a node that decided from remembered facts can tell, in
-- its group commit, whether anything changed since it read them.
ALTER TABLE audit_head ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
