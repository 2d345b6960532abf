-- first_opened_at is when the recipient first opened the link (0: not yet);
-- a conditional update sets it once, so the owner hears of it once.
-- message is the sharer's note to this recipient, shown after verification.
-- invited_at is when the invitation was last queued, for resend limits.
ALTER TABLE link_recipients ADD COLUMN first_opened_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE link_recipients ADD COLUMN message TEXT NOT NULL DEFAULT '';
ALTER TABLE link_recipients ADD COLUMN invited_at BIGINT NOT NULL DEFAULT 0;
-- Mail sent on someone's behalf: its own From ("Ada via Gatehouse"
-- <configured address>) and Reply-To; empty is the configured sender.
ALTER TABLE outbox ADD COLUMN from_addr TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN reply_to TEXT NOT NULL DEFAULT '';
