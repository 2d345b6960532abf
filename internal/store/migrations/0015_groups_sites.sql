-- Groups, and sites: a site is a drive ("documentLibrary") whose owners,
-- members and visitors are the members of its three groups. A site's
-- groups name its drive and the access they give to it.
CREATE TABLE security_groups (
    id               TEXT PRIMARY KEY,
    display_name     TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    mail_nickname    TEXT NOT NULL,
    security_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    drive_id         TEXT REFERENCES drives (id) ON DELETE CASCADE,
    drive_access     INTEGER NOT NULL DEFAULT 0,   -- 1 read, 2 write, 3 owner
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX security_groups_drive ON security_groups (drive_id);
CREATE INDEX security_groups_name ON security_groups (display_name, id);

-- Members are who a group grants access to; owners manage the group.
CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, role, user_id)
);
-- The access decision asks "which groups is this user a member of".
CREATE INDEX group_members_user ON group_members (user_id, role, group_id);

-- Groups secured to a specific-people link, beside its addresses.
CREATE TABLE link_groups (
    link_id  TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (link_id, group_id)
);
CREATE INDEX link_groups_group ON link_groups (group_id);

CREATE TABLE sites (
    id           TEXT PRIMARY KEY,
    drive_id     TEXT NOT NULL UNIQUE REFERENCES drives (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- A site shared with an address outside the directory: its pending guest
-- joins the group when it redeems the invitation. Deleting the guest
-- revokes both (cascade).
CREATE TABLE pending_group_members (
    group_id TEXT NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX pending_group_members_user ON pending_group_members (user_id);
