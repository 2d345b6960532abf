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
		JOIN links ON links.id = r.link_id AND links.dormant = FALSE -- deleted, or restored and not on again
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

// openedOps are the records that say a person opened something through a
// link: the first use of a link in a session, a file page, a download.
var openedOps = []any{gatehouse.OpSecureLinkUsed, gatehouse.OpFileAccessed, gatehouse.OpFileDownloaded}

// inList is "(?, ?, …)" for n values.
func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// ShareCount is how widely an item is shared through its own live links.
type ShareCount struct {
	Links  int // links that open (not expired, not dormant)
	People int // distinct addresses on them
	Groups int // distinct groups on them
}

// ShareCounts says, for each of the items that has a live link of its own,
// how many people and groups it reaches; items without one are absent. It
// is one query for a page of a folder.
func (s *Store) ShareCounts(ctx context.Context, itemIDs []string) (map[string]ShareCount, error) {
	out := map[string]ShareCount{}
	if len(itemIDs) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(itemIDs)+1)
	for _, id := range itemIDs {
		args = append(args, id)
	}
	args = append(args, micros(s.Now()))
	rows, err := s.query(ctx, `WITH ls AS (SELECT id, item_id FROM links WHERE item_id IN `+inList(len(itemIDs))+`
			AND NOT dormant AND (expires_at = 0 OR expires_at > ?))
		SELECT item_id, 'l', COUNT(*) FROM ls GROUP BY item_id
		UNION ALL SELECT ls.item_id, 'p', COUNT(DISTINCT r.email) FROM ls JOIN link_recipients r ON r.link_id = ls.id GROUP BY ls.item_id
		UNION ALL SELECT ls.item_id, 'g', COUNT(DISTINCT g.group_id) FROM ls JOIN link_groups g ON g.link_id = ls.id GROUP BY ls.item_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, kind string
		var n int
		if err := rows.Scan(&id, &kind, &n); err != nil {
			return nil, err
		}
		c := out[id]
		switch kind {
		case "l":
			c.Links = n
		case "p":
			c.People = n
		case "g":
			c.Groups = n
		}
		out[id] = c
	}
	return out, rows.Err()
}

// MaxSharedByMe bounds the Shared by me list, which has no paging.
const MaxSharedByMe = 1000

// SharedByItem is one link a user made, for the Shared by me view.
type SharedByItem struct {
	Item       *gatehouse.Item
	Link       *gatehouse.Link // without its recipients
	SiteID     string          // the site whose drive holds the item; "" for a personal drive
	People     int
	Groups     int
	LastOpened time.Time // zero: nobody opened anything through the link yet
}

// SharedBy lists the links userID made, newest first, each with how many
// people and groups are on it and when anyone last opened something through
// it. Dormant links (items in or back from the recycle bin) are left out.
func (s *Store) SharedBy(ctx context.Context, userID string) ([]SharedByItem, error) {
	args := append([]any{}, openedOps...)
	args = append(args, userID, MaxSharedByMe)
	rows, err := s.query(ctx, `SELECT `+prefixed("links.", linkColumns)+`, `+itemColumns+`, COALESCE(st.id, ''),
			(SELECT COUNT(*) FROM link_recipients r WHERE r.link_id = links.id),
			(SELECT COUNT(*) FROM link_groups g WHERE g.link_id = links.id),
			COALESCE((SELECT MAX(a.creation_time) FROM audit_records a WHERE a.unique_sharing_id = links.share_id
				AND a.unique_sharing_id <> '' AND a.operation IN `+inList(len(openedOps))+`), 0)
		FROM links JOIN items ON items.id = links.item_id LEFT JOIN sites st ON st.drive_id = links.drive_id
		WHERE links.created_by = ? AND NOT links.dormant
		ORDER BY links.created_at DESC, links.id LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []SharedByItem{}
	for rows.Next() {
		var it gatehouse.Item
		var x SharedByItem
		var c, m, opened int64
		l, err := s.scanLink(rows, &it.ID, &it.DriveID, &it.ParentID, &it.Name, &it.IsFolder, &it.Size, &it.SHA256, &it.BlobKey,
			&it.MimeType, &it.Version, &c, &m, &it.CreatedBy, &it.ModifiedBy, &it.DriveType, &it.ModifiedByEmail, &it.ModifiedByName,
			&x.SiteID, &x.People, &x.Groups, &opened)
		if err != nil {
			return nil, err
		}
		it.CreatedAt, it.ModifiedAt = fromMicros(c), fromMicros(m)
		x.Item, x.Link = &it, l
		if opened != 0 {
			x.LastOpened = fromMicros(opened)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// FillLastOpened sets, on each recipient of the links, when they last
// opened something through that link (zero: never), from the audit log's
// access records; one index probe per person (audit_sharing_user).
func (s *Store) FillLastOpened(ctx context.Context, links []*gatehouse.Link) error {
	for _, l := range links {
		if len(l.Recipients) == 0 {
			continue
		}
		args := []any{l.ShareID}
		args = append(args, openedOps...)
		args = append(args, l.ID)
		// "<> ''" lets SQLite see that the partial index covers the query.
		rows, err := s.query(ctx, `SELECT r.email, COALESCE((SELECT MAX(a.creation_time) FROM audit_records a
				WHERE a.unique_sharing_id = ? AND a.unique_sharing_id <> '' AND a.user_id = r.email
				AND a.operation IN `+inList(len(openedOps))+`), 0)
			FROM link_recipients r WHERE r.link_id = ?`, args...)
		if err != nil {
			return err
		}
		seen := map[string]time.Time{}
		for rows.Next() {
			var email string
			var at int64
			if err := rows.Scan(&email, &at); err != nil {
				rows.Close()
				return err
			}
			if at != 0 {
				seen[email] = fromMicros(at)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range l.Recipients {
			l.Recipients[i].LastOpenedAt = seen[l.Recipients[i].Email]
		}
	}
	return nil
}
