-- Partner organizations' OpenID Connect providers. The client secret is
-- sealed (see tokens.go). A domain belongs to one provider only: the
-- primary key of provider_domains is what holds that, also between nodes.
CREATE TABLE identity_providers (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    scope         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE TABLE provider_domains (
    domain      TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE
);
CREATE INDEX provider_domains_provider ON provider_domains (provider_id);
