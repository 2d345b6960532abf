-- A group member's first open of a link they reach through a group, so the
-- owner hears of it once per member and link, as link_recipients'
-- first_opened_at does for addresses on the link. The primary key decides
-- which of parallel first opens is the first (INSERT … ON CONFLICT DO
-- NOTHING).
CREATE TABLE link_member_opens (
    link_id   TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    opened_at BIGINT NOT NULL,
    PRIMARY KEY (link_id, user_id)
);
CREATE INDEX link_member_opens_user ON link_member_opens (user_id);
