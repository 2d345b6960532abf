package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"gatehouse"
)

// The loaders here find what a request is about together with the facts
// gatehouse.Authorize needs, in the query that finds it, so deciding costs
// no round trip. They decide nothing themselves.

// accessTo is the SQL for the drive access (gatehouse.DriveAccess) of a
// user to the drive whose id is the column drive: an owner of a personal
// drive has it all, others what the best of the site's groups they are a
// member of gives. Its two arguments are both the user's id.
func accessTo(drive string) string {
	// From the drive's (at most three) groups to the member, not from the
	// user's groups, which may be many.
	return `CASE WHEN EXISTS (SELECT 1 FROM drive_owners o WHERE o.drive_id = ` + drive + ` AND o.user_id = ?) THEN 3
		ELSE COALESCE((SELECT MAX(g.drive_access) FROM security_groups g WHERE g.drive_id = ` + drive + `
			AND EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.role = 'member' AND m.user_id = ?)), 0) END`
}

// placeFor places the item as placeItem does and sets f.Ancestry. A
// member or guest without full control of the drive may have grants: the
// links on the ancestry they are on, by address or through a group they
// are a member of. Those come in the query that walks up the tree, so
// deciding through groups costs no round trip.
func (s *Store) placeFor(q querier, p gatehouse.Principal, it *gatehouse.Item, rootID string, f *gatehouse.ItemFacts) (err error) {
	if !p.IsUser() || f.Access >= gatehouse.AccessOwner {
		f.Ancestry, err = s.placeItem(q, it, rootID)
		return err
	}
	// Every link on the way up is asked about the user's address and
	// groups: links are few, while a user's groups may be many.
	rows, err := q.query(`WITH RECURSIVE anc (id, parent_id, name, depth) AS (
			SELECT id, parent_id, name, 0 FROM items WHERE id = ?
			UNION ALL
			SELECT i.id, i.parent_id, i.name, a.depth + 1 FROM items i JOIN anc a ON i.id = a.parent_id WHERE a.depth < 1000
		) SELECT anc.id, anc.name, l.id IS NOT NULL AND (
			EXISTS (SELECT 1 FROM link_recipients r WHERE r.link_id = l.id AND r.email = ?)
			OR EXISTS (SELECT 1 FROM link_groups lg WHERE lg.link_id = l.id AND EXISTS (
				SELECT 1 FROM group_members m WHERE m.group_id = lg.group_id AND m.role = 'member' AND m.user_id = ?))),
			COALESCE(l.role, ''), COALESCE(l.expires_at, 0), COALESCE(u.disabled, FALSE), COALESCE(l.prevents_download, FALSE)
		FROM anc
		LEFT JOIN links l ON l.item_id = anc.id AND l.dormant = FALSE
		LEFT JOIN drives d ON d.id = l.drive_id LEFT JOIN users u ON u.id = d.owner_id
		ORDER BY anc.depth DESC`, it.ID, p.Email, p.UserID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var names []string
	f.Ancestry, f.Grants = nil, nil
	for rows.Next() {
		var id, name, role string
		var linked, disabled, viewOnly bool
		var exp int64
		if err := rows.Scan(&id, &name, &linked, &role, &exp, &disabled, &viewOnly); err != nil {
			return err
		}
		if n := len(f.Ancestry); n == 0 || f.Ancestry[n-1] != id { // one row per link on an ancestor
			f.Ancestry, names = append(f.Ancestry, id), append(names, name)
		}
		if linked {
			f.Grants = append(f.Grants, gatehouse.LinkFacts{ItemID: id, Role: role, ExpiresAt: fromMicros(exp),
				OwnerDisabled: disabled, GroupMember: true, Recipients: []string{p.Email}, PreventsDownload: viewOnly})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	// An item whose ancestry stops short of the root is in the recycle bin.
	if len(f.Ancestry) == 0 || f.Ancestry[0] != rootID {
		return notFound("The item")
	}
	if len(names) > 2 { // root, folders, the item
		it.ParentPath = "/" + joinPath(names[1:len(names)-1])
	}
	if it.IsFolder {
		return q.queryRow(`SELECT COUNT(*) FROM items WHERE parent_id = ?`, it.ID).Scan(&it.ChildCount)
	}
	return nil
}

// ItemFacts loads an item of a drive and the facts about it for p: whether
// p owns the drive, and the item's ancestry. Returns ENOTFOUND.
func (s *Store) ItemFacts(ctx context.Context, p gatehouse.Principal, driveID, id string) (*gatehouse.Item, gatehouse.ItemFacts, error) {
	type facts struct {
		it *gatehouse.Item
		f  gatehouse.ItemFacts
	}
	key := viewKey3("item", strconv.Itoa(int(p.Kind))+"\x00"+p.UserID+"\x00"+p.Email, driveID, id)
	v, err := remember(s, ctx, key, func() (facts, time.Time, error) {
		it, f, err := s.itemFacts(reader{s, ctx}, p, driveID, id)
		f.Now = time.Time{}
		return facts{it, f}, time.Time{}, err
	})
	v.f.Now = s.Now()
	if err != nil {
		return nil, v.f, err
	}
	return copyItem(v.it), v.f, nil
}

// itemFacts is ItemFacts in a transaction or, through reader, outside one.
func (s *Store) itemFacts(q querier, p gatehouse.Principal, driveID, id string) (*gatehouse.Item, gatehouse.ItemFacts, error) {
	var rootID string
	var access gatehouse.DriveAccess
	it, err := scanItem(q.queryRow(`SELECT `+itemColumns+`, d.root_id, `+accessTo("items.drive_id")+`
		FROM items JOIN drives d ON d.id = items.drive_id WHERE items.id = ? AND items.drive_id = ?`, p.UserID, p.UserID, id, driveID), &rootID, &access)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.ItemFacts{}, notFound("The item")
	} else if err != nil {
		return nil, gatehouse.ItemFacts{}, err
	}
	f := gatehouse.ItemFacts{Now: s.Now()}
	if p.UserID != "" {
		f.Access = access
	}
	return it, f, s.placeFor(q, p, it, rootID, &f)
}

// placeItem fills the item's parent path and child count, and returns its
// ancestry. An item at the top of its drive needs no walk up the tree.
func (s *Store) placeItem(q querier, it *gatehouse.Item, rootID string) ([]string, error) {
	var ancestry []string
	switch it.ParentID {
	case "":
		ancestry = []string{it.ID}
	case rootID:
		ancestry = []string{rootID, it.ID}
	default:
		ids, names, err := s.ancestors(q, it.ParentID)
		if err != nil {
			return nil, err
		}
		// In the recycle bin: the top item's parent is no item, and what is
		// under it reaches that top item and no further (recycle.go).
		if len(ids) == 0 || ids[0] != rootID {
			return nil, notFound("The item")
		}
		if len(names) > 1 {
			it.ParentPath = "/" + joinPath(names[1:])
		}
		ancestry = append(ids, it.ID)
	}
	if it.IsFolder {
		if err := q.queryRow(`SELECT COUNT(*) FROM items WHERE parent_id = ?`, it.ID).Scan(&it.ChildCount); err != nil {
			return nil, err
		}
	}
	return ancestry, nil
}

func joinPath(names []string) string {
	out := names[0]
	for _, n := range names[1:] {
		out += "/" + n
	}
	return out
}

// TokenItemFacts resolves a bearer token, an item and the facts about it
// for the token's user, in one query for the download path where round
// trips add up. Errors as UserByToken, then ENOTFOUND.
func (s *Store) TokenItemFacts(ctx context.Context, secret, driveID, id string) (*gatehouse.User, *gatehouse.Item, gatehouse.ItemFacts, error) {
	type facts struct {
		u  *gatehouse.User
		it *gatehouse.Item
		f  gatehouse.ItemFacts
	}
	v, err := remember(s, ctx, viewKey3("token", hashSecret(secret), driveID, id), func() (facts, time.Time, error) {
		u, it, f, err := s.tokenItemFacts(ctx, secret, driveID, id)
		return facts{u, it, f}, guestUntil(u), err
	})
	if err != nil {
		return v.u, v.it, v.f, err
	}
	v.f.Now = s.Now()
	return v.u, copyItem(v.it), v.f, nil
}

func (s *Store) tokenItemFacts(ctx context.Context, secret, driveID, id string) (*gatehouse.User, *gatehouse.Item, gatehouse.ItemFacts, error) {
	var u gatehouse.User
	var uc, uu int64
	var rootID string
	var access gatehouse.DriveAccess
	it, err := scanItem(s.queryRow(ctx, `SELECT `+itemColumns+`, d.root_id,
			u.id, u.email, u.display_name, u.user_type, u.is_admin, u.disabled, u.created_at, u.updated_at,
			`+strings.ReplaceAll(accessTo("items.drive_id"), "?", "u.id")+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id, items JOIN drives d ON d.id = items.drive_id
		WHERE t.hash = ? AND t.revoked_at = 0 AND u.disabled = ? AND items.id = ? AND items.drive_id = ?`,
		hashSecret(secret), false, id, driveID),
		&rootID, &u.ID, &u.Email, &u.DisplayName, &u.UserType, &u.IsAdmin, &u.Disabled, &uc, &uu, &access)
	if errors.Is(err, sql.ErrNoRows) {
		// Only failures pay for telling a bad token from a missing item.
		// The user comes back with the miss: a signed-in caller gets 404.
		u, err := s.UserByToken(ctx, secret)
		if err != nil {
			return nil, nil, gatehouse.ItemFacts{}, err
		}
		return u, nil, gatehouse.ItemFacts{}, notFound("The item")
	} else if err != nil {
		return nil, nil, gatehouse.ItemFacts{}, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(uc), fromMicros(uu)
	if err := s.refuseExpiredGuest(ctx, &u); err != nil { // guest_expiry.go
		return nil, nil, gatehouse.ItemFacts{}, err
	}
	f := gatehouse.ItemFacts{Access: access}
	if err := s.placeFor(reader{s, ctx}, gatehouse.UserPrincipal(&u), it, rootID, &f); err != nil {
		return nil, nil, f, err
	}
	return &u, it, f, nil
}

// RecipientLink resolves a link token and a recipient session secret in
// one query, as every recipient request needs: the link, the session's
// principal (Anonymous without a live session), and the facts about the
// shared item for that principal. Unknown tokens are ENOTFOUND; the link's
// state is the decision's to judge.
func (s *Store) RecipientLink(ctx context.Context, token, secret string) (*gatehouse.Link, gatehouse.Principal, gatehouse.ItemFacts, error) {
	type facts struct {
		l *gatehouse.Link
		p gatehouse.Principal
		f gatehouse.ItemFacts
	}
	key := viewKey3("recipient", hashSecret(token), hashSecret(secret), "")
	v, err := remember(s, ctx, key, func() (facts, time.Time, error) {
		l, p, f, until, err := s.recipientLink(ctx, token, secret)
		f.Now = time.Time{}
		return facts{l, p, f}, until, err
	})
	v.f.Now = s.Now()
	if err != nil {
		return nil, gatehouse.Principal{}, v.f, err
	}
	l := *v.l
	return &l, v.p, v.f, nil
}

// recipientLink is RecipientLink from the database, with the end of the
// recipient's session (zero without one).
func (s *Store) recipientLink(ctx context.Context, token, secret string) (*gatehouse.Link, gatehouse.Principal, gatehouse.ItemFacts, time.Time, error) {
	var email string
	var sessionEnd int64
	var onLink, ownerDisabled bool
	l, err := s.scanLink(s.queryRow(ctx, `SELECT `+prefixed("links.", linkColumns)+`, COALESCE(x.email, ''),
			r.email IS NOT NULL, COALESCE(u.disabled, FALSE), COALESCE(x.expires_at, 0)
		FROM links
		JOIN drives d ON d.id = links.drive_id LEFT JOIN users u ON u.id = d.owner_id
		LEFT JOIN recipient_sessions x ON x.hash = ? AND x.expires_at > ?
		LEFT JOIN link_recipients r ON r.link_id = links.id AND r.email = x.email
		WHERE links.token_hash = ?`, hashSecret(secret), micros(s.Now()), hashSecret(token)), &email, &onLink, &ownerDisabled, &sessionEnd)
	if err := linkFound(len(token), err); err != nil {
		return nil, gatehouse.Principal{}, gatehouse.ItemFacts{}, time.Time{}, err
	}
	if l.Dormant {
		return nil, gatehouse.Principal{}, gatehouse.ItemFacts{}, time.Time{}, notFound("The link")
	}
	var p gatehouse.Principal
	var until time.Time
	if email != "" {
		p, until = gatehouse.RecipientPrincipal(email), fromMicros(sessionEnd)
	}
	return l, p, s.linkFacts(l, p, 0, onLink, false, ownerDisabled), until, nil
}

// UserLink resolves a link token with the facts about the shared item for
// a signed-in user, in one query. Unknown tokens are ENOTFOUND.
func (s *Store) UserLink(ctx context.Context, token string, p gatehouse.Principal) (*gatehouse.Link, gatehouse.ItemFacts, error) {
	var onLink, inGroup, ownerDisabled bool
	var access gatehouse.DriveAccess
	l, err := s.scanLink(s.queryRow(ctx, `SELECT `+prefixed("links.", linkColumns)+`,
			EXISTS (SELECT 1 FROM link_recipients r WHERE r.link_id = links.id AND r.email = ?),
			EXISTS (SELECT 1 FROM link_groups lg JOIN group_members m ON m.group_id = lg.group_id AND m.role = 'member'
				WHERE lg.link_id = links.id AND m.user_id = ?),
			`+accessTo("links.drive_id")+`,
			COALESCE(u.disabled, FALSE)
		FROM links JOIN drives d ON d.id = links.drive_id LEFT JOIN users u ON u.id = d.owner_id
		WHERE links.token_hash = ?`, p.Email, p.UserID, p.UserID, p.UserID, hashSecret(token)), &onLink, &inGroup, &access, &ownerDisabled)
	if err := linkFound(len(token), err); err != nil {
		return nil, gatehouse.ItemFacts{}, err
	}
	if l.Dormant {
		return nil, gatehouse.ItemFacts{}, notFound("The link")
	}
	return l, s.linkFacts(l, p, access, onLink, inGroup, ownerDisabled), nil
}

func linkFound(tokenLen int, err error) error {
	if tokenLen < 32 || tokenLen > 128 || errors.Is(err, sql.ErrNoRows) {
		return notFound("The link")
	}
	return err
}

func (s *Store) linkFacts(l *gatehouse.Link, p gatehouse.Principal, access gatehouse.DriveAccess, onLink, inGroup, ownerDisabled bool) gatehouse.ItemFacts {
	itemID := l.ItemID
	if l.Dormant {
		// A dormant link (its item was deleted, or restored and not yet
		// turned on again) opens nothing: no ancestry holds "", so every
		// decision through it is not found.
		itemID = ""
	}
	via := &gatehouse.LinkFacts{ItemID: itemID, Role: l.Role, ExpiresAt: l.ExpiresAt, OwnerDisabled: ownerDisabled, GroupMember: inGroup,
		PreventsDownload: l.PreventsDownload}
	if onLink {
		via.Recipients = []string{p.Email}
	}
	f := gatehouse.ItemFacts{Ancestry: []string{l.ItemID}, Via: via, Now: s.Now()}
	if p.UserID != "" {
		f.Access = access
	}
	return f
}

// LinkedItem loads an item of the link's drive with its ancestry, on top of
// the link's facts: whether it lies inside the share is for the decision.
// Returns ENOTFOUND.
func (s *Store) LinkedItem(ctx context.Context, l *gatehouse.Link, f gatehouse.ItemFacts, id string) (*gatehouse.Item, gatehouse.ItemFacts, error) {
	type facts struct {
		it       *gatehouse.Item
		ancestry []string
	}
	v, err := remember(s, ctx, viewKey3("linked", l.DriveID, id, ""), func() (facts, time.Time, error) {
		it, f, err := s.linkedItem(ctx, l, f, id)
		return facts{it, f.Ancestry}, time.Time{}, err
	})
	if err != nil {
		return nil, f, err
	}
	f.Ancestry = v.ancestry
	return copyItem(v.it), f, nil
}

func (s *Store) linkedItem(ctx context.Context, l *gatehouse.Link, f gatehouse.ItemFacts, id string) (*gatehouse.Item, gatehouse.ItemFacts, error) {
	var rootID string
	it, err := scanItem(s.queryRow(ctx, `SELECT `+itemColumns+`, d.root_id FROM items JOIN drives d ON d.id = items.drive_id
		WHERE items.id = ? AND items.drive_id = ?`, id, l.DriveID), &rootID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, f, notFound("The item")
	} else if err != nil {
		return nil, f, err
	}
	if f.Ancestry, err = s.placeItem(reader{s, ctx}, it, rootID); err != nil {
		return nil, f, err
	}
	return it, f, nil
}

// DriveFacts loads a drive, or with driveID "" p's personal drive, and the
// facts about its root for p, in one query. Returns ENOTFOUND.
func (s *Store) DriveFacts(ctx context.Context, p gatehouse.Principal, driveID string) (*gatehouse.Drive, gatehouse.ItemFacts, error) {
	q := `SELECT ` + driveColumns + `, ` + accessTo("drives.id") + ` FROM drives `
	args := []any{p.UserID, p.UserID}
	if driveID == "" {
		q += `WHERE owner_id = ? AND drive_type = ?`
		args = append(args, p.UserID, gatehouse.DriveTypePersonal)
	} else {
		q += `WHERE id = ?`
		args = append(args, driveID)
	}
	var access gatehouse.DriveAccess
	d, err := scanDrive(s.queryRow(ctx, q, args...), &access)
	if err != nil {
		return nil, gatehouse.ItemFacts{}, err
	}
	f := gatehouse.ItemFacts{Ancestry: []string{d.RootID}, Now: s.Now()}
	if p.UserID != "" {
		f.Access = access
	}
	return d, f, nil
}

// viewKey3 is a key of the view: a kind of fact and what it is about.
func viewKey3(kind, a, b, c string) string {
	return kind + "\x00" + a + "\x00" + b + "\x00" + c
}

// copyItem gives each request its own copy of an item from the view.
func copyItem(it *gatehouse.Item) *gatehouse.Item {
	if it == nil {
		return nil
	}
	c := *it
	return &c
}

// guestUntil keeps a guest's facts out of the view: a guest's access ends
// with a clock (guest_expiry.go), a member's only with a change.
func guestUntil(u *gatehouse.User) time.Time {
	if u != nil && u.UserType == gatehouse.UserTypeGuest {
		return time.Unix(0, 1)
	}
	return time.Time{}
}
