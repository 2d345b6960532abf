-- The tenant's sharing settings: one row, created the first time the store
-- reads them, so the e-mail attestation period starts at the value of
-- --passcode-reauth-days of that day and is the admins' from then on.
CREATE TABLE sharing_settings (
    id                                INTEGER PRIMARY KEY CHECK (id = 1),
    is_b2b_integration_enabled        BOOLEAN NOT NULL,
    external_user_expiration_required BOOLEAN NOT NULL,
    external_user_expire_in_days      INTEGER NOT NULL,
    email_attestation_reauth_days     INTEGER NOT NULL,
    updated_at                        BIGINT NOT NULL
);
