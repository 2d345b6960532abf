-- Specific-people sharing links, their recipients, one-time passcodes,
-- recipient sessions and the mail outbox.

CREATE TABLE links (
    id                TEXT PRIMARY KEY,          -- the permission id
    share_id          TEXT NOT NULL UNIQUE,      -- UniqueSharingId, not a secret
    token             TEXT NOT NULL,             -- shown to the owner as webUrl
    token_hash        TEXT NOT NULL UNIQUE,      -- looked up by hash, so no timing on the secret
    item_id           TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    drive_id          TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    scope             TEXT NOT NULL,
    role              TEXT NOT NULL,
    prevents_download BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at        BIGINT NOT NULL DEFAULT 0,  -- 0: never
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX links_item ON links (item_id, role);

CREATE TABLE link_recipients (
    link_id  TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    email    TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    PRIMARY KEY (link_id, email)
);
CREATE INDEX link_recipients_email ON link_recipients (email);

CREATE TABLE passcodes (
    id         TEXT PRIMARY KEY,
    link_id    TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    code_hash  TEXT NOT NULL,                 -- HMAC-SHA256 under the deployment key
    client_ip  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    used_at    BIGINT NOT NULL DEFAULT 0,
    killed     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX passcodes_link_email ON passcodes (link_id, email, created_at);
CREATE INDEX passcodes_ip ON passcodes (client_ip, created_at);

CREATE TABLE passcode_failures (
    link_id TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    email   TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX passcode_failures_link_email ON passcode_failures (link_id, email, at);

CREATE TABLE verification_pauses (
    link_id      TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    paused_at    BIGINT NOT NULL,
    paused_until BIGINT NOT NULL,
    PRIMARY KEY (link_id, email)
);

CREATE TABLE recipient_sessions (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    email      TEXT NOT NULL,
    remember   BOOLEAN NOT NULL,
    client_ip  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX recipient_sessions_email ON recipient_sessions (email);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    kind            TEXT NOT NULL,           -- invitation, passcode
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT 'pending',  -- pending, sent, failed
    sent_at         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- Deployment secrets shared by every node, such as the passcode HMAC key.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
