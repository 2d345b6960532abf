-- Invitations of guests. A guest has at most one live invitation: a resend
-- replaces it, so the old redeem link stops working. The redeem token is
-- kept as its hash only. Deleting the guest revokes it (cascade).
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    redirect_url TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    redeemed_at  BIGINT NOT NULL DEFAULT 0
);

-- Codes mailed to an invited address that proves it with a code, under
-- the rules of link codes.
CREATE TABLE invitation_codes (
    id            TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    code_hash     TEXT NOT NULL,
    client_ip     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    used_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX invitation_codes_invitation ON invitation_codes (invitation_id, created_at);
CREATE INDEX invitation_codes_ip ON invitation_codes (client_ip, created_at);
