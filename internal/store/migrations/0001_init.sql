-- One schema for SQLite and PostgreSQL: TEXT, BIGINT and BOOLEAN mean the
-- same on both, and times are BIGINT microseconds since the Unix epoch.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    user_type     TEXT NOT NULL,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE drives (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    root_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE items (
    id          TEXT PRIMARY KEY,
    drive_id    TEXT NOT NULL REFERENCES drives (id) ON DELETE CASCADE,
    parent_id   TEXT,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    is_folder   BOOLEAN NOT NULL,
    size        BIGINT NOT NULL DEFAULT 0,
    sha256      TEXT NOT NULL DEFAULT '',
    blob_key    TEXT NOT NULL DEFAULT '',
    mime_type   TEXT NOT NULL DEFAULT '',
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX items_parent_name ON items (parent_id, name_key);
CREATE INDEX items_drive ON items (drive_id);

CREATE TABLE item_versions (
    id         TEXT PRIMARY KEY,
    item_id    TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    blob_key   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX item_versions_item ON item_versions (item_id);

CREATE TABLE audit_records (
    seq                       BIGINT PRIMARY KEY,
    id                        TEXT NOT NULL,
    creation_time             BIGINT NOT NULL,
    operation                 TEXT NOT NULL,
    user_id                   TEXT NOT NULL,
    user_type                 TEXT NOT NULL,
    client_ip                 TEXT NOT NULL,
    user_agent                TEXT NOT NULL,
    object_id                 TEXT NOT NULL,
    item_type                 TEXT NOT NULL,
    source_file_name          TEXT NOT NULL,
    source_relative_url       TEXT NOT NULL,
    target_user_or_group_name TEXT NOT NULL,
    target_user_or_group_type TEXT NOT NULL,
    unique_sharing_id         TEXT NOT NULL,
    event_data                TEXT NOT NULL,
    result_status             TEXT NOT NULL,
    prev_hash                 TEXT NOT NULL,
    hash                      TEXT NOT NULL
);
-- Searches sort newest first by (creation_time, seq); each filter has an
-- index in that order so a page is read without sorting.
CREATE INDEX audit_time ON audit_records (creation_time, seq);
CREATE INDEX audit_operation ON audit_records (operation, creation_time, seq);
CREATE INDEX audit_user ON audit_records (user_id, creation_time, seq);
CREATE INDEX audit_object ON audit_records (object_id, creation_time, seq);
-- Only records about a sharing link carry its id; the rest stay out of
-- this index, which keeps appending cheap.
CREATE INDEX audit_sharing ON audit_records (unique_sharing_id, creation_time, seq) WHERE unique_sharing_id <> '';

-- The head of the hash chain. Appending locks this row, which orders all
-- writers of the chain, on one node or many.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE login_attempts (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);
