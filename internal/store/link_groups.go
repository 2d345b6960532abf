package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"gatehouse"
)

// Groups secured to links: every current member of the group is on the
// link, so removing someone from the group ends what it gave them.

// objects resolves Graph recipients' objectIds: a group's id names the
// group; a user's id names the user, who joins by address. Anything else
// is EINVALID, since it came in a request body.
func (tx *Tx) objects(ids []string) (groups []*gatehouse.Group, emails []string, err error) {
	seen := map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		g, err := tx.s.group(tx, id, tx.forShare())
		if err == nil {
			groups = append(groups, g)
			continue
		} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return nil, nil, err
		}
		var email string
		err = tx.queryRow(`SELECT email FROM users WHERE id = ?`, id).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, gatehouse.Errorf(gatehouse.EINVALID, "No group or user has the objectId %q.", id)
		} else if err != nil {
			return nil, nil, err
		}
		emails = append(emails, email)
	}
	return groups, emails, nil
}

func mergeEmails(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range append(append([]string{}, a...), b...) {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// addGroups secures the groups to the link, each once, recording
// AddedToSecureLink with the group as its target, and mails the
// invitation to the group's current members when asked to.
func (tx *Tx) addGroups(l *gatehouse.Link, it *gatehouse.Item, by gatehouse.Actor, groups []*gatehouse.Group, req ShareRequest) error {
	if len(groups) == 0 {
		return nil
	}
	sharerName, err := tx.sharerName(by)
	if err != nil {
		return err
	}
	for _, g := range groups {
		res, err := tx.exec(`INSERT INTO link_groups (link_id, group_id, added_by, added_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (link_id, group_id) DO NOTHING`, l.ID, g.ID, by.UserID, micros(tx.now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		r := tx.s.linkRecord(gatehouse.OpAddedToSecureLink, by, it, l)
		r.TargetUserOrGroupName, r.TargetUserOrGroupType = g.DisplayName, gatehouse.TargetTypeGroup
		r.EventData = gatehouse.EventData(map[string]any{"GroupId": g.ID, "GroupName": g.DisplayName, "role": l.Role, "isExternal": false})
		if err := tx.audit(r); err != nil {
			return err
		}
		if !req.SendInvitation {
			continue
		}
		emails, err := tx.strings(`SELECT u.email FROM group_members m JOIN users u ON u.id = m.user_id
			WHERE m.group_id = ? AND m.role = 'member' AND u.disabled = ? ORDER BY u.email`, g.ID, false)
		if err != nil {
			return err
		}
		for _, email := range emails {
			if err := tx.mailInvitation(l, it, by, sharerName, email, req.Message); err != nil {
				return err
			}
		}
	}
	return nil
}

func (tx *Tx) strings(q string, args ...any) ([]string, error) {
	rows, err := tx.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

const linkGroupsQuery = `SELECT g.id, g.display_name, lg.added_at FROM link_groups lg JOIN security_groups g ON g.id = lg.group_id
	WHERE lg.link_id = ? ORDER BY lg.added_at, g.display_name`

func scanLinkGroups(rows *sql.Rows, err error) ([]gatehouse.LinkGroup, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []gatehouse.LinkGroup{}
	for rows.Next() {
		var g gatehouse.LinkGroup
		var at int64
		if err := rows.Scan(&g.ID, &g.DisplayName, &at); err != nil {
			return nil, err
		}
		g.AddedAt = fromMicros(at)
		out = append(out, g)
	}
	return out, rows.Err()
}

func (tx *Tx) linkGroups(linkID string) ([]gatehouse.LinkGroup, error) {
	return scanLinkGroups(tx.query(linkGroupsQuery, linkID))
}

// fillLink loads who is on the link: addresses, then groups.
func (tx *Tx) fillLink(l *gatehouse.Link) (err error) {
	if l.Recipients, err = tx.recipients(l.ID); err != nil {
		return err
	}
	l.Groups, err = tx.linkGroups(l.ID)
	return err
}

func (s *Store) fillLink(ctx context.Context, l *gatehouse.Link) (err error) {
	if l.Recipients, err = s.linkRecipients(ctx, l.ID); err != nil {
		return err
	}
	l.Groups, err = scanLinkGroups(s.query(ctx, linkGroupsQuery, l.ID))
	return err
}

// RemoveLinkGroup takes a group off a link: its members lose what the link
// gave them at once. Returns ENOTFOUND when the group is not on the link.
func (s *Store) RemoveLinkGroup(ctx context.Context, by gatehouse.Actor, driveID, itemID, id, groupID string) (*gatehouse.Link, error) {
	var l *gatehouse.Link
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		l, err = tx.revokeGroups(by, driveID, itemID, id, []string{groupID}, true)
		return err
	})
	return l, err
}

// revokeGroups takes the groups off the link; with strict, a group that
// is not on it is ENOTFOUND.
func (tx *Tx) revokeGroups(by gatehouse.Actor, driveID, itemID, id string, groupIDs []string, strict bool) (*gatehouse.Link, error) {
	if err := tx.lockDrive(driveID); err != nil {
		return nil, err
	}
	l, it, err := tx.link(driveID, itemID, id)
	if err != nil {
		return nil, err
	}
	current, err := tx.linkGroups(l.ID)
	if err != nil {
		return nil, err
	}
	for _, gid := range groupIDs {
		found := false
		for _, g := range current {
			if g.ID == gid {
				found = true
				if err := tx.removeLinkGroup(by, it, l, g); err != nil {
					return nil, err
				}
			}
		}
		if !found && strict {
			return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "That group is not on this link.")
		}
	}
	return l, tx.fillLink(l)
}

func (tx *Tx) removeLinkGroup(by gatehouse.Actor, it *gatehouse.Item, l *gatehouse.Link, g gatehouse.LinkGroup) error {
	if _, err := tx.exec(`DELETE FROM link_groups WHERE link_id = ? AND group_id = ?`, l.ID, g.ID); err != nil {
		return err
	}
	r := tx.s.linkRecord(gatehouse.OpRemovedFromSecureLink, by, it, l)
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = g.DisplayName, gatehouse.TargetTypeGroup
	r.EventData = gatehouse.EventData(map[string]any{"GroupId": g.ID, "GroupName": g.DisplayName, "isExternal": false})
	return tx.audit(r)
}

// RevokeGrants takes people off a link in one transaction: addresses, and
// objectIds of groups or users. Addresses and users not on the link are
// ignored, as RevokeRecipients does. Returns EINVALID or ENOTFOUND.
func (s *Store) RevokeGrants(ctx context.Context, by gatehouse.Actor, driveID, itemID, id string, emails, objectIDs []string) (*gatehouse.Link, error) {
	var norm []string
	if len(emails) > 0 || len(objectIDs) == 0 {
		var err error
		if norm, err = normalizeEmails(emails); err != nil {
			return nil, err
		}
	}
	var l *gatehouse.Link
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		groups, users, err := tx.objects(objectIDs)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(groups))
		for _, g := range groups {
			ids = append(ids, g.ID)
		}
		if l, err = tx.revokeGroups(by, driveID, itemID, id, ids, false); err != nil {
			return err
		}
		if all := mergeEmails(norm, users); len(all) > 0 {
			l, err = tx.revokeRecipients(by, driveID, itemID, id, all)
		}
		return err
	})
	return l, err
}
