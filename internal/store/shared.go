package store

import (
	"context"
	"strings"
	"time"

	"gatehouse"
)

// MaxSharedWithMe bounds the Shared with me list, which has no paging.
const MaxSharedWithMe = 1000

// SharedItem is an item on a link whose recipients include an address,
// with the facts the access decision needs to judge the link.
type SharedItem struct {
	Item     *gatehouse.Item
	Link     *gatehouse.Link
	Owner    *gatehouse.User // the owner of the item's drive: id, address, name
	SharedAt time.Time       // when the address was put on the link
	Facts    gatehouse.ItemFacts
}

// SharedWithMe lists, in one query, the items on links that email is a
// recipient of, newest place first. Whether each still opens is the
// decision's to say (Facts), so an expired link or a disabled owner's
// share is judged by the same rule as opening it.
func (s *Store) SharedWithMe(ctx context.Context, email string) ([]SharedItem, error) {
	return s.SharedWith(ctx, gatehouse.RecipientPrincipal(email))
}

// SharedWith is SharedWithMe for a principal: a member or guest also has
// what was shared with a group they are a member of, from when both the
// group was on the link and they were in the group.
func (s *Store) SharedWith(ctx context.Context, p gatehouse.Principal) ([]SharedItem, error) {
	email := strings.ToLower(strings.TrimSpace(p.Email))
	rows, err := s.query(ctx, `SELECT `+prefixed("links.", linkColumns)+`, `+itemColumns+`,
			CASE WHEN items.is_folder THEN (SELECT COUNT(*) FROM items c WHERE c.parent_id = items.id) ELSE 0 END, COALESCE(u.id, ''), COALESCE(u.email, ''),
			COALESCE(u.display_name, ''), COALESCE(u.disabled, FALSE), r.added_at
		FROM (SELECT link_id, MAX(added_at) AS added_at FROM (
				SELECT r.link_id, r.added_at FROM link_recipients r WHERE r.email = ?
				UNION ALL
				SELECT lg.link_id, CASE WHEN lg.added_at > m.added_at THEN lg.added_at ELSE m.added_at END
				FROM group_members m JOIN link_groups lg ON lg.group_id = m.group_id
				WHERE m.user_id = ? AND m.role = 'member'
			) x GROUP BY link_id) r
		JOIN links ON links.id = r.link_id
		JOIN items ON items.id = links.item_id
		JOIN drives d ON d.id = links.drive_id LEFT JOIN users u ON u.id = d.owner_id
		ORDER BY r.added_at DESC, links.id LIMIT ?`, email, p.UserID, MaxSharedWithMe)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := s.Now()
	out := []SharedItem{}
	for rows.Next() {
		var it gatehouse.Item
		var owner gatehouse.User
		var c, m, added int64
		l, err := s.scanLink(rows, &it.ID, &it.DriveID, &it.ParentID, &it.Name, &it.IsFolder, &it.Size, &it.SHA256, &it.BlobKey,
			&it.MimeType, &it.Version, &c, &m, &it.CreatedBy, &it.ModifiedBy, &it.DriveType, &it.ModifiedByEmail, &it.ModifiedByName, &it.ChildCount,
			&owner.ID, &owner.Email, &owner.DisplayName, &owner.Disabled, &added)
		if err != nil {
			return nil, err
		}
		it.CreatedAt, it.ModifiedAt = fromMicros(c), fromMicros(m)
		f := gatehouse.ItemFacts{Now: now, Ancestry: []string{it.ID}, Via: &gatehouse.LinkFacts{ItemID: l.ItemID, Role: l.Role,
			ExpiresAt: l.ExpiresAt, OwnerDisabled: owner.Disabled, Recipients: []string{email}}}
		out = append(out, SharedItem{Item: &it, Link: l, Owner: &owner, SharedAt: fromMicros(added), Facts: f})
	}
	return out, rows.Err()
}
