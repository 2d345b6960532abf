-- Partner sign-ins under way: one row from the redirect to the partner until
-- its callback, which deletes it (single use). The state is kept only as a
-- hash, the nonce too (the callback compares hashes), and the PKCE verifier
-- sealed, so a copy of the database cannot finish anyone's sign-in.
CREATE TABLE oidc_signins (
    state_hash  TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL,
    nonce_hash  TEXT NOT NULL,
    verifier    TEXT NOT NULL,
    login_hint  TEXT NOT NULL,
    return_to   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oidc_signins_expires ON oidc_signins (expires_at);
