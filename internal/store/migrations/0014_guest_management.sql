-- Managing guests. Listing guests (or members) pages through users of one
-- type in address order; without this index a page of guests scans past
-- every member. (IF NOT EXISTS: this file was first committed with the
-- index alone, as 0014_users_by_type.)
CREATE INDEX IF NOT EXISTS users_type_email ON users (user_type, email);

-- A guest's access period restarts at an administrator's extension; the
-- start of the period whose expiry was recorded keeps that record to one
-- per period.
ALTER TABLE users ADD COLUMN guest_access_extended_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN guest_expiry_recorded_for BIGINT NOT NULL DEFAULT 0;
