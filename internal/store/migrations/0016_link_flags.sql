-- A restored item's links stay dormant until the owner re-enables them;
-- notify_owner mails the owner when a recipient first opens the link or
-- changes content through it.
ALTER TABLE links ADD COLUMN dormant BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE links ADD COLUMN notify_owner BOOLEAN NOT NULL DEFAULT TRUE;
