-- One specific-people link per (item, scope, role, expiry), enforced by the
-- database so that parallel shares meet on one link. Links that races made
-- before this index existed keep working: each gets its own slot, and only
-- slot 0 takes new recipients.
ALTER TABLE links ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;
UPDATE links SET slot = (
    SELECT COUNT(*) FROM links o
    WHERE o.item_id = links.item_id AND o.scope = links.scope AND o.role = links.role AND o.expires_at = links.expires_at
      AND (o.created_at < links.created_at OR (o.created_at = links.created_at AND o.id < links.id)));
CREATE UNIQUE INDEX links_unique ON links (item_id, scope, role, expires_at, slot);
