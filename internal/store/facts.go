package store

import (
	"context"
	"database/sql"
	"errors"

	"gatehouse"
)

// The loaders here find what a request is about together with the facts
// gatehouse.Authorize needs, in the query that finds it, so deciding costs
// no round trip. They decide nothing themselves.

// ownerExists is true when the user in the first argument owns the drive
// of the row's items.drive_id.
const ownerExists = `EXISTS (SELECT 1 FROM drive_owners o WHERE o.drive_id = items.drive_id AND o.user_id = ?)`

// ItemFacts loads an item of a drive and the facts about it for p: whether
// p owns the drive, and the item's ancestry. Returns ENOTFOUND.
func (s *Store) ItemFacts(ctx context.Context, p gatehouse.Principal, driveID, id string) (*gatehouse.Item, gatehouse.ItemFacts, error) {
	var rootID string
	var owner bool
	it, err := scanItem(s.queryRow(ctx, `SELECT `+itemColumns+`, d.root_id, `+ownerExists+`
		FROM items JOIN drives d ON d.id = items.drive_id WHERE items.id = ? AND items.drive_id = ?`, p.UserID, id, driveID), &rootID, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.ItemFacts{}, notFound("The item")
	} else if err != nil {
		return nil, gatehouse.ItemFacts{}, err
	}
	f := gatehouse.ItemFacts{Now: s.Now()}
	if owner && p.UserID != "" {
		f.DriveOwners = []string{p.UserID}
	}
	if f.Ancestry, err = s.placeItem(reader{s, ctx}, it, rootID); err != nil {
		return nil, f, err
	}
	return it, f, nil
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
	var u gatehouse.User
	var uc, uu int64
	var rootID string
	var owner bool
	it, err := scanItem(s.queryRow(ctx, `SELECT `+itemColumns+`, d.root_id,
			u.id, u.email, u.display_name, u.user_type, u.is_admin, u.disabled, u.created_at, u.updated_at,
			EXISTS (SELECT 1 FROM drive_owners o WHERE o.drive_id = items.drive_id AND o.user_id = u.id)
		FROM api_tokens t JOIN users u ON u.id = t.user_id, items JOIN drives d ON d.id = items.drive_id
		WHERE t.hash = ? AND t.revoked_at = 0 AND u.disabled = ? AND items.id = ? AND items.drive_id = ?`,
		hashSecret(secret), false, id, driveID),
		&rootID, &u.ID, &u.Email, &u.DisplayName, &u.UserType, &u.IsAdmin, &u.Disabled, &uc, &uu, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		// Only failures pay for telling a bad token from a missing item.
		if _, err := s.UserByToken(ctx, secret); err != nil {
			return nil, nil, gatehouse.ItemFacts{}, err
		}
		return nil, nil, gatehouse.ItemFacts{}, notFound("The item")
	} else if err != nil {
		return nil, nil, gatehouse.ItemFacts{}, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(uc), fromMicros(uu)
	if err := s.refuseExpiredGuest(ctx, &u); err != nil { // guest_expiry.go
		return nil, nil, gatehouse.ItemFacts{}, err
	}
	f := gatehouse.ItemFacts{Now: s.Now()}
	if owner {
		f.DriveOwners = []string{u.ID}
	}
	if f.Ancestry, err = s.placeItem(reader{s, ctx}, it, rootID); err != nil {
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
	var email string
	var onLink, ownerDisabled bool
	l, err := s.scanLink(s.queryRow(ctx, `SELECT `+prefixed("links.", linkColumns)+`, COALESCE(x.email, ''),
			r.email IS NOT NULL, u.disabled
		FROM links
		JOIN drives d ON d.id = links.drive_id JOIN users u ON u.id = d.owner_id
		LEFT JOIN recipient_sessions x ON x.hash = ? AND x.expires_at > ?
		LEFT JOIN link_recipients r ON r.link_id = links.id AND r.email = x.email
		WHERE links.token_hash = ?`, hashSecret(secret), micros(s.Now()), hashSecret(token)), &email, &onLink, &ownerDisabled)
	if err := linkFound(len(token), err); err != nil {
		return nil, gatehouse.Principal{}, gatehouse.ItemFacts{}, err
	}
	var p gatehouse.Principal
	if email != "" {
		p = gatehouse.RecipientPrincipal(email)
	}
	return l, p, s.linkFacts(l, p, false, onLink, ownerDisabled), nil
}

// UserLink resolves a link token with the facts about the shared item for
// a signed-in user, in one query. Unknown tokens are ENOTFOUND.
func (s *Store) UserLink(ctx context.Context, token string, p gatehouse.Principal) (*gatehouse.Link, gatehouse.ItemFacts, error) {
	var onLink, owner, ownerDisabled bool
	l, err := s.scanLink(s.queryRow(ctx, `SELECT `+prefixed("links.", linkColumns)+`,
			EXISTS (SELECT 1 FROM link_recipients r WHERE r.link_id = links.id AND r.email = ?),
			EXISTS (SELECT 1 FROM drive_owners o WHERE o.drive_id = links.drive_id AND o.user_id = ?),
			u.disabled
		FROM links JOIN drives d ON d.id = links.drive_id JOIN users u ON u.id = d.owner_id
		WHERE links.token_hash = ?`, p.Email, p.UserID, hashSecret(token)), &onLink, &owner, &ownerDisabled)
	if err := linkFound(len(token), err); err != nil {
		return nil, gatehouse.ItemFacts{}, err
	}
	return l, s.linkFacts(l, p, owner, onLink, ownerDisabled), nil
}

func linkFound(tokenLen int, err error) error {
	if tokenLen < 32 || tokenLen > 128 || errors.Is(err, sql.ErrNoRows) {
		return notFound("The link")
	}
	return err
}

func (s *Store) linkFacts(l *gatehouse.Link, p gatehouse.Principal, owner, onLink, ownerDisabled bool) gatehouse.ItemFacts {
	via := &gatehouse.LinkFacts{ItemID: l.ItemID, Role: l.Role, ExpiresAt: l.ExpiresAt, OwnerDisabled: ownerDisabled}
	if onLink {
		via.Recipients = []string{p.Email}
	}
	f := gatehouse.ItemFacts{Ancestry: []string{l.ItemID}, Via: via, Now: s.Now()}
	if owner {
		f.DriveOwners = []string{p.UserID}
	}
	return f
}

// LinkedItem loads an item of the link's drive with its ancestry, on top of
// the link's facts: whether it lies inside the share is for the decision.
// Returns ENOTFOUND.
func (s *Store) LinkedItem(ctx context.Context, l *gatehouse.Link, f gatehouse.ItemFacts, id string) (*gatehouse.Item, gatehouse.ItemFacts, error) {
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
	q := `SELECT ` + driveColumns + `, EXISTS (SELECT 1 FROM drive_owners o WHERE o.drive_id = drives.id AND o.user_id = ?) FROM drives `
	args := []any{p.UserID}
	if driveID == "" {
		q += `WHERE owner_id = ? AND drive_type = ?`
		args = append(args, p.UserID, gatehouse.DriveTypePersonal)
	} else {
		q += `WHERE id = ?`
		args = append(args, driveID)
	}
	var owner bool
	d, err := scanDrive(s.queryRow(ctx, q, args...), &owner)
	if err != nil {
		return nil, gatehouse.ItemFacts{}, err
	}
	f := gatehouse.ItemFacts{Ancestry: []string{d.RootID}, Now: s.Now()}
	if owner && p.UserID != "" {
		f.DriveOwners = []string{p.UserID}
	}
	return d, f, nil
}
