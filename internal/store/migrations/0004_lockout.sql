-- Nobody can lock the genuine user out: wrong passcode tries, failures and
-- pauses count per client address, members' browsers carry a device cookie,
-- and a session records its first use of a link once.

-- Tries at one code from one client address; at most 5 are checked. Counted
-- in one upsert, so parallel tries never lose a count.
CREATE TABLE passcode_tries (
    passcode_id TEXT NOT NULL REFERENCES passcodes (id) ON DELETE CASCADE,
    client_ip   TEXT NOT NULL,
    tries       INTEGER NOT NULL,
    PRIMARY KEY (passcode_id, client_ip)
);

ALTER TABLE passcode_failures ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
DROP INDEX passcode_failures_link_email;
CREATE INDEX passcode_failures_client ON passcode_failures (link_id, email, client_ip, at);

-- A pause stops one client address only. Pauses in force (an hour at most)
-- had no address and are dropped.
DROP TABLE verification_pauses;
CREATE TABLE verification_pauses (
    link_id      TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    paused_at    BIGINT NOT NULL,
    paused_until BIGINT NOT NULL,
    PRIMARY KEY (link_id, email, client_ip)
);

-- Browsers a member has signed in from (OWASP's device cookies). Only the
-- hash of the cookie's secret is kept.
CREATE TABLE login_devices (
    hash         TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    failures     INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX login_devices_user ON login_devices (user_id, expires_at);

-- The links a session (a member's or a recipient's, by the hash of its
-- secret) has used: one SecureLinkUsed each, not one per page view.
CREATE TABLE session_link_uses (
    session_hash TEXT NOT NULL,
    link_id      TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    used_at      BIGINT NOT NULL,
    PRIMARY KEY (session_hash, link_id)
);
CREATE INDEX session_link_uses_at ON session_link_uses (used_at);
