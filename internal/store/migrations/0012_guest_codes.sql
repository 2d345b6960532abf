-- Codes that sign a guest without a partner in at /login, bound to the
-- address (the organization is the deployment). Kept as a keyed hash, like
-- link codes; tries count per code and client address.
CREATE TABLE guest_codes (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    client_ip  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX guest_codes_email ON guest_codes (email, created_at);
CREATE INDEX guest_codes_client ON guest_codes (client_ip, created_at);

CREATE TABLE guest_code_tries (
    code_id   TEXT NOT NULL REFERENCES guest_codes (id) ON DELETE CASCADE,
    client_ip TEXT NOT NULL,
    tries     INTEGER NOT NULL,
    PRIMARY KEY (code_id, client_ip)
);
