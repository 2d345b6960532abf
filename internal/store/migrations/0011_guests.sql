-- Guests: accounts of people outside the organization. Members keep the
-- empty defaults. An identity (issuer, issuer-assigned id) belongs to one
-- user only; its primary key is what holds that between parallel sign-ins.
ALTER TABLE users ADD COLUMN external_user_state TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN external_user_state_changed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN creation_type TEXT NOT NULL DEFAULT '';

CREATE TABLE user_identities (
    issuer             TEXT NOT NULL,
    issuer_assigned_id TEXT NOT NULL,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sign_in_type       TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (issuer, issuer_assigned_id)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- Addresses that just proved a link code and were sent on to their
-- partner: only these may become guests through the partner, for a while.
CREATE TABLE guest_attestations (
    email      TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
